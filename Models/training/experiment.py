"""The whole Training.py run, kept out of the Sacred script: dataset, supervised phase, semi-supervised phase,
and the evaluation of both on the test partition, with results stored in the Sacred run and a results pickle.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tensorflow as tf

from Input.audio.cache import AudioCache
from Input.config import DataConfig
from Input.datasets.load import DatasetError, describe, load_dataset, split_record
from Input.synth.generate import ensure_demo_data
from Models.api import Separator
from Models.config import ExperimentConfig
from Models.evaluation.bss_eval import EvaluationOptions, bss_evaluate, dataset_name
from Models.nets.checkpoint_files import checkpoint_folder, read_run_config
from Models.nets.runs import write_evaluation_record
from Models.nets.shapes import min_excerpt_seconds
from Models.training.checkpoints import PhaseResult, finished_result
from Models.training.distribute import get_strategy
from Models.training.loop import TrainingRun, run_dir
from Models.training.semisupervised import train_semisupervised
from Models.training.supervised import track_loss, train_supervised
from Utils import EXIT_STATUS, CheckpointError, read_versioned_pickle, write_pickle_atomic, write_versioned_pickle

logger = logging.getLogger(__name__)

PHASES = ("sup", "semisup")  # in training order
SCORES_FILE = "scores.pkl"  # in a phase's run folder: its whole evaluation, reused when a resumed run finds it done
SCORES_VERSION = 1


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM outside a training phase (preparing the data, starting a phase, evaluating one, writing the
    results). ``folder`` is the newest phase folder that ``resume=`` continues from, None before the first."""

    def __init__(self, doing: str, folder: Path | None, exit_status: int) -> None:
        super().__init__(f"interrupted while {doing}")
        self.folder, self.exit_status = folder, exit_status


def has_unpaired(dataset: dict) -> bool:
    """True when each of the three unpaired lists (mixtures, accompaniments, voices) has at least one file."""
    return all(len(group) > 0 for group in dataset["train_unsup"])


def phase_plan(dataset: dict, data: DataConfig) -> str:
    """One line: which phases this run trains, and why."""
    counts = dict(zip(("mixtures", "accompaniments", "voices"), map(len, dataset["train_unsup"]), strict=True))
    found = ", ".join(f"{n} unpaired {name}" for name, n in counts.items())
    if has_unpaired(dataset):
        return f"phases: supervised, then semi-supervised ({found})"
    empty = " and ".join(name for name, n in counts.items() if n == 0)
    hint = ("" if data.num_labelled_tracks is not None else
            "; with MUSDB18 alone, `with scarce_labels` keeps 50 songs paired and makes the rest unpaired")
    return f"phases: supervised only, the semi-supervised phase is skipped: no unpaired {empty} ({found}){hint}"


def evaluate_phase(config: ExperimentConfig, dataset: dict, checkpoint: str, cache: AudioCache,
                   reuse: bool = False) -> dict[str, Any]:
    """Test loss and (when ``config.evaluation.evaluate``) BSS scores of one checkpoint on ``train_test``; their
    headline is also written into the checkpoint's run folder (``evaluation.json``), and the whole of them
    (``SCORES_FILE``). With ``reuse`` (a resumed run), scores stored for the same checkpoint, test songs and
    evaluation settings are returned instead of evaluating again (an hour or more on MUSDB18)."""
    evaluation = config.evaluation
    key = (checkpoint, [str(sample.path) for triple in dataset["train_test"] for sample in triple],
           evaluation.evaluate, evaluation.eval_window_seconds)
    stored_at = checkpoint_folder(checkpoint) / SCORES_FILE
    if reuse:
        stored = read_versioned_pickle(stored_at, SCORES_VERSION, key, "stored scores", logger)
        if stored is not None:
            logger.info("%s: its test scores are reused (%s)", checkpoint, stored_at)
            return stored
    model = Separator.load(checkpoint, engine="tf").model  # the Keras model: the test loss runs it in TF
    scores: dict[str, Any] = {"checkpoint": checkpoint}
    if dataset["train_test"]:
        scores["test_loss"] = track_loss(model, dataset["train_test"], cache, config.spec)
        logger.info("test loss of %s: %.5f", checkpoint, scores["test_loss"])
    if evaluation.evaluate and dataset["train_test"]:
        options = EvaluationOptions(evaluation.results_dir, window_seconds=evaluation.eval_window_seconds)
        scores["bss"] = bss_evaluate(dataset, checkpoint, options, data_name=dataset_name(config.data))
    if "test_loss" in scores:  # the run's quality figure, for people choosing a model (Models.nets.runs)
        write_evaluation_record(checkpoint_folder(checkpoint), dataset_name(config.data), scores)
    write_versioned_pickle(stored_at, SCORES_VERSION, key, scores)
    return scores


