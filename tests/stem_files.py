"""Generated MUSDB18 material shared by the data-set and training tests: per-source stems and real ``.stem.mp4``
files written with ffmpeg."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from Input.datasets import musdb as musdb_data

SR = 22050  # Hz, the wav fixtures' rate
SECONDS = 1.0  # each generated track's length
STEM_SR = 44100  # Hz, the .stem.mp4 fixtures' rate (MUSDB18's)
SOURCES = ("drums", "bass", "other", "vocals")
FREQS = {"drums": 110.0, "bass": 55.0, "other": 440.0, "vocals": 880.0}  # Hz, each source's sine

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
                                  reason="ffmpeg/ffprobe not installed")


def make_stems(seed: int, sr: int = SR, seconds: float = SECONDS) -> dict[str, np.ndarray]:
    """Stereo float32 stems [2, samples] (a sine per source plus a little noise) and their mixture."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    stems = {}
    for k, name in enumerate(SOURCES):
        tone = 0.2 * np.sin(2 * np.pi * FREQS[name] * (1 + 0.01 * seed) * t + k)
        stems[name] = np.stack([tone, 0.8 * tone]) + 0.01 * rng.standard_normal((2, t.size))
        stems[name] = stems[name].astype(np.float32)
    stems["mixture"] = sum(stems[s] for s in SOURCES)
    return stems


def write_stem_file(path: Path, stems: dict[str, np.ndarray], sr: int, order=musdb_data.STEM_ORDER) -> None:
    """A real .stem.mp4: one AAC stream per stem in ``order`` (MUSDB18: mixture, drums, bass, other, vocals)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    src = path.parent / "src"
    src.mkdir(exist_ok=True)
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    for name in order:
        sf.write(src / f"{name}.wav", stems[name].T, sr, subtype="FLOAT")
        cmd += ["-i", str(src / f"{name}.wav")]
    for i in range(len(order)):
        cmd += ["-map", str(i)]
    subprocess.run(cmd + ["-c:a", "aac", "-b:a", "256k", str(path)], check=True)
    shutil.rmtree(src)
