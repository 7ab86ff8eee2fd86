"""The training loop shared by both phases: epochs of ``epoch_it`` steps, validation after each epoch, early
stopping with patience, checkpoints, TensorBoard scalars, exact resume and a clean stop on Ctrl-C or SIGTERM.

A phase's checkpoints go to ``<model_base_dir>/<id>_<phase>/<id>_<phase>-<step>``; next to them lie
``model_config.json`` (to rebuild the model) and ``best.json`` (the best checkpoint by validation loss).
"""

from __future__ import annotations

import logging
import math
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf
from tqdm import tqdm

from Utils import BEST_FILE, CONFIG_FILE, read_json, write_json_atomic

logger = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept and named in the message."""


@dataclass
class PhaseResult:
    """What a finished phase leaves behind."""

    best_checkpoint: str  # checkpoint prefix with the lowest validation loss
    best_val_loss: float  # its validation loss (MSE of log-normalised magnitudes)
    steps: int  # optimiser steps taken in total (across resumes)
    epochs: int  # epochs completed
    stop_reason: str  # "early_stopping" or "max_epochs"


def run_dir(model_config: dict, experiment_id: int | str, phase: str) -> Path:
    """Checkpoint folder of one phase of one run: ``<model_base_dir>/<id>_<phase>``."""
    return Path(model_config["model_base_dir"]) / f"{experiment_id}_{phase}"


def log_dir(model_config: dict, experiment_id: int | str, phase: str) -> Path:
    """TensorBoard folder of one phase of one run: ``<log_dir>/<id>_<phase>``."""
    return Path(model_config["log_dir"]) / f"{experiment_id}_{phase}"


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt while training, so both save a checkpoint and stop cleanly."""

    def handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_phase(
    phase: str,
    model_config: dict,
    experiment_id: int | str,
    trackables: dict[str, tf.Module],
    train_step: Callable[[], dict[str, tf.Tensor]],
    validate: Callable[[], float],
    summarise: Callable[[int], None] | None = None,
    resume_from: str | None = None,
    progress: bool = True,
) -> PhaseResult:
    """Run one training phase to early stopping.

    Args:
        phase: ``"sup"`` or ``"semisup"``; names the checkpoint and log folders.
        model_config: the run's configuration (written next to the checkpoints as JSON).
        experiment_id: the run's id.
        trackables: everything to checkpoint (models, optimisers); must include ``"model"``, the separator.
        train_step: takes one optimiser step on a fresh batch and returns scalars, at least ``"loss"``.
        validate: returns the validation loss (lower is better).
        summarise: writes images/audio to the default summary writer at validation time, given the step.
        resume_from: checkpoint prefix to resume from (exactly: weights, optimisers, step, early-stopping state).
        progress: show a tqdm bar per epoch.

    Raises:
        TrainingDiverged: on a non-finite loss.
        KeyboardInterrupt: after saving a checkpoint, on Ctrl-C or SIGTERM.
    """
    folder = run_dir(model_config, experiment_id, phase)
    name = f"{experiment_id}_{phase}"
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    best_loss = tf.Variable(math.inf, dtype=tf.float64, trainable=False, name="best_loss")
    bad_epochs = tf.Variable(0, dtype=tf.int64, trainable=False, name="bad_epochs")
    checkpoint = tf.train.Checkpoint(step=step, epoch=epoch, best_loss=best_loss, bad_epochs=bad_epochs, **trackables)
    patience = int(model_config["patience"])
    manager = tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=patience + 3, checkpoint_name=name)
    if resume_from:
        checkpoint.restore(resume_from).expect_partial()
        logger.info("%s: resumed from %s at step %d, epoch %d", phase, resume_from, int(step), int(epoch))
    write_json_atomic(folder / CONFIG_FILE, model_config)
    best_path = folder / BEST_FILE
    best_checkpoint = _read_best(best_path) if resume_from else None

    writer = tf.summary.create_file_writer(str(log_dir(model_config, experiment_id, phase)))
    epoch_it = int(model_config["epoch_it"])
    max_epochs = int(model_config["max_epochs"])
    log_every = max(1, int(model_config["log_every"]))
    stop_reason = "max_epochs"
    with writer.as_default(), _sigterm_as_interrupt():
        try:
            while int(epoch) < max_epochs:
                if int(bad_epochs) >= patience:
                    stop_reason = "early_stopping"
                    break
                done_in_epoch = int(step) - int(epoch) * epoch_it
                bar = tqdm(
                    range(max(0, done_in_epoch), epoch_it),
                    desc=f"{phase} epoch {int(epoch) + 1}",
                    disable=not progress,
                    leave=False,
                    dynamic_ncols=True,
                )
                for _ in bar:
                    scalars = train_step()
                    loss = float(scalars["loss"])
                    if not math.isfinite(loss):
                        raise TrainingDiverged(
                            f"{phase}: non-finite loss at step {int(step) + 1}; "
                            f"last good checkpoint: {manager.latest_checkpoint}"
                        )
                    step.assign_add(1)
                    if int(step) % log_every == 0:
                        for key, value in scalars.items():
                            tf.summary.scalar(f"train/{key}", value, step=int(step))
                    bar.set_postfix(loss=f"{loss:.4f}")
                bar.close()
                epoch.assign_add(1)
                val_loss = float(validate())
                tf.summary.scalar("validation/loss", val_loss, step=int(step))
                if summarise is not None:
                    summarise(int(step))
                writer.flush()
                improved = val_loss < float(best_loss)
                if improved:
                    best_loss.assign(val_loss)
                    bad_epochs.assign(0)
                else:
                    bad_epochs.assign_add(1)
                saved = manager.save(checkpoint_number=int(step))
                if improved:
                    best_checkpoint = saved
                    write_json_atomic(best_path, {"checkpoint": Path(saved).name, "val_loss": val_loss,
                                                  "step": int(step), "epoch": int(epoch)})
                logger.info(
                    "%s epoch %d (step %d): validation loss %.5f%s",
                    phase, int(epoch), int(step), val_loss,
                    " (best, saved)" if improved else f" (best {float(best_loss):.5f}, {int(bad_epochs)} bad)",
                )
            else:
                if int(bad_epochs) >= patience:
                    stop_reason = "early_stopping"
        except KeyboardInterrupt:
            saved = manager.save(checkpoint_number=int(step))
            logger.warning("%s interrupted at step %d: checkpoint saved to %s; resume with load_model=%s",
                           phase, int(step), saved, saved)
            raise
    if best_checkpoint is None:
        raise TrainingDiverged(f"{phase}: no epoch completed, so there is no best checkpoint in {folder}")
    logger.info("%s finished (%s) after %d epochs; best checkpoint %s (validation loss %.5f)",
                phase, stop_reason, int(epoch), best_checkpoint, float(best_loss))
    return PhaseResult(best_checkpoint, float(best_loss), int(step), int(epoch), stop_reason)


def _read_best(path: Path) -> str | None:
    """The best checkpoint prefix recorded in ``best.json``, or None when there is none yet."""
    if not path.is_file():
        return None
    return str(path.parent / read_json(path)["checkpoint"])
