"""Model geometry: how spectrograms meet the separator and the critics.

* Frequency: the STFT's ``num_bins = num_fft // 2 + 1`` bins are zero-padded to the separator's ``input_freq``
  rows, ``freq_pad_lo`` below bin 0 (:func:`pad_to_input`); output row ``k`` estimates bin ``k`` and rows
  ``>= num_bins`` are discarded (:func:`crop_output_to_stft`, :func:`pad_to_output` for targets).
* Time: an input patch of ``input_time`` frames predicts its centre ``output_time`` frames.
* Critics see ``[disc_freq, disc_time]``: STFT bins ``1 .. disc_freq`` (DC dropped, Nyquist kept), as the original
  code's centre crop of the U-Net's 258 output rows to 256 (:func:`to_disc`).
* Excerpts: :func:`excerpt_plan` tells ``Input.pipeline`` which waveform excerpts to cut;
  :func:`paired_features` / :func:`unpaired_features` turn them into network tensors with TF ops (inside the
  compiled training step), and :func:`whole_track_magnitudes` gives whole-track magnitudes for validation.

Frame alignment. The STFT is centred (``Models.spectrogram.stft``): a waveform excerpt starting at sample
``k * num_hop`` reproduces the whole-track frames ``k + j`` exactly for every excerpt frame ``j`` whose window
lies inside it, i.e. ``edge <= j`` with ``edge = ceil(num_fft / 2 / num_hop)`` (1 for 512/256). Frames outside
the track (``[0, 1 + samples // num_hop)``) are set to zero magnitude, which is what the sliding-window
separator (padding the whole-track spectrogram with silence) sees at inference.

Layout: log-normalised magnitudes ``norm(mag) = log1p(mag)``, frequency on axis -2 and time on axis -1, any
leading dims; tensors or arrays.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from Input.audio_cache import AudioCache
from Input.pipeline import ExcerptPlan, Seed, Triple, paired_waves, unpaired_waves
from Models.config import ModelSpec
from Models.shapes import ModelShapes, get_shapes
from Models.spectrogram import norm, stft
from Sample import Sample

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------------------
# Frequency and time placement


def _pad_freq(x: tf.Tensor | np.ndarray, bins: int, lo: int, hi: int, name: str) -> tf.Tensor:
    """Zero-pad axis -2 of ``x`` (which must have ``bins`` entries) with ``lo`` below and ``hi`` above."""
    x = tf.convert_to_tensor(x)
    if x.shape.rank is None or x.shape.rank < 2:
        raise ValueError(f"{name}: expected [..., freq, time], got shape {x.shape}")
    if x.shape[-2] is not None and x.shape[-2] != bins:
        raise ValueError(f"{name}: expected {bins} frequency bins on axis -2, got shape {x.shape}")
    return tf.pad(x, [[0, 0]] * (x.shape.rank - 2) + [[lo, hi], [0, 0]])


def pad_to_input(mag_norm: tf.Tensor | np.ndarray, shapes: ModelShapes) -> tf.Tensor:
    """``[..., 257, T]`` -> ``[..., input_freq, T]``: zero bins added below (``freq_pad_lo``) and above."""
    return _pad_freq(mag_norm, shapes.num_bins, shapes.freq_pad_lo, shapes.freq_pad_hi, "pad_to_input")


def pad_to_output(mag_norm: tf.Tensor | np.ndarray, shapes: ModelShapes) -> tf.Tensor:
    """``[..., 257, T]`` -> ``[..., output_freq, T]``: STFT bin ``k`` at output bin ``k``, zero bins above."""
    if shapes.output_freq < shapes.num_bins:
        raise ValueError(f"pad_to_output: output_freq {shapes.output_freq} < {shapes.num_bins} STFT bins")
    return _pad_freq(mag_norm, shapes.num_bins, 0, shapes.output_freq - shapes.num_bins, "pad_to_output")


def crop_output_to_stft(x: tf.Tensor | np.ndarray, shapes: ModelShapes) -> tf.Tensor:
    """``[..., output_freq, T]`` -> ``[..., 257, T]``: keeps output bins 0..256 (inverse of pad_to_output)."""
    return tf.convert_to_tensor(x)[..., : shapes.num_bins, :]


def crop_input_to_output(x: tf.Tensor | np.ndarray, shapes: ModelShapes) -> tf.Tensor:
    """``[..., input_freq, input_time]`` -> ``[..., 257, output_time]``: the STFT bins of a separator input,
    at the frames its output estimates (inverse of :func:`pad_to_input`, plus the time context)."""
    start = shapes.context_frames
    return tf.convert_to_tensor(x)[..., shapes.input_rows, start : start + shapes.output_time]


def to_disc(x: tf.Tensor | np.ndarray, shapes: ModelShapes) -> tf.Tensor:
    """``[..., F > disc_freq, T >= disc_time]`` -> ``[..., disc_freq=256, disc_time]``: critic input.

    Keeps frequency rows ``1 .. disc_freq`` (drops the DC bin 0, keeps the Nyquist bin 256, drops any padding
    above) and the centred ``disc_time`` frames (start ``(T - disc_time) // 2``). For an STFT (257 bins) and for
    the separator's output (row ``k`` estimates bin ``k``) these are the same bins. The original code
    centre-crops the U-Net's 258 output rows to 256, i.e. rows 1..256, so its critics see these bins too.
    """
    x = tf.convert_to_tensor(x)
    time = x.shape[-1] if x.shape[-1] is not None else tf.shape(x)[-1]
    start = (time - shapes.disc_time) // 2
    return x[..., 1 : 1 + shapes.disc_freq, start : start + shapes.disc_time]


def critic_input(estimate: tf.Tensor, shapes: ModelShapes) -> tf.Tensor:
    """Separator output ``[B, output_freq, output_time, 1]`` -> critic input ``[B, disc_freq, disc_time, 1]``."""
    return to_disc(estimate[..., 0], shapes)[..., None]


# --------------------------------------------------------------------------------------------------------------
# Training excerpts


def edge_frames(num_fft: int, num_hop: int) -> int:
    """Frames at each end of an excerpt's centred STFT whose window reaches past the excerpt."""
    return math.ceil((num_fft // 2) / num_hop)


def excerpt_plan(spec: ModelSpec) -> ExcerptPlan:
    """The waveform excerpts ``Input.pipeline`` cuts for this separator."""
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