def resume_point(path: str | os.PathLike) -> tuple[int | str, ExperimentConfig]:
    """The experiment id and the stored run config of the run that ``path`` belongs to (keys added since it was
    written take their defaults, ``Models.checkpoint_files.read_run_config``).

    ``path`` is a phase folder ``<model_base_dir>/<id>_<phase>`` or a checkpoint prefix inside one.

    Raises:
        CheckpointError: (one line) not such a folder, or it has no run config.
    """
    if not Path(path).is_dir() and not Path(f"{path}.index").is_file():
        raise CheckpointError(f"{path}: no such run folder or checkpoint")
    folder = checkpoint_folder(path)
    experiment_id, _, phase = folder.name.rpartition("_")
    if phase not in PHASES or not experiment_id:
        raise CheckpointError(f"{path}: not a training run folder (expected <model_base_dir>/<id>_sup or "
                              f"<id>_semisup, or a checkpoint in one)")
    return (int(experiment_id) if experiment_id.isdigit() else experiment_id), read_run_config(folder)


def run_experiment(config: ExperimentConfig, experiment_id: int | str, resume: bool = False, run: Any = None,
                   progress: bool = True) -> dict[str, Any]:
    """Run both phases and their evaluations; return the results (also saved as a pickle and in the run).

    ``resume``: continue the run ``experiment_id``: a phase that finished is not trained again, an interrupted
    one continues exactly from its newest checkpoint, and one that never started starts.
    """
    stage: dict[str, Any] = {"doing": "preparing the data", "folder": None}
    try:
        return _run_phases(config, experiment_id, resume, run, progress, stage)
    except KeyboardInterrupt as err:
        if getattr(err, "folder", None) is not None:  # Models.training.loop.TrainingInterrupted: its own line
            raise
        status = getattr(err, "exit_status", EXIT_STATUS["interrupted"])
        raise RunInterrupted(stage["doing"], stage["folder"], status) from None


