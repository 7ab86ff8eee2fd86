"""The training loop shared by both phases: epochs of ``epoch_it`` steps, validation after each epoch, early
stopping with patience, checkpoints, TensorBoard scalars, exact resume and a clean stop on Ctrl-C or SIGTERM;
and the distribution/precision plumbing both phases share (tf.distribute strategy, mixed precision, loss
scaling, per-replica input pipelines).

A phase's checkpoints go to ``<model_base_dir>/<id>_<phase>/<id>_<phase>-<step>``; next to them lie
``model_config.json`` (to rebuild the model) and ``best.json`` (the best checkpoint by validation loss).

Distribution (``model_config["strategy"]``): ``"default"`` (one device: the first GPU if any, else the CPU),
``"mirrored"`` (all local GPUs, or all logical CPUs when there is no GPU) or ``"multi_worker"``
(``MultiWorkerMirroredStrategy`` configured by ``TF_CONFIG``). Models, critics and optimisers are created under
the strategy's scope; each replica draws its own batches of ``batch_size / replicas`` examples (a global batch of
``batch_size``); every loss a replica differentiates is its local mean times ``local batch / global batch``, so
the gradients summed over replicas are those of the global-batch mean. Only the chief writes checkpoints (the
other workers save to a temporary folder, as tf.distribute requires), JSON files and TensorBoard logs.
"""

from __future__ import annotations

import logging
import math
import shutil
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf
import tf_keras as keras
from tqdm import tqdm

from Utils import BEST_FILE, CONFIG_FILE, read_json, write_json_atomic

logger = logging.getLogger(__name__)

STRATEGIES = ("default", "mirrored", "multi_worker")
PRECISIONS = (False, None, "float32", "mixed_float16", "mixed_bfloat16")
_strategies: dict[str, tf.distribute.Strategy] = {}


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


# --------------------------------------------------------------------------------------------------------------
# Distribution and precision


def get_strategy(model_config: dict) -> tf.distribute.Strategy:
    """The run's tf.distribute strategy (``model_config["strategy"]``, default ``"default"``), one per process.

    ``multi_worker`` must be created before other TensorFlow work, so ``run_experiment`` calls this first.
    """
    name = model_config.get("strategy", "default") or "default"
    if name not in STRATEGIES:
        raise ValueError(f"model_config: strategy must be one of {STRATEGIES}, got {name!r}")
    if name not in _strategies:
        if name == "multi_worker":  # before anything initialises the TensorFlow runtime (devices included)
            strategy = tf.distribute.MultiWorkerMirroredStrategy()
        else:
            gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
            cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
            if name == "mirrored":
                strategy = tf.distribute.MirroredStrategy(gpus or cpus)
            else:
                strategy = tf.distribute.OneDeviceStrategy(gpus[0]) if gpus else tf.distribute.get_strategy()
        logger.info("tf.distribute: %s strategy, %d replica(s) in sync", name, strategy.num_replicas_in_sync)
        _strategies[name] = strategy
    return _strategies[name]


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes checkpoints and logs (always, except on non-chief multi-worker tasks)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    spec = resolver.cluster_spec().as_dict()
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                             and "chief" not in spec)


@contextmanager
def precision_policy(model_config: dict) -> Iterator[None]:
    """Build models inside this: the Keras dtype policy of ``model_config["mixed_precision"]`` is in force.

    ``False``/``"float32"``: float32. ``"mixed_float16"``/``"mixed_bfloat16"``: float32 variables, 16-bit
    compute; the models then return 16-bit tensors, which the training steps cast to float32. The previous
    global policy is restored afterwards (layers keep the policy they were built with).
    """
    precision = model_config.get("mixed_precision", False)
    if precision not in PRECISIONS:
        raise ValueError(f"model_config: mixed_precision must be one of {PRECISIONS}, got {precision!r}")
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision if precision and precision != "float32" else "float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def make_optimizer(learning_rate: float, model_config: dict) -> keras.optimizers.Optimizer:
    """Adam at ``learning_rate``, wrapped in a dynamic ``LossScaleOptimizer`` under ``mixed_float16``.

    Call under the strategy's scope. Use :func:`scaled_gradients` to differentiate a loss for it.
    """
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    if model_config.get("mixed_precision", False) == "mixed_float16":
        optimizer = keras.mixed_precision.LossScaleOptimizer(optimizer)
    return optimizer


