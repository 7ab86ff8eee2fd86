"""TensorBoard: training scalars every ``log_every`` steps, the validation loss and learning rates per epoch,
and, at validation time, spectrogram images and audio of a validation track and what the critics compare.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf_keras as keras

from Input.audio.cache import AudioCache
from Input.excerpts import Triple
from Models.config import ModelSpec
from Models.nets.geometry import critic_input, pad_to_input, to_disc
from Models.nets.shapes import get_shapes
from Models.nets.spectrogram import istft, norm, stft
from Models.separation.model_rate import predict_magnitudes
from Models.training.features import whole_track_magnitudes
from Sample import Sample

logger = logging.getLogger(__name__)


class TrainingLog:
    """One phase's TensorBoard writer (a no-op on non-chief workers)."""

    def __init__(self, folder: Path, chief: bool, log_every: int) -> None:
        self.writer = tf.summary.create_file_writer(str(folder)) if chief else tf.summary.create_noop_writer()
        self.log_every = max(1, int(log_every))

    @contextmanager
    def as_default(self) -> Iterator[None]:
        """Make this the default writer (for image summaries written by the phase)."""
        with self.writer.as_default():
            yield

    def train_scalars(self, step: int, scalars: dict[str, tf.Tensor]) -> None:
        """``train/<key>`` for each scalar, at every ``log_every``-th step."""
        if step % self.log_every == 0:
            for key, value in scalars.items():
                tf.summary.scalar(f"train/{key}", value, step=step)

    def validation(self, step: int, val_loss: float, optimizers: dict[str, keras.optimizers.Optimizer]) -> None:
        """``validation/loss`` and ``learning_rate/<name>`` per optimiser."""
        tf.summary.scalar("validation/loss", val_loss, step=step)
        for key, optimizer in optimizers.items():
            tf.summary.scalar(f"learning_rate/{key}", float(optimizer.learning_rate), step=step)

    def flush(self) -> None:
        """Write pending events to disk."""
        self.writer.flush()


def make_summariser(model: keras.Model, triple: Triple, cache: AudioCache, spec: ModelSpec,
                    seconds: float) -> Callable[[int], None]:
    """Return a callable writing spectrogram images and a voice estimate of the first ``seconds`` (a run's
    ``summary_seconds``) of one validation track."""
    shapes = get_shapes(spec)

    def summarise(step: int) -> None:
        mix, acc, voice = whole_track_magnitudes(triple, cache, spec)
        frames = min(mix.shape[-1], int(seconds * spec.expected_sr / spec.num_hop))
        mix, acc, voice = mix[:, :frames], acc[:, :frames], voice[:, :frames]
        acc_est, voice_est = predict_magnitudes(model, norm(mix).numpy(), shapes, spec.inference_batch_size)
        images = {"mixture": norm(mix).numpy(), "voice/estimate": voice_est, "voice/target": norm(voice).numpy(),
                  "accompaniment/estimate": acc_est, "accompaniment/target": norm(acc).numpy()}
        for name, image in images.items():
            tf.summary.image(f"spectrogram/{name}", _as_image(image), step=step)
        # Audio: the voice estimate with the mixture's phase.
        samples = _excerpt(triple[0], cache, frames, spec.num_hop)
        _, mix_phase = stft(samples, spec.num_fft, spec.num_hop)
        audio = istft(np.expm1(voice_est), mix_phase, spec.num_fft, spec.num_hop, length=tf.shape(samples)[-1])
        tf.summary.audio("audio/voice_estimate", audio[None, :, None], spec.expected_sr, step=step)

    return summarise


def _excerpt(sample: Sample, cache: AudioCache, frames: int, num_hop: int) -> tf.Tensor:
    """The first ``frames`` hops (of ``num_hop`` samples) of a cached track, mono, ``[samples]`` float32."""
    audio = np.asarray(cache.get(sample), dtype=np.float32).mean(axis=0)
    return tf.constant(audio[: (frames - 1) * num_hop])


def _as_image(mag_norm: np.ndarray) -> np.ndarray:
    """``[freq, time]`` log magnitude -> ``[1, freq, time, 1]`` image in [0, 1], low frequencies at the bottom."""
    image = np.asarray(mag_norm, dtype=np.float32)[::-1]
    image = image / max(float(image.max()), 1e-6)
    return image[None, :, :, None]


def summarise_critic_view(separator: keras.Model, unsup: list, cache: AudioCache, spec: ModelSpec,
                          step: int) -> None:
    """TensorBoard images of what the critics compare: real solo excerpts (the first unpaired accompaniment and
    voice) and fakes (the separator's estimates on the first unpaired mixture), ``[256, disc_time]`` each."""
    shapes = get_shapes(spec)
    hop, num_fft = spec.num_hop, spec.num_fft

    def excerpt_norm(sample: Sample, frames: int) -> tf.Tensor:
        audio = np.asarray(cache.get(sample), dtype=np.float32).mean(axis=0)[: (frames - 1) * hop]
        audio = np.pad(audio, (0, (frames - 1) * hop - audio.shape[0]))
        return norm(stft(tf.constant(audio), num_fft, hop)[0])  # [257, frames]

    mixtures, accompaniments, voices = unsup
    mix = pad_to_input(excerpt_norm(mixtures[0], shapes.input_time), shapes)[None, ..., None]
    acc_est, voice_est = separator(mix, training=False)
    images = {"fake/accompaniment": critic_input(acc_est, shapes), "fake/voice": critic_input(voice_est, shapes),
              "real/accompaniment": to_disc(excerpt_norm(accompaniments[0], shapes.disc_time), shapes)[None, ..., None],
              "real/voice": to_disc(excerpt_norm(voices[0], shapes.disc_time), shapes)[None, ..., None]}
    for name, image in images.items():
        image = tf.cast(image[:, ::-1], tf.float32)  # low frequencies at the bottom
        tf.summary.image(f"critic_view/{name}", image / tf.maximum(tf.reduce_max(image), 1e-6), step=step)
