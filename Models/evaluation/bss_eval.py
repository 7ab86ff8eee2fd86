"""BSS evaluation of a trained separator on every track of a dataset partition (:func:`bss_evaluate`).

Per track, the mixture (mono, ``expected_sr``, as the model sees it) is separated by the model; by default the
paper's direct estimates (estimated magnitude with the mixture phase) are scored, ``mask=True`` scores the
soft-mask estimates ``separate.py`` uses. Metrics and conventions: see ``Models.evaluation.metrics`` (SDR/SIR/SAR with
mir_eval on whole tracks, the paper's protocol, or per window of ``window_seconds`` with the median per track;
NSDR/NSIR against the mixture; scale-optimised SNR/NSNR).
``oracle="irm"`` also scores the ideal ratio mask; ``museval=True`` adds BSS Eval v4 (museval, 1 s frames,
median over frames, then over tracks) at the tracks' own rate and channels on the estimates ``separate.py``
writes (soft masks, accompaniment = mixture - vocals), or at ``expected_sr`` mono on the scored estimates when
the three files differ in rate or channels.

Results: a pickle ``<results_dir>/<checkpoint>_<dataset>_<partition>[_mask][_<precision>]_<time>.pkl`` (never
overwriting an earlier one) with the per-track scores and the medians/means, and a box plot of per-track SDR
next to it. Only the checkpoint's model spec is read; the data come from the caller.
"""

from __future__ import annotations

import io
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from Input.config import DataConfig
from Models.api import Separator
from Models.evaluation.metrics import (
    SOURCES,
    aggregate,
    irm_estimates,
    museval_scores,
    score_estimates,
    track_scores,
)
from Models.separation.options import BAND_FIELDS, PRECISION_CHOICES, SeparationOptions

logger = logging.getLogger(__name__)

ORACLES: tuple[str, ...] = ("irm",)
PARTITIONS: tuple[str, ...] = ("train_sup", "train_valid", "train_test")
TRACK_CHUNK_SECONDS = 60.0  # model-rate chunk of the scored estimates (bounds memory; no effect on the result)


@dataclass(frozen=True)
class EvaluationOptions:
    """What :func:`bss_evaluate` computes and where it writes."""

    results_dir: str | os.PathLike  # folder of the results pickle and the SDR box plot
    partition: str = "train_test"  # paired partition of the dataset to evaluate (PARTITIONS)
    museval: bool = False  # also compute BSS Eval v4 with museval (slow)
    oracle: str | None = None  # "irm": also score the ideal ratio mask (an upper bound); None: no oracle
    mask: bool = False  # score the soft-mask estimates (as separate.py writes) instead of the paper's direct ones
    window_seconds: float | None = None  # BSS Eval window, seconds; None: whole tracks (the paper's protocol)
    progress: bool | None = None  # tqdm bar over tracks; None: only on a terminal
    precision: str = "float32"  # the model's compute precision (PRECISION_CHOICES, Models.api.Separator.load)
    # How the museval scores at the tracks' native rate apply the model (vocal band, extension, Wiener filter), as
    # separate.py would; the other scores are of the model-rate mono estimates, where these make no difference.
    separation: SeparationOptions = SeparationOptions()

    def __post_init__(self) -> None:
        if self.oracle not in (None, *ORACLES):
            raise ValueError(f"oracle must be one of {ORACLES} or None, got {self.oracle!r}")
        if self.precision not in PRECISION_CHOICES:
            raise ValueError(f"precision must be one of {PRECISION_CHOICES}, got {self.precision!r}")


def track_name(path: str | os.PathLike) -> str:
    """``.../<Track>/mixture.wav`` -> ``<Track>``; otherwise the file name without extension."""
    p = Path(path)
    return p.parent.name if p.stem.lower() in ("mixture", "mix") and p.parent.name else p.stem


def dataset_name(data: DataConfig) -> str:
    """Short name of a data set: the custom loader's spec (``dataset_loader``), else the MUSDB root's folder name
    (``musdb_path``)."""
    name = data.dataset_loader or Path(data.musdb_path or "dataset").name
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)) or "dataset"


def _load_triple(triple: tuple, sr: int) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """Mixture and sources, mono at ``sr``, cut to their common length."""
    from Input.audio import files as audio

    mix, acc, voice = (audio.load(sample.path, sr=sr, mono=True)[0][0] for sample in triple)
    n = min(len(mix), len(acc), len(voice))
    if max(len(mix), len(acc), len(voice)) - n > sr // 100:
        logger.warning(
            "%s: mixture and sources differ in length (%d, %d, %d samples); cut to %d",
            triple[0].path,
            len(mix),
            len(acc),
            len(voice),
            n,
        )
    return mix[:n], {"accompaniment": acc[:n], "voice": voice[:n]}, n


