"""Tests for the atomic-write primitive and the versioned pickle caches of Utils.py."""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from Utils import HOST, AtomicFile, atomic_open, atomic_path, read_versioned_pickle, write_versioned_pickle


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_atomic_path_writes_target_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".out.bin.") and tmp.name.endswith(".tmp")
        assert not target.exists()
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [RuntimeError("writer failed"), KeyboardInterrupt()])
def test_atomic_path_failure_keeps_old_target_and_removes_temp(tmp_path: Path, error: BaseException) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(type(error)):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise error
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_atomic_open_never_leaves_a_partial_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "sub" / "data.json"
    with atomic_open(target, "w", encoding="utf-8") as handle:  # creates the folder
        handle.write("{}")
    assert target.read_text() == "{}"

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        with atomic_open(target, "w") as handle:
            handle.write('{"half": ')
    assert target.read_text() == "{}"
    assert _leftovers(target.parent) == []


def test_atomic_file_commit_and_abort(tmp_path: Path) -> None:
    target = tmp_path / "song.wav"
    first, second = AtomicFile(target), AtomicFile(target)
    assert first.path != second.path  # concurrent writers of one target never share a temporary file
    first.path.write_bytes(b"one")
    second.path.write_bytes(b"two")
    second.abort()
    assert not target.exists()
    first.commit()
    assert target.read_bytes() == b"one"
    assert _leftovers(tmp_path) == []


def test_versioned_pickle_round_trip_and_stale(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "cache.pkl"
    log = logging.getLogger("test_utils")
    assert read_versioned_pickle(path, 1, "root-a", log=log) is None  # missing
    write_versioned_pickle(path, 1, "root-a", {"x": [1, 2]})
    assert read_versioned_pickle(path, 1, "root-a", log=log) == {"x": [1, 2]}
    with caplog.at_level(logging.INFO, logger="test_utils"):
        assert read_versioned_pickle(path, 2, "root-a", what="test cache", log=log) is None
        assert "format version 1, expected 2" in caplog.text
        assert read_versioned_pickle(path, 1, "root-b", what="test cache", log=log) is None
        assert "made for root-a, not root-b" in caplog.text
        path.write_bytes(b"\x80\x05garbage")
        assert read_versioned_pickle(path, 1, "root-a", what="test cache", log=log) is None
        assert f"test cache {path} ignored (unreadable" in caplog.text
        path.write_bytes(pickle.dumps({"version": 1, "entries": {}}))
        assert read_versioned_pickle(path, 1, "root-a", what="test cache", log=log) is None
        assert "(not a test cache)" in caplog.text
    assert _leftovers(tmp_path) == []


def test_pending_writes_of_a_killed_process_are_removed_by_the_next_writer(tmp_path):
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout)
    orphan = tmp_path / f".out.bin.{HOST}.{dead}-{'0' * 32}.tmp"
    legacy = tmp_path / f".out.bin.{dead}-{'3' * 32}.tmp"  # named before the host was part of the name
    live = tmp_path / f".out.bin.{HOST}.{os.getpid()}-{'1' * 32}.tmp"  # a write of this process still going on
    other = tmp_path / f".other.bin.{HOST}.{dead}-{'2' * 32}.tmp"  # another target's
    # Another machine's write into a shared folder: its process cannot be seen from here, so it is left alone
    # (its pid may well be no process of this machine).
    remote = tmp_path / f".out.bin.other-machine.{dead}-{'4' * 32}.tmp"
    for path in (orphan, legacy, live, other, remote):
        path.write_bytes(b"half")
    with atomic_open(tmp_path / "out.bin", "wb") as handle:
        handle.write(b"whole")
    assert (tmp_path / "out.bin").read_bytes() == b"whole"
    assert not orphan.exists() and not legacy.exists()
    assert live.exists() and other.exists() and remote.exists()
