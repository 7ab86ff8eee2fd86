"""The supervised phase: MSE on log-normalised magnitudes of accompaniment and voice, Adam at
``init_sup_sep_lr``, validated on whole tracks with the sliding-window separator (:func:`track_loss`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf
import tf_keras as keras

from Input.audio.cache import AudioCache
from Input.excerpts import Triple, paired_waves
from Models.config import ModelSpec, TrainConfig
from Models.nets.factory import build_separator, dtype_policy
from Models.nets.shapes import get_shapes
from Models.nets.spectrogram import norm
from Models.separation.model_rate import predict_magnitudes
from Models.training.checkpoints import PhaseResult
from Models.training.distribute import (
    compile_fn,
    distribute,
    get_strategy,
    make_optimizer,
    reduce_logs,
    replica_share,
    scaled_gradients,
)
from Models.training.features import excerpt_plan, paired_features, whole_track_magnitudes
from Models.training.loop import TrainingPhase, TrainingRun, run_phase
from Models.training.summaries import make_summariser

logger = logging.getLogger(__name__)

Batches = tf.data.Dataset | tf.distribute.DistributedDataset


def separation_loss(acc_est: tf.Tensor, voice_est: tf.Tensor, acc: tf.Tensor, voice: tf.Tensor) -> tf.Tensor:
    """Supervised loss: mean squared error of log-normalised magnitudes, accompaniment plus voice.

    All tensors are ``[batch, freq, time, 1]`` log1p magnitudes of the same shape.
    """
    return tf.reduce_mean(tf.square(acc_est - acc)) + tf.reduce_mean(tf.square(voice_est - voice))


def distributed_input(strategy: tf.distribute.Strategy, batches: Batches,
                      global_batch: int | None) -> tuple[tf.distribute.DistributedDataset, int]:
    """``batches`` split over the replicas (a ``tf.data.Dataset`` of global batches, or pipelines from
    ``Models.training.distribute.distribute`` as they are) and the global batch size (default: the dataset's static
    one).
    """
    if isinstance(batches, tf.data.Dataset):
        if global_batch is None:
            global_batch = tf.nest.flatten(batches.element_spec)[0].shape[0]
        batches = strategy.experimental_distribute_dataset(batches)
    if not global_batch:
        raise ValueError("global_batch is needed for distributed or unbatched input")
    return batches, int(global_batch)


class SupervisedTrainer(tf.Module):
    """Holds the separator and its optimiser and compiles the supervised step.

    Both are created under ``strategy``'s scope and ``train.mixed_precision``; ``train`` also gives the learning
    rate (``init_sup_sep_lr``) and whether the step is XLA-compiled (``train_jit_compile``).
    """

    def __init__(self, spec: ModelSpec, train: TrainConfig, strategy: tf.distribute.Strategy | None = None) -> None:
        super().__init__(name="supervised_trainer")
        self.train = train
        self.strategy = strategy or tf.distribute.get_strategy()
        with self.strategy.scope(), dtype_policy(train.mixed_precision):
            self.separator = build_separator(spec)
            self.optimizer = make_optimizer(train.init_sup_sep_lr, train.mixed_precision)
            self.optimizer.build(self.separator.trainable_variables)  # slots now, not in the first trace

    def trackables(self) -> dict[str, tf.Module]:
        """Everything the checkpoint holds, so that resume is exact."""
        return {"model": self.separator, "optimizer": self.optimizer}

    def gradients(self, mix: tf.Tensor, acc: tf.Tensor, voice: tf.Tensor,
                  global_batch: int) -> tuple[list[tf.Tensor], tf.Tensor]:
        """Gradients of :func:`separation_loss` for the separator's trainable variables on one (per-replica)
        batch, and the loss (this replica's share of the global-batch mean).

        ``mix`` is ``[B, input_freq, input_time, 1]``; ``acc`` and ``voice`` are ``[B, output_freq, output_time,
        1]`` targets. Gradients are unscaled if the optimiser is a loss-scale optimiser (mixed_float16).
        """
        share = replica_share(mix, global_batch)
        with tf.GradientTape() as tape:
            acc_est, voice_est = (tf.cast(x, tf.float32) for x in self.separator(mix, training=True))
            loss = separation_loss(acc_est, voice_est, acc, voice) * share
        return scaled_gradients(tape, loss, self.separator.trainable_variables, self.optimizer), loss

    def make_step(self, batches: Batches, features: Callable[..., tuple[tf.Tensor, ...]] | None = None,
                  global_batch: int | None = None) -> Callable[[], dict[str, tf.Tensor]]:
        """Return a callable taking one optimiser step on the next paired batch; it returns ``{"loss": ...}``,
        the global-batch mean of :func:`separation_loss` whatever the number of replicas.

        Args:
            batches: a ``tf.data.Dataset`` of global batches or the per-replica pipelines of
                ``Models.training.distribute.distribute``. Elements are ``(mix, acc, voice)`` tensors (see
                :meth:`gradients`), or whatever ``features`` (e.g. ``Models.training.features.paired_features``) turns
                into them inside the step.
            global_batch: examples per step over all replicas (default: the static batch size of ``batches``).
        """
        strategy = self.strategy
        batches, global_batch = distributed_input(strategy, batches, global_batch)
        iterator = iter(batches)
        variables = self.separator.trainable_variables

        def gradients(batch: tuple[tf.Tensor, ...]) -> tuple[list[tf.Tensor], dict[str, tf.Tensor]]:
            mix, acc, voice = features(*batch) if features is not None else batch
            grads, loss = self.gradients(mix, acc, voice, global_batch)
            return grads, {"loss": loss}

        compiled = compile_fn(gradients, self.train.train_jit_compile)

        def apply(grads: list[tf.Tensor]) -> None:
            self.optimizer.apply_gradients(zip(grads, variables, strict=True))

        @tf.function
        def step() -> dict[str, tf.Tensor]:
            grads, logs = strategy.run(compiled, args=(next(iterator),))
            strategy.run(apply, args=(grads,))
            return reduce_logs(strategy, logs)

        return step


def track_loss(model: keras.Model, triples: Sequence[Triple], cache: AudioCache, spec: ModelSpec) -> float:
    """Deterministic loss over whole tracks: every frame of every track is predicted once (``inference_batch_size``
    patches a model call).

    Returns the frame-weighted mean over tracks of the supervised loss, computed on the 257 real STFT bins.
    """
    total, frames = 0.0, 0
    shapes = get_shapes(spec)
    for triple in triples:
        mix, acc, voice = (norm(m).numpy() for m in whole_track_magnitudes(triple, cache, spec))
        acc_est, voice_est = predict_magnitudes(model, mix, shapes, spec.inference_batch_size)
        loss = np.mean((acc_est - acc) ** 2) + np.mean((voice_est - voice) ** 2)
        total += float(loss) * mix.shape[-1]
        frames += mix.shape[-1]
    if frames == 0:
        raise ValueError("no tracks to compute a loss on")
    return total / frames


def train_supervised(run: TrainingRun, resume: bool = False) -> PhaseResult:
    """Train the separator on ``dataset["train_sup"]`` with early stopping on ``dataset["train_valid"]``.

    Runs under the run's ``strategy`` with its ``mixed_precision``.
    ``resume``: continue exactly from the newest checkpoint of ``<id>_sup`` (see ``Models.training.loop.run_phase``).
    """
    spec, train, dataset, cache = run.config.spec, run.config.train, run.dataset, run.cache
    trainer = SupervisedTrainer(spec, train, get_strategy(train.strategy))
    plan = excerpt_plan(spec)
    global_batch, workers = train.batch_size, run.config.data.num_workers

    def make_step(start_step: int) -> Callable[[], dict[str, tf.Tensor]]:
        def pipeline(batch: int, seed: tuple[int, ...], skip: int) -> tf.data.Dataset:
            return paired_waves(dataset["train_sup"], plan, cache, batch_size=batch, seed=seed, num_workers=workers,
                                skip=skip)

        # Seeds (seed, 0, pipeline): the 0 keeps the batch sequence of runs made before exact resume.
        batches = distribute(trainer.strategy, pipeline, global_batch, (train.seed, 0), start_step)
        return trainer.make_step(batches, paired_features(spec), global_batch)

    valid = dataset["train_valid"]

    def validate() -> float:
        return track_loss(trainer.separator, valid, cache, spec)

    summarise = make_summariser(trainer.separator, valid[0], cache, spec, train.summary_seconds) if valid else None
    phase = TrainingPhase("sup", trainer.trackables(), make_step, validate, summarise, trainer.strategy)
    return run_phase(phase, run.config, run.experiment_id, resume=resume, progress=run.progress)
