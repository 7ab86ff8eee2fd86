"""The paper's claim, measured: with scarce labels and plenty of unlabelled songs, does the adversarial
semi-supervised phase beat supervised-only training at the same step budget?

    python -m benchmarks.semisupervised [--seeds 3] [--steps 600] [--labelled 3] [--unlabelled 40]

Generated songs: ``--labelled`` paired training songs, ``--unlabelled`` songs split into three disjoint thirds
(mixtures, accompaniments, voices), 3 validation and ``--test`` test songs. For each seed both runs take the same
number of separator updates with the same initialisation seed and data seed; early stopping is off (``patience``
above the epoch count) so the budgets are equal. Prints the test-set SDR (mean ± std over seeds of the per-run
median over tracks) for voice and accompaniment.
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
from Models.supervised import train_supervised
from Models.trainer import TrainingRun
from Training import resolved_model_config
from Utils import setup_logging

# The demo's model and optimisation (Training.py's `demo` named config), with early stopping off.
BASE_CONFIG = resolved_model_config("demo", patience=1000, max_epochs=6, seed=0, log_every=50, summary_seconds=5.0,
                                    musdb_path="", is_wav=True)


def build_dataset(root: Path, labelled: int, unlabelled: int, test: int, seconds: float) -> dict:
    """Generate (once) and load the benchmark's songs into the partition dict."""
    if not (root / "train").is_dir():
        generate_dataset(root, num_train=labelled + 3, num_test=test, seconds=seconds, seed=100, sr=22050)
        generate_unpaired(root / "unpaired", num_tracks=unlabelled, seconds=seconds, seed=200, sr=22050)
    songs = build_musdb_dataset(root, is_wav=True)  # the real MUSDB18-HQ code path
    train = songs["train_sup"]
    unsup = [scan_folders([root / "unpaired" / g]) for g in ("mixtures", "accompaniments", "voices")]
    return validate_dataset({"train_sup": train[:labelled], "train_valid": train[labelled:],
                             "train_test": songs["train_valid"] + songs["train_test"], "train_unsup": unsup})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (runs per method)")
    parser.add_argument("--steps", type=int, default=600, help="separator updates per run")
    parser.add_argument("--labelled", type=int, default=3, help="paired training songs")
    parser.add_argument("--unlabelled", type=int, default=40, help="unpaired songs, split into thirds")
    parser.add_argument("--test", type=int, default=6, help="test songs")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each song, s")
    parser.add_argument("--alpha", type=float, default=0.001, help="adversarial loss weight")
    parser.add_argument("--beta", type=float, default=0.001, help="additive penalty weight")
    parser.add_argument("--workdir", default=None, help="folder for songs, caches and checkpoints (temp dir)")
    args = parser.parse_args(argv)
    setup_logging(logging.WARNING)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="semisup_bench_"))
    dataset = build_dataset(work / "songs", args.labelled, args.unlabelled, args.test, args.seconds)
    epochs = max(1, args.steps // BASE_CONFIG["epoch_it"])
    scores: dict[str, list[tuple[float, float]]] = {"supervised": [], "semi-supervised": []}
    for seed in range(args.seeds):
        config = dict(BASE_CONFIG, seed=seed, max_epochs=epochs, alpha=args.alpha, beta=args.beta,
                      model_base_dir=str(work / "checkpoints"), log_dir=str(work / "logs"),
                      results_dir=str(work / "results"), audio_cache_dir=str(work / "cache"))
        cache = AudioCache(config["audio_cache_dir"], config["expected_sr"], True, config["cache_dtype"])
        for method, train in (("supervised", train_supervised), ("semi-supervised", train_semisupervised)):
            keras.utils.set_random_seed(seed)
            result = train(TrainingRun(config, f"bench{seed}", dataset, cache, progress=False))
            # Same budget for both: score the final checkpoint of the fixed number of steps.
            final = tf.train.latest_checkpoint(str(Path(result.best_checkpoint).parent))
            bss = bss_evaluate(dataset, final, EvaluationOptions(config["results_dir"], progress=False),
                               data_name=dataset_name(config))
            scores[method].append((bss["median"]["voice"]["SDR"], bss["median"]["accompaniment"]["SDR"]))
            print(f"seed {seed} {method:16} voice SDR {scores[method][-1][0]:6.2f} dB, "
                  f"accompaniment SDR {scores[method][-1][1]:6.2f} dB", flush=True)
    print(f"\n{args.labelled} labelled songs, {args.unlabelled} unlabelled, {args.steps} steps, {args.seeds} seeds, "
          f"alpha={args.alpha}, beta={args.beta}")
    print(f"{'method':18}{'voice SDR (dB)':>20}{'accompaniment SDR (dB)':>26}")
    for method, values in scores.items():
        arr = np.array(values)
        print(f"{method:18}{arr[:, 0].mean():>12.2f} ± {arr[:, 0].std():<5.2f}"
              f"{arr[:, 1].mean():>18.2f} ± {arr[:, 1].std():<5.2f}")


if __name__ == "__main__":
    main()
