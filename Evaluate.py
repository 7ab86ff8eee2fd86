"""BSS evaluation of a trained separator on every track of a dataset partition.

    python Evaluate.py --checkpoint checkpoints/542621_sup            # data set of the checkpoint's config
    python Evaluate.py --checkpoint checkpoints/542621_sup/542621_sup-1001 --musdb-root MUSDB18-HQ --is-wav
    python Evaluate.py --demo                                         # demo songs, latest checkpoint
    python Evaluate.py --checkpoint ... --museval --oracle irm --mask

Per track, the mixture (mono, ``expected_sr``, as the model sees it) is separated by the model; by default the
paper's direct estimates (estimated magnitude with the mixture phase) are scored, ``--mask`` scores the
soft-mask estimates ``separate.py`` uses. Metrics and conventions: see ``Models.metrics`` (SDR/SIR/SAR with
mir_eval per 30 s window, median per track; NSDR/NSIR against the mixture; scale-optimised SNR/NSNR).
``--oracle irm`` also scores the ideal ratio mask; ``--museval`` adds BSS Eval v4 (museval, 1 s frames, median
over frames, then over tracks) at the tracks' own rate and channels on the estimates ``separate.py`` writes
(soft masks, accompaniment = mixture - vocals), or at ``expected_sr`` mono on the scored estimates when the
three files differ in rate or channels.

Results: a pickle ``<results_dir>/<checkpoint>_<dataset>_<partition>[_mask][_<precision>]_<time>.pkl`` (never
overwriting an earlier one) with the per-track scores and the medians/means, and a box plot of per-track SDR next to it.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from Input.synthetic import DEMO_DATA_CONFIG
from Models.metrics import (
    SOURCES,
    WINDOW_SECONDS,
    aggregate,
    irm_estimates,
    museval_scores,
    score_estimates,
    track_scores,
)

logger = logging.getLogger("Evaluate")

__all__ = ["bss_evaluate", "score_estimates", "main", "get_parser"]

ORACLES: tuple[str, ...] = ("irm",)
PARTITIONS: tuple[str, ...] = ("train_sup", "train_valid", "train_test")
DEMO_DATA: dict[str, Any] = DEMO_DATA_CONFIG  # the demo songs' data keys (Training.py's `demo` named config)


def track_name(path: str | os.PathLike) -> str:
    """``.../<Track>/mixture.wav`` -> ``<Track>``; otherwise the file name without extension."""
    p = Path(path)
    return p.parent.name if p.stem.lower() in ("mixture", "mix") and p.parent.name else p.stem


def dataset_name(model_config: dict) -> str:
    """Short name of the evaluated data set: the custom loader's spec, else the MUSDB root's folder name."""
    name = model_config.get("dataset_loader") or Path(model_config.get("musdb_path", "dataset")).name
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)) or "dataset"


def _load_triple(triple: tuple, sr: int) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """Mixture and sources, mono at ``sr``, cut to their common length."""
    from Input import audio

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
    model: Any,
    model_config: dict,
    estimates: dict[str, np.ndarray],
    references: dict[str, np.ndarray],
    batch_size: int | None,
) -> dict[str, dict[str, float]]:
    """museval scores at the track's rate/channels when its three files agree, else at expected_sr mono."""
    from Input import audio
    from Models.inference import separate

    loaded = [audio.load(sample.path) for sample in triple]
    rates, channels = {sr for _, sr in loaded}, {a.shape[0] for a, _ in loaded}
    if len(rates) != 1 or len(channels) != 1:
        logger.info(
            "%s: files differ in rate/channels; museval at %d Hz mono",
            triple[0].path,
            model_config["expected_sr"],
        )
        return museval_scores(references, estimates, int(model_config["expected_sr"]))
    sr = rates.pop()
    n = min(a.shape[1] for a, _ in loaded)
    mix, acc, voice = (a[:, :n] for a, _ in loaded)
    est = separate(mix, sr, model, model_config, batch_size=batch_size)
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
    model_config: dict,
    dataset: dict,
    load_model: str,
    partition: str = "train_test",
    museval: bool = False,
    oracle: str | None = None,
    mask: bool = False,
    results_dir: str | os.PathLike | None = None,
    window_seconds: float | None = WINDOW_SECONDS,
    progress: bool | None = None,
    precision: str = "float32",
) -> dict[str, Any]:
    """Evaluate a checkpoint on every track of ``dataset[partition]`` and save the results.

    Args:
        model_config: configuration naming the data (``results_dir`` too); the model itself is rebuilt
            from the checkpoint's own ``model_config.json``.
        dataset: dataset dict (``Input.datasets.load_dataset``).
        load_model: checkpoint prefix or run folder.
        partition: which paired partition to evaluate.
        museval: also compute BSS Eval v4 with museval.
        oracle: ``"irm"`` to score the ideal ratio mask too.
        mask: score the soft-mask estimates instead of the paper's direct ones.
        results_dir: where the pickle and plot go (default ``model_config["results_dir"]``, ``logs/results``).
        window_seconds: BSS Eval window (``None``: whole tracks).
        progress: tqdm bar over tracks (``None``: only on a terminal).
        precision: the model's compute precision (``Models.inference.load_separator``).

    Returns:
        ``{"median": {source: {metric: dB}}, "mean": {...}, "count": {...}, "tracks": [per-track dicts],
        "oracle": {...} / "museval": {...} when asked, "checkpoint", "dataset", "partition", "estimates", "precision",
        "pickle": path, "plot": path}``. Per-track dicts hold ``"track"``, ``"path"``, ``"seconds"``,
        ``"scores"``, ``"mixture"`` (scores of the mixture as estimate) and ``"oracle"``/``"museval"``.
    """
    from tqdm import tqdm

    from Input.audio import AudioError
    from Models.inference import load_separator
    from Models.separator import StreamingSeparator
    from Utils import write_pickle_atomic

    if oracle not in (None, *ORACLES):
        raise ValueError(f"oracle must be one of {ORACLES} or None, got {oracle!r}")
    if partition not in dataset:
        raise ValueError(f"dataset has no partition {partition!r} (has {sorted(dataset)})")
    triples = list(dataset[partition])
    if not triples:
        raise ValueError(f"partition {partition!r} is empty: nothing to evaluate")
    model, config, prefix = load_separator(load_model, precision)
    sr, batch_size = int(config["expected_sr"]), int(config.get("inference_batch_size", 16))
    tracks: list[dict] = []
    skipped: list[str] = []
    for triple in tqdm(
        triples, desc="evaluating", unit="track", disable=None if progress is None else not progress
    ):
        name = track_name(triple[0].path)
        try:
            mix, references, n = _load_triple(triple, sr)
        except AudioError as err:
            logger.warning("%s: skipped, cannot be read: %s", name, err)
            skipped.append(str(err))
            continue
        separator = StreamingSeparator(model, config, 1, 60.0, batch_size, "mask" if mask else "direct")
        parts = [separator.push(mix[None]), separator.finish()]
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
            ideal = irm_estimates(mix, references, int(config["num_fft"]), int(config["num_hop"]))
            entry["oracle"] = score_estimates(
                references, ideal, mix, sr, window_seconds, name, baseline, False
            )
        if museval:
            entry["museval"] = _museval_track(triple, model, config, estimates, references, batch_size)
        logger.debug("%s: %s", name, entry["scores"])
        tracks.append(entry)
    if not tracks:
        raise ValueError(f"partition {partition!r}: none of its {len(triples)} tracks could be read")
    results: dict[str, Any] = {
        "checkpoint": prefix,
        "dataset": dataset_name(model_config),
        "partition": partition,
        "estimates": "mask" if mask else "direct",
        "precision": precision,
        "window_seconds": window_seconds,
        "sample_rate": sr,
        **aggregate([t["scores"] for t in tracks]),
        "tracks": tracks,
        "skipped": skipped,
    }
    if oracle:
        results["oracle"] = {"name": oracle, **aggregate([t["oracle"] for t in tracks])}
    if museval:
        results["museval"] = aggregate([t["museval"] for t in tracks])
    folder = Path(results_dir or model_config.get("results_dir") or "logs/results")
    stem = (f"{Path(prefix).name}_{results['dataset']}_{partition}" + ("_mask" if mask else "")
            + ("" if precision == "float32" else f"_{precision}"))
    pickle_path, plot_path = _result_paths(folder, stem)
    results["pickle"], results["plot"] = str(pickle_path), str(plot_path)
    try:
        plot_sdr(tracks, plot_path, f"{Path(prefix).name} on {results['dataset']}/{partition}")
        write_pickle_atomic(pickle_path, results)
    except BaseException:
        pickle_path.unlink(missing_ok=True)
        raise
    logger.info("evaluation results:\n%s", format_summary(results))
    logger.info("per-track results saved to %s, SDR box plot to %s", pickle_path, plot_path)
    return results


