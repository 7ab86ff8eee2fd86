"""The training loop shared by both phases: epochs of ``epoch_it`` steps, validation after each epoch, early
stopping, checkpoints, TensorBoard scalars, exact resume and a clean stop on Ctrl-C or SIGTERM.

A phase (:class:`TrainingPhase`) says what differs: what it checkpoints, how it takes a step, how it validates.
The loop is built from small pieces: :class:`Models.training.early_stopping.EarlyStopping`,
:class:`Models.training.checkpoints.CheckpointKeeper` and :class:`Models.training.summaries.TrainingLog`.

Exact resume: the checkpoint holds the step, the early-stopping state and every trainable object (separator,
critics, optimisers, the random generator of the gradient penalty); a resumed run's input pipelines skip the
batches already served (``Models.training.distribute.distribute``), so it continues as if it had never stopped.
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
import tf_keras as keras
from tqdm import tqdm

from Input.audio.cache import AudioCache
from Models.config import ExperimentConfig, TrainConfig
from Models.nets.checkpoint_files import write_run_files
from Models.nets.onnx_export import export_checkpoint
from Models.nets.unet import Unet
from Models.training.checkpoints import CheckpointKeeper, PhaseResult
from Models.training.distribute import is_chief
from Models.training.early_stopping import EarlyStopping
from Models.training.summaries import TrainingLog
from Utils import EXIT_STATUS, SIGNAL_STATUS, CheckpointError, ProjectError

logger = logging.getLogger(__name__)



class TrainingDiverged(ProjectError, RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept and named in the message."""

    kind = "diverged"


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a phase after it saved a checkpoint; ``folder`` resumes it."""

    def __init__(self, phase: str, folder: Path, checkpoint: str, step: int, signum: int) -> None:
        super().__init__(f"{phase} interrupted at step {step}: checkpoint saved to {checkpoint}")
        self.phase, self.folder, self.checkpoint, self.step, self.signum = phase, folder, checkpoint, step, signum

    @property
    def exit_status(self) -> int:
        """130 after SIGINT, 143 after SIGTERM."""
        return SIGNAL_STATUS.get(self.signum, EXIT_STATUS["interrupted"])


@dataclass(frozen=True)
class TrainingPhase:
    """What differs between the supervised and the semi-supervised phase."""

    name: str  # "sup" or "semisup": names the checkpoint and log folders
    trackables: dict[str, tf.Module]  # everything to checkpoint; includes "model", the separator
    make_step: Callable[[int], Callable[[], dict[str, tf.Tensor]]]  # steps done -> one optimiser step -> scalars
    validate: Callable[[], float]  # validation loss, lower is better
    summarise: Callable[[int], None] | None  # images/audio to the default summary writer at a step
    strategy: tf.distribute.Strategy  # what the models were built under


@dataclass(frozen=True)
class TrainingRun:
    """The run a phase belongs to: its config, id and data."""

    config: ExperimentConfig  # the run's configuration (Training.py's model_config, typed)
    experiment_id: int | str  # names the checkpoint and log folders
    dataset: dict  # the dataset dict of Input.datasets.partitions (train_sup, train_valid, train_test, train_unsup)
    cache: AudioCache  # decoded audio of every track in ``dataset``
    progress: bool = True  # tqdm bars per epoch


def run_dir(train: TrainConfig, experiment_id: int | str, phase: str) -> Path:
    """Checkpoint folder of one phase of one run: ``<model_base_dir>/<id>_<phase>``."""
    return Path(train.model_base_dir) / f"{experiment_id}_{phase}"


def log_dir(train: TrainConfig, experiment_id: int | str, phase: str) -> Path:
    """TensorBoard folder of one phase of one run: ``<log_dir>/<id>_<phase>``."""
    return Path(train.log_dir) / f"{experiment_id}_{phase}"


class _StopRequest:
    """Ctrl-C and SIGTERM while a phase trains: the first one asks the loop to stop at the next step boundary
    (so the saved step count and weights agree and resume is exact); a second one interrupts at once."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def _handle(self, signum: int, frame: object) -> None:  # noqa: ARG002
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum

    @contextmanager
    def installed(self) -> Iterator[_StopRequest]:
        """Catch SIGINT and SIGTERM inside the block (main thread only; elsewhere signals are left alone)."""
        try:
            previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        except ValueError:  # not the main thread
            yield self
            return
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def export_onnx(best: str) -> None:
    """Write ``<best>.onnx`` (the ONNX export of the best checkpoint, ``Models.nets.onnx_export``) beside it when a
    phase finishes. Without tf2onnx the phase still finishes; the log says how to export later."""
    try:
        export_checkpoint(best)
    except ImportError as err:
        logger.warning("no ONNX export written (%s); install tf2onnx and run python -m Models.export --checkpoint %s",
                       err, Path(best).parent)


