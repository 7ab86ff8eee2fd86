"""What a trained run is, in words a musician reads: the model list of the web app (and anyone choosing a model).

A run folder (``checkpoints/<id>_<phase>``, see ``Models.nets.checkpoint_files``) records its training config in
``run.json``, its best validation loss in ``best.json`` and, once the experiment has scored it, its test scores in
``evaluation.json`` (:data:`EVALUATION_FILE`, written by :func:`write_evaluation_record`). :func:`describe_run`
reads them into a :class:`RunInfo` whose :attr:`RunInfo.label` names the model by what it is, e.g.
``"Semi-supervised · MUSDB18, 50 labelled songs · 4 Dec 2026 · vocals 5.1 dB SDR"``. Every file may be missing
(old runs, copied checkpoints): the label then says less, never fails.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from Input.config import DataConfig
from Models.nets.checkpoint_files import RUN_RECORD_FILE, read_run_config, resolve_checkpoint, run_folders
from Utils import BEST_FILE, CheckpointError, read_json, write_json_atomic

logger = logging.getLogger(__name__)

EVALUATION_FILE = "evaluation.json"
PAPER_LOADER = "Input.datasets.paper:load_paper"
PHASE_NAMES = {"sup": "supervised", "semisup": "semi-supervised"}


@dataclass(frozen=True)
class RunInfo:
    """What a run folder says about its model, for people choosing one (the web app's model list).

    Attributes:
        folder: the run folder (``checkpoints/<id>_<phase>``); ``folder.name`` is the model's id.
        phase: ``"supervised"``, ``"semi-supervised"``, or the folder name's suffix (``"unknown"`` without one).
        val_loss: the best validation loss (``best.json``), None when the run recorded none.
        created: ISO time the run was started (``run.json``), else the time ``best.json`` (or the folder) was
            last written.
        data: the training data in words (:func:`describe_data`), "" when the run recorded no config.
        vocals_sdr: the median vocals SDR on the test songs of the run's data, dB (``evaluation.json``), None when
            not scored.
    """

    folder: Path
    phase: str
    val_loss: float | None
    created: str
    data: str = ""
    vocals_sdr: float | None = None

    @property
    def label(self) -> str:
        """The model's name for people: phase · data · date · quality where known."""
        parts = [self.phase.capitalize(), self.data, _day(self.created)]
        if self.vocals_sdr is not None:
            parts.append(f"vocals {self.vocals_sdr:.1f} dB SDR")
        return " · ".join(part for part in parts if part)


def describe_data(data: DataConfig) -> str:
    """The training data of a run config in words: ``"demo songs"``, ``"MUSDB18, 50 labelled songs"``,
    ``"the paper's data (DSD100, MedleyDB, CCMixter, iKala)"``, a custom loader's name; ``" + unlabelled
    folders"`` when extra unpaired folders were given."""
    if data.generate_demo:
        return "demo songs"
    if data.dataset_loader == PAPER_LOADER:
        base = "the paper's data (DSD100, MedleyDB, CCMixter, iKala)"
    elif data.dataset_loader:
        base = data.dataset_loader.rpartition(":")[2].replace("_", " ")
    else:
        base = "MUSDB18-HQ" if data.is_wav else "MUSDB18"
        if data.num_labelled_tracks is not None:
            base += f", {data.num_labelled_tracks} labelled songs"
    extra = data.unsup_mixture_dirs or data.unsup_voice_dirs or data.unsup_accompaniment_dirs
    return base + (" + unlabelled folders" if extra else "")


def write_evaluation_record(folder: str | os.PathLike, dataset: str, scores: Mapping[str, Any]) -> None:
    """Write ``evaluation.json`` into a run folder (atomically): the data set's name, the test loss and the median
    scores per source and metric in dB (``scores`` as ``Models.training.experiment.evaluate_phase`` returns)."""
    record = {"dataset": dataset, "test_loss": scores.get("test_loss"),
              "median": scores.get("bss", {}).get("median", {})}
    write_json_atomic(Path(folder) / EVALUATION_FILE, record)


def describe_run(folder: str | os.PathLike) -> RunInfo:
    """The :class:`RunInfo` of a run folder, from its ``best.json``, ``run.json`` and ``evaluation.json`` (each may
    be missing or unreadable: logged, and that part is left out)."""
    folder = Path(folder)
    best, record = _read_record(folder / BEST_FILE), _read_record(folder / RUN_RECORD_FILE)
    stamp_file = folder / BEST_FILE if (folder / BEST_FILE).is_file() else folder
    created = record.get("created") or datetime.fromtimestamp(stamp_file.stat().st_mtime, UTC).isoformat()
    suffix = folder.name.rsplit("_", 1)[-1] if "_" in folder.name else ""
    val_loss = best.get("val_loss")
    evaluation = _read_record(folder / EVALUATION_FILE)
    vocals = evaluation.get("median", {}).get("voice", {}).get("SDR") if isinstance(evaluation.get("median"),
                                                                                   dict) else None
    scored = isinstance(vocals, int | float) and vocals == vocals  # NaN: not scored
    return RunInfo(folder=folder, phase=PHASE_NAMES.get(suffix, suffix or "unknown"),
                   val_loss=float(val_loss) if isinstance(val_loss, int | float) else None, created=str(created),
                   data=_data(folder), vocals_sdr=float(vocals) if scored else None)


def list_runs(base_dir: str | os.PathLike, extra: Iterable[str | os.PathLike] = ()) -> list[RunInfo]:
    """The loadable runs of ``Models.nets.checkpoint_files.run_folders``, newest first.

    A folder that holds a spec but no usable checkpoint (``resolve_checkpoint`` fails) is left out and logged.
    """
    runs = []
    for folder in run_folders(base_dir, extra):
        try:
            resolve_checkpoint(folder)
        except CheckpointError as err:
            logger.info("not offered: %s", err)
            continue
        runs.append(describe_run(folder))
    return sorted(runs, key=lambda run: run.created, reverse=True)


def distinct_labels(runs: list[RunInfo]) -> list[str]:
    """Each run's :attr:`RunInfo.label`, with the start time (``HH:MM``) added where two labels are the same, and
    then the run's id where they still are, so that every name in a model list is different."""
    names = [run.label for run in runs]
    names = [f"{name} · {run.created[11:16]}" if names.count(name) > 1 and run.created[11:16] else name
             for name, run in zip(names, runs, strict=True)]
    return [f"{name} · {run.folder.name}" if names.count(name) > 1 else name
            for name, run in zip(names, runs, strict=True)]


def _data(folder: Path) -> str:
    try:
        return describe_data(read_run_config(folder).data)
    except CheckpointError as err:
        logger.info("%s: training data unknown (%s)", folder, err)
        return ""


def _day(iso: str) -> str:
    """``"2026-12-04T14:05:00+00:00"`` -> ``"4 Dec 2026"``; "" when it is no ISO time."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return ""
    return f"{moment.day} {moment:%b %Y}"


def _read_record(path: Path) -> dict[str, Any]:
    """A JSON object file, or {} when it is absent or unreadable (logged)."""
    try:
        data = read_json(path) if path.is_file() else {}
    except (OSError, ValueError, CheckpointError) as err:
        logger.warning("%s: unreadable (%s)", path, err)
        return {}
    return data if isinstance(data, dict) else {}
