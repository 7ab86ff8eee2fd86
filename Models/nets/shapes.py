"""The separator's shape arithmetic: STFT bins and frames in, U-Net input and output sizes, critic input size.

Alignment (see ``Models.nets.unet`` for why it holds, ``Models.training.features`` for the padding and cropping):

* frequency: the STFT's ``num_bins = num_fft // 2 + 1`` bins (257) are zero-padded to ``input_freq`` rows,
  ``freq_pad_lo`` rows below bin 0 and ``freq_pad_hi`` above Nyquist. Output row ``k`` estimates STFT bin ``k``
  for ``k < num_bins``; rows ``>= num_bins`` lie over padding and are discarded. The U-Net is sized for
  ``num_bins`` output rows, so every bin, Nyquist included, has an estimate.
* time: an input patch of ``input_time`` frames predicts its centre ``output_time`` frames; output frame ``t``
  is input frame ``t + context_frames``.
* critics see ``disc_freq = num_fft // 2`` bins (STFT bins ``1 .. disc_freq``: DC dropped, Nyquist kept) and
  ``disc_time = num_frames`` frames: ``[batch, disc_freq, disc_time, 1]``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from Models.nets.padding import get_padding

if TYPE_CHECKING:
    from Models.config import ModelSpec


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

    @property
    def input_rows(self) -> slice:
        """The rows of a separator input that hold STFT bins ``0 .. num_bins - 1``."""
        return slice(self.freq_pad_lo, self.freq_pad_lo + self.num_bins)


@functools.cache
def get_shapes(spec: ModelSpec) -> ModelShapes:
    """Computes :class:`ModelShapes` for ``spec`` via ``Models.nets.unet.get_padding``, once per spec.

    For ``num_fft=512, num_frames=64, num_layers=4``: input 350 x 158, output 258 x 66, context 46 frames,
    pads 46 below / 47 above, critic 256 x 64.
    """
    num_fft, num_frames = spec.num_fft, spec.num_frames
    if num_fft < 2 or num_fft % 2 or num_frames < 1:
        raise ValueError(
            f"model_config: need an even num_fft >= 2 and num_frames >= 1, got {num_fft}, {num_frames}"
        )
    num_bins = num_fft // 2 + 1
    (input_freq, input_time), (output_freq, output_time) = get_padding((num_bins, num_frames), spec.num_layers)
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


def min_excerpt_seconds(spec: ModelSpec) -> float:
    """Duration in seconds of one network input excerpt, ``((input_time - 1) * num_hop + num_fft) / expected_sr``
    (``input_time`` frames from :func:`get_shapes`): the shortest track the training pipelines can cut an
    example from.
    """
    return ((get_shapes(spec).input_time - 1) * spec.num_hop + spec.num_fft) / float(spec.expected_sr)
