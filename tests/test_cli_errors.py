"""Every failure a user can cause ends in one line and loses nothing (issue 14): the real command-line programs run
in a subprocess on tiny fixtures, and each test checks the exit status (``Utils.EXIT_STATUS``), that there is no
traceback, that nothing is left behind, and that earlier outputs are intact.

Disk-full rows run twice: on a real full filesystem (a small tmpfs; skipped, saying why, where it cannot be
mounted) and with ``OSError(ENOSPC)`` injected at the write call (portable).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile as sf

from Input.synth.generate import generate_dataset
from tests.cli_helpers import ENV, tone, write_run
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


# --- Training.py: a full disk while saving, a phase folder in use, a corrupt dataset cache, truncated stems ----

@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> Path:
    """Two training songs and one validation song of 3 s (MUSDB18-HQ layout, 8192 Hz)."""
    root = tmp_path_factory.mktemp("songs")
    generate_dataset(root, num_train=2, num_test=1, seconds=3.0, seed=3, sr=8192)
    return root


def training_config(workdir: Path, songs: Path, **extra: object) -> None:
    """``workdir/config.json``: a tiny supervised-only run (2 steps per epoch, up to 3 epochs) of id 9."""
    model_config = {
        "num_layers": 1, "num_initial_filters": 2, "critic_initial_filters": 2, "num_frames": 8, "batch_size": 2,
        "epoch_it": 2, "max_epochs": 3, "patience": 5, "num_workers": 1, "summary_seconds": 1.0, "evaluate": False,
        "musdb_path": str(songs), "is_wav": True, "moisesdb_path": "", **extra,
    }
    (workdir / "config.json").write_text(json.dumps({"model_config": model_config, "experiment_id": 9}))


def fail_second_save(failure: str) -> str:
    """Code run before Training.py: the second checkpoint save runs ``failure`` (Python statements) first."""
    body = "\n".join(f"        {line}" for line in failure.splitlines())
    return ("import os\nos.environ['TF_USE_LEGACY_KERAS'] = '1'\nimport tensorflow as tf\n"
            "real_save, saves = tf.train.CheckpointManager.save, []\n"
            "def save(self, *args, **kwargs):\n"
            "    saves.append(1)\n"
            "    if len(saves) == 2:\n"
            f"{body}\n"
            "    return real_save(self, *args, **kwargs)\n"
            "tf.train.CheckpointManager.save = save")


@pytest.mark.parametrize("disk", ["tmpfs", "injected"])
def test_a_full_disk_while_saving_a_checkpoint_is_one_line_naming_the_resume(songs: Path, tmp_path: Path,
                                                                          disk: str, request) -> None:
    if disk == "tmpfs":  # the disk fills up just before the second save; TensorFlow then really runs out of space
        base = request.getfixturevalue("small_disk")
        failure = (f"with open({str(base / 'filler')!r}, 'wb') as filler:\n"
                   "    try:\n        while True:\n            filler.write(bytes(1 << 16)); filler.flush()\n"
                   "    except OSError:\n        pass")
    else:
        base, failure = tmp_path / "checkpoints", f"raise {ENOSPC}"
    training_config(tmp_path, songs, model_base_dir=str(base))
    result = run(tmp_path, "Training.py", "with", "config.json", prelude=fail_second_save(failure))
    line = one_error(result, "write")
    folder = base / "9_sup"
    best = json.loads((folder / "best.json").read_text())
    assert line.startswith(f"error: cannot save a checkpoint in {folder} (") and line.endswith(
        f"); last good checkpoint: {folder / best['checkpoint']}; resume with: python Training.py with "
        f"resume={folder}"), line
    assert pending_writes(base) == [] and not list(folder.glob("*-4.*"))
    from Models.nets.checkpoint_files import damage  # the earlier checkpoint and best.json are intact

    assert best["step"] == 2 and damage(folder / best["checkpoint"]) is None


def test_a_phase_folder_in_use_is_refused_and_a_corrupt_dataset_cache_rebuilt(songs: Path, tmp_path: Path) -> None:
    training_config(tmp_path, songs)
    cache = tmp_path / "datasets" / "dataset.pkl"
    cache.parent.mkdir()
    cache.write_bytes(b"\x80\x05 not a pickle")
    folder = tmp_path / "checkpoints" / "9_sup"
    folder.mkdir(parents=True)
    with open(folder / ".lock", "a+") as lock:  # another training run of this phase holds the folder
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write(f"pid {os.getpid()}")
        lock.flush()
        result = run(tmp_path, "Training.py", "with", "config.json")
    assert one_error(result, "checkpoint") == (f"error: checkpoints/9_sup: in use by another training run (pid "
                                               f"{os.getpid()}); wait for it to end or stop it first")
    assert sorted(p.name for p in folder.iterdir()) == [".lock"]
    assert "ignored (unreadable" in result.stderr and "rebuilding it" in result.stderr
    with open(cache, "rb") as handle:
        assert len(pickle.load(handle)["data"]["train_sup"]) == 2


def test_a_partition_whose_stems_are_all_truncated_is_one_dataset_error(songs: Path, tmp_path: Path) -> None:
    shutil.copytree(songs, tmp_path / "songs", ignore=shutil.ignore_patterns("accompaniment.wav"))
    for track in (tmp_path / "songs" / "train").iterdir():
        with open(track / "bass.wav", "r+b") as handle:
            handle.truncate(500)  # an interrupted copy
    training_config(tmp_path, tmp_path / "songs")
    result = run(tmp_path, "Training.py", "with", "config.json")
    assert one_error(result, "dataset") == (f"error: MUSDB18 at {(tmp_path / 'songs').resolve()}: none of the 2 "
                                            f"tracks of train_sup could be read (see the warnings above)")
    assert result.stderr.count("bass.wav has 5") == 2 and not (tmp_path / "checkpoints").exists()


def test_a_run_without_validation_tracks_stops_before_training(songs: Path, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "no_valid.py").write_text(
        "from Input.audio.probe import probe_sample\n"
        "def load(data):\n"
        f"    track = {str(next((songs / 'train').iterdir()))!r}\n"
        "    triple = tuple(probe_sample(f'{track}/{n}.wav') for n in ('mixture', 'drums', 'vocals'))\n"
        "    return {'train_sup': [triple], 'train_valid': [], 'train_test': [], 'train_unsup': [[], [], []]}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from Models.training.experiment import run_experiment
    from tests.tiny import tiny_config
    from Utils import ProjectError

    config = tiny_config(dataset_loader="no_valid:load", model_base_dir=str(tmp_path / "checkpoints"))
    with pytest.raises(ProjectError) as info:
        run_experiment(config, 9, progress=False)
    assert info.value.exit_status == EXIT_STATUS["dataset"]
    assert str(info.value) == "the dataset has no usable tracks in train_valid, which training needs (see the " \
                              "warnings above)"
    assert not (tmp_path / "checkpoints").exists()
