"""Separation scores of given estimates (no model involved): BSS Eval SDR/SIR/SAR as in the paper, their
improvements over the mixture (NSDR/NSIR), the original code's scale-optimised SNR/NSNR, the ideal-ratio-mask
oracle, and optional BSS Eval v4 (museval).

Conventions (all documented choices):

* Signals are 1-D ``[samples]`` float arrays at one rate, mono, equal lengths (the model's domain:
  ``expected_sr`` mono, like the original code).
* SDR/SIR/SAR use ``mir_eval.separation.bss_eval_sources`` (512-tap distortion filters, no permutation).
  ``window_seconds=None`` scores each whole track in one go: the paper's protocol, as the original code's
  ``Test.py``. A number scores non-overlapping windows of that many seconds (the remainder of a track is merged
  into the last window when shorter than half a window) and a track's score is the **median over its windows**
  (e.g. 30 s: faster on long tracks, not the paper's protocol).
* A reference that is silent in a window (mean square below ``SILENCE_POWER``) has undefined scores there:
  they are NaN and left out of the medians. When only one reference is active, that source's SDR/SAR are
  computed against it alone and its SIR is NaN (there is nothing to interfere). A silent *estimate* is
  replaced by -200 dB noise (seeded), which scores as the failure it is instead of crashing mir_eval.
* NSDR = SDR(estimate) - SDR(mixture as the estimate), per track; NSIR likewise.
* SNR = 10 log10(|s|^2 / |s - alpha e|^2) with the optimal scale alpha = <s, e> / <e, e>, over the whole
  track; NSNR = SNR(estimate) - SNR(mixture). NaN when the reference or the estimate is silent.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping

import numpy as np

from Sample import SOURCES

logger = logging.getLogger(__name__)

BSS_METRICS: tuple[str, ...] = ("SDR", "SIR", "SAR")
METRICS: tuple[str, ...] = ("SDR", "SIR", "SAR", "NSDR", "NSIR", "SNR", "NSNR")
MUSEVAL_METRICS: tuple[str, ...] = ("SDR", "ISR", "SIR", "SAR")
WINDOW_SECONDS = 30.0  # the windowed protocol's usual window (Evaluate.py --window 30); the default is whole tracks
SILENCE_POWER = 1e-10  # mean square (-100 dBFS RMS) below which a reference window counts as silent
MIN_SAMPLES = 1024  # bss_eval needs well over its 512-tap filter length


def nan_stat(values: object, stat: str = "median") -> float:
    """Median or mean of the finite values (NaN and infinities are undefined scores, left out, as ``count``
    leaves them out); NaN (without a warning) when there are none."""
    array = np.asarray(values, dtype=np.float64).ravel()
    array = array[np.isfinite(array)]
    if array.size == 0:
        return float("nan")
    return float(np.median(array) if stat == "median" else np.mean(array))


def scale_optimised_snr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """``10 log10(|s|^2 / |s - alpha e|^2)`` in dB with ``alpha = <s, e> / <e, e>`` (original code's SNR).

    Both ``[samples]``. NaN when either signal is silent; capped at 300 dB for a perfect estimate.
    """
    s = np.asarray(reference, dtype=np.float64)
    e = np.asarray(estimate, dtype=np.float64)
    target, power = float(np.dot(s, s)), float(np.dot(e, e))
    if target <= 0.0 or power <= 0.0:
        return float("nan")
    alpha = float(np.dot(s, e)) / power
    error = float(np.sum(np.square(s - alpha * e)))
    return float(10.0 * np.log10(target / max(error, target * 1e-30)))


def windows(
    num_samples: int, sr: int, window_seconds: float | None = None
) -> list[tuple[int, int]]:
    """Non-overlapping ``(start, stop)`` sample ranges; a remainder under half a window joins the last."""
    if window_seconds is None or window_seconds <= 0:
        return [(0, num_samples)]
    size = max(MIN_SAMPLES, int(round(window_seconds * sr)))
    bounds = list(range(0, num_samples, size)) + [num_samples]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] < size / 2:
        del bounds[-2]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _silent(x: np.ndarray) -> bool:
    return x.size == 0 or float(np.mean(np.square(x, dtype=np.float64))) < SILENCE_POWER


def _bss(references: np.ndarray, estimates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """mir_eval's bss_eval_sources without permutation; ``[n, samples]`` each -> (sdr, sir, sar) ``[n]``."""
    import mir_eval

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # bss_eval_sources is "deprecated" in mir_eval 0.8
        sdr, sir, sar, _ = mir_eval.separation.bss_eval_sources(
            references, estimates, compute_permutation=False
        )
    return sdr, sir, sar


def bss_scores(
    references: np.ndarray, estimates: np.ndarray, sr: int, window_seconds: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Windowed BSS Eval (see the module docstring).

    Args:
        references, estimates: ``[2, samples]`` (accompaniment, voice), same rate and length.
        sr: sample rate in Hz (sets the window length).

    Returns:
        ``(scores, silent)``: ``scores`` ``[2, 3, windows]`` SDR/SIR/SAR in dB (NaN where undefined) and
        ``silent`` ``[2, windows]`` booleans marking silent reference windows.
    """
    references = np.asarray(references, dtype=np.float64)
    estimates = np.asarray(estimates, dtype=np.float64)
    spans = windows(references.shape[1], sr, window_seconds)
    scores = np.full((2, 3, len(spans)), np.nan)
    silent = np.zeros((2, len(spans)), dtype=bool)
    rng = np.random.default_rng(0)
    for w, (a, b) in enumerate(spans):
        refs, ests = references[:, a:b].copy(), estimates[:, a:b].copy()
        silent[:, w] = [_silent(r) for r in refs]
        if b - a < MIN_SAMPLES:
            continue
        for j in range(2):
            if not np.any(ests[j]):
                ests[j] = rng.standard_normal(b - a) * 1e-10
        active = np.flatnonzero(~silent[:, w])
        if len(active) == 2:
            scores[:, :, w] = np.stack(_bss(refs, ests), axis=1)
        elif len(active) == 1:
            j = int(active[0])
            sdr, _, sar = _bss(refs[j : j + 1], ests[j : j + 1])
            scores[j, :, w] = [sdr[0], np.nan, sar[0]]
    return scores, silent


def track_scores(
    references: Mapping[str, np.ndarray],
    estimates: Mapping[str, np.ndarray],
    sr: int,
    window_seconds: float | None = None,
    track: str = "track",
    warn_silent: bool = True,
) -> dict[str, dict[str, float]]:
    """SDR/SIR/SAR (median over windows) and SNR of one track's estimates: ``{source: {metric: dB}}``."""
    refs = np.stack([np.asarray(references[s], dtype=np.float64) for s in SOURCES])
    ests = np.stack([np.asarray(estimates[s], dtype=np.float64) for s in SOURCES])
    if refs.shape != ests.shape:
        raise ValueError(f"{track}: references {refs.shape} and estimates {ests.shape} differ in shape")
    scores, silent = bss_scores(refs, ests, sr, window_seconds)
    out = {}
    for j, source in enumerate(SOURCES):
        if warn_silent and silent[j].all():
            logger.warning("%s: reference %s is silent; its scores are undefined and left out", track, source)
        elif warn_silent and silent[j].any():
            logger.warning(
                "%s: reference %s is silent in %d of %d windows; those windows are left out",
                track,
                source,
                int(silent[j].sum()),
                silent.shape[1],
            )
        out[source] = {m: nan_stat(scores[j, i]) for i, m in enumerate(BSS_METRICS)}
        out[source]["SNR"] = scale_optimised_snr(refs[j], ests[j]) if not silent[j].all() else float("nan")
    return out


def score_estimates(
    references: Mapping[str, np.ndarray],
    estimates: Mapping[str, np.ndarray],
    mixture: np.ndarray,
    sr: int = 8192,
    window_seconds: float | None = None,
    track: str = "track",
    baseline: Mapping[str, Mapping[str, float]] | None = None,
    warn_silent: bool = True,
) -> dict[str, dict[str, float]]:
    """All metrics of one track's estimates, relative to the mixture used as the estimate.

    Args:
        references: ``{"accompaniment": [samples], "voice": [samples]}`` true sources.
        estimates: the same keys, estimated sources (same length).
        mixture: ``[samples]`` the mixture.
        sr: sample rate in Hz. window_seconds: BSS Eval window (``None``: whole track).
        track: name used in warnings.
        baseline: the mixture's own scores (``track_scores(references, {s: mixture}, ...)``), if known.
        warn_silent: log a warning naming the track and source when a reference is silent.

    Returns:
        ``{source: {"SDR", "SIR", "SAR", "NSDR", "NSIR", "SNR", "NSNR": dB}}``, NaN where undefined.
    """
    mixture = np.asarray(mixture, dtype=np.float64)
    if baseline is None:
        baseline = track_scores(references, {s: mixture for s in SOURCES}, sr, window_seconds, track, False)
    scores = track_scores(references, estimates, sr, window_seconds, track, warn_silent)
    for source in SOURCES:
        for metric in ("SDR", "SIR", "SNR"):
            scores[source][f"N{metric}"] = scores[source][metric] - baseline[source][metric]
        if warn_silent and not np.any(estimates[source]):
            logger.warning("%s: the %s estimate is silent", track, source)
    return {s: {m: scores[s][m] for m in METRICS} for s in SOURCES}


def irm_estimates(
    mixture: np.ndarray, references: Mapping[str, np.ndarray], num_fft: int = 512, num_hop: int = 256
) -> dict[str, np.ndarray]:
    """Ideal ratio mask oracle: ``m_s = |S|^2 / (|A|^2 + |V|^2 + eps)`` applied to the mixture's STFT.

    The power ratio is the soft mask ``separate.py`` applies to the model's magnitudes, so this is the upper
    bound of that estimator. Same STFT as the model (``Models.nets.spectrogram``), inverted with the mixture phase.

    Args:
        mixture: ``[..., samples]`` (e.g. ``[channels, samples]``: each channel on its own);
            references: ``{"accompaniment", "voice": [..., samples]}``, the same shape.

    Returns:
        ``{"accompaniment": [..., samples], "voice": [..., samples]}`` float32.
    """
    from Models.nets.spectrogram import istft, stft

    shapes = {np.shape(mixture)} | {np.shape(references[s]) for s in SOURCES}
    if len(shapes) != 1:
        raise ValueError(f"mixture and references must have the same shape, got {sorted(shapes)}")
    signals = np.stack([mixture] + [references[s] for s in SOURCES]).astype(np.float32)
    mag, phase = stft(signals, num_fft, num_hop)
    mag = mag.numpy().astype(np.float64)
    power = mag[1] ** 2 + mag[2] ** 2 + 1e-20
    masked = np.stack([mag[0] * mag[1 + j] ** 2 / power for j in range(2)]).astype(np.float32)
    audio = istft(masked, np.stack([phase[0], phase[0]]), num_fft, num_hop, length=signals.shape[-1]).numpy()
    return {s: audio[j] for j, s in enumerate(SOURCES)}


def museval_scores(
    references: Mapping[str, np.ndarray], estimates: Mapping[str, np.ndarray], sr: int
) -> dict[str, dict[str, float]]:
    """BSS Eval v4 (``museval.evaluate``, SiSEC 2018): 1 s windows and hops, median over the windows.

    A source whose reference is silent over the whole track gets NaN scores (museval cannot score it), and the
    other source's SIR is NaN too (nothing interferes; museval's own +inf would spoil every mean and median); a
    silent estimate is replaced by -200 dB noise, as in :func:`bss_scores`.

    Args:
        references, estimates: ``{source: [channels, samples]}`` (or ``[samples]``) at rate ``sr``.

    Returns:
        ``{source: {"SDR", "ISR", "SIR", "SAR": dB}}`` (NaN windows, e.g. silent references, left out).
    """
    import museval

    def stack(signals: Mapping[str, np.ndarray]) -> np.ndarray:
        arrays = [np.atleast_2d(np.asarray(signals[s], dtype=np.float64)) for s in SOURCES]
        return np.stack([a.T for a in arrays])  # [sources, samples, channels]

    refs, ests = stack(references), stack(estimates)
    n = min(refs.shape[1], ests.shape[1])
    refs, ests = refs[:, :n], ests[:, :n].copy()
    out = {s: {m: float("nan") for m in MUSEVAL_METRICS} for s in SOURCES}
    active = [j for j in range(len(SOURCES)) if not _silent(refs[j])]
    if not active or n < MIN_SAMPLES:
        return out
    rng = np.random.default_rng(0)
    for j in active:
        if not np.any(ests[j]):
            ests[j] = rng.standard_normal(ests[j].shape) * 1e-10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        values = museval.evaluate(refs[active], ests[active], win=int(sr), hop=int(sr))
    for k, j in enumerate(active):
        out[SOURCES[j]] = {m: nan_stat(v[k]) for m, v in zip(MUSEVAL_METRICS, values, strict=True)}
        if len(active) == 1:  # no other source to interfere: museval says +inf, bss_scores NaN (undefined)
            out[SOURCES[j]]["SIR"] = float("nan")
    return out


def aggregate(per_track: list[Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    """Median and mean over tracks of ``{source: {metric: value}}`` dicts, NaN and infinities left out.

    Returns:
        ``{"median": {source: {metric: v}}, "mean": {...}, "count": {source: {metric: finite values}}}``.
    """
    out: dict[str, dict[str, dict[str, float]]] = {"median": {}, "mean": {}, "count": {}}
    for source in SOURCES:
        metrics = list(dict.fromkeys(m for t in per_track for m in t.get(source, {})))
        for stat in ("median", "mean"):
            out[stat][source] = {
                m: nan_stat([t[source].get(m, np.nan) for t in per_track], stat) for m in metrics
            }
        out["count"][source] = {
            m: int(sum(np.isfinite(t[source].get(m, np.nan)) for t in per_track)) for m in metrics
        }
    return out