def run_phase(phase: TrainingPhase, config: ExperimentConfig, experiment_id: int | str, resume: bool = False,
              progress: bool = True) -> PhaseResult:
    """Train one phase to early stopping.

    Args:
        phase: the phase.
        config: the run's; its ``train`` gives ``epoch_it``, ``max_epochs``, ``patience``, ``log_every``,
            ``model_base_dir`` and ``log_dir``; beside the checkpoints go its model spec and the run record
            (``write_run_files``).
        experiment_id: the run's id.
        resume: continue exactly from the newest checkpoint in the phase's folder (weights, optimisers,
            step, early-stopping state), strictly: a checkpoint lacking part of the phase's state is an error.
        progress: show a tqdm bar per epoch.

    Raises:
        TrainingDiverged: on a non-finite loss.
        TrainingInterrupted: after saving a checkpoint, on Ctrl-C or SIGTERM.
        CheckpointError: ``resume`` and the folder holds no checkpoint of this phase.
    """
    chief = is_chief(phase.strategy)
    train = config.train
    folder = run_dir(train, experiment_id, phase.name)
    # tf.distribute: every worker saves (variables may need collectives); non-chief ones into a scratch folder.
    scratch = None if chief else folder / f".worker_{phase.strategy.cluster_resolver.task_id}"
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    stopping = EarlyStopping(train.patience, train.max_epochs)
    keeper = CheckpointKeeper(folder, {"step": step, "epoch": stopping.epoch, "best_loss": stopping.best_loss,
                                       "bad_epochs": stopping.bad_epochs, **phase.trackables},
                              keep=stopping.patience + 2, scratch=scratch)
    try:
        if resume:
            latest = keeper.latest()
            if latest is None:
                raise CheckpointError(f"{folder}: no checkpoint to resume the {phase.name} phase from")
            keeper.restore(latest)
            logger.info("%s: resumed from %s at step %d, epoch %d", phase.name, latest, int(step), int(stopping.epoch))
            best = keeper.best()
            if (chief and int(stopping.epoch) > 0 and int(stopping.bad_epochs) == 0
                    and int(step) == int(stopping.epoch) * train.epoch_it
                    and (best is None or Path(best).name != Path(latest).name)):
                # The run stopped between saving a new best epoch's checkpoint and naming it in best.json.
                keeper.record_best(latest, float(stopping.best_loss), int(step), int(stopping.epoch))
                logger.warning("%s: %s is the best checkpoint (best.json named %s)", phase.name, latest, best)
        train_step = phase.make_step(int(step))
        if chief:
            write_run_files(folder, config)
        log = TrainingLog(log_dir(train, experiment_id, phase.name), chief, train.log_every)
        epoch_it = train.epoch_it
        optimizers = {k: v for k, v in phase.trackables.items() if isinstance(v, keras.optimizers.Optimizer)}

        stop = _StopRequest()

        def interrupted(saved: str) -> TrainingInterrupted:
            return TrainingInterrupted(phase.name, folder, saved, int(step), stop.signum or signal.SIGINT)

        with log.as_default(), stop.installed():
            try:
                while (stop_reason := stopping.stop_reason()) is None:
                    done_in_epoch = int(step) - int(stopping.epoch) * epoch_it
                    desc = f"{phase.name} epoch {int(stopping.epoch) + 1}"
                    bar = tqdm(range(max(0, done_in_epoch), epoch_it), desc=desc, disable=not progress or not chief,
                               leave=False, dynamic_ncols=True)
                    for _ in bar:
                        if stop.signum is not None:
                            raise interrupted(keeper.save(int(step)))
                        scalars = train_step()
                        loss = float(scalars["loss"])
                        if not math.isfinite(loss):
                            raise TrainingDiverged(f"{phase.name}: non-finite loss at step {int(step) + 1}; "
                                                   f"last good checkpoint: {keeper.latest()}")
                        step.assign_add(1)
                        log.train_scalars(int(step), scalars)
                        bar.set_postfix(loss=f"{loss:.4f}")
                    bar.close()
                    val_loss = float(phase.validate())
                    improved = stopping.end_epoch(val_loss)
                    log.validation(int(step), val_loss, optimizers)
                    if phase.summarise is not None and chief:
                        phase.summarise(int(step))
                    log.flush()
                    saved = keeper.save(int(step), (val_loss, int(stopping.epoch)) if improved else None)
                    logger.info("%s epoch %d (step %d): validation loss %.5f%s", phase.name, int(stopping.epoch),
                                int(step), val_loss, " (best, saved)" if improved else
                                f" (best {float(stopping.best_loss):.5f}, {int(stopping.bad_epochs)} bad)")
                    if stop.signum is not None:
                        raise interrupted(saved)
            except KeyboardInterrupt as err:
                if isinstance(err, TrainingInterrupted):
                    raise
                # A second signal, in the middle of a step: the newest checkpoint is the consistent state.
                raise interrupted(keeper.latest() or "no checkpoint yet") from None
        best = keeper.best()
        if best is None:
            raise TrainingDiverged(f"{phase.name}: no epoch completed, so there is no best checkpoint in {folder}")
        result = PhaseResult(best, float(stopping.best_loss), int(step), int(stopping.epoch), stop_reason)
        keeper.finish(result)
        if chief and isinstance(phase.trackables.get("model"), Unet):
            export_onnx(best)
        logger.info("%s finished (%s) after %d epochs; best checkpoint %s (validation loss %.5f)",
                    phase.name, stop_reason, result.epochs, best, result.best_val_loss)
        return result
    finally:
        keeper.close()
