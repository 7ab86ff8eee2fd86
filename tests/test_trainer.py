"""The training loop and its pieces: early stopping, the checkpoint keeper, the TensorBoard log; Ctrl-C/SIGTERM
keep a checkpoint, a non-finite loss stops the run, resume is strict."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal

import pytest
import tensorflow as tf

from Models.config import ExperimentConfig, resolved_model_config
from Models.training.checkpoints import CheckpointKeeper, CheckpointSaveError, PhaseResult, finished_result
from Models.training.early_stopping import EarlyStopping
from Models.training.loop import TrainingDiverged, TrainingInterrupted, TrainingPhase, run_phase
from Models.training.summaries import TrainingLog
from Utils import CheckpointError

CONFIG = resolved_model_config(epoch_it=4, max_epochs=10, patience=2, log_every=1)


def _setup(tmp_path):
    config = ExperimentConfig.from_dict(dict(CONFIG, model_base_dir=str(tmp_path / "ckpt"),
                                             log_dir=str(tmp_path / "logs")))
    weight = tf.Variable(1.0)
    module = tf.Module()
    module.weight = weight
    return config, module, weight


def _phase(module, step, validate, make_step=None) -> TrainingPhase:
    return TrainingPhase("sup", {"model": module}, make_step or (lambda start: step), validate, None,
                         tf.distribute.get_strategy())


def test_early_stopping_counts_bad_epochs_and_prefers_patience_to_max_epochs():
    stopping = EarlyStopping(patience=2, max_epochs=4)
    improved = [stopping.end_epoch(loss) for loss in (3.0, 1.0, 1.0)]
    assert improved == [True, True, False]  # equal is not better
    assert stopping.stop_reason() is None and int(stopping.bad_epochs) == 1
    assert stopping.end_epoch(0.5) and int(stopping.bad_epochs) == 0 and float(stopping.best_loss) == 0.5
    assert stopping.stop_reason() == "max_epochs"
    tied = EarlyStopping(patience=1, max_epochs=2)
    tied.end_epoch(1.0)
    tied.end_epoch(2.0)
    assert tied.stop_reason() == "early_stopping"
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0, max_epochs=1)


def test_checkpoint_keeper_prunes_but_keeps_the_best_and_restores_strictly(tmp_path):
    weight = tf.Variable(0.0)
    folder = tmp_path / "5_sup"
    keeper = CheckpointKeeper(folder, {"weight": weight}, keep=2)
    for step in range(1, 6):
        weight.assign(float(step))
        saved = keeper.save(step)
        if step == 2:
            keeper.record_best(saved, 0.1, step, 1)
    kept = sorted(p.name for p in folder.glob("*.index"))
    assert kept == ["5_sup-2.index", "5_sup-4.index", "5_sup-5.index"]
    assert keeper.best() == str(folder / "5_sup-2") and keeper.latest() == str(folder / "5_sup-5")
    weight.assign(-1.0)
    keeper.restore(str(folder / "5_sup-2"))
    assert float(weight) == 2.0
    # A checkpoint without part of the state (here: a second variable) is refused, naming it.
    keeper.close()
    other = CheckpointKeeper(folder, {"weight": weight, "critic": tf.Variable(0.0)}, keep=2)
    with pytest.raises(CheckpointError, match="5_sup-5: does not hold the state of phase 5_sup"):
        other.restore(str(folder / "5_sup-5"))
    other.close()
    assert finished_result(folder) is None
    keeper.finish(PhaseResult(str(folder / "5_sup-2"), 0.1, 5, 3, "early_stopping"))
    assert finished_result(folder) == PhaseResult(str(folder / "5_sup-2"), 0.1, 5, 3, "early_stopping")


def test_training_log_writes_scalars_every_log_every_steps(tmp_path):
    log = TrainingLog(tmp_path, chief=True, log_every=3)
    with log.as_default():
        for step in range(1, 8):
            log.train_scalars(step, {"loss": tf.constant(float(step))})
    log.flush()
    steps = [e.step for f in tmp_path.glob("events*") for e in tf.compat.v1.train.summary_iterator(str(f))
             if any(v.tag == "train/loss" for v in e.summary.value)]
    assert steps == [3, 6]


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    config, module, weight = _setup(tmp_path)
    calls = {"n": 0}

    def step():
        calls["n"] += 1
        weight.assign_add(1.0)
        return {"loss": tf.constant(math.nan if calls["n"] == 6 else 1.0)}

    with pytest.raises(TrainingDiverged, match="non-finite loss at step 6.*1_sup-4"):
        run_phase(_phase(module, step, lambda: 1.0), config, 1, progress=False)
    assert (tmp_path / "ckpt" / "1_sup" / "1_sup-4.index").is_file()
    assert not list((tmp_path / "ckpt" / "1_sup").glob("1_sup-6*"))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_at_the_next_step_and_saves_a_checkpoint_that_resumes(tmp_path, signum):
    config, module, weight = _setup(tmp_path)
    calls = {"n": 0}

    def step():
        calls["n"] += 1
        if calls["n"] == 7:
            os.kill(os.getpid(), signum)  # arrives in the middle of step 7, which still completes
        weight.assign_add(1.0)
        return {"loss": tf.constant(1.0)}

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}  # (SIG_IGN in a nohup job)
    with pytest.raises(TrainingInterrupted) as caught:
        run_phase(_phase(module, step, lambda: 1.0), config, 2, progress=False)
    assert caught.value.exit_status == (130 if signum == signal.SIGINT else 143)
    assert caught.value.folder == tmp_path / "ckpt" / "2_sup" and caught.value.step == 7
    assert caught.value.checkpoint == str(tmp_path / "ckpt" / "2_sup" / "2_sup-7")
    assert calls["n"] == 7 and (tmp_path / "ckpt" / "2_sup" / "2_sup-7.index").is_file()
    assert {sig: signal.getsignal(sig) for sig in before} == before  # the handlers are restored
    # Resume: the weight and the step counter come back, and training finishes the interrupted epoch.
    weight.assign(-100.0)
    losses = iter([3.0, 2.0, 2.5, 2.6, 2.7])
    starts = []

    def make_step(start):
        starts.append(start)
        return lambda: {"loss": tf.constant(1.0)}

    config = dataclasses.replace(config, train=dataclasses.replace(config.train, max_epochs=3))
    result = run_phase(_phase(module, None, lambda: next(losses), make_step), config, 2, resume=True,
                       progress=False)
    assert float(weight) == 1.0 + 7  # restored: the initial 1.0 plus the 7 steps before the interrupt
    assert starts == [7]  # the input pipelines are told how many steps were done
    assert result.steps == 12 and result.epochs == 3


def test_a_second_interrupt_stops_at_once_and_names_the_last_consistent_checkpoint(tmp_path):
    config, module, weight = _setup(tmp_path)
    calls = {"n": 0}

    def step():
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt  # what a second Ctrl-C raises in the middle of a step
        weight.assign_add(1.0)
        return {"loss": tf.constant(1.0)}

    with pytest.raises(TrainingInterrupted) as caught:
        run_phase(_phase(module, step, lambda: 1.0), config, 6, progress=False)
    assert caught.value.checkpoint == str(tmp_path / "ckpt" / "6_sup" / "6_sup-4")
    assert sorted(p.name for p in (tmp_path / "ckpt" / "6_sup").glob("*.index")) == ["6_sup-4.index"]


def test_resume_without_a_checkpoint_is_an_error(tmp_path):
    config, module, _ = _setup(tmp_path)
    with pytest.raises(CheckpointError, match="4_sup: no checkpoint to resume the sup phase from"):
        run_phase(_phase(module, None, lambda: 1.0), config, 4, resume=True, progress=False)


def test_early_stopping_keeps_the_best_checkpoint(tmp_path):
    config, module, weight = _setup(tmp_path)
    losses = iter([3.0, 1.0, 2.0, 2.5, 0.5])

    def step():
        weight.assign_add(1.0)
        return {"loss": tf.constant(1.0)}

    result = run_phase(_phase(module, step, lambda: next(losses)), config, 3, progress=False)
    assert result.stop_reason == "early_stopping" and result.epochs == 4
    assert result.best_checkpoint.endswith("3_sup-8") and result.best_val_loss == 1.0
    best = json.loads((tmp_path / "ckpt" / "3_sup" / "best.json").read_text())
    assert best["checkpoint"] == "3_sup-8" and best["val_loss"] == 1.0
    assert finished_result(tmp_path / "ckpt" / "3_sup") == result


def test_a_run_stopped_before_naming_its_new_best_names_it_on_resume(tmp_path):
    """A kill between saving a new best epoch's checkpoint and writing best.json left best.json naming an older
    checkpoint while the restored state held the new best loss: the result paired the two, and the true best
    checkpoint could be pruned."""
    config, module, weight = _setup(tmp_path)
    folder = tmp_path / "ckpt" / "3_sup"

    def step():
        weight.assign_add(1.0)
        return {"loss": tf.constant(1.0)}

    short = dataclasses.replace(config, train=dataclasses.replace(config.train, max_epochs=2))
    losses = iter([3.0, 1.0])
    run_phase(_phase(module, step, lambda: next(losses)), short, 3, progress=False)  # best: 3_sup-8, loss 1.0
    (folder / "best.json").write_text(json.dumps({"checkpoint": "3_sup-4", "val_loss": 3.0, "step": 4, "epoch": 1}))
    (folder / "result.json").unlink()  # as if killed right after saving step 8

    losses = iter([2.0, 2.5])  # better than 3.0, worse than 1.0: patience 2 stops after epoch 4
    result = run_phase(_phase(module, step, lambda: next(losses)), config, 3, resume=True, progress=False)
    assert result.stop_reason == "early_stopping" and result.epochs == 4
    assert (result.best_checkpoint, result.best_val_loss) == (str(folder / "3_sup-8"), 1.0)
    assert (folder / "3_sup-8.index").is_file()  # kept, not pruned as an old checkpoint
    assert json.loads((folder / "best.json").read_text())["checkpoint"] == "3_sup-8"


def test_a_second_run_of_the_same_phase_is_refused_until_the_first_ends(tmp_path):
    folder = tmp_path / "7_sup"
    first = CheckpointKeeper(folder, {"weight": tf.Variable(0.0)}, keep=2)
    with pytest.raises(CheckpointError, match=rf"7_sup: in use by another training run \(pid {os.getpid()}\)"):
        CheckpointKeeper(folder, {"weight": tf.Variable(0.0)}, keep=2)
    first.close()
    CheckpointKeeper(folder, {"weight": tf.Variable(0.0)}, keep=2).close()  # released on close
    (folder / ".lock").write_text("pid 999999")  # left by a killed run: the OS holds no lock on it any more
    CheckpointKeeper(folder, {"weight": tf.Variable(0.0)}, keep=2).close()


def test_a_failed_save_leaves_no_temp_files_and_keeps_the_earlier_checkpoints(tmp_path):
    folder = tmp_path / "8_sup"
    weight = tf.Variable(1.0)
    keeper = CheckpointKeeper(folder, {"weight": weight}, keep=2)
    good = keeper.save(3)
    keeper.record_best(good, 0.5, 3, 1)
    best_json = (folder / "best.json").read_text()

    def disk_full(checkpoint_number):
        (folder / f"8_sup-{checkpoint_number}_temp").mkdir()  # what TensorFlow leaves when a write fails
        (folder / f"8_sup-{checkpoint_number}_temp" / "part-00000").write_bytes(b"x" * 10)
        raise tf.errors.ResourceExhaustedError(None, None, "No space left on device")

    keeper._manager.save = disk_full
    with pytest.raises(CheckpointSaveError) as caught:
        keeper.save(6)
    assert str(caught.value) == (f"cannot save a checkpoint in {folder} (No space left on device); "
                                 f"last good checkpoint: {good}")
    assert caught.value.folder == folder and "\n" not in str(caught.value)
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "8_sup-3.data-00000-of-00001", "8_sup-3.index", "best.json", "checkpoint"]
    assert (folder / "best.json").read_text() == best_json
    keeper.close()
