"""The paper's claim, measured: with scarce labels and plenty of unlabelled songs, does the adversarial
semi-supervised phase beat supervised-only training at the same step budget?

    python -m benchmarks.semisupervised [--seeds 3] [--steps 600] [--labelled 3] [--unlabelled 39]
        [--protocol whole window30] [--scenario in_domain out_of_domain] [--workdir DIR] [--quick]

Generated songs: ``--labelled`` paired training songs, ``--unlabelled`` songs split into three disjoint thirds
(mixtures, accompaniments, voices), 3 validation and ``--test`` test songs. For each seed both runs take the same
number of separator updates with the same initialisation seed and data seed; early stopping is off (``patience``
above the epoch count) so the budgets are equal. Prints the test-set SDR (mean ± std over seeds of the per-run
median over tracks) for voice and accompaniment, per scenario and evaluation protocol.

Scenarios:

* ``in_domain``: all songs from one generator setting (``Input.synth.song.DOMAINS["default"]``).
* ``out_of_domain``: the same labelled songs, but validation, test and unlabelled songs from another setting
  (``"shifted"``: other tempi, keys, vocal register and timbre). This is the paper's cross-dataset point: the
  unlabelled data come from the domain the model is tested on.

Protocols: ``whole`` scores whole tracks (the paper's), ``window30`` the median over 30 s windows per track.

The final tables (Markdown, also written to ``<workdir>/runs/<settings id>/table.md``): mean ± std per scenario,
protocol and method, then the per-seed differences semi-supervised minus supervised for voice and accompaniment,
their mean, and how many seeds improved.

Resuming: the run prints its workdir first (a new temp dir unless ``--workdir`` is given). Each finished (scenario,
seed, method, protocol) score is written atomically to ``<workdir>/results.json`` together with the settings
(steps, songs, ``--alpha``/``--beta``, ``--set`` changes); songs are generated per song settings and checkpoints
kept per settings under ``<workdir>/runs/<settings id>``. Started again with the same ``--workdir`` and settings,
the benchmark prints the stored scores instead of training again, and a training that was interrupted continues
exactly from its newest checkpoint (``Models.training.loop``'s resume; a run killed before its first checkpoint starts
over). Ctrl-C or SIGTERM ends the run with one line (exit status 130/143) naming the runs finished and the
command that resumes; the scores finished so far are printed as a table just before it.

``--quick`` (one out-of-domain seed, 280 steps, 10 s songs, 3 test songs; explicit options still win) shows the
sign of the gain in under 15 minutes on a 2-core CPU (README, "Does the unlabelled data help?"): it agreed in sign
with the full run, for voice and accompaniment, where the old in-domain 200-step preset did not. The full run above
stays the reference. ``--set KEY=VALUE`` changes the model config (the tests use a one-layer model).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import tensorflow as tf
import tf_keras as keras

from benchmarks.cli import BenchmarkInterrupted, interrupt_status, run_benchmark, signal_name
from benchmarks.report import parse_value
from benchmarks.semisupervised_results import METHODS, ResultStore, Scores, settings_id, tables
from Input.audio.cache import AudioCache
from Input.datasets.load import validate_dataset
from Input.datasets.musdb import build_musdb_dataset
from Input.datasets.unpaired import scan_folders
from Input.synth.generate import generate_dataset, generate_unpaired
from Models.config import ExperimentConfig, resolved_model_config
from Models.evaluation.bss_eval import EvaluationOptions, bss_evaluate, dataset_name
from Models.evaluation.metrics import WINDOW_SECONDS
from Models.training.loop import TrainingRun, run_dir
from Models.training.semisupervised import train_semisupervised
from Models.training.supervised import train_supervised
from Utils import ConfigError, atomic_open, setup_logging

PROGRAM = "benchmarks.semisupervised"

# The demo's model and optimisation (Training.py's `demo` named config), with early stopping off.
BASE_CONFIG = resolved_model_config("demo", patience=1000, max_epochs=6, seed=0, log_every=50, summary_seconds=5.0,
                                    musdb_path="", is_wav=True)

PROTOCOLS: dict[str, float | None] = {"whole": None, "window30": WINDOW_SECONDS}  # BSS Eval window, s
SCENARIOS: tuple[str, ...] = ("in_domain", "out_of_domain")
TRAINERS: dict[str, tuple[str, Callable]] = {"supervised": ("sup", train_supervised),  # method: (phase, train)
                                             "semi-supervised": ("semisup", train_semisupervised)}

# --quick: the option defaults it changes (explicit options still win). See the module docstring.
QUICK: dict[str, object] = {"seeds": 1, "steps": 280, "test": 3, "seconds": 10.0, "scenario": ["out_of_domain"]}


def _generate(root: Path, paired: int, test: int, unlabelled: int, seconds: float, seed: int, domain: str) -> None:
    """Generate the songs of ``root`` once, into a scratch folder renamed into place when complete (an interrupted
    generation leaves no partial set behind)."""
    if root.is_dir():
        return
    scratch = root.with_name(root.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    generate_dataset(scratch, num_train=paired, num_test=test, seconds=seconds, seed=seed, sr=22050, domain=domain)
    generate_unpaired(scratch / "unpaired", num_tracks=unlabelled, seconds=seconds, seed=seed + 100, sr=22050,
                      domain=domain)
    os.replace(scratch, root)


def _songs(root: Path, paired: int, test: int, unlabelled: int, seconds: float, seed: int, domain: str) -> dict:
    """Generate (once) ``paired`` train and ``test`` test songs plus ``unlabelled`` unpaired ones of ``domain``
    under ``root``; return them as MUSDB18-HQ partitions (the real code path) and the three unpaired lists."""
    _generate(root, paired, test, unlabelled, seconds, seed, domain)
    songs = build_musdb_dataset(root, is_wav=True)
    songs["train_unsup"] = [scan_folders([root / "unpaired" / g]) for g in ("mixtures", "accompaniments", "voices")]
    return songs


def build_dataset(root: Path, labelled: int, unlabelled: int, test: int, seconds: float,
                  scenario: str = "in_domain") -> dict:
    """Generate (once) and load one scenario's songs into the partition dict (see the module docstring); the
    songs of each setting go to their own subfolder of ``root``, so that workdirs can be shared between settings."""
    root = root / f"{labelled}l_{unlabelled}u_{test}t_{seconds:g}s"
    source = _songs(root / "default", labelled + 3, test, unlabelled, seconds, 100, "default")
    train = source["train_sup"]
    target = source if scenario == "in_domain" else _songs(root / "shifted", 3, test, unlabelled, seconds, 300,
                                                             "shifted")
    valid = train[labelled:] if scenario == "in_domain" else target["train_sup"]
    return validate_dataset({"train_sup": train[:labelled], "train_valid": valid,
                             "train_test": target["train_valid"] + target["train_test"],
                             "train_unsup": target["train_unsup"]})


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m {PROGRAM}", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"the quick check: {' '.join(f'--{k} {v}' for k, v in QUICK.items())} unless given")
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
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="change of the model config (JSON value), e.g. epoch_it=50; part of the settings")
    parser.add_argument("--workdir", default=None,
                        help="folder for songs, caches, checkpoints and results.json (a new temp dir); a run "
                             "started again with the same folder and settings skips the finished runs")
    if "--quick" in argv:
        parser.set_defaults(**QUICK)
    args = parser.parse_args(argv)
    args.overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or key not in BASE_CONFIG:
            raise ConfigError(f"--set {item}: expected KEY=VALUE with a model config key")
        args.overrides[key] = parse_value(value)
    epoch_it = args.overrides.get("epoch_it", BASE_CONFIG["epoch_it"])
    if args.steps < 1 or args.steps % epoch_it:  # the runs train whole epochs: another number would be cut
        parser.error(f"--steps {args.steps}: must be a multiple of epoch_it ({epoch_it}), e.g. "
                     f"{max(1, round(args.steps / epoch_it)) * epoch_it}")
    return args


def resume_command(args: argparse.Namespace, work: Path) -> str:
    """The command that continues this run in ``work`` with the same settings (every option spelt out)."""
    words = ["python", "-m", PROGRAM, "--seeds", args.seeds, "--steps", args.steps, "--labelled", args.labelled,
             "--unlabelled", args.unlabelled, "--test", args.test, "--seconds", args.seconds, "--alpha",
             args.alpha, "--beta", args.beta, "--protocol", *args.protocol, "--scenario", *args.scenario]
    for item in args.set:
        words += ["--set", item]
    return shlex.join([*map(str, words), "--workdir", str(work)])


def _main(argv: list[str] | None) -> None:
    args = _parse(sys.argv[1:] if argv is None else argv)
    setup_logging(logging.WARNING)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="semisup_bench_"))
    settings = {"steps": args.steps, "labelled": args.labelled, "unlabelled": args.unlabelled, "test": args.test,
                "seconds": args.seconds, "alpha": args.alpha, "beta": args.beta, "model_config": args.overrides}
    store = ResultStore(work / "results.json", settings)
    runs = work / "runs" / settings_id(settings)  # checkpoints, logs and evaluations of these settings
    print(f"workdir {work} (scores in results.json; an interrupted run continues with --workdir {work})",
          flush=True)
    base = dict(BASE_CONFIG, **args.overrides)
    epochs = args.steps // base["epoch_it"]  # a whole number (_parse)
    scores: Scores = {}
    finished: list[str] = []
    doing = "preparing"
    try:
        for scenario in args.scenario:
            dataset = None  # generated and loaded only when a run of this scenario is not stored yet
            for seed in range(args.seeds):
                config = ExperimentConfig.from_dict(dict(
                    base, seed=seed, max_epochs=epochs, alpha=args.alpha, beta=args.beta,
                    model_base_dir=str(runs / "checkpoints"), log_dir=str(runs / "logs"),
                    results_dir=str(runs / "results"), audio_cache_dir=str(work / "cache")))
                for method in METHODS:
                    doing = f"{scenario} seed {seed} {method}"
                    stored = {p: store.get(scenario, seed, method, p) for p in args.protocol}
                    if None in stored.values():
                        dataset = dataset or build_dataset(work / "songs", args.labelled, args.unlabelled, args.test,
                                                           args.seconds, scenario)
                        _train_and_score(config, scenario, method, dataset, store, stored)
                    for protocol, value in stored.items():
                        scores.setdefault((scenario, protocol, method), {})[seed] = value
                        print(f"{scenario} seed {seed} {protocol} {method:16} voice SDR {value[0]:6.2f} dB, "
                              f"accompaniment SDR {value[1]:6.2f} dB", flush=True)
                    finished.append(doing)
    except KeyboardInterrupt as err:
        if scores:
            print(f"\nfinished before the interrupt:\n\n{tables(scores)}", flush=True)
        total = len(args.scenario) * args.seeds * len(METHODS)
        raise _interrupted(err, doing, finished, total, store, resume_command(args, work)) from None
    table = (f"{args.labelled} labelled songs, {args.unlabelled} unlabelled, {args.test} test, {args.seconds:g} s "
             f"each, {args.steps} steps, {args.seeds} seeds, alpha={args.alpha}, beta={args.beta}, "
             f"unsup_gain_range={base['unsup_gain_range']}, model config changes {args.overrides or 'none'}\n\n"
             f"{tables(scores)}\n")
    with atomic_open(runs / "table.md") as handle:
        handle.write(table)
    print(f"\n{table}\n(also in {runs / 'table.md'})")


def _train_and_score(config: ExperimentConfig, scenario: str, method: str, dataset: dict, store: ResultStore,
                     stored: dict) -> None:
    """Train one (scenario, seed, method) run for the fixed step budget and score its final checkpoint for the
    protocols missing in ``stored`` (filled in and written to ``store``). A checkpoint left by an interrupted run
    of the same settings is continued exactly (``resume``) rather than trained again."""
    phase, train = TRAINERS[method]
    seed = config.train.seed
    experiment_id = f"bench_{scenario}{seed}"
    folder = run_dir(config.train, experiment_id, phase)
    resume = tf.train.latest_checkpoint(str(folder)) is not None
    if resume:
        print(f"{scenario} seed {seed} {method}: continuing from its newest checkpoint in {folder}", flush=True)
    cache = AudioCache(config.data.audio_cache_dir, config.spec.expected_sr, True, config.data.cache_dtype)
    keras.utils.set_random_seed(seed)
    result = train(TrainingRun(config, experiment_id, dataset, cache, progress=False), resume=resume)
    # Same budget for both: score the final checkpoint of the fixed number of steps.
    final = tf.train.latest_checkpoint(str(Path(result.best_checkpoint).parent))
    for protocol in [p for p, value in stored.items() if value is None]:
        options = EvaluationOptions(config.evaluation.results_dir, progress=False,
                                    window_seconds=PROTOCOLS[protocol])
        bss = bss_evaluate(dataset, final, options, data_name=dataset_name(config.data))
        stored[protocol] = (bss["median"]["voice"]["SDR"], bss["median"]["accompaniment"]["SDR"])
        store.put(scenario, seed, method, protocol, stored[protocol])


def _interrupted(err: KeyboardInterrupt, doing: str, finished: list[str], total: int, store: ResultStore,
                 resume: str) -> BenchmarkInterrupted:
    """The one line of an interrupt: what was running, the runs finished (their scores are printed above and
    stored), and the command that resumes."""
    status = interrupt_status(err)
    detail = f" ({err})" if str(err) else ""  # Models.training.loop.TrainingInterrupted: the step and checkpoint
    return BenchmarkInterrupted(
        f"{PROGRAM} interrupted by {signal_name(status)} during {doing}{detail}; {len(finished)} of {total} runs "
        f"finished: {', '.join(finished) or 'none'} (scores in {store.path}); resume with: {resume}", status)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (``argv`` as ``sys.argv[1:]``); returns the exit status (``benchmarks.cli``)."""
    return run_benchmark(PROGRAM, lambda: _main(argv))


if __name__ == "__main__":
    raise SystemExit(main())
