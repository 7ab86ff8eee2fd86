"""The shared training loop: Ctrl-C/SIGTERM keeps a checkpoint, a non-finite loss stops the run, early stopping."""

from __future__ import annotations

import json
import math
import os
import signal

import pytest
import tensorflow as tf

from Models.trainer import TrainingDiverged, run_phase

CONFIG = {"epoch_it": 4, "max_epochs": 10, "patience": 2, "log_every": 1}


def _setup(tmp_path):
    config = dict(CONFIG, model_base_dir=str(tmp_path / "ckpt"), log_dir=str(tmp_path / "logs"))
    weight = tf.Variable(1.0)
    module = tf.Module()
    module.weight = weight
    return config, module, weight


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    config, module, weight = _setup(tmp_path)
    calls = {"n": 0}

    def step():
        calls["n"] += 1
        weight.assign_add(1.0)
        return {"loss": tf.constant(math.nan if calls["n"] == 6 else 1.0)}

    with pytest.raises(TrainingDiverged, match="non-finite loss at step 6.*1_sup-4"):
        run_phase("sup", config, 1, {"model": module}, lambda start: step, lambda: 1.0, progress=False)
    assert (tmp_path / "ckpt" / "1_sup" / "1_sup-4.index").is_file()
    assert not list((tmp_path / "ckpt" / "1_sup").glob("1_sup-6*"))


@pytest.mark.parametrize("how", ["keyboard", "sigterm"])
def test_interrupt_saves_a_checkpoint_that_resumes(tmp_path, how):
    config, module, weight = _setup(tmp_path)
    calls = {"n": 0}

    def step():
        calls["n"] += 1
        if calls["n"] == 7:
            if how == "keyboard":
                raise KeyboardInterrupt
            os.kill(os.getpid(), signal.SIGTERM)
        weight.assign_add(1.0)
        return {"loss": tf.constant(1.0)}

    with pytest.raises(KeyboardInterrupt):
        run_phase("sup", config, 2, {"model": module}, lambda start: step, lambda: 1.0, progress=False)
    prefix = tmp_path / "ckpt" / "2_sup" / "2_sup-6"
    assert (tmp_path / "ckpt" / "2_sup" / "2_sup-6.index").is_file()
    # Resume: the weight and the step counter come back, and training finishes the interrupted epoch.
    weight.assign(-100.0)
    losses = iter([3.0, 2.0, 2.5, 2.6, 2.7])
    result = run_phase("sup", dict(config, max_epochs=3), 2, {"model": module},
                       lambda start: lambda: {"loss": tf.constant(1.0)}, lambda: next(losses), resume_from=str(prefix),
                       progress=False)
    assert float(weight) == 1.0 + 6  # restored: the initial 1.0 plus the 6 steps before the interrupt
    assert result.steps == 12 and result.epochs == 3


def test_early_stopping_keeps_the_best_checkpoint(tmp_path):
    config, module, weight = _setup(tmp_path)
    losses = iter([3.0, 1.0, 2.0, 2.5, 0.5])

    def step():
        weight.assign_add(1.0)
        return {"loss": tf.constant(1.0)}

    result = run_phase("sup", config, 3, {"model": module}, lambda start: step, lambda: next(losses), progress=False)
    assert result.stop_reason == "early_stopping" and result.epochs == 4
    assert result.best_checkpoint.endswith("3_sup-8") and result.best_val_loss == 1.0
    best = json.loads((tmp_path / "ckpt" / "3_sup" / "best.json").read_text())
    assert best["checkpoint"] == "3_sup-8" and best["val_loss"] == 1.0
