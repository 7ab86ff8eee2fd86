"""The model spec and run record beside each checkpoint, and reading legacy folders (model_config.json only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from Models.config import ExperimentConfig
from Models.nets.checkpoint_files import (
    LEGACY_CONFIG_FILE,
    MODEL_SPEC_FILE,
    RUN_RECORD_FILE,
    SPEC_KEYS,
    find_latest_checkpoint,
    read_model_spec,
    read_run_config,
    resolve_checkpoint,
    write_run_files,
)
from Models.nets.runs import describe_run, list_runs
from tests.tiny import TINY_MODEL
from Utils import CheckpointError

RUN_CONFIG = {**TINY_MODEL, "musdb_path": "/elsewhere/musdb", "seed": 3, "results_dir": "logs/results"}
RUN = ExperimentConfig.from_dict(RUN_CONFIG)


def fake_checkpoint(folder: Path, step: int = 5) -> str:
    """Empty files in the layout of a TensorFlow checkpoint (enough for path resolution)."""
    folder.mkdir(parents=True, exist_ok=True)
    prefix = folder / f"{folder.name}-{step}"
    Path(f"{prefix}.index").write_bytes(b"")
    (folder / "best.json").write_text(json.dumps({"checkpoint": prefix.name}))
    return str(prefix)


def test_new_folder_holds_spec_and_run_record(tmp_path: Path) -> None:
    write_run_files(tmp_path, RUN)
    spec = json.loads((tmp_path / MODEL_SPEC_FILE).read_text())
    assert set(spec) == set(SPEC_KEYS) and spec["num_fft"] == 512 and spec == RUN.spec.to_dict()
    record = json.loads((tmp_path / RUN_RECORD_FILE).read_text())
    assert record["config"] == RUN_CONFIG and "git_commit" in record and record["created"]  # the flat model_config
    assert record["git_commit"] is None or len(record["git_commit"]) == 40
    assert not (tmp_path / LEGACY_CONFIG_FILE).exists()
    assert read_model_spec(tmp_path) == RUN.spec and read_run_config(tmp_path) == RUN
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_legacy_folder_is_read(tmp_path: Path) -> None:
    prefix = fake_checkpoint(tmp_path / "2_sup")
    (tmp_path / "2_sup" / LEGACY_CONFIG_FILE).write_text(json.dumps(RUN_CONFIG))
    assert resolve_checkpoint(tmp_path / "2_sup") == (prefix, RUN.spec)
    assert read_run_config(tmp_path / "2_sup") == RUN
    assert find_latest_checkpoint(tmp_path) == prefix


def test_new_folder_is_found(tmp_path: Path) -> None:
    prefix = fake_checkpoint(tmp_path / "3_sup")
    write_run_files(tmp_path / "3_sup", RUN)
    assert find_latest_checkpoint(tmp_path) == prefix
    assert resolve_checkpoint(prefix)[1] == read_model_spec(tmp_path / "3_sup")


@pytest.mark.parametrize("content,reason", [(None, "missing"), ("{not json", "not valid JSON"),
                                            (json.dumps({"num_fft": 512}), "missing key")])
def test_unusable_spec_is_one_line_naming_the_file(tmp_path: Path, content: str | None, reason: str) -> None:
    prefix = fake_checkpoint(tmp_path / "4_sup")
    if content is not None:
        (tmp_path / "4_sup" / MODEL_SPEC_FILE).write_text(content)
    with pytest.raises(CheckpointError, match=reason) as info:
        resolve_checkpoint(prefix)
    assert MODEL_SPEC_FILE in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(CheckpointError, match=RUN_RECORD_FILE):
        read_run_config(tmp_path / "4_sup")


def test_runs_are_described_from_their_own_records_newest_first(tmp_path: Path) -> None:
    """The web app's model list comes from here: phase from the folder name, val_loss from best.json, the start
    time from run.json; legacy folders count, folders without a spec or a usable checkpoint do not."""
    old, new = tmp_path / "1_sup", tmp_path / "2_semisup"
    for folder, created, loss in ((old, "2026-01-01T00:00:00+00:00", 0.5), (new, "2026-02-01T00:00:00+00:00", 0.25)):
        write_run_files(folder, RUN)
        record = json.loads((folder / RUN_RECORD_FILE).read_text())
        (folder / RUN_RECORD_FILE).write_text(json.dumps({**record, "created": created}))
        prefix = fake_checkpoint(folder)
        (folder / "best.json").write_text(json.dumps({"checkpoint": Path(prefix).name, "val_loss": loss}))
    (tmp_path / "3_sup").mkdir()  # no spec: not a run
    write_run_files(tmp_path / "4_sup", RUN)  # a spec but no checkpoint: not offered
    legacy = tmp_path / "elsewhere" / "5_sup"
    legacy.mkdir(parents=True)
    (legacy / LEGACY_CONFIG_FILE).write_text(json.dumps(RUN_CONFIG))
    fake_checkpoint(legacy)  # its best.json records no loss
    broken = tmp_path / "6_sup"
    write_run_files(broken, RUN)
    fake_checkpoint(broken)
    (broken / "best.json").write_text("{not json")  # unreadable: the checkpoint cannot be resolved, not offered

    runs = list_runs(tmp_path, extra=[legacy])
    # the legacy run has no run.json: its time is best.json's (just written), so it is the newest
    assert [run.folder.name for run in runs] == ["5_sup", "2_semisup", "1_sup"]
    assert (runs[1].phase, runs[1].val_loss) == ("semi-supervised", 0.25)
    assert (runs[2].phase, runs[2].val_loss, runs[2].created) == ("supervised", 0.5, "2026-01-01T00:00:00+00:00")
    described = describe_run(legacy)
    assert described == runs[0] and described.phase == "supervised" and described.val_loss is None


def test_folder_without_best_resolves_to_tensorflows_latest_checkpoint_without_tensorflow(tmp_path: Path) -> None:
    import tensorflow as tf

    from tests.cli_helpers import write_run

    write_run(tmp_path, "5_sup", TINY_MODEL, 3)
    folder = tmp_path / "5_sup"
    (folder / "best.json").unlink()
    latest = tf.train.Checkpoint(step=tf.Variable(1)).save(str(folder / "5_sup"))  # 5_sup-1, the newest save
    assert resolve_checkpoint(folder)[0] == latest == tf.train.latest_checkpoint(str(folder))
    Path(f"{latest}.index").unlink()  # the state file names a checkpoint that is gone: as TensorFlow, no prefix
    with pytest.raises(CheckpointError, match="holds no TensorFlow checkpoint"):
        resolve_checkpoint(folder)
