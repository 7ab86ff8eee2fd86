"""Distribution and precision plumbing shared by both training phases: the tf.distribute strategy, mixed
precision with loss scaling, and per-replica input pipelines.

Distribution (``TrainConfig.strategy``, the ``model_config`` key ``strategy``): ``"default"`` (one device: the
first GPU if any, else the CPU), ``"mirrored"`` (all local GPUs, or all logical CPUs when there is no GPU) or
``"multi_worker"`` (``MultiWorkerMirroredStrategy`` configured by ``TF_CONFIG``). Models, critics and optimisers
are created under the strategy's scope; each replica draws its own batches of ``batch_size / replicas`` examples (a
global batch of ``batch_size``); every loss a replica differentiates is its local mean times ``local batch / global
batch``, so the gradients summed over replicas are those of the global-batch mean. Only the chief writes
checkpoints (the other workers save to a temporary folder, as tf.distribute requires), JSON files and TensorBoard
logs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol

import tensorflow as tf
import tf_keras as keras

logger = logging.getLogger(__name__)

STRATEGIES = ("default", "mirrored", "multi_worker")
_strategies: dict[str, tf.distribute.Strategy] = {}


# --------------------------------------------------------------------------------------------------------------
# Distribution and precision


def get_strategy(name: str | None = "default") -> tf.distribute.Strategy:
    """The tf.distribute strategy ``name`` (a run's ``TrainConfig.strategy``; None: ``"default"``), one per
    process.

    ``multi_worker`` must be created before other TensorFlow work, so ``run_experiment`` calls this first.
    """
    name = name or "default"
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


def make_optimizer(learning_rate: float, mixed_precision: str | bool | None = False) -> keras.optimizers.Optimizer:
    """Adam at ``learning_rate``, wrapped in a dynamic ``LossScaleOptimizer`` when ``mixed_precision`` (a run's
    ``TrainConfig.mixed_precision``) is ``"mixed_float16"``.

    Call under the strategy's scope. Use :func:`scaled_gradients` to differentiate a loss for it.
    """
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    if mixed_precision == "mixed_float16":
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


class PipelineFactory(Protocol):
    """Builds one input pipeline: ``(batch, seed, skip) -> tf.data.Dataset`` of ``batch``-example batches,
    seeded by ``seed`` and starting after ``skip`` batches of that seed's sequence."""

    def __call__(self, batch: int, seed: tuple[int, ...], skip: int) -> tf.data.Dataset: ...


def distribute(strategy: tf.distribute.Strategy, make_dataset: PipelineFactory, global_batch: int,
               seed: Sequence[int], skip_steps: int = 0, batches_per_step: int = 1
               ) -> tf.distribute.DistributedDataset:
    """Per-replica input pipelines under ``strategy``, prefetched to the replicas' devices.

    ``make_dataset`` is called once per input pipeline (one per worker) with ``batch = global_batch / replicas``
    and seed ``(*seed, pipeline id)``, so workers draw different examples. A run resumed after ``skip_steps``
    steps, each taking ``batches_per_step`` batches per replica, skips what the pipeline has already served, so
    it continues the sequence of an uninterrupted run exactly.
    """
    replicas = strategy.num_replicas_in_sync
    if global_batch % replicas:
        raise ValueError(f"model_config: batch_size {global_batch} is not divisible by {replicas} replicas")

    def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        local_replicas = context.num_replicas_in_sync // context.num_input_pipelines
        skip = int(skip_steps) * int(batches_per_step) * local_replicas
        return make_dataset(context.get_per_replica_batch_size(global_batch), (*seed, context.input_pipeline_id),
                            skip)

    return strategy.distribute_datasets_from_function(dataset_fn)


def reduce_logs(strategy: tf.distribute.Strategy, logs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """Sum per-replica scalars that are already shares of global means (see :func:`replica_share`)."""
    return {key: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None) for key, value in logs.items()}


def compile_fn(fn: Callable, jit_compile: bool = False) -> Callable:
    """``fn`` as a ``tf.function``, XLA-compiled when ``jit_compile`` (a run's ``TrainConfig.train_jit_compile``).

    Use for the per-replica gradient computations, not for optimiser updates (XLA cannot hold the cross-replica
    all-reduce on CPUs)."""
    return tf.function(fn, jit_compile=bool(jit_compile))
