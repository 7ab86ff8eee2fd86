"""`python Training.py with scarce_labels` (MUSDB18 alone, as .stem.mp4 files made with ffmpeg) and `with paper`
(fixture trees of DSD100, MedleyDB, CCMixter and iKala) run both phases with a tiny model."""

from __future__ import annotations

import logging
from pathlib import Path

from Input.datasets import load as datasets
from Models.config import ExperimentConfig
from tests import paper_trees
from tests.stem_files import make_stems, needs_ffmpeg, write_stem_file
from tests.tiny import TINY_TRAINING

QUICK = {**TINY_TRAINING, "epoch_it": 2, "max_epochs": 1, "batch_size": 2}


def _paths(tmp: Path) -> dict:
    return {"dataset_cache": str(tmp / "dataset.pkl"), "audio_cache_dir": str(tmp / "cache"),
            "moisesdb_path": None, "model_base_dir": str(tmp / "checkpoints"), "log_dir": str(tmp / "logs"),
            "results_dir": str(tmp / "results")}


def _run(named: str, model_config: dict, tmp: Path, monkeypatch, experiment_id: int):
    from Training import ex

    monkeypatch.chdir(tmp)  # the Sacred observer writes logs/sacred relative to the working directory
    return ex.run(named_configs=[named], config_updates={"model_config": model_config,
                                                         "experiment_id": experiment_id})


@needs_ffmpeg
def test_scarce_labels_runs_both_phases_on_musdb18_alone(tmp_path: Path, monkeypatch, caplog) -> None:
    root = tmp_path / "MUSDB18"
    for i in range(4):
        write_stem_file(root / "train" / f"Train Artist - Song {i}.stem.mp4", make_stems(i, 16000, 1.5), 16000)
    for i in range(2):
        write_stem_file(root / "test" / f"Test Artist - Song {i}.stem.mp4", make_stems(10 + i, 16000, 1.5), 16000)
    config = {**QUICK, **_paths(tmp_path), "musdb_path": str(root), "is_wav": False, "num_labelled_tracks": 1,
              "evaluate": False}
    with caplog.at_level(logging.INFO):
        run = _run("scarce_labels", config, tmp_path, monkeypatch, 31)
    assert "sup" in run.result and "semisup" in run.result
    assert "phases: supervised, then semi-supervised (1 unpaired mixtures, 1 unpaired accompaniments, " \
           "1 unpaired voices)" in caplog.text
    split = run.info["data_split"]
    groups = [set(split[f"unpaired_{k}"]) for k in ("mixtures", "accompaniments", "voices")]
    assert len(split["labelled"]) == 1 and [len(g) for g in groups] == [1, 1, 1]
    assert set(split["labelled"]) | set().union(*groups) == {f"Train Artist - Song {i}" for i in range(4)}
    resolved = ExperimentConfig.from_dict(run.config["model_config"])
    again = datasets.load_dataset(resolved.data, seed=resolved.train.seed)
    assert datasets.split_record(again) == split  # stable: the same songs on every run with this seed


def test_paper_runs_both_phases_on_the_four_data_sets(tmp_path: Path, monkeypatch, caplog) -> None:
    config = {**QUICK, **_paths(tmp_path), **paper_trees.write_paper_tree(tmp_path / "data"), "evaluate": True}
    with caplog.at_level(logging.INFO):
        run = _run("paper", config, tmp_path, monkeypatch, 32)
    resolved = run.config["model_config"]
    assert resolved["dataset_loader"] == "Input.datasets.paper:load_paper" and resolved["eval_window_seconds"] is None
    assert resolved["unsup_gain_range"] == [0.2, 1.2] and resolved["include_silent_voices"]
    assert "phases: supervised, then semi-supervised (3 unpaired mixtures" in caplog.text
    assert len(run.info["data_split"]["labelled"]) == 2
    for phase in ("sup", "semisup"):
        assert run.result[phase]["steps"] == QUICK["epoch_it"]
        assert "voice" in run.result[phase]["median"]  # evaluated on whole tracks (the paper's protocol)
