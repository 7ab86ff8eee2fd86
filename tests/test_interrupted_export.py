"""A kill during the first run's MUSDB18 export or audio-cache build loses nothing (issue 14, row 7).

``python Training.py`` on a tiny MUSDB18 of real ``.stem.mp4`` files is killed with SIGKILL (no clean-up code
runs) at several points of its first start: while the first wav is being written, half-way through the export,
and once the audio cache has begun (the dataset cache is written then). After every kill each file under its
final name is complete; the next start removes the killed runs' pending writes and finishes the export and the
training from what is there.
"""

from __future__ import annotations

import json
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from Input.datasets.musdb import CACHE_VERSION, STEM_TOLERANCE
from tests.stem_files import make_stems, needs_ffmpeg, write_stem_file

ROOT = Path(__file__).resolve().parent.parent
SR, SECONDS = 44100, 2.0
TRACKS = (("train", "A - One"), ("train", "B - Two"), ("test", "C - Three"))
ROLES = ("mixture", "accompaniment", "vocals")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    """A tiny MUSDB18 (three .stem.mp4 tracks of 2 s) and a Training.py config file for a one-epoch tiny run."""
    root = tmp_path_factory.mktemp("interrupted")
    for seed, (subset, name) in enumerate(TRACKS):
        write_stem_file(root / "MUSDB18" / subset / f"{name}.stem.mp4", make_stems(seed, SR, SECONDS), SR)
    model_config = {
        "num_layers": 1, "num_initial_filters": 2, "critic_initial_filters": 2, "num_frames": 8, "batch_size": 2,
        "epoch_it": 2, "max_epochs": 1, "num_workers": 2, "summary_seconds": 1.0, "evaluate": False,
        "musdb_path": str(root / "MUSDB18"), "dataset_cache": str(root / "dataset.pkl"),
        "audio_cache_dir": str(root / "cache"), "moisesdb_path": "", "results_dir": str(root / "results"),
    }
    (root / "config.json").write_text(json.dumps({"model_config": model_config, "experiment_id": 7}))
    return root


def exports(root: Path) -> list[Path]:
    return sorted((root / "MUSDB18").glob("*/*/*.wav"))


def temp_files(root: Path) -> list[Path]:
    """Utils.AtomicFile's pending writes (``.<name>.<host>.<pid>-<hex>.tmp``) anywhere in the run folder."""
    return sorted(root.rglob(".*.tmp"))


def kill_when(root: Path, ready: Callable[[], bool], timeout: float = 300.0) -> str:
    """Start Training.py in ``root``; SIGKILL it as soon as ``ready()`` holds (polled every 5 ms)."""
    process = subprocess.Popen([sys.executable, str(ROOT / "Training.py"), "with", "config.json"], cwd=root,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, f"ended before the kill point:\n{process.stderr.read()[-3000:]}"
        assert time.monotonic() < deadline, "the kill point was never reached"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(60)
    return process.stderr.read()


def assert_only_complete_files(root: Path) -> None:
    """Every file under its final name is whole: export wavs, the dataset cache and the audio-cache arrays."""
    for path in exports(root):
        frames = sf.read(path, dtype="float32")[0].shape[0]  # reads every frame the header promises
        assert frames >= SR * SECONDS - STEM_TOLERANCE, (path, frames)
    if (root / "dataset.pkl").exists():
        with open(root / "dataset.pkl", "rb") as handle:
            payload = pickle.load(handle)
        assert payload["version"] == CACHE_VERSION
        assert sum(len(payload["data"][k]) for k in ("train_sup", "train_valid", "train_test")) == len(TRACKS)
    for path in (root / "cache").glob("*.npy") if (root / "cache").is_dir() else []:
        data = np.load(path)  # not memory-mapped: a short file fails here
        assert data.ndim == 2 and data.shape[1] > 0, path


@needs_ffmpeg
def test_a_killed_first_run_leaves_only_complete_files_and_the_next_start_finishes(run_folder: Path) -> None:
    root = run_folder
    points = {
        "while the first wav is written": lambda: bool(temp_files(root) or exports(root)),
        "half-way through the export": lambda: len(exports(root)) >= len(TRACKS) * len(ROLES) // 2,
        "once the audio cache has begun": lambda: (root / "cache").is_dir() and any((root / "cache").iterdir()),
    }
    progress = []
    for point, ready in points.items():
        kill_when(root, ready)
        assert_only_complete_files(root)
        progress.append((point, len(exports(root)), (root / "dataset.pkl").exists()))
    assert progress[0][1] < len(TRACKS) * len(ROLES), progress  # the first kills landed inside the export
    assert progress[1][1] < len(TRACKS) * len(ROLES) and progress[2][1:] == (len(TRACKS) * len(ROLES), True)

    final = subprocess.run([sys.executable, str(ROOT / "Training.py"), "with", "config.json"], cwd=root,
                           capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr[-3000:]
    assert "Traceback" not in final.stderr
    assert len(exports(root)) == len(TRACKS) * len(ROLES)
    assert_only_complete_files(root)
    assert temp_files(root) == []
    assert (root / "checkpoints" / "7_sup" / "result.json").is_file()
