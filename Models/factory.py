"""Builds the separator and critics from ``model_config`` (shapes from ``Models.shapes``).

``model_config`` keys used: ``num_fft``, ``num_frames``, ``num_layers``, ``num_initial_filters``,
``output_activation`` and ``critic_initial_filters``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import tensorflow as tf

from Models.shapes import ModelShapes, get_shapes, require_key
from Models.Unet import Unet
from Models.WGAN_Critic import WGANCritic

__all__ = ["ModelShapes", "build_critic", "build_separator", "get_shapes"]

logger = logging.getLogger(__name__)


def build_separator(model_config: Mapping) -> Unet:
    """The U-Net, built for inputs ``[batch, input_freq, input_time, 1]`` (see :func:`get_shapes`).

    Calling it gives ``(accompaniment, voice)``, each ``[batch, output_freq, output_time, 1]``.
    """
    shapes = get_shapes(model_config)
    model = Unet(
        num_layers=int(require_key(model_config, "num_layers")),
        num_initial_filters=int(require_key(model_config, "num_initial_filters")),
        output_activation=require_key(model_config, "output_activation"),
        desired_output_shape=(shapes.num_bins, int(require_key(model_config, "num_frames"))),
        name="separator",
    )
    logger.info(
        "Separator: input %dx%d -> output %dx%d, %d parameters",
        shapes.input_freq,
        shapes.input_time,
        shapes.output_freq,
        shapes.output_time,
        model.count_params(),
    )
    return model


def build_critic(model_config: Mapping, name: str = "critic") -> WGANCritic:
    """A critic for inputs ``[batch, disc_freq, disc_time, 1]`` returning ``[batch, 1]`` scores."""
    shapes = get_shapes(model_config)
    filters = int(require_key(model_config, "critic_initial_filters"))
    return WGANCritic(input_size=(shapes.disc_freq, shapes.disc_time), initial_filters=filters, name=name)


def pad_freq(mag: tf.Tensor, target_bins: int, offset: int) -> tf.Tensor:
    """Zero-pads the frequency axis of ``mag`` ``[..., bins, time]`` to ``[..., target_bins, time]``.

    ``offset`` zero rows go below bin 0 and ``target_bins - bins - offset`` above the last bin, so bin ``k``
    lands on row ``k + offset``. For the U-Net input:
    ``pad_freq(x, shapes.input_freq, shapes.freq_pad_lo)``.
    Works on tensors or arrays, inside ``tf.function``; the rank must be static.
    """
    mag = tf.convert_to_tensor(mag)
    rank = mag.shape.rank
    bins = mag.shape[-2] if rank is not None and rank >= 2 else None
    if bins is None:
        raise ValueError(f"pad_freq: need a static [..., bins, time] shape, got {mag.shape}")
    above = target_bins - bins - offset
    if offset < 0 or above < 0:
        raise ValueError(f"pad_freq: cannot place {bins} bins at offset {offset} in {target_bins} rows")
    return tf.pad(mag, [[0, 0]] * (rank - 2) + [[offset, above], [0, 0]])
