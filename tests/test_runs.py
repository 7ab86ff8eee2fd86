"""Models named by what they are (Models.nets.runs): the run's data, phase, date and test score, from its own
record, as the web app's model picker shows them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from Input.config import DEMO_DATA_CONFIG
from Models.config import ExperimentConfig
from Models.nets.checkpoint_files import RUN_RECORD_FILE, write_run_files
from Models.nets.runs import EVALUATION_FILE, describe_data, describe_run, distinct_labels, write_evaluation_record
from tests.test_checkpoint_files import fake_checkpoint
from tests.tiny import TINY_MODEL


def data_of(**updates: object) -> str:
    return describe_data(ExperimentConfig.from_dict({**TINY_MODEL, **updates}).data)


@pytest.mark.parametrize(("updates", "words"), [
    ({}, "MUSDB18"),
    ({"is_wav": True}, "MUSDB18-HQ"),
    ({"num_labelled_tracks": 50}, "MUSDB18, 50 labelled songs"),
    ({"num_labelled_tracks": 50, "unsup_mixture_dirs": ["my/songs"]},
     "MUSDB18, 50 labelled songs + unlabelled folders"),
    (DEMO_DATA_CONFIG, "demo songs"),
    ({"dataset_loader": "Input.datasets.paper:load_paper"}, "the paper's data (DSD100, MedleyDB, CCMixter, iKala)"),
    ({"dataset_loader": "lab.data:load_choir_takes"}, "load choir takes"),
])
def test_training_data_in_words(updates: dict, words: str) -> None:
    assert data_of(**updates) == words


def test_label_from_the_runs_own_record(tmp_path: Path) -> None:
    folder = tmp_path / "42_semisup"
    write_run_files(folder, ExperimentConfig.from_dict({**TINY_MODEL, "num_labelled_tracks": 50}))
    record = json.loads((folder / RUN_RECORD_FILE).read_text())
    (folder / RUN_RECORD_FILE).write_text(json.dumps({**record, "created": "2026-12-04T14:05:00+00:00"}))
    fake_checkpoint(folder)
    assert describe_run(folder).label == "Semi-supervised · MUSDB18, 50 labelled songs · 4 Dec 2026"

    write_evaluation_record(folder, "MUSDB18", {"test_loss": 0.01, "bss": {"median": {
        "voice": {"SDR": 5.137, "SIR": 9.0}, "accompaniment": {"SDR": 11.2}}}})
    described = describe_run(folder)
    assert described.label == "Semi-supervised · MUSDB18, 50 labelled songs · 4 Dec 2026 · vocals 5.1 dB SDR"
    assert described.vocals_sdr == 5.137

    # a run scored by test loss only, or with a NaN median (no voiced test song), has no quality figure
    write_evaluation_record(folder, "MUSDB18", {"test_loss": 0.01})
    assert describe_run(folder).vocals_sdr is None
    write_evaluation_record(folder, "MUSDB18", {"test_loss": 0.01, "bss": {"median": {"voice": {"SDR": float("nan")}}}})
    assert describe_run(folder).label.endswith("4 Dec 2026")


def test_old_or_damaged_records_give_a_shorter_label_not_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "legacy_sup"
    fake_checkpoint(folder)  # no run.json, no evaluation.json: phase and the best.json date only
    (folder / EVALUATION_FILE).write_text("{not json")
    described = describe_run(folder)
    assert described.data == "" and described.vocals_sdr is None
    assert described.label.startswith("Supervised · ") and described.label.count(" · ") == 1


def test_model_list_names_are_all_different(tmp_path: Path) -> None:
    config = ExperimentConfig.from_dict(TINY_MODEL)
    runs = []
    for name, created in (("1_sup", "2026-12-04T09:00:00+00:00"), ("2_sup", "2026-12-04T14:05:00+00:00"),
                          ("3_sup", "2026-12-04T14:05:30+00:00"), ("4_sup", "2026-11-30T08:00:00+00:00")):
        write_run_files(tmp_path / name, config)
        record = json.loads((tmp_path / name / RUN_RECORD_FILE).read_text())
        (tmp_path / name / RUN_RECORD_FILE).write_text(json.dumps({**record, "created": created}))
        fake_checkpoint(tmp_path / name)
        runs.append(describe_run(tmp_path / name))
    assert distinct_labels(runs) == [
        "Supervised · MUSDB18 · 4 Dec 2026 · 09:00",
        "Supervised · MUSDB18 · 4 Dec 2026 · 14:05 · 2_sup",
        "Supervised · MUSDB18 · 4 Dec 2026 · 14:05 · 3_sup",
        "Supervised · MUSDB18 · 30 Nov 2026",
    ]
