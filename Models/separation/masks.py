"""From the model's magnitude estimates to source spectra on the model's grid: soft masks, the multichannel
Wiener filter (norbert's, in numpy alone), and the per-frame gain that extends the vocal mask above ``expected_sr / 2``.

Shapes: estimates and spectra are ``[channels, bins, frames]`` (``bins = num_fft // 2 + 1`` up to
``expected_sr / 2``); magnitudes are linear, spectra complex64.

* Soft masks: ``m_v = v^2 / (v^2 + a^2 + eps)``, ``m_a = a^2 / (v^2 + a^2 + eps)`` times the mixture.
* Wiener (``iterations > 0``): norbert's expectation-maximisation, with the channels of the input used jointly
  (a spatial covariance matrix per source and frequency), started as Open-Unmix starts it: from the estimated
  magnitudes with the mixture's phase (``use_softmask=False``; on the 50-step demo checkpoint starting from the
  soft masks scored 0.8 dB lower in vocal SDR after one iteration). The covariance is estimated over segments of
  ``segment`` frames that start at multiples of ``segment`` on the track's frame grid, so the result does not
  depend on where a chunk of the stream starts (see ``Models.separation.model_rate``). All segments of a chunk go
  through the EM at once (norbert's own loops over frames in Python, 1.6-1.8x slower here). norbert itself is not
  imported: it imports scipy (143 MB installed) for functions not used here, and the inference install
  (``pip install ".[separate]"``) has no scipy; ``tests/test_inference.py`` compares this filter with norbert's.
* Band extension: a vocal gain per frame and channel, read from the vocal soft mask, for the input's band above
  ``expected_sr / 2`` where the model sees nothing (``Models.separation.input_rate`` applies it). ``"average"`` is the
  mean of the mask over all its bins (Spleeter's ``mask_extension="average"``); ``"top"`` is the mean over the top
  quarter of the model's band (3-4 kHz at 8192 Hz), the part nearest to the frequencies it stands in for.
"""

from __future__ import annotations

import itertools

import numpy as np

from Models.separation.options import EXTENSIONS

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
    channels, bins, frames = mix.shape
    count = -(-frames // segment)
    pad = ((0, 0), (0, 0), (0, count * segment - frames))  # silent frames add nothing to a segment's sums

    def by_segment(a: np.ndarray) -> np.ndarray:  # [channels, bins, frames] -> [segment, count * bins, channels]
        a = np.pad(a, pad).reshape(channels, bins, count, segment)
        return a.transpose(3, 2, 1, 0).reshape(segment, count * bins, channels)

    magnitudes = np.stack([by_segment(voice), by_segment(acc)], axis=-1)  # [segment, count * bins, channels, 2]
    out = _expectation_maximization(magnitudes, by_segment(mix), iterations, count)
    out = out.reshape(segment, count, bins, channels, 2).transpose(4, 3, 2, 1, 0)  # [2, channels, bins, count, seg]
    out = out.reshape(2, channels, bins, count * segment)[..., :frames]
    return out[0], out[1]


def _expectation_maximization(magnitudes: np.ndarray, x: np.ndarray, iterations: int, count: int) -> np.ndarray:
    """``norbert.wiener(magnitudes, x, iterations, use_softmask=False)`` for ``count`` segments at once.

    norbert's EM loops over frames in Python (to bound memory on whole tracks), which costs more than everything
    else here. A chunk is small, so all its frames go at once through norbert's model (the mixture covariance
    ``sum_j v_j R_j``, the gain ``v_j R_j Cxx^-1``, the filter ``G x``), with each segment's bins as bins of their
    own: the spatial covariances are then per segment and bin, as with one norbert call per segment. Same scaling
    (per segment), initialisation and arithmetic as norbert, up to float rounding (``tests/test_inference.py``).

    Args:
        magnitudes: ``[frames, count * bins, channels, sources]`` linear magnitude estimates (segment-major bins).
        x: ``[frames, count * bins, channels]`` complex mixture STFT.
        iterations: EM iterations (>= 1).
        count: segments.

    Returns:
        ``[frames, count * bins, channels, sources]`` complex64 source spectra.
    """
    eps = np.finfo(np.float32).eps
    frames, all_bins, channels = x.shape
    peak = np.abs(x).reshape(frames, count, -1).max(axis=(0, 2))  # per segment
    scale = np.repeat(np.maximum(1.0, peak / 10.0), all_bins // count).astype(np.float32)  # norbert's, per bin
    x = x / scale[:, None]
    y = (magnitudes / scale[:, None, None]) * np.exp(1j * np.angle(x[..., None]))  # start: the mixture's phase
    regularization = np.sqrt(eps) * np.eye(channels, dtype=np.complex64)
    for _ in range(iterations):
        v = np.mean(np.abs(y) ** 2, axis=2)  # [frames, bins, sources] power spectral densities
        spatial = np.empty((all_bins, channels, channels, y.shape[-1]), dtype=np.complex64)
        for i, k in itertools.product(range(channels), repeat=2):  # summed over frames, as norbert's _covariance
            spatial[:, i, k] = (y[:, :, i] * np.conj(y[:, :, k])).sum(axis=0)
        spatial /= (eps + v.sum(axis=0))[:, None, None, :]  # [bins, channels, channels, sources]
        # Sums over the channel and source indices as loops of whole-array products: on 2 x 2 matrices that is
        # faster than matmul, einsum or a reduction over a short axis.
        mixture = np.zeros((frames, all_bins, channels, channels), dtype=np.complex64)  # sum_j v_j R_j
        for j in range(y.shape[-1]):
            mixture += v[..., j, None, None] * spatial[None, ..., j]
        inverse = _invert(mixture + regularization)
        for j in range(y.shape[-1]):
            gain = np.zeros_like(inverse)  # v_j R_j Cxx^-1: [frames, bins, channels, channels]
            for i, k, m in itertools.product(range(channels), repeat=3):
                gain[..., i, k] += spatial[None, :, i, m, j] * inverse[..., m, k]
            gain *= v[..., j, None, None]
            y[..., j] = sum(gain[..., i] * x[..., i, None] for i in range(channels))  # G x
    return (y * scale[:, None, None]).astype(np.complex64, copy=False)


def _invert(matrices: np.ndarray) -> np.ndarray:
    """Inverse of each ``[..., channels, channels]`` matrix: closed form for 2 x 2 (as norbert), else LAPACK."""
    if matrices.shape[-1] != 2:
        return np.linalg.inv(matrices)
    (a, b), (c, d) = (matrices[..., 0, 0], matrices[..., 0, 1]), (matrices[..., 1, 0], matrices[..., 1, 1])
    inverse_det = 1.0 / (a * d - b * c)
    return np.stack([np.stack([d, -b], axis=-1), np.stack([-c, a], axis=-1)], axis=-2) * inverse_det[..., None, None]


def band_gain(voice_mask: np.ndarray, extension: str) -> np.ndarray:
    """Vocal gain ``[..., frames]`` for the band above the model's, from the vocal mask ``[..., bins, frames]``."""
    if extension == "average":
        return voice_mask.mean(axis=-2)
    if extension == "top":
        bins = voice_mask.shape[-2]
        return voice_mask[..., bins - max(1, round(bins * TOP_BAND)) :, :].mean(axis=-2)
    raise ValueError(f"extension must be one of {EXTENSIONS}, got {extension!r}")
