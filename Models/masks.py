"""From the model's magnitude estimates to source spectra on the model's grid: soft masks, the multichannel
Wiener filter (norbert), and the per-frame gain that extends the vocal mask above ``expected_sr / 2``.

Shapes: estimates and spectra are ``[channels, bins, frames]`` (``bins = num_fft // 2 + 1`` up to
``expected_sr / 2``); magnitudes are linear, spectra complex64.

* Soft masks: ``m_v = v^2 / (v^2 + a^2 + eps)``, ``m_a = a^2 / (v^2 + a^2 + eps)`` times the mixture.
* Wiener (``iterations > 0``): norbert's expectation-maximisation, with the channels of the input used jointly
  (a spatial covariance matrix per source and frequency), started as Open-Unmix starts it: from the estimated
  magnitudes with the mixture's phase (``use_softmask=False``; on the demo checkpoint starting from the soft
  masks scored 0.8 dB lower in vocal SDR after one iteration). The covariance is
  estimated over segments of ``segment`` frames that start at multiples of ``segment`` on the track's frame
  grid, so the result does not depend on where a chunk of the stream starts (see ``Models.separator``).
* Band extension: a vocal gain per frame and channel, read from the vocal soft mask, for the input's band above
  ``expected_sr / 2`` where the model sees nothing (``Models.inference`` applies it). ``"average"`` is the mean
  of the mask over all its bins (Spleeter's ``mask_extension="average"``); ``"top"`` is the mean over the top
  quarter of the model's band (3-4 kHz at 8192 Hz), the part nearest to the frequencies it stands in for.
"""

from __future__ import annotations

import norbert
import numpy as np

from Models.inference_options import EXTENSIONS

MASK_EPS = 1e-10  # added to v^2 + a^2 in the soft masks (linear magnitudes squared)
TOP_BAND = 0.25  # "top" extension: the mean over this upper fraction of the model's bins


def soft_masks(voice: np.ndarray, acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(m_v, m_a)``, each like ``voice`` ``[..., bins, frames]`` float32, from linear magnitude estimates."""
    power = acc**2 + voice**2 + np.float32(MASK_EPS)
    return voice**2 / power, acc**2 / power


def wiener(
    voice: np.ndarray, acc: np.ndarray, mix: np.ndarray, iterations: int, segment: int
) -> tuple[np.ndarray, np.ndarray]:
    """Multichannel Wiener estimates ``(voice, accompaniment)`` spectra, each ``[channels, bins, frames]``
    complex64.

    Args:
        voice, acc: ``[channels, bins, frames]`` linear magnitude estimates.
        mix: ``[channels, bins, frames]`` complex mixture STFT; its frame 0 lies on a multiple of ``segment``.
        iterations: EM iterations (>= 1).
        segment: frames per covariance estimate; the last segment may be shorter.
    """
    magnitudes = np.stack([voice, acc], axis=-1).transpose(2, 1, 0, 3)  # [frames, bins, channels, 2]
    x = np.array(mix.transpose(2, 1, 0))  # [frames, bins, channels], a copy: norbert scales it in place
    out = np.empty((*x.shape, 2), dtype=np.complex64)
    for t in range(0, x.shape[0], segment):
        out[t : t + segment] = norbert.wiener(
            magnitudes[t : t + segment], x[t : t + segment], iterations, use_softmask=False
        )
    out = out.transpose(3, 2, 1, 0)  # [2, channels, bins, frames]
    return out[0], out[1]


def band_gain(voice_mask: np.ndarray, extension: str) -> np.ndarray:
    """Vocal gain ``[..., frames]`` for the band above the model's, from the vocal mask ``[..., bins, frames]``."""
    if extension == "average":
        return voice_mask.mean(axis=-2)
    if extension == "top":
        bins = voice_mask.shape[-2]
        return voice_mask[..., bins - max(1, round(bins * TOP_BAND)) :, :].mean(axis=-2)
    raise ValueError(f"extension must be one of {EXTENSIONS}, got {extension!r}")
