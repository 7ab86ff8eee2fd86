"""BSS evaluation of a trained separator on every track of a dataset partition (the command line of
``Models.evaluation.bss_eval``, which describes the metrics, the estimates scored and the results files).

    python Evaluate.py --checkpoint checkpoints/542621_sup            # data set of the checkpoint's run
    python Evaluate.py --checkpoint checkpoints/542621_sup/542621_sup-1001 --musdb-root MUSDB18-HQ --is-wav
    python Evaluate.py --demo                                         # demo songs, latest checkpoint
    python Evaluate.py --checkpoint ... --museval --oracle irm --mask

The model is rebuilt from the checkpoint's model spec. The data set is the one of the training run's config
(``run.json``, or a legacy ``model_config.json``) unless ``--demo`` or ``--musdb-root`` names another; the
results go to the run config's ``results_dir``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from Input.config import DEMO_DATA_CONFIG, DataConfig
from Models.config import ExperimentConfig
from Models.evaluation.bss_eval import ORACLES, PARTITIONS, EvaluationOptions, bss_evaluate, dataset_name
from Models.evaluation.metrics import score_estimates
from Models.separation.options import PRECISION_CHOICES, SeparationOptions, add_band_arguments, band_options
from Utils import run_cli

logger = logging.getLogger("Evaluate")

__all__ = ["bss_evaluate", "score_estimates", "main", "get_parser"]

DEMO_DATA: dict[str, Any] = DEMO_DATA_CONFIG  # the demo songs' data keys (Training.py's `demo` named config)
# Evaluation reads paired partitions only: these keys of the run config are cleared so that its unpaired
# folders and MoisesDB are not scanned (they need not exist on this machine).
NO_UNPAIRED: dict[str, Any] = {"unsup_mixture_dirs": [], "unsup_voice_dirs": [], "unsup_accompaniment_dirs": [],
                               "moisesdb_path": None}


def window_seconds(text: str) -> float:
    """``--window`` value in seconds: ``whole`` (or ``0``) -> 0.0, meaning whole tracks."""
    if text.strip().lower() == "whole":
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'whole' or seconds, got {text!r}") from None
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError(f"expected 'whole' or seconds >= 0, got {text!r}")
    return value


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
    parser.add_argument("--partition", default=EvaluationOptions.partition, choices=PARTITIONS,
                        help="partition to evaluate")
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
        "--window", "--window-seconds",
        dest="window",
        type=window_seconds,
        help="BSS Eval window: 'whole' (or 0) scores whole tracks, the paper's protocol; a number of seconds "
        "(e.g. 30) takes the median over non-overlapping windows per track; default: the run's "
        "eval_window_seconds (whole tracks when unset)",
    )
    parser.add_argument(
        "--precision", default=EvaluationOptions.precision, choices=PRECISION_CHOICES,
        help="model compute precision (bfloat16: faster on CPUs with AVX512_BF16/AMX; default float32)",
    )
    add_band_arguments(parser.add_argument_group(
        "museval at the tracks' native rate", "how --museval applies the model, as in separate.py"))
    parser.add_argument(
        "--demo",
        action="store_true",
        help="evaluate on the demo songs in datasets/demo (generated if absent)",
    )
    return parser


def data_config(run: ExperimentConfig, args: argparse.Namespace) -> DataConfig:
    """The data ``Input.datasets.load.load_dataset`` reads: the run's, with ``--demo`` / ``--is-wav`` / ``--musdb-root``
    applied and the unpaired data cleared (:data:`NO_UNPAIRED`)."""
    updates: dict[str, Any] = {}
    if args.demo:
        updates.update(DEMO_DATA)
    if args.is_wav:
        updates["is_wav"] = True
    if args.musdb_root:
        updates.update(musdb_path=args.musdb_root, is_wav=args.is_wav, dataset_loader=None)
    return DataConfig.from_dict({**run.data.to_dict(), **updates, **NO_UNPAIRED})


def evaluation_window(args: argparse.Namespace, run_window: float | None) -> float | None:
    """BSS Eval window in seconds, None for whole tracks: ``--window`` if given, else the run's
    ``eval_window_seconds`` (``run_window``; whole tracks in runs older than the key, the paper's protocol)."""
    if args.window is not None:
        return args.window or None
    return run_window


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation from the command line; returns the exit status (``Utils.EXIT_STATUS``)."""
    return run_cli(lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    args = get_parser().parse_args(argv)
    from Models.nets.checkpoint_files import find_latest_checkpoint, read_run_config, resolve_checkpoint
    from Utils import CheckpointError, import_tensorflow, setup_logging

    setup_logging()
    checkpoint = args.checkpoint or find_latest_checkpoint("checkpoints")
    if checkpoint is None:
        raise CheckpointError("no checkpoint found under checkpoints/; train one with `python Training.py with "
                              "demo` or pass --checkpoint")
    prefix, _ = resolve_checkpoint(checkpoint)
    run = read_run_config(Path(prefix).parent)
    import_tensorflow()  # after the checks above, which report a bad checkpoint path without its start-up cost
    logger.info("evaluating checkpoint %s", prefix)
    data = data_config(run, args)
    if args.demo:
        from Input.synth.generate import ensure_demo_data

        ensure_demo_data(Path(data.demo_path), run.train.seed)
    from Input.datasets.load import load_dataset

    options = EvaluationOptions(
        results_dir=run.evaluation.results_dir,
        partition=args.partition,
        museval=args.museval,
        oracle=args.oracle,
        mask=args.mask,
        window_seconds=evaluation_window(args, run.evaluation.eval_window_seconds),
        precision=args.precision,
        separation=SeparationOptions(**band_options(args)),
    )
    bss_evaluate(load_dataset(data, seed=run.train.seed), prefix, options, data_name=dataset_name(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
