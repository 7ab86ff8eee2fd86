"""Faults on the server's side while the worker runs (issue 19, part 4): the disk fills up while the stems are
written, and a model's checkpoint is deleted while the service runs. Each ends the job ``failed`` with one line
that blames the server, not the user's file, and names no server path; no partial file is left; and the same
worker then finishes other jobs.

The disk is full for real on a small tmpfs with a real ``manage.py worker`` (skipped, saying why, where a tmpfs
cannot be mounted), and ``OSError(ENOSPC)`` is injected at the writer in-process (portable), through the worker's
task code (``jobs.run``) as in ``tests/web/test_web_jobs.py``.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile as sf

from harmony_split.backend.tracks import jobs, separators
from harmony_split.backend.tracks.models import Separation
from tests.web.helpers import DB_QUEUE, MODEL_ID, start_worker, upload, wait_for, worker_env
from tests.web.servers import stop

NO_SPACE = "the server could not store the stems: cannot write audio (No space left on device)"
GONE = f"model {MODEL_ID!r} is no longer available on this server (removed or damaged); choose another model"


def job(track_id: str) -> Separation:
    return Separation.objects.get(pk=track_id)


def files_of(data_dir: Path, track_id: str) -> list[str]:
    """The names in a track's folder, hidden (temporary) files included."""
    return sorted(p.name for p in (data_dir / "tracks" / track_id).iterdir())


def fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte with one file; returns it."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, bytes(1 << 16))
    except OSError as err:
        assert err.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted at ``tmp_path / "disk"`` (unmounted afterwards); skipped where mounting fails."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(disk)],
                           capture_output=True, text=True)
    if mount.returncode != 0:
        reason = f"cannot mount a tmpfs here ({mount.stderr.strip() or mount.returncode}); the injected ENOSPC runs"
        print(reason)
        pytest.skip(reason)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_fails_the_job_in_one_line_and_the_same_worker_goes_on(
        alice, audio, settings, small_disk: Path, checkpoint_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    """Real: the data folder on a tmpfs that the stems do not fit on, a real worker process."""
    settings.TASKS = DB_QUEUE
    data_dir = settings.HARMONY_DATA_DIR = small_disk / "data"
    full = upload(alice, audio("full.wav", seconds=3.0)).json()["id"]
    filler = fill(small_disk)
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env(data_dir, checkpoint_dir), log)
    try:
        wait_for(lambda: job(full).status not in Separation.ACTIVE, 180, "the job on the full disk to end")
        failed = job(full)
        assert (failed.status, failed.error) == ("failed", NO_SPACE)
        assert files_of(data_dir, full) == ["upload.wav"]  # no stem, no temporary file
        filler.unlink()
        track = upload(alice, audio("after.wav", seconds=3.0)).json()
        wait_for(lambda: job(track["id"]).status == "done", 120, "the next job to be done by the same worker")
        assert worker.poll() is None
        assert files_of(data_dir, track["id"]) == ["accompaniment.wav", "upload.wav", "vocals.wav"]
        assert "Traceback" not in log.read_text()
    finally:
        stop([worker])


@pytest.mark.parametrize("where", ["write", "flush to disk"])
def test_injected_enospc_fails_the_job_in_one_line_and_the_next_job_is_done(
        alice, audio, settings, data_dir: Path, monkeypatch, where: str) -> None:  # noqa: ANN001
    settings.TASKS = DB_QUEUE
    first = upload(alice, audio("first.wav", seconds=3.0)).json()["id"]
    second = upload(alice, audio("second.wav", seconds=3.0)).json()["id"]
    stems = data_dir / "tracks" / first

    def no_space(*args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if where == "write":  # the second block of the vocals: a partial temporary file exists then
        real_write, calls = sf.SoundFile.write, []

        def write(self, data) -> None:  # noqa: ANN001
            calls.append(self.name)
            if Path(self.name).parent == stems and len(calls) > 2:
                no_space()
            real_write(self, data)

        monkeypatch.setattr(sf.SoundFile, "write", write)
    else:  # AtomicFile.commit's fsync: on a real disk, delayed allocation reports ENOSPC there
        real_fsync = os.fsync

        def fsync(fd: int) -> None:
            if Path(os.readlink(f"/proc/self/fd/{fd}")).parent == stems:
                no_space()
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", fsync)
    assert jobs.run(first) == "failed"
    failed = job(first)
    assert (failed.status, failed.error) == ("failed", NO_SPACE)
    assert files_of(data_dir, first) == ["upload.wav"]
    monkeypatch.undo()
    assert jobs.run(second) == "done"
    assert files_of(data_dir, second) == ["accompaniment.wav", "upload.wav", "vocals.wav"]


@pytest.fixture
def two_models(settings, checkpoint_dir: Path, tmp_path: Path) -> Path:
    """A checkpoint folder of this test's own with the tiny model twice: ``MODEL_ID`` and ``other``."""
    base = tmp_path / "checkpoints"
    shutil.copytree(checkpoint_dir / MODEL_ID, base / MODEL_ID)
    shutil.copytree(checkpoint_dir / MODEL_ID, base / "other")
    settings.HARMONY_CHECKPOINT_DIR = base
    return base


@pytest.mark.parametrize("removal", ["folder", "checkpoint files"])
def test_a_checkpoint_deleted_while_the_service_runs_fails_its_jobs_in_one_line(
        alice, audio, settings, data_dir: Path, two_models: Path, removal: str) -> None:  # noqa: ANN001
    """The model is loaded (cached in this process) by a first job; then it is deleted. A cached model does not
    keep serving a deleted checkpoint: every worker answers the same, whether or not it had loaded it."""
    settings.TASKS = DB_QUEUE
    song = audio("song.wav", seconds=2.0)
    ids = [upload(alice, song, model=model).json()["id"] for model in (MODEL_ID, MODEL_ID, "other")]
    assert jobs.run(ids[0]) == "done"
    if removal == "folder":
        shutil.rmtree(two_models / MODEL_ID)
    else:  # the JSON files stay: the folder still looks like a run
        for path in (two_models / MODEL_ID).glob(f"{MODEL_ID}-10.*"):
            path.unlink()
    assert jobs.run(ids[1]) == "failed"
    failed = job(ids[1])
    assert failed.error == GONE  # one line, no server path, and not the file's fault
    assert [p for p in separators._loaded if Path(p).parent == two_models / MODEL_ID] == []  # memory freed
    assert files_of(data_dir, ids[1]) == ["upload.wav"]
    assert jobs.run(ids[2]) == "done"  # the other model still serves
    assert files_of(data_dir, ids[2]) == ["accompaniment.wav", "upload.wav", "vocals.wav"]