def scaled_gradients(tape: tf.GradientTape, loss: tf.Tensor, variables: Sequence[tf.Variable],
                     optimizer: keras.optimizers.Optimizer) -> list[tf.Tensor]:
    """Gradients of the float32 scalar ``loss`` recorded on ``tape`` with respect to ``variables``.

    With a ``LossScaleOptimizer`` the backward pass starts from the loss scale (``output_gradients``, the same
    as differentiating ``loss * scale``, so float16 gradients do not underflow) and the result is unscaled.
    """
    if isinstance(optimizer, keras.mixed_precision.LossScaleOptimizer):
        scale = tf.cast(optimizer.loss_scale, loss.dtype)
        return optimizer.get_unscaled_gradients(tape.gradient(loss, variables, output_gradients=scale))
    return tape.gradient(loss, variables)


def replica_share(batch: tf.Tensor, global_batch: int) -> tf.Tensor:
    """``local batch / global batch`` (float32) for a replica's ``batch`` ``[local_batch, ...]``: the factor that
    turns a replica's mean loss into its share of the global-batch mean (replicas' gradients are summed)."""
    return tf.cast(tf.shape(batch)[0], tf.float32) / float(global_batch)


def distribute(strategy: tf.distribute.Strategy, make_dataset: Callable[[int, tuple[int, ...]], tf.data.Dataset],
               global_batch: int, seed: Sequence[int]) -> tf.distribute.DistributedDataset:
    """Per-replica input pipelines under ``strategy``, prefetched to the replicas' devices.

    ``make_dataset(batch, seed)`` builds one pipeline of ``batch``-example batches; it is called once per input
    pipeline (one per worker) with ``batch = global_batch / replicas`` and seed ``(*seed, pipeline id)``, so
    workers draw different examples.
    """
    replicas = strategy.num_replicas_in_sync
    if global_batch % replicas:
        raise ValueError(f"model_config: batch_size {global_batch} is not divisible by {replicas} replicas")

    def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        return make_dataset(context.get_per_replica_batch_size(global_batch), (*seed, context.input_pipeline_id))

    return strategy.distribute_datasets_from_function(dataset_fn)


def reduce_logs(strategy: tf.distribute.Strategy, logs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """Sum per-replica scalars that are already shares of global means (see :func:`replica_share`)."""
    return {key: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None) for key, value in logs.items()}


def compile_fn(fn: Callable, model_config: dict) -> Callable:
    """``fn`` as a ``tf.function``, XLA-compiled when ``model_config["train_jit_compile"]`` is true.

    Use for the per-replica gradient computations, not for optimiser updates (XLA cannot hold the cross-replica
    all-reduce on CPUs)."""
    return tf.function(fn, jit_compile=bool(model_config.get("train_jit_compile", False)))