def _museval_track(
    triple: tuple,
    separator: Separator,
    estimates: dict[str, np.ndarray],
    references: dict[str, np.ndarray],
    separation: SeparationOptions,
) -> dict[str, dict[str, float]]:
    """museval scores at the track's rate/channels when its three files agree (on the estimates
    ``separate.py`` writes with ``separation``), else at expected_sr mono on ``estimates``
    (``{source: [samples]}``)."""
    from Input.audio import files as audio

    spec = separator.spec
    loaded = [audio.load(sample.path) for sample in triple]
    rates, channels = {sr for _, sr in loaded}, {a.shape[0] for a, _ in loaded}
    if len(rates) != 1 or len(channels) != 1:
        logger.info(
            "%s: files differ in rate/channels; museval at %d Hz mono",
            triple[0].path,
            spec.expected_sr,
        )
        return museval_scores(references, estimates, spec.expected_sr)
    sr = rates.pop()
    n = min(a.shape[1] for a, _ in loaded)
    mix, acc, voice = (a[:, :n] for a, _ in loaded)
    est = separator.separate(mix, sr, separation)
    return museval_scores(
        {"accompaniment": acc, "voice": voice},
        {"accompaniment": est["accompaniment"], "voice": est["vocals"]},
        sr,
    )


def _result_paths(folder: Path, stem: str) -> tuple[Path, Path]:
    """A fresh ``<stem>_<time>[_<k>].pkl`` (reserved by creating it) and the matching ``.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    base = f"{stem}_{time.strftime('%Y%m%d-%H%M%S')}"
    for k in range(1, 10000):
        candidate = folder / (base if k == 1 else f"{base}_{k}")
        try:
            with open(candidate.with_suffix(".pkl"), "x"):
                pass
        except FileExistsError:
            continue
        return candidate.with_suffix(".pkl"), candidate.with_suffix(".png")
    raise RuntimeError(f"{folder}: cannot find a free results file name for {base}")


def plot_sdr(tracks: list[dict], path: Path, title: str) -> None:
    """Box plot of per-track SDR per source (and of the oracle's when present), written atomically as PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from Utils import atomic_open

    data, labels = [], []
    for key, tag in (("scores", ""), ("oracle", " (IRM)")):
        if all(key in t for t in tracks):
            for source in SOURCES:
                values = np.array([t[key][source]["SDR"] for t in tracks], dtype=np.float64)
                data.append(values[np.isfinite(values)])
                labels.append(source + tag)
    fig = Figure(figsize=(2.2 + 1.4 * len(data), 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.boxplot(data, tick_labels=labels, showmeans=True)
    ax.set_ylabel("SDR (dB), per track")
    ax.set_title(title, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    with atomic_open(path, "wb") as handle:
        handle.write(buffer.getvalue())


def format_summary(results: dict) -> str:
    """Table of median and mean per source and metric, with the oracle's (and museval's) beside them."""
    extra = [k for k in ("oracle", "museval") if k in results]
    header = f"{'':22}{'median':>10}{'mean':>10}" + "".join(
        f"{k + ' median':>16}{k + ' mean':>12}" for k in extra
    )
    lines = [
        f"{results['checkpoint']} on {results['dataset']}/{results['partition']} "
        f"({len(results['tracks'])} tracks, {results['estimates']} estimates)",
        header,
    ]
    for source in SOURCES:
        for metric, value in results["median"][source].items():
            row = f"{source + ' ' + metric:22}{value:>10.3f}{results['mean'][source][metric]:>10.3f}"
            for key in extra:
                med = results[key]["median"][source].get(metric, float("nan"))
                row += f"{med:>16.3f}{results[key]['mean'][source].get(metric, float('nan')):>12.3f}"
            lines.append(row)
    return "\n".join(lines)


def bss_evaluate(
    dataset: dict, checkpoint: str | os.PathLike, options: EvaluationOptions, data_name: str = "dataset"
) -> dict[str, Any]:
    """Evaluate a checkpoint on every track of ``dataset[partition]`` and save the results.

    Args:
        dataset: dataset dict (``Input.datasets.load.load_dataset``): partitions of (mixture, accompaniment, vocals)
            ``Sample`` triples.
        checkpoint: checkpoint prefix or run folder; the model is rebuilt from its model spec.
        options: see :class:`EvaluationOptions`.
        data_name: short name of the data set in the results and their file names (:func:`dataset_name`).

    Returns:
        ``{"median": {source: {metric: dB}}, "mean": {...}, "count": {...}, "tracks": [per-track dicts],
        "oracle": {...} / "museval": {...} when asked, "checkpoint", "dataset", "partition", "estimates", "precision",
        "pickle": path, "plot": path}``. Per-track dicts hold ``"track"``, ``"path"``, ``"seconds"``,
        ``"scores"``, ``"mixture"`` (scores of the mixture as estimate) and ``"oracle"``/``"museval"``.
    """
    from tqdm import tqdm

    from Input.audio.files import AudioError
    from Input.datasets.partitions import DatasetError
    from Utils import WriteError, write_pickle_atomic

    partition, mask, oracle, window_seconds = options.partition, options.mask, options.oracle, options.window_seconds

    if partition not in dataset:
        raise DatasetError(f"dataset has no partition {partition!r} (has {sorted(dataset)})")
    triples = list(dataset[partition])
    if not triples:
        raise DatasetError(f"partition {partition!r} is empty: nothing to evaluate")
    separator = Separator.load(checkpoint, options.precision)
    spec, prefix = separator.spec, separator.checkpoint
    sr = spec.expected_sr
    tracks: list[dict] = []
    skipped: list[str] = []
    for triple in tqdm(
        triples, desc="evaluating", unit="track", disable=None if options.progress is None else not options.progress
    ):
        name = track_name(triple[0].path)
        try:
            mix, references, n = _load_triple(triple, sr)
        except AudioError as err:
            logger.warning("%s: skipped, cannot be read: %s", name, err)
            skipped.append(str(err))
            continue
        stream = separator.model_rate_stream(1, TRACK_CHUNK_SECONDS, "mask" if mask else "direct")
        parts = [stream.push(mix[None]), stream.finish()]
        estimates = {s: np.concatenate([p[s] for p in parts], axis=1)[0] for s in SOURCES}
        baseline = track_scores(references, {s: mix for s in SOURCES}, sr, window_seconds, name, False)
        entry = {
            "track": name,
            "path": triple[0].path,
            "seconds": n / sr,
            "mixture": baseline,
            "scores": score_estimates(references, estimates, mix, sr, window_seconds, name, baseline),
        }
        if oracle == "irm":
            ideal = irm_estimates(mix, references, spec.num_fft, spec.num_hop)
            entry["oracle"] = score_estimates(
                references, ideal, mix, sr, window_seconds, name, baseline, False
            )
        if options.museval:
            entry["museval"] = _museval_track(triple, separator, estimates, references, options.separation)
        logger.debug("%s: %s", name, entry["scores"])
        tracks.append(entry)
    if not tracks:
        raise DatasetError(f"partition {partition!r}: none of its {len(triples)} tracks could be read")
    results: dict[str, Any] = {
        "checkpoint": prefix,
        "dataset": data_name,
        "partition": partition,
        "estimates": "mask" if mask else "direct",
        "precision": options.precision,
        "window_seconds": window_seconds,
        "sample_rate": sr,
        **aggregate([t["scores"] for t in tracks]),
        "tracks": tracks,
        "skipped": skipped,
    }
    if oracle:
        results["oracle"] = {"name": oracle, **aggregate([t["oracle"] for t in tracks])}
    if options.museval:
        results["museval"] = aggregate([t["museval"] for t in tracks])
        results["museval_options"] = {field: getattr(options.separation, field) for field in BAND_FIELDS}
    folder = Path(options.results_dir)
    stem = (f"{Path(prefix).name}_{results['dataset']}_{partition}" + ("_mask" if mask else "")
            + ("" if options.precision == "float32" else f"_{options.precision}"))
    pickle_path, plot_path = _result_paths(folder, stem)
    results["pickle"], results["plot"] = str(pickle_path), str(plot_path)
    try:
        plot_sdr(tracks, plot_path, f"{Path(prefix).name} on {results['dataset']}/{partition}")
        write_pickle_atomic(pickle_path, results)
    except BaseException as err:  # neither file stays
        pickle_path.unlink(missing_ok=True)
        plot_path.unlink(missing_ok=True)
        if isinstance(err, OSError):  # e.g. a full disk
            raise WriteError(f"{folder}: cannot write the evaluation results ({err.strerror or err})") from err
        raise
    logger.info("evaluation results:\n%s", format_summary(results))
    logger.info("per-track results saved to %s, SDR box plot to %s", pickle_path, plot_path)
    return results
