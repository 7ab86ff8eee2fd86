"""Builds the separator and critics from ``model_config`` and owns the spectrogram <-> model alignment.

Alignment (see ``Models.Unet`` for why it holds):

* frequency: the STFT's ``num_bins = num_fft // 2 + 1`` bins (257) are zero-padded to ``input_freq`` rows,
  ``freq_pad_lo`` rows below bin 0 and ``freq_pad_hi`` above Nyquist (``Input.pipeline.pad_to_input``). Output row ``k``
  estimates STFT bin ``k`` for ``k < num_bins``; rows ``>= num_bins`` lie over padding and are discarded.
  The U-Net is sized for ``num_bins`` output rows, so every bin, Nyquist included, has an estimate.
* time: an input patch of ``input_time`` frames predicts its centre ``output_time`` frames; output frame ``t``
  is input frame ``t + context_frames``.
* critics see the first ``disc_freq = num_fft // 2`` bins (Nyquist dropped, as in the paper) and
  ``disc_time = num_frames`` frames: ``[batch, disc_freq, disc_time, 1]``.

``model_config`` keys used: ``num_fft``, ``num_frames``, ``num_layers``, ``num_initial_filters``,
``output_activation`` and optionally ``critic_initial_filters`` (default 32).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from Models.Unet import Unet, get_padding
from Models.WGAN_Critic import WGANCritic

logger = logging.getLogger(__name__)

DEFAULT_CRITIC_FILTERS = 32


@dataclass(frozen=True)
class ModelShapes:
    """Sizes shared by the data pipeline, the separator and the critics (all counts of bins or frames)."""

    num_bins: int  # STFT bins, num_fft // 2 + 1
    input_freq: int  # U-Net input rows (num_bins plus zero padding)
    input_time: int  # U-Net input frames (output_time plus 2 * context_frames)
    output_freq: int  # U-Net output rows, >= num_bins
    output_time: int  # U-Net output frames, >= num_frames
    context_frames: int  # (input_time - output_time) // 2: input frame t + context_frames <-> output frame t
    freq_pad_lo: int  # zero rows below STFT bin 0 in the input, (input_freq - output_freq) // 2
    freq_pad_hi: int  # zero rows above the Nyquist bin in the input
    disc_freq: int  # critic input rows, num_fft // 2
    disc_time: int  # critic input frames, num_frames


def _require(model_config: Mapping, key: str) -> object:
    """``model_config[key]``, or ValueError naming the missing key."""
    if key not in model_config:
        raise ValueError(f"model_config: missing key '{key}'")
    return model_config[key]


def get_shapes(model_config: Mapping) -> ModelShapes:
    """Computes :class:`ModelShapes` for ``model_config`` via ``Models.Unet.get_padding``.

    For ``num_fft=512, num_frames=64, num_layers=4``: input 350 x 158, output 258 x 66, context 46 frames,
    pads 46 below / 47 above, critic 256 x 64.
    """
    num_fft = int(_require(model_config, "num_fft"))
    num_frames = int(_require(model_config, "num_frames"))
    num_layers = int(_require(model_config, "num_layers"))
    if num_fft < 2 or num_fft % 2 or num_frames < 1:
        raise ValueError(
            f"model_config: need an even num_fft >= 2 and num_frames >= 1, got {num_fft}, {num_frames}"
        )
    num_bins = num_fft // 2 + 1
    (input_freq, input_time), (output_freq, output_time) = get_padding((num_bins, num_frames), num_layers)
    pad_lo = (input_freq - output_freq) // 2
    return ModelShapes(
        num_bins=num_bins,
        input_freq=input_freq,
        input_time=input_time,
        output_freq=output_freq,
        output_time=output_time,
        context_frames=(input_time - output_time) // 2,
        freq_pad_lo=pad_lo,
        freq_pad_hi=input_freq - num_bins - pad_lo,
        disc_freq=num_fft // 2,
        disc_time=num_frames,
    )


def build_separator(model_config: Mapping) -> Unet:
    """The U-Net, built for inputs ``[batch, input_freq, input_time, 1]`` (see :func:`get_shapes`).

    Calling it gives ``(accompaniment, voice)``, each ``[batch, output_freq, output_time, 1]``.
    """
    shapes = get_shapes(model_config)
    model = Unet(
        num_layers=int(_require(model_config, "num_layers")),
        num_initial_filters=int(_require(model_config, "num_initial_filters")),
        output_activation=_require(model_config, "output_activation"),
        desired_output_shape=(shapes.num_bins, int(_require(model_config, "num_frames"))),
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
    filters = int(model_config.get("critic_initial_filters", DEFAULT_CRITIC_FILTERS))
    return WGANCritic(input_size=(shapes.disc_freq, shapes.disc_time), initial_filters=filters, name=name)