# --------------------------------------------------------------------------------------------------------------
# The loop


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
    make_train_step: Callable[[int], Callable[[], dict[str, tf.Tensor]]],
    validate: Callable[[], float],
    summarise: Callable[[int], None] | None = None,
    resume_from: str | None = None,
    progress: bool = True,
    strategy: tf.distribute.Strategy | None = None,
) -> PhaseResult:
    """Run one training phase to early stopping.

    Args:
        phase: ``"sup"`` or ``"semisup"``; names the checkpoint and log folders.
        model_config: the run's configuration (written next to the checkpoints as JSON).
        experiment_id: the run's id.
        trackables: everything to checkpoint (models, optimisers); must include ``"model"``, the separator.
        make_train_step: called once, after any restore, with the step count reached so far (0 for a fresh
            start); returns the callable that takes one optimiser step on a fresh batch and returns scalars, at
            least ``"loss"``. Seeding the input pipelines with that count makes a resumed run draw new batches.
        validate: returns the validation loss (lower is better).
        summarise: writes images/audio to the default summary writer at validation time, given the step.
        resume_from: checkpoint prefix to resume from (exactly: weights, optimisers, step, early-stopping state).
        progress: show a tqdm bar per epoch.
        strategy: the tf.distribute strategy the models were built under (default: the default strategy).

    Raises:
        TrainingDiverged: on a non-finite loss.
        KeyboardInterrupt: after saving a checkpoint, on Ctrl-C or SIGTERM.
    """
    strategy = strategy or tf.distribute.get_strategy()
    chief = is_chief(strategy)
    folder = run_dir(model_config, experiment_id, phase)
    # tf.distribute: every worker saves (variables may need collectives); non-chief ones into a scratch folder.
    save_folder = folder if chief else folder / f".worker_{strategy.cluster_resolver.task_id}"
    name = f"{experiment_id}_{phase}"
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    best_loss = tf.Variable(math.inf, dtype=tf.float64, trainable=False, name="best_loss")
    bad_epochs = tf.Variable(0, dtype=tf.int64, trainable=False, name="bad_epochs")
    checkpoint = tf.train.Checkpoint(step=step, epoch=epoch, best_loss=best_loss, bad_epochs=bad_epochs, **trackables)
    patience = int(model_config["patience"])
    manager = tf.train.CheckpointManager(checkpoint, str(save_folder), max_to_keep=patience + 3,
                                         checkpoint_name=name)
    if resume_from:
        checkpoint.restore(resume_from).expect_partial()
        logger.info("%s: resumed from %s at step %d, epoch %d", phase, resume_from, int(step), int(epoch))
    train_step = make_train_step(int(step))
    if chief:
        write_json_atomic(folder / CONFIG_FILE, model_config)
    best_path = folder / BEST_FILE
    best_checkpoint = _read_best(best_path) if resume_from else None

    if chief:
        writer = tf.summary.create_file_writer(str(log_dir(model_config, experiment_id, phase)))
    else:
        writer = tf.summary.create_noop_writer()
    epoch_it = int(model_config["epoch_it"])
    max_epochs = int(model_config["max_epochs"])
    log_every = max(1, int(model_config["log_every"]))
    stop_reason = "max_epochs"

    def save() -> str:
        saved = manager.save(checkpoint_number=int(step))
        return str(folder / Path(saved).name)  # the chief's copy

    with writer.as_default(), _sigterm_as_interrupt():
        try:
            while int(epoch) < max_epochs:
                if int(bad_epochs) >= patience:
                    stop_reason = "early_stopping"
                    break
                done_in_epoch = int(step) - int(epoch) * epoch_it
                bar = tqdm(range(max(0, done_in_epoch), epoch_it), desc=f"{phase} epoch {int(epoch) + 1}",
                           disable=not progress or not chief, leave=False, dynamic_ncols=True)
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
                for key, value in trackables.items():
                    if isinstance(value, keras.optimizers.Optimizer):
                        tf.summary.scalar(f"learning_rate/{key}", float(value.learning_rate), step=int(step))
                if summarise is not None and chief:
                    summarise(int(step))
                writer.flush()
                improved = val_loss < float(best_loss)
                if improved:
                    best_loss.assign(val_loss)
                    bad_epochs.assign(0)
                else:
                    bad_epochs.assign_add(1)
                saved = save()
                if improved:
                    best_checkpoint = saved
                    if chief:
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
            saved = save()
            logger.warning("%s interrupted at step %d: checkpoint saved to %s; resume with load_model=%s",
                           phase, int(step), saved, saved)
            raise
        finally:
            if not chief:
                shutil.rmtree(save_folder, ignore_errors=True)
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