def _run_phases(config: ExperimentConfig, experiment_id: int | str, resume: bool, run: Any, progress: bool,
                stage: dict[str, Any]) -> dict[str, Any]:
    """:func:`run_experiment`'s work; ``stage`` is kept up to date with what it is doing and the newest finished
    phase's folder (for the resume command of an interrupt)."""
    spec, data = config.spec, config.data
    get_strategy(config.train.strategy)  # first: MultiWorkerMirroredStrategy must exist before other TensorFlow work
    if data.generate_demo:
        ensure_demo_data(Path(data.demo_path), config.train.seed)
    dataset = load_dataset(data, min_excerpt_seconds(spec), seed=config.train.seed)
    logger.info("dataset: %s", describe(dataset))
    for key in ("train_sup", "train_valid"):
        if not dataset[key]:
            raise DatasetError(f"the dataset has no usable tracks in {key}, which training needs "
                               f"(see the warnings above)")
    logger.info("%s", phase_plan(dataset, data))
    if run is not None:  # which songs are paired and which unpaired (stable for a seed: scarce_labels)
        run.info["data_split"] = split_record(dataset)
    cache = AudioCache(data.audio_cache_dir, spec.expected_sr, spec.mono_downmix, data.cache_dtype)
    cache.prepare(_all_samples(dataset), data.num_workers)

    def phase(name: str, train: Callable[[bool], PhaseResult]) -> PhaseResult:
        folder = run_dir(config.train, experiment_id, name)
        done = finished_result(folder) if resume else None
        if done is not None:
            logger.info("%s: finished before (%s), not trained again", name, done.best_checkpoint)
            stage["folder"], stage["doing"] = folder, f"evaluating the {name} phase"
            return done
        stage["doing"] = f"training the {name} phase"
        result = train(resume and tf.train.latest_checkpoint(str(folder)) is not None)
        stage["folder"], stage["doing"] = folder, f"evaluating the {name} phase"
        return result

    results: dict[str, Any] = {"experiment_id": experiment_id, "dataset": dataset_name(data)}
    training = TrainingRun(config, experiment_id, dataset, cache, progress)
    sup = phase("sup", lambda again: train_supervised(training, again))
    results["sup"] = _phase_summary(sup) | evaluate_phase(config, dataset, sup.best_checkpoint, cache, resume)
    _log_scores(run, "sup", results["sup"])

    if has_unpaired(dataset):
        init = sup.best_checkpoint if config.train.init_from_supervised else None
        semi = phase("semisup", lambda again: train_semisupervised(training, init, again))
        results["semisup"] = _phase_summary(semi) | evaluate_phase(config, dataset, semi.best_checkpoint, cache, resume)
        _log_scores(run, "semisup", results["semisup"])
    stage["doing"] = "writing the results"
    path = Path(config.evaluation.results_dir) / f"{experiment_id}_{results['dataset']}_results.pkl"
    write_pickle_atomic(path, results)
    logger.info("results saved to %s", path)
    logger.info("\n%s", format_comparison(results))
    return results


def compact_results(results: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of :func:`run_experiment`'s results (for the Sacred run's stored result): per phase
    the best checkpoint, validation and test loss, and the median scores per source; no per-track lists."""
    compact: dict[str, Any] = {"experiment_id": results["experiment_id"], "dataset": results["dataset"]}
    for phase in PHASES:
        if phase in results:
            keep = ("best_checkpoint", "best_val_loss", "test_loss", "steps", "epochs", "stop_reason")
            compact[phase] = {k: results[phase][k] for k in keep if k in results[phase]}
            if "bss" in results[phase]:
                compact[phase]["median"] = results[phase]["bss"]["median"]
    return compact


def format_comparison(results: dict[str, Any]) -> str:
    """A side-by-side table of the phases' test loss and median SDR/SIR/SAR per source."""
    phases = [p for p in PHASES if p in results]
    rows = [("test loss", [results[p].get("test_loss") for p in phases])]
    for source in ("accompaniment", "voice"):
        for metric in ("SDR", "SIR", "SAR"):
            values = [results[p].get("bss", {}).get("median", {}).get(source, {}).get(metric) for p in phases]
            rows.append((f"{source} {metric} median (dB)", values))
    lines = [f"{'':34}" + "".join(f"{p:>12}" for p in phases)]
    for label, values in rows:
        lines.append(f"{label:34}" + "".join(f"{v:>12.4f}" if v is not None else f"{'-':>12}" for v in values))
    return "\n".join(lines)


def _phase_summary(result: PhaseResult) -> dict[str, Any]:
    return dataclasses.asdict(result)


def _log_scores(run: Any, phase: str, scores: dict[str, Any]) -> None:
    """Store a phase's numbers in the Sacred run (``log_scalar``) when there is one."""
    if run is None:
        return
    run.log_scalar(f"{phase}.best_val_loss", scores["best_val_loss"])
    if "test_loss" in scores:
        run.log_scalar(f"{phase}.test_loss", scores["test_loss"])
    for source, metrics in scores.get("bss", {}).get("median", {}).items():
        for metric, value in metrics.items():
            run.log_scalar(f"{phase}.{source}.{metric}.median", value)


def _all_samples(dataset: dict) -> list:
    samples = [s for part in ("train_sup", "train_valid", "train_test") for triple in dataset[part] for s in triple]
    samples += [s for group in dataset["train_unsup"] for s in group]
    return samples
