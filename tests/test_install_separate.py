"""The inference install: a fresh virtual environment with only ``pip install ".[separate]"`` separates a file with
an ONNX model (every option through the same code), and neither TensorFlow nor scipy is in it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from Models.api import Separator
from Models.nets.onnx_export import export_checkpoint
from Models.separation.options import SeparationOptions
from tests.cli_helpers import REPO, tone, write_run
from tests.tiny import TINY_MODEL

# What the package build reads (a copy, so that building it writes nothing into the repository).
SOURCES = ("setup.py", "README.md", "requirements.txt", "requirements-separate.txt", "Training.py", "separate.py",
           "Sample.py", "Evaluate.py", "Utils.py", "Models", "Input", "benchmarks", "harmony_split/__init__.py",
           "harmony_split/backend")


def copy_sources(target: Path) -> Path:
    for name in SOURCES:
        source, dest = REPO / name, target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "data", "*.pyc"))
        else:
            shutil.copy2(source, dest)
    return target


@pytest.mark.slow
def test_separate_extra_separates_without_tensorflow(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    source = copy_sources(tmp_path / "src")
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"{source}[separate]"],
                               capture_output=True, text=True, check=False)
    assert installed.returncode == 0, installed.stderr[-3000:]
    for heavy in ("tensorflow", "scipy"):  # scipy (143 MB): the Wiener filter runs on numpy alone
        absent = subprocess.run([str(python), "-c", f"import {heavy}"], capture_output=True, text=True, check=False)
        assert absent.returncode != 0 and f"No module named '{heavy}'" in absent.stderr

    prefix = write_run(tmp_path / "checkpoints", "1_sup", TINY_MODEL, 4, seed=3)
    model = export_checkpoint(prefix)
    song = tmp_path / "song.wav"
    sf.write(song, tone(22050, 3.0, 2), 22050, subtype="FLOAT")
    out = tmp_path / "out"
    work = tmp_path / "elsewhere"  # not the repository: the installed modules run
    work.mkdir()
    result = subprocess.run(
        [str(venv / "bin" / "voice-separate"), "--input", str(song), "--checkpoint", str(model), "--output", str(out),
         "--wiener", "1", "--vocals-band", "full", "--bit-depth", "32", "--offset", "0.5", "--duration", "2"],
        cwd=work, capture_output=True, text=True, check=False, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(engine onnx)" in result.stderr

    # The same stems as the onnx engine in this (TensorFlow) environment gives on the same excerpt.
    audio, sr = sf.read(song, dtype="float32")
    excerpt = audio[int(0.5 * sr): int(2.5 * sr)].T
    expected = Separator.load(model).separate(excerpt, sr, SeparationOptions(wiener=1,
                                                                             vocals_band="full"))
    for stem in ("vocals", "accompaniment"):
        written, written_sr = sf.read(out / f"song_{stem}.wav", dtype="float32")
        assert written_sr == sr and written.shape == excerpt.T.shape
        assert np.abs(written.T - expected[stem]).max() <= 1e-4 and np.abs(written).max() > 1e-3
