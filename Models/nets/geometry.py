"""Spectrogram geometry: how spectrograms meet the separator and the critics.

* Frequency: the STFT's ``num_bins = num_fft // 2 + 1`` bins are zero-padded to the separator's ``input_freq``
  rows, ``freq_pad_lo`` below bin 0 (:func:`pad_to_input`); output row ``k`` estimates bin ``k`` and rows
  ``>= num_bins`` are discarded (:func:`crop_output_to_stft`, :func:`pad_to_output` for targets).
* Time: an input patch of ``input_time`` frames predicts its centre ``output_time`` frames.
* Critics see ``[disc_freq, disc_time]``: STFT bins ``1 .. disc_freq`` (DC dropped, Nyquist kept), as the original
  code's centre crop of the U-Net's 258 output rows to 256 (:func:`to_disc`).

Layout: log-normalised magnitudes ``norm(mag) = log1p(mag)``, frequency on axis -2 and time on axis -1, any
leading dims; tensors or arrays. Training (``Models.training.features``) and separation
(``Models.separation.windows``) both place spectrograms with these functions.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from Models.nets.shapes import ModelShapes


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


def edge_frames(num_fft: int, num_hop: int) -> int:
    """Frames at each end of an excerpt's centred STFT whose window reaches past the excerpt."""
    return math.ceil((num_fft // 2) / num_hop)
