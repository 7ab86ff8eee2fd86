"""Shared pieces of the command-line tests (separate.py, Training.py, Evaluate.py run in a subprocess): the quiet
child environment, a checkpoint run folder in the trainer's layout, and a test signal."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf_keras as keras

from Models.config import ModelSpec
from Models.nets.factory import build_separator

REPO = Path(__file__).resolve().parents[1]
# A child process's environment: the repository importable, TensorFlow's native logging off, no GPU probing.
ENV = {
    "PYTHONPATH": str(REPO),
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "CUDA_VISIBLE_DEVICES": "",
    "PATH": "/usr/bin:/bin",
}


def write_run(base: Path, run: str, config: dict, step: int, age: float = 0.0, seed: int = 0) -> str:
    """A checkpoint run folder in the legacy layout (``config``, a run's ``model_config``, as ``model_config.json``),
    its weights initialised from ``seed`` (the same on every run, so a test that needs a non-silent estimate does not
    depend on luck); ``best.json`` is dated ``age`` seconds in the past. Returns the checkpoint prefix."""
    folder = base / run
    folder.mkdir(parents=True, exist_ok=True)
    prefix = folder / f"{run}-{step}"
    keras.utils.set_random_seed(seed)
    tf.train.Checkpoint(model=build_separator(ModelSpec.from_dict(config))).write(str(prefix))
    (folder / "model_config.json").write_text(json.dumps(config))
    best = folder / "best.json"
    best.write_text(json.dumps({"checkpoint": prefix.name, "val_loss": 0.5}))
    stamp = time.time() - age
    os.utime(best, (stamp, stamp))
    return str(prefix)


def tone(sr: int, seconds: float, channels: int, seed: int = 0) -> np.ndarray:
    """``[samples, channels]`` float32 test signal at ``sr`` Hz lasting ``seconds``: a tone plus noise, different
    per channel."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    return np.stack(
        [
            0.3 * np.sin(2 * np.pi * (300 + 100 * c) * t) + 0.02 * rng.standard_normal(t.size)
            for c in range(channels)
        ],
        axis=1,
    ).astype(np.float32)
