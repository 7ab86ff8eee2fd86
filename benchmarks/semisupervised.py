"""The paper's claim, measured: with scarce labels and plenty of unlabelled songs, does the adversarial
semi-supervised phase beat supervised-only training at the same step budget?

    python -m benchmarks.semisupervised [--seeds 3] [--steps 600] [--labelled 3] [--unlabelled 39]
        [--protocol whole window30] [--scenario in_domain out_of_domain]

Generated songs: ``--labelled`` paired training songs, ``--unlabelled`` songs split into three disjoint thirds
(mixtures, accompaniments, voices), 3 validation and ``--test`` test songs. For each seed both runs take the same
number of separator updates with the same initialisation seed and data seed; early stopping is off (``patience``
above the epoch count) so the budgets are equal. Prints the test-set SDR (mean ± std over seeds of the per-run
median over tracks) for voice and accompaniment, per scenario and evaluation protocol.

Scenarios:

* ``in_domain``: all songs from one generator setting (``Input.song_synth.DOMAINS["default"]``).
* ``out_of_domain``: the same labelled songs, but validation, test and unlabelled songs from another setting
  (``"shifted"``: other tempi, keys, vocal register and timbre). This is the paper's cross-dataset point: the
  unlabelled data come from the domain the model is tested on.

Protocols: ``whole`` scores whole tracks (the paper's), ``window30`` the median over 30 s windows per track.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf_keras as keras

from Input.audio_cache import AudioCache
from Input.datasets import validate_dataset
from Input.musdb_data import build_musdb_dataset
from Input.synthetic import generate_dataset, generate_unpaired
from Input.unpaired import scan_folders
from Models.adversarial import train_semisupervised
from Models.evaluation import EvaluationOptions, bss_evaluate, dataset_name
from Models.metrics import WINDOW_SECONDS
from Models.supervised import train_supervised
from Models.trainer import TrainingRun
from Training import resolved_model_config
from Utils import setup_logging

# The demo's model and optimisation (Training.py's `demo` named config), with early stopping off.
BASE_CONFIG = resolved_model_config("demo", patience=1000, max_epochs=6, seed=0, log_every=50, summary_seconds=5.0,
                                    musdb_path="", is_wav=True)


PROTOCOLS: dict[str, float | None] = {"whole": None, "window30": WINDOW_SECONDS}  # BSS Eval window, s
SCENARIOS: tuple[str, ...] = ("in_domain", "out_of_domain")


def _songs(root: Path, paired: int, test: int, unlabelled: int, seconds: float, seed: int, domain: str) -> dict:
    """Generate (once) ``paired`` train and ``test`` test songs plus ``unlabelled`` unpaired ones of ``domain``
    under ``root``; return them as MUSDB18-HQ partitions (the real code path) and the three unpaired lists."""
    if not (root / "train").is_dir():
        generate_dataset(root, num_train=paired, num_test=test, seconds=seconds, seed=seed, sr=22050,
                         domain=domain)
        generate_unpaired(root / "unpaired", num_tracks=unlabelled, seconds=seconds, seed=seed + 100, sr=22050,
                          domain=domain)
    songs = build_musdb_dataset(root, is_wav=True)
    songs["train_unsup"] = [scan_folders([root / "unpaired" / g]) for g in ("mixtures", "accompaniments", "voices")]
    return songs


def build_dataset(root: Path, labelled: int, unlabelled: int, test: int, seconds: float,
                  scenario: str = "in_domain") -> dict:
    """Generate (once) and load one scenario's songs into the partition dict (see the module docstring)."""
    source = _songs(root, labelled + 3, test, unlabelled, seconds, 100, "default")
    train = source["train_sup"]
    target = source if scenario == "in_domain" else _songs(root / "shifted", 3, test, unlabelled, seconds, 300,
                                                             "shifted")
    valid = train[labelled:] if scenario == "in_domain" else target["train_sup"]
    return validate_dataset({"train_sup": train[:labelled], "train_valid": valid,
                             "train_test": target["train_valid"] + target["train_test"],
                             "train_unsup": target["train_unsup"]})


