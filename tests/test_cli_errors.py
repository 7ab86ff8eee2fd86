"""Every failure a user can cause ends in one line and loses nothing (issue 14): the real command-line programs run
in a subprocess on tiny fixtures, and each test checks the exit status (``Utils.EXIT_STATUS``), that there is no
traceback, that nothing is left behind, and that earlier outputs are intact.

Disk-full rows run twice: on a real full filesystem (a small tmpfs; skipped, saying why, where it cannot be
mounted) and with ``OSError(ENOSPC)`` injected at the write call (portable).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile as sf

from Input.synthetic import generate_dataset
from tests.test_separate_cli import ENV, tone, write_run
from tests.tiny import TINY_MODEL
from Utils import EXIT_STATUS

ROOT = Path(__file__).resolve().parent.parent
ENOSPC = f"OSError({errno.ENOSPC}, {os.strerror(errno.ENOSPC)!r})"


def run(cwd: Path, script: str, *args: str, prelude: str = "") -> subprocess.CompletedProcess:
    """``python <script> <args>`` in ``cwd``; ``prelude`` (Python code) runs first in the same process."""
    code = (f"{prelude}\nimport runpy, sys\nsys.argv = [{script!r}, *{list(args)!r}]\n"
            f"runpy.run_path({str(ROOT / script)!r}, run_name='__main__')")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**ENV, "PYTHONPATH": str(ROOT)})


def one_error(result: subprocess.CompletedProcess, kind: str) -> str:
    """The one ``error:`` line of a run that failed with ``kind``'s exit status and no traceback."""
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == EXIT_STATUS[kind] and len(errors) == 1, (result.returncode, result.stderr[-3000:])
    return errors[0]


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def pending_writes(folder: Path) -> list[Path]:
    return sorted(folder.rglob(".*.tmp")) + sorted(folder.rglob("*_temp*"))


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs mounted at ``tmp_path / "disk"`` (unmounted afterwards); skipped where mounting fails."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True,
                           text=True)
    if mount.returncode != 0:
        reason = f"cannot mount a tmpfs here ({mount.stderr.strip() or mount.returncode}); the injected ENOSPC runs"
        print(reason)
        pytest.skip(reason)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


# --- checkpoints: separate.py and Evaluate.py -------------------------------------------------------------

@pytest.fixture(scope="module")
def checkpoint_run(tmp_path_factory) -> Path:
    """A tiny run folder ``checkpoints/1_sup`` (checkpoint at step 3, model_config.json, best.json) and a song."""
    root = tmp_path_factory.mktemp("checkpoint")
    write_run(root / "checkpoints", "1_sup", TINY_MODEL, 3)
    generate_dataset(root / "songs", num_train=1, num_test=2, seconds=2.0, seed=5, sr=8192)
    sf.write(root / "song.wav", tone(8000, 0.5, 1), 8000)
    return root


def break_checkpoint(folder: Path, case: str) -> tuple[str, str]:
    """Damage the run folder as ``case`` says; returns the ``--checkpoint`` argument and the expected error."""
    prefix = folder / "1_sup-3"
    if case == "missing":
        return str(folder / "1_sup-9"), f"error: {folder / '1_sup-9'}: no checkpoint with this prefix"
    if case == "no checkpoint":
        for path in folder.glob("1_sup-3.*"):
            path.unlink()
        (folder / "best.json").unlink()
        return str(folder), f"error: {folder}: folder holds no TensorFlow checkpoint"
    if case == "config not JSON":
        (folder / "model_config.json").write_text("{num_layers: 1,")
        return str(prefix), f"error: {folder / 'model_config.json'}: not valid JSON"
    if case == "truncated data":
        data = Path(f"{prefix}.data-00000-of-00001")
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
        return str(prefix), f"error: {data}: damaged"
    assert case == "config does not fit"
    config = json.loads((folder / "model_config.json").read_text())
    (folder / "model_config.json").write_text(json.dumps({**config, "num_layers": 2}))
    return str(prefix), f"error: {prefix}"


@pytest.mark.parametrize(("program", "case"), [
    ("separate.py", "missing"), ("separate.py", "no checkpoint"), ("separate.py", "config not JSON"),
    ("Evaluate.py", "truncated data"), ("Evaluate.py", "config does not fit"), ("Evaluate.py", "config not JSON"),
])
def test_an_unusable_checkpoint_is_one_line_and_nothing_is_written(checkpoint_run: Path, tmp_path: Path,
                                                                   program: str, case: str) -> None:
    shutil.copytree(checkpoint_run, tmp_path, dirs_exist_ok=True)
    argument, expected = break_checkpoint(tmp_path / "checkpoints" / "1_sup", case)
    before = digests(tmp_path / "checkpoints")
    if program == "separate.py":
        result = run(tmp_path, program, "--input", "song.wav", "--checkpoint", argument)
    else:
        result = run(tmp_path, program, "--checkpoint", argument, "--musdb-root", "songs", "--is-wav")
    assert one_error(result, "checkpoint").startswith(expected), result.stderr[-2000:]
    if case == "config does not fit":
        assert "do not match" in result.stderr
    assert digests(tmp_path / "checkpoints") == before  # inputs untouched
    assert not (tmp_path / "separated").exists() and not (tmp_path / "logs").exists()


# --- a full disk while separate.py writes ------------------------------------------------------------------

def separate_until_the_disk_is_full(workdir: Path, output: Path, prelude: str = "") -> None:
    """Separate a short song (it fits), then a long one whose outputs do not: one line, exit status 6, no partial
    file, the short song's outputs and both inputs intact."""
    sf.write(workdir / "short.wav", tone(8000, 0.5, 1), 8000)
    sf.write(workdir / "long.wav", tone(44100, 8.0, 2), 44100)  # 1.4 MB per 16-bit output
    checkpoint = str(workdir / "checkpoints" / "1_sup")
    first = run(workdir, "separate.py", "--input", "short.wav", "--output", str(output), "--checkpoint", checkpoint)
    assert first.returncode == 0, first.stderr[-3000:]
    earlier, inputs = digests(output), digests(workdir / "checkpoints") | {
        name: hashlib.sha256((workdir / name).read_bytes()).hexdigest() for name in ("short.wav", "long.wav")}
    result = run(workdir, "separate.py", "--input", "long.wav", "--output", str(output), "--checkpoint", checkpoint,
                 prelude=prelude)
    line = one_error(result, "write")
    assert line.startswith("error: ") and "long" in line and os.strerror(errno.ENOSPC) in line, line
    assert digests(output) == earlier and pending_writes(output) == []
    assert inputs == digests(workdir / "checkpoints") | {
        name: hashlib.sha256((workdir / name).read_bytes()).hexdigest() for name in ("short.wav", "long.wav")}


def test_a_full_disk_while_separating_is_one_line_and_leaves_no_partial_file(checkpoint_run: Path, tmp_path: Path,
                                                                            small_disk: Path) -> None:
    shutil.copytree(checkpoint_run / "checkpoints", tmp_path / "checkpoints")
    separate_until_the_disk_is_full(tmp_path, small_disk / "out")


def test_an_injected_enospc_while_separating_is_one_line_and_leaves_no_partial_file(checkpoint_run: Path,
                                                                                   tmp_path: Path) -> None:
    shutil.copytree(checkpoint_run / "checkpoints", tmp_path / "checkpoints")
    prelude = ("import soundfile\n"
               "def write(self, data):\n"
               f"    raise {ENOSPC}\n"
               "soundfile.SoundFile.write = write")
    separate_until_the_disk_is_full(tmp_path, tmp_path / "out", prelude)
