"""Training tensors from waveform excerpts (the spectrogram geometry they use is ``Models.nets.geometry``).

* Excerpts: :func:`excerpt_plan` tells ``Input.excerpts`` which waveform excerpts to cut;
  :func:`paired_features` / :func:`unpaired_features` turn them into network tensors with TF ops (inside the
  compiled training step), and :func:`whole_track_magnitudes` gives whole-track magnitudes for validation.

Frame alignment. The STFT is centred (``Models.nets.spectrogram.stft``): a waveform excerpt starting at sample
``k * num_hop`` reproduces the whole-track frames ``k + j`` exactly for every excerpt frame ``j`` whose window
lies inside it, i.e. ``edge <= j`` with ``edge = ceil(num_fft / 2 / num_hop)`` (1 for 512/256). Frames outside
the track (``[0, 1 + samples // num_hop)``) are set to zero magnitude, which is what the sliding-window
separator (padding the whole-track spectrogram with silence) sees at inference.

Layout: log-normalised magnitudes ``norm(mag) = log1p(mag)``, frequency on axis -2 and time on axis -1, any
leading dims; tensors or arrays.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from Input.audio.cache import AudioCache
from Input.excerpts import ExcerptPlan, Seed, Triple, paired_waves, unpaired_waves
from Models.config import ModelSpec
from Models.nets.geometry import edge_frames, pad_to_input, pad_to_output, to_disc
from Models.nets.shapes import get_shapes
from Models.nets.spectrogram import norm, stft
from Sample import Sample

logger = logging.getLogger(__name__)


def excerpt_plan(spec: ModelSpec) -> ExcerptPlan:
    """The waveform excerpts ``Input.excerpts`` cuts for this separator."""
    shapes = get_shapes(spec)
    return ExcerptPlan(num_hop=spec.num_hop, edge_frames=edge_frames(spec.num_fft, spec.num_hop),
                       input_frames=shapes.input_time, target_frames=shapes.output_time,
                       context_frames=shapes.context_frames, real_frames=shapes.disc_time)


def _frame_mask(mag: tf.Tensor, meta: tf.Tensor, shift: int) -> tf.Tensor:
    """Zero the frames of ``mag`` ``[B, ..., freq, T]`` that lie outside their track.

    ``meta`` ``[B, 2]`` int32 holds, per example, the track frame of the excerpt's first kept frame (before
    ``shift``) and the track's frame count; frame ``i`` of ``mag`` is track frame ``meta[:, 0] + shift + i``.
    """
    frames = meta[:, :1] + shift + tf.range(tf.shape(mag)[-1])[None, :]  # [B, T]
    inside = tf.cast((frames >= 0) & (frames < meta[:, 1:]), mag.dtype)
    return mag * tf.reshape(inside, tf.concat([tf.shape(inside)[:1], tf.ones([mag.shape.rank - 2], tf.int32),
                                               tf.shape(inside)[1:]], axis=0))


def paired_features(spec: ModelSpec) -> Callable[..., tuple[tf.Tensor, ...]]:
    """The function turning a :func:`paired_waves` batch into network tensors (TF ops; in a step or a map).

    ``features(waves [B, 3, L], meta [B, 2])`` returns ``(mix [B, input_freq, input_time, 1],
    acc [B, output_freq, output_time, 1], voice [B, output_freq, output_time, 1])`` float32 log1p magnitudes;
    ``acc`` and ``voice`` are the centre ``output_time`` frames of the mixture's ``input_time`` frames.
    """
    num_fft, num_hop, shapes = spec.num_fft, spec.num_hop, get_shapes(spec)
    edge = edge_frames(num_fft, num_hop)
    target_length = excerpt_plan(spec).samples(shapes.output_time)
    target_start = shapes.context_frames * num_hop  # the targets' excerpt inside the mixture's one

    def features(waves: tf.Tensor, meta: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        waves = tf.cast(waves, tf.float32)  # [B, 3, length]
        mix_mag, _ = stft(waves[:, 0], num_fft, num_hop)  # [B, 257, input_time + 2 * edge]
        mix = norm(_frame_mask(mix_mag[..., edge : edge + shapes.input_time], meta, 0))
        # Targets: STFT only the sub-excerpt covering the output frames (same samples as in the mixture's).
        src = waves[:, 1:, target_start : target_start + target_length]  # [B, 2, target_length]
        src_mag, _ = stft(src, num_fft, num_hop)  # [B, 2, 257, output_time + 2 * edge]
        src = norm(_frame_mask(src_mag[..., edge : edge + shapes.output_time], meta, shapes.context_frames))
        out = pad_to_output(src, shapes)[..., None]  # [B, 2, output_freq, output_time, 1]
        return pad_to_input(mix, shapes)[..., None], out[:, 0], out[:, 1]

    return features


def make_paired_dataset(triples: Sequence[Triple], spec: ModelSpec, cache: AudioCache, batch_size: int, seed: Seed,
                        num_workers: int = 2) -> tf.data.Dataset:
    """Infinite dataset of supervised batches ``(mix, acc, voice)``: :func:`paired_waves` (``batch_size`` examples
    a batch, drawn from ``seed`` by ``num_workers`` readers) mapped through :func:`paired_features` in the input
    pipeline (training does the features in the step instead).

    Returns:
        Dataset of ``(mix [B, input_freq, input_time, 1], acc [B, output_freq, output_time, 1],
        voice [B, output_freq, output_time, 1])`` float32 log1p magnitudes, ``B = batch_size``.
    """
    waves = paired_waves(triples, excerpt_plan(spec), cache, batch_size=batch_size, seed=seed,
                         num_workers=num_workers)
    features = paired_features(spec)
    return waves.map(features, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def random_gain(waves: tf.Tensor, rng: tf.random.Generator, gain_range: Sequence[float]) -> tf.Tensor:
    """``waves`` ``[B, L]`` float32, each excerpt scaled by its own factor drawn from ``U(gain_range)``.

    The original code's ``random_amplify`` scales each unlabelled excerpt's magnitude by ``U(0.2, 1.2)``; the STFT
    is linear, so scaling the waveform scales its magnitude by the same factor.
    """
    low, high = (float(g) for g in gain_range)
    return waves * rng.uniform(tf.shape(waves)[:1], low, high, dtype=waves.dtype)[:, None]


def unpaired_features(spec: ModelSpec, gain_rng: tf.random.Generator | None = None,
                      gain_range: Sequence[float] | None = None) -> Callable[..., tuple[tf.Tensor, ...]]:
    """The function turning an :func:`unpaired_waves` batch into network tensors (TF ops).

    ``features(waves, metas)`` returns ``(mix [B, input_freq, input_time, 1], acc_real [B, disc_freq,
    disc_time, 1], voice_real [B, disc_freq, disc_time, 1])`` float32 log1p magnitudes (``denorm`` of the
    mixture's unpadded bins is its linear magnitude).

    With ``gain_rng`` and ``gain_range`` (``(low, high)``, a run's ``TrainConfig.unsup_gain_range``) both set, every
    excerpt (mixture, accompaniment and voice, independently) is first scaled by :func:`random_gain`, drawn from
    ``gain_rng``.
    """
    num_fft, num_hop, shapes = spec.num_fft, spec.num_hop, get_shapes(spec)
    edge = edge_frames(num_fft, num_hop)
    gain_range = gain_range if gain_rng is not None else None

    def features(waves: tuple[tf.Tensor, ...], metas: tuple[tf.Tensor, ...]) -> tuple[tf.Tensor, ...]:
        waves = tuple(tf.cast(wave, tf.float32) for wave in waves)
        if gain_range:
            waves = tuple(random_gain(wave, gain_rng, gain_range) for wave in waves)
        mix, acc, voice = waves
        mix_mag, _ = stft(mix, num_fft, num_hop)  # [B, 257, input_time + 2 * edge]
        mix = norm(_frame_mask(mix_mag[..., edge : edge + shapes.input_time], metas[0], 0))
        reals = []
        for wave, meta in ((acc, metas[1]), (voice, metas[2])):
            mag, _ = stft(wave, num_fft, num_hop)  # [B, 257, disc_time + 2 * edge]
            mag = norm(_frame_mask(mag[..., edge : edge + shapes.disc_time], meta, 0))
            reals.append(to_disc(mag, shapes)[..., None])
        return pad_to_input(mix, shapes)[..., None], reals[0], reals[1]

    return features


def make_unpaired_dataset(unpaired: Sequence[Sequence[Sample]], spec: ModelSpec, cache: AudioCache,
                          batch_size: int, seed: Seed, num_workers: int = 2) -> tf.data.Dataset:
    """Infinite dataset of unpaired batches ``(mix, acc_real, voice_real)``: :func:`unpaired_waves` (as
    :func:`make_paired_dataset` draws) mapped through :func:`unpaired_features` in the input pipeline (shapes as
    documented there)."""
    waves = unpaired_waves(unpaired, excerpt_plan(spec), cache, batch_size=batch_size, seed=seed,
                           num_workers=num_workers)
    features = unpaired_features(spec)
    return waves.map(features, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def whole_track_magnitudes(triple: Triple, cache: AudioCache,
                           spec: ModelSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear STFT magnitudes of a whole song, for validation/test losses.

    Multichannel caches (``mono_downmix`` off) are averaged over channels here. The sources are zero-padded or
    trimmed to the mixture's length so all three have the same frames.

    Returns:
        ``(mix_mag, acc_mag, voice_mag)``, each float32 ``[num_fft // 2 + 1, 1 + samples // num_hop]``.

    Raises:
        AudioError: a track cannot be decoded.
    """
    signals = [np.asarray(cache.get(s), dtype=np.float32).mean(axis=0) for s in triple]
    length = signals[0].shape[0]
    signals = [np.pad(s[:length], (0, length - min(length, s.shape[0]))) for s in signals]
    mag = _magnitude(np.stack(signals), spec.num_fft, spec.num_hop).numpy()
    return mag[0], mag[1], mag[2]


@tf.function(reduce_retracing=True)
def _magnitude(audio: tf.Tensor, num_fft: int, num_hop: int) -> tf.Tensor:
    """``stft`` magnitude ``[..., freq, time]`` of ``[..., samples]``; as a graph, the unused phase is pruned."""
    return stft(audio, num_fft, num_hop)[0]
