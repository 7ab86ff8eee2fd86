"""The supervised phase: MSE on log-normalised magnitudes of accompaniment and voice, Adam at
``init_sup_sep_lr``, validated on whole tracks with the sliding-window separator.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf
import tf_keras as keras

from Input.audio_cache import AudioCache
from Input.pipeline import paired_features, paired_waves, whole_track_magnitudes
from Input.spectrogram import istft, norm, stft
from Models.factory import ModelShapes, build_separator, get_shapes
from Models.separator import predict_magnitudes
from Models.trainer import (
    PhaseResult,
    compile_fn,
    distribute,
    get_strategy,
    make_optimizer,
    precision_policy,
    reduce_logs,
    replica_share,
    run_phase,
    scaled_gradients,
)
from Sample import Sample

logger = logging.getLogger(__name__)

Triple = tuple[Sample, Sample, Sample]


def separation_loss(acc_est: tf.Tensor, voice_est: tf.Tensor, acc: tf.Tensor, voice: tf.Tensor) -> tf.Tensor:
    """Supervised loss: mean squared error of log-normalised magnitudes, accompaniment plus voice.

    All tensors are ``[batch, freq, time, 1]`` log1p magnitudes of the same shape.
    """
    return tf.reduce_mean(tf.square(acc_est - acc)) + tf.reduce_mean(tf.square(voice_est - voice))


def supervised_gradients(model: keras.Model, optimizer: keras.optimizers.Optimizer, mix: tf.Tensor, acc: tf.Tensor,
                         voice: tf.Tensor, global_batch: int) -> tuple[list[tf.Tensor], tf.Tensor]:
    """Gradients of :func:`separation_loss` for the separator's trainable variables on one (per-replica) batch,
    and the loss (this replica's share of the global-batch mean).

    ``mix`` is ``[B, input_freq, input_time, 1]``; ``acc`` and ``voice`` are ``[B, output_freq, output_time, 1]``
    targets. Gradients are unscaled if ``optimizer`` is a loss-scale optimiser (mixed_float16).
    """
    share = replica_share(mix, global_batch)
    with tf.GradientTape() as tape:
        acc_est, voice_est = (tf.cast(x, tf.float32) for x in model(mix, training=True))
        loss = separation_loss(acc_est, voice_est, acc, voice) * share
    return scaled_gradients(tape, loss, model.trainable_variables, optimizer), loss


def make_supervised_step(
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    batches: tf.data.Dataset | tf.distribute.DistributedDataset,
    features: Callable[..., tuple[tf.Tensor, tf.Tensor, tf.Tensor]] | None = None,
    global_batch: int | None = None,
    strategy: tf.distribute.Strategy | None = None,
    model_config: dict | None = None,
) -> Callable[[], dict[str, tf.Tensor]]:
    """Return a callable taking one optimiser step on the next paired batch; it returns ``{"loss": ...}``.

    Args:
        model, optimizer: the separator and its optimiser, created under ``strategy``'s scope.
        batches: a ``tf.data.Dataset`` of global batches (split over the replicas), or the per-replica
            pipelines of ``Models.trainer.distribute``. Elements are ``(mix, acc, voice)`` tensors
            (``[B, input_freq, input_time, 1]``, ``[B, output_freq, output_time, 1]`` twice), or whatever
            ``features`` turns into them inside the step (e.g. ``Input.pipeline.paired_features``).
        global_batch: examples per step over all replicas (default: the static batch size of ``batches``).
        strategy: the tf.distribute strategy (default: the current one).
        model_config: reads ``train_jit_compile`` (XLA for the gradient computation).

    The reported loss is the global-batch mean of :func:`separation_loss`, whatever the number of replicas.
    """
    strategy = strategy or tf.distribute.get_strategy()
    if isinstance(batches, tf.data.Dataset):
        if global_batch is None:
            global_batch = tf.nest.flatten(batches.element_spec)[0].shape[0]
        batches = strategy.experimental_distribute_dataset(batches)
    if not global_batch:
        raise ValueError("make_supervised_step: global_batch is needed for distributed or unbatched input")
    iterator = iter(batches)
    variables = model.trainable_variables
    with strategy.scope():
        optimizer.build(variables)  # slots now, not in the first trace (which would then trace twice)

    def gradients(batch: tuple[tf.Tensor, ...]) -> tuple[list[tf.Tensor], dict[str, tf.Tensor]]:
        mix, acc, voice = features(*batch) if features is not None else batch
        grads, loss = supervised_gradients(model, optimizer, mix, acc, voice, global_batch)
        return grads, {"loss": loss}

    compiled = compile_fn(gradients, model_config or {})

    def apply(grads: list[tf.Tensor]) -> None:
        optimizer.apply_gradients(zip(grads, variables, strict=True))

    @tf.function
    def step() -> dict[str, tf.Tensor]:
        grads, logs = strategy.run(compiled, args=(next(iterator),))
        strategy.run(apply, args=(grads,))
        return reduce_logs(strategy, logs)

    return step


def track_loss(model: keras.Model, triples: Sequence[Triple], cache: AudioCache, model_config: dict,
               shapes: ModelShapes) -> float:
    """Deterministic loss over whole tracks: every frame of every track is predicted once.

    Returns the frame-weighted mean over tracks of the supervised loss, computed on the 257 real STFT bins.
    """
    total, frames = 0.0, 0
    for triple in triples:
        mix, acc, voice = (norm(m).numpy() for m in whole_track_magnitudes(triple, cache, model_config))
        acc_est, voice_est = predict_magnitudes(model, mix, shapes, model_config["inference_batch_size"])
        loss = np.mean((acc_est - acc) ** 2) + np.mean((voice_est - voice) ** 2)
        total += float(loss) * mix.shape[-1]
        frames += mix.shape[-1]
    if frames == 0:
        raise ValueError("no tracks to compute a loss on")
    return total / frames


def make_summariser(model: keras.Model, triple: Triple, cache: AudioCache, model_config: dict,
                    shapes: ModelShapes) -> Callable[[int], None]:
    """Return a callable writing spectrogram images and a short voice estimate for one validation track."""
    seconds = float(model_config["summary_seconds"])

    def summarise(step: int) -> None:
        mix, acc, voice = whole_track_magnitudes(triple, cache, model_config)
        frames = min(mix.shape[-1], int(seconds * model_config["expected_sr"] / model_config["num_hop"]))
        mix, acc, voice = mix[:, :frames], acc[:, :frames], voice[:, :frames]
        acc_est, voice_est = predict_magnitudes(model, norm(mix).numpy(), shapes,
                                                model_config["inference_batch_size"])
        images = {"mixture": norm(mix).numpy(), "voice/estimate": voice_est, "voice/target": norm(voice).numpy(),
                  "accompaniment/estimate": acc_est, "accompaniment/target": norm(acc).numpy()}
        for name, image in images.items():
            tf.summary.image(f"spectrogram/{name}", _as_image(image), step=step)
        # Audio: the voice estimate with the mixture's phase.
        samples = _excerpt(triple[0], cache, frames, model_config)
        _, mix_phase = stft(samples, model_config["num_fft"], model_config["num_hop"])
        audio = istft(np.expm1(voice_est), mix_phase, model_config["num_fft"], model_config["num_hop"],
                      length=tf.shape(samples)[-1])
        tf.summary.audio("audio/voice_estimate", audio[None, :, None], model_config["expected_sr"], step=step)

    return summarise


def _excerpt(sample: Sample, cache: AudioCache, frames: int, model_config: dict) -> tf.Tensor:
    """The first ``frames`` hops of a cached track, mono, ``[samples]`` float32."""
    audio = np.asarray(cache.get(sample), dtype=np.float32).mean(axis=0)
    return tf.constant(audio[: (frames - 1) * model_config["num_hop"]])


def _as_image(mag_norm: np.ndarray) -> np.ndarray:
    """``[freq, time]`` log magnitude -> ``[1, freq, time, 1]`` image in [0, 1], low frequencies at the bottom."""
    image = np.asarray(mag_norm, dtype=np.float32)[::-1]
    image = image / max(float(image.max()), 1e-6)
    return image[None, :, :, None]


def train_supervised(model_config: dict, dataset: dict, experiment_id: int | str, cache: AudioCache,
                     resume_from: str | None = None, progress: bool = True) -> PhaseResult:
    """Train the separator on ``dataset["train_sup"]`` with early stopping on ``dataset["train_valid"]``.

    Runs under ``Models.trainer.get_strategy(model_config)`` with ``model_config["mixed_precision"]``; the
    input pipelines are seeded with ``(seed, step reached)``, so a resumed run draws new batches.
    """
    shapes = get_shapes(model_config)
    strategy = get_strategy(model_config)
    with strategy.scope(), precision_policy(model_config):
        model = build_separator(model_config)
        optimizer = make_optimizer(model_config["init_sup_sep_lr"], model_config)
    global_batch = int(model_config["batch_size"])

    def make_step(start_step: int) -> Callable[[], dict[str, tf.Tensor]]:
        def pipeline(batch: int, seed: tuple[int, ...]) -> tf.data.Dataset:
            return paired_waves(dataset["train_sup"], model_config, shapes, cache, seed, batch)

        batches = distribute(strategy, pipeline, global_batch, (int(model_config["seed"]), start_step))
        return make_supervised_step(model, optimizer, batches, paired_features(model_config, shapes),
                                    global_batch, strategy, model_config)

    valid = dataset["train_valid"]

    def validate() -> float:
        return track_loss(model, valid, cache, model_config, shapes)

    summarise = make_summariser(model, valid[0], cache, model_config, shapes) if valid else None
    return run_phase("sup", model_config, experiment_id, {"model": model, "optimizer": optimizer},
                     make_step, validate, summarise, resume_from=resume_from, progress=progress, strategy=strategy)
