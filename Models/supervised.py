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
from Input.pipeline import make_paired_dataset, whole_track_magnitudes
from Input.spectrogram import istft, norm, stft
from Models.factory import ModelShapes, build_separator, get_shapes
from Models.separator import predict_magnitudes
from Models.trainer import PhaseResult, run_phase
from Sample import Sample

logger = logging.getLogger(__name__)

Triple = tuple[Sample, Sample, Sample]


def separation_loss(acc_est: tf.Tensor, voice_est: tf.Tensor, acc: tf.Tensor, voice: tf.Tensor) -> tf.Tensor:
    """Supervised loss: mean squared error of log-normalised magnitudes, accompaniment plus voice.

    All tensors are ``[batch, freq, time, 1]`` log1p magnitudes of the same shape.
    """
    return tf.reduce_mean(tf.square(acc_est - acc)) + tf.reduce_mean(tf.square(voice_est - voice))


def make_supervised_step(
    model: keras.Model, optimizer: keras.optimizers.Optimizer, batches: tf.data.Dataset
) -> Callable[[], dict[str, tf.Tensor]]:
    """Return a callable taking one optimiser step on the next paired batch; it returns ``{"loss": ...}``."""
    iterator = iter(batches)

    @tf.function
    def step(mix: tf.Tensor, acc: tf.Tensor, voice: tf.Tensor) -> dict[str, tf.Tensor]:
        with tf.GradientTape() as tape:
            acc_est, voice_est = model(mix, training=True)
            loss = separation_loss(acc_est, voice_est, acc, voice)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return {"loss": loss}

    def run() -> dict[str, tf.Tensor]:
        return step(*next(iterator))

    return run


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
    """Train the separator on ``dataset["train_sup"]`` with early stopping on ``dataset["train_valid"]``."""
    shapes = get_shapes(model_config)
    model = build_separator(model_config)
    optimizer = keras.optimizers.Adam(learning_rate=model_config["init_sup_sep_lr"])
    batches = make_paired_dataset(dataset["train_sup"], model_config, shapes, cache, model_config["seed"])
    step = make_supervised_step(model, optimizer, batches)
    valid = dataset["train_valid"]

    def validate() -> float:
        return track_loss(model, valid, cache, model_config, shapes)

    summarise = make_summariser(model, valid[0], cache, model_config, shapes) if valid else None
    return run_phase("sup", model_config, experiment_id, {"model": model, "optimizer": optimizer},
                     step, validate, summarise, resume_from=resume_from, progress=progress)