def _table(scores: dict) -> str:
    """Mean ± std over seeds per (scenario, protocol, method)."""
    lines = [f"{'scenario':15}{'protocol':10}{'method':18}{'voice SDR (dB)':>18}{'accompaniment SDR (dB)':>26}"]
    for (scenario, protocol, method), values in scores.items():
        arr = np.array(values)
        lines.append(f"{scenario:15}{protocol:10}{method:18}{arr[:, 0].mean():>10.2f} ± {arr[:, 0].std():<5.2f}"
                     f"{arr[:, 1].mean():>18.2f} ± {arr[:, 1].std():<5.2f}  ({len(arr)} seeds)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (runs per method)")
    parser.add_argument("--steps", type=int, default=600, help="separator updates per run")
    parser.add_argument("--labelled", type=int, default=3, help="paired training songs")
    parser.add_argument("--unlabelled", type=int, default=39, help="unpaired songs, split into thirds")
    parser.add_argument("--test", type=int, default=6, help="test songs")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each song, s")
    parser.add_argument("--alpha", type=float, default=0.001, help="adversarial loss weight")
    parser.add_argument("--beta", type=float, default=0.001, help="additive penalty weight")
    parser.add_argument("--protocol", nargs="+", choices=tuple(PROTOCOLS), default=["whole"],
                        help="evaluation protocol(s): whole tracks (the paper's) and/or 30 s windows")
    parser.add_argument("--scenario", nargs="+", choices=SCENARIOS, default=list(SCENARIOS),
                        help="in-domain test, and/or labelled songs from another domain than the test songs")
    parser.add_argument("--workdir", default=None, help="folder for songs, caches and checkpoints (temp dir)")
    args = parser.parse_args(argv)
    setup_logging(logging.WARNING)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="semisup_bench_"))
    epochs = max(1, args.steps // BASE_CONFIG["epoch_it"])
    scores: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for scenario in args.scenario:
        dataset = build_dataset(work / "songs", args.labelled, args.unlabelled, args.test, args.seconds, scenario)
        for seed in range(args.seeds):
            config = dict(BASE_CONFIG, seed=seed, max_epochs=epochs, alpha=args.alpha, beta=args.beta,
                          model_base_dir=str(work / "checkpoints"), log_dir=str(work / "logs"),
                          results_dir=str(work / "results"), audio_cache_dir=str(work / "cache"))
            cache = AudioCache(config["audio_cache_dir"], config["expected_sr"], True, config["cache_dtype"])
            for method, train in (("supervised", train_supervised), ("semi-supervised", train_semisupervised)):
                keras.utils.set_random_seed(seed)
                result = train(TrainingRun(config, f"bench_{scenario}{seed}", dataset, cache, progress=False))
                # Same budget for both: score the final checkpoint of the fixed number of steps.
                final = tf.train.latest_checkpoint(str(Path(result.best_checkpoint).parent))
                for protocol in args.protocol:
                    options = EvaluationOptions(config["results_dir"], progress=False,
                                                window_seconds=PROTOCOLS[protocol])
                    bss = bss_evaluate(dataset, final, options, data_name=dataset_name(config))
                    value = (bss["median"]["voice"]["SDR"], bss["median"]["accompaniment"]["SDR"])
                    scores.setdefault((scenario, protocol, method), []).append(value)
                    print(f"{scenario} seed {seed} {protocol} {method:16} voice SDR {value[0]:6.2f} dB, "
                          f"accompaniment SDR {value[1]:6.2f} dB", flush=True)
    print(f"\n{args.labelled} labelled songs, {args.unlabelled} unlabelled, {args.steps} steps, {args.seeds} seeds, "
          f"alpha={args.alpha}, beta={args.beta}, unsup_gain_range={BASE_CONFIG['unsup_gain_range']}")
    print(_table(scores))


if __name__ == "__main__":
    main()
