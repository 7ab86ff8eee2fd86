"""Whole-track separation with the U-Net: slide the model over a spectrogram so that every output frame is
predicted exactly once.

The mixture's log-normalised magnitude ``[257, frames]`` is padded with the model's time context at both ends
(zeros, i.e. silence, as the original code did) and cut into patches of ``input_time`` frames whose outputs
(``output_time`` frames each) tile the track without overlap. Patches are batched so a long track costs a few
large model calls.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

from Input.pipeline import crop_output_to_stft, pad_to_input
from Models.factory import ModelShapes


def patch_starts(num_frames: int, shapes: ModelShapes) -> np.ndarray:
    """Start frames (in the context-padded spectrogram) of the patches covering ``num_frames`` output frames.

    Patch ``i`` reads padded frames ``[starts[i], starts[i] + input_time)`` and predicts track frames
    ``[starts[i], starts[i] + output_time)``: outputs tile ``[0, n * output_time)`` exactly once.
    """
    num_patches = max(1, -(-num_frames // shapes.output_time))
    return np.arange(num_patches, dtype=np.int64) * shapes.output_time


def predict_magnitudes(
    model: keras.Model, mix_norm: np.ndarray | tf.Tensor, shapes: ModelShapes, batch_size: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate accompaniment and voice for a whole track, in the log-normalised domain.

    Args:
        model: separator from ``Models.factory.build_separator``.
        mix_norm: ``[257, frames]`` log1p mixture magnitude.
        shapes: the model's shapes.
        batch_size: patches per model call.

    Returns:
        ``(acc_norm, voice_norm)``, each ``[257, frames]`` float32 (log1p magnitudes).
    """
    mix_norm = np.asarray(mix_norm, dtype=np.float32)
    num_frames = mix_norm.shape[-1]
    starts = patch_starts(num_frames, shapes)
    total = int(starts[-1]) + shapes.input_time
    padded = np.zeros((mix_norm.shape[0], total), dtype=np.float32)
    padded[:, shapes.context_frames : shapes.context_frames + num_frames] = mix_norm
    padded = np.asarray(pad_to_input(padded, shapes))  # [input_freq, total]
    index = starts[:, None] + np.arange(shapes.input_time)[None, :]  # [patches, input_time]
    acc_parts, voice_parts = [], []
    for begin in range(0, len(starts), batch_size):
        patches = padded[:, index[begin : begin + batch_size]]  # [freq, n, time]
        patches = np.transpose(patches, (1, 0, 2))[..., None]  # [n, freq, time, 1]
        acc, voice = model(patches, training=False)
        acc_parts.append(_tile(acc, shapes))
        voice_parts.append(_tile(voice, shapes))
    acc_norm = np.concatenate(acc_parts, axis=-1)[:, :num_frames]
    voice_norm = np.concatenate(voice_parts, axis=-1)[:, :num_frames]
    return acc_norm, voice_norm


def _tile(estimate: tf.Tensor, shapes: ModelShapes) -> np.ndarray:
    """``[n, output_freq, output_time, 1]`` -> ``[257, n * output_time]`` with patches laid end to end."""
    est = crop_output_to_stft(estimate[..., 0], shapes)  # [n, 257, output_time]
    est = np.asarray(est)
    return np.transpose(est, (1, 0, 2)).reshape(est.shape[1], -1)