def get_parser() -> argparse.ArgumentParser:
    """Command-line options of ``python Evaluate.py``."""
    parser = argparse.ArgumentParser(
        description="BSS evaluation (SDR/SIR/SAR, NSDR, SNR) of a trained separator."
    )
    parser.add_argument(
        "--checkpoint",
        help="checkpoint prefix (checkpoints/<id>_<phase>/<id>_<phase>-<step>) or "
        "run folder; default: the newest best checkpoint under checkpoints/",
    )
    parser.add_argument(
        "--musdb-root", help="MUSDB18 folder to evaluate on instead of the checkpoint's data set"
    )
    parser.add_argument("--is-wav", action="store_true", help="--musdb-root is MUSDB18-HQ (wav folders)")
    parser.add_argument("--partition", default="train_test", choices=PARTITIONS, help="partition to evaluate")
    parser.add_argument("--museval", action="store_true", help="also compute BSS Eval v4 with museval (slow)")
    parser.add_argument(
        "--oracle", choices=ORACLES, help="also score an oracle (ideal ratio mask), an upper bound"
    )
    parser.add_argument(
        "--mask",
        action="store_true",
        help="score the soft-mask estimates separate.py writes instead of the paper's direct estimates",
    )
    parser.add_argument(
        "--window-seconds",
        type=float,
        default=WINDOW_SECONDS,
        help="BSS Eval window in seconds, median over windows per track; 0 = whole tracks",
    )
    parser.add_argument(
        "--precision", default="float32", choices=("float32", "bfloat16", "float16"),
        help="model compute precision (bfloat16: faster on CPUs with AVX512_BF16/AMX; default float32)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="evaluate on the demo songs in datasets/demo (generated if absent)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation from the command line; returns the exit status."""
    args = get_parser().parse_args(argv)
    from Utils import CheckpointError, find_latest_checkpoint, import_tensorflow, resolve_checkpoint, setup_logging

    setup_logging()
    import_tensorflow()
    checkpoint = args.checkpoint or find_latest_checkpoint("checkpoints")
    if checkpoint is None:
        print(
            "error: no checkpoint found under checkpoints/; train one with `python Training.py with demo` "
            "or pass --checkpoint",
            file=sys.stderr,
        )
        return 1
    try:
        prefix, model_config = resolve_checkpoint(checkpoint)
    except CheckpointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    logger.info("evaluating checkpoint %s", prefix)
    if args.demo:
        from Models.experiment import ensure_demo_data

        model_config = {**model_config, **DEMO_DATA}
        ensure_demo_data({**model_config, "seed": model_config.get("seed", 1337)})
    if args.is_wav:
        model_config = {**model_config, "is_wav": True}
    if args.musdb_root:
        model_config = {
            **model_config,
            "musdb_path": args.musdb_root,
            "is_wav": args.is_wav,
            "dataset_loader": None,
        }
    from Input.audio import AudioError
    from Input.datasets import load_dataset

    # Evaluation reads paired partitions only: skip scanning the run's unpaired folders and MoisesDB.
    no_unpaired = {"unsup_mixture_dirs": [], "unsup_voice_dirs": [], "unsup_accompaniment_dirs": [],
                   "moisesdb_path": None}
    try:
        dataset = load_dataset({**model_config, **no_unpaired})
        bss_evaluate(
            model_config,
            dataset,
            prefix,
            args.partition,
            args.museval,
            args.oracle,
            args.mask,
            window_seconds=args.window_seconds if args.window_seconds > 0 else None,
            precision=args.precision,
        )
    except (CheckpointError, AudioError, ValueError, OSError) as err:
        print(f"error: {' '.join(str(err).split())}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
