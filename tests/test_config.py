"""The typed configuration (Models/config.py, Input/config.py): the checks refuse a bad key or value in one line
naming it; a config round-trips through the dataclasses and their JSON; the dataclasses are frozen; Training.py's
Sacred config resolves to the same dict; stored configs of older layouts load with the defaults."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from Input.config import DEMO_DATA_CONFIG, DataConfig
from Models.config import (
    DEFAULTS,
    LEGACY_VALUES,
    NAMED_CONFIGS,
    EvalConfig,
    ExperimentConfig,
    ModelSpec,
    TrainConfig,
    check_model_config,
    resolved_model_config,
)
from Models.nets.checkpoint_files import (
    LEGACY_CONFIG_FILE,
    MODEL_SPEC_FILE,
    RUN_RECORD_FILE,
    read_model_spec,
    read_run_config,
)
from Utils import CheckpointError, ConfigError

# Keys added after the first layout of the run config (git history of Training.py): a run folder written before
# them lacks them.
NEWER_KEYS = ("jit_compile", "strategy", "mixed_precision", "train_jit_compile", "unsup_gain_range",
              "include_silent_voices", "eval_window_seconds", "num_labelled_tracks", "dsd100_path", "medleydb_path",
              "ccmixter_path", "ikala_path")
# model_spec.json as it was written before ModelSpec added mono_downmix and critic_initial_filters to it.
OLD_SPEC = {"expected_sr": 8192, "num_fft": 512, "num_hop": 256, "num_frames": 8, "num_layers": 1,
            "num_initial_filters": 2, "output_activation": "relu", "inference_batch_size": 8, "jit_compile": True}


def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize("build", [check_model_config, ExperimentConfig.from_dict,
                                   lambda config: resolved_model_config(**config)])
def test_an_unknown_key_is_one_line_naming_it_and_the_closest_key(build) -> None:
    with pytest.raises(ConfigError) as err:
        build({**resolved_model_config(), "batchsize": 8})
    assert _one_line(err) == "unknown model_config key 'batchsize' (did you mean 'batch_size'?)"


@pytest.mark.parametrize(("key", "value", "line"), [
    ("batch_size", "abc", "model_config.batch_size must be int, got 'abc'"),
    ("is_wav", 1, "model_config.is_wav must be bool, got 1"),
    ("alpha", -1, "model_config.alpha must be >= 0, got -1"),
    ("alpha", True, "model_config.alpha must be float or int, got True"),
    ("musdb_path", 3, "model_config.musdb_path must be str or null, got 3"),
    ("unsup_gain_range", [1.2, 0.2], "model_config.unsup_gain_range must be null or [low, high] with 0 <= low <= "
                                     "high and high > 0 (0 would silence the unlabelled data), got [1.2, 0.2]"),
    ("unsup_gain_range", [0, 0], "model_config.unsup_gain_range must be null or [low, high] with 0 <= low <= "
                                 "high and high > 0 (0 would silence the unlabelled data), got [0, 0]"),
    # counts: 0 was accepted and failed after the supervised phase (num_disc) or trained nothing (epoch_it)
    ("num_disc", 0, "model_config.num_disc must be >= 1, got 0"),
    ("epoch_it", 0, "model_config.epoch_it must be >= 1, got 0"),
    ("patience", 0, "model_config.patience must be >= 1, got 0"),
    ("batch_size", 0, "model_config.batch_size must be >= 1, got 0"),
])
def test_a_wrong_value_is_one_line_naming_the_key(key: str, value: object, line: str) -> None:
    for build in (check_model_config, ExperimentConfig.from_dict):
        with pytest.raises(ConfigError) as err:
            build({**resolved_model_config(), key: value})
        assert _one_line(err) == line


def test_a_missing_key_is_refused_by_name() -> None:
    config = resolved_model_config()
    del config["num_hop"], config["seed"]
    with pytest.raises(ConfigError) as err:
        ExperimentConfig.from_dict(config)
    assert _one_line(err) == "model_config: missing key(s) num_hop, seed"


@pytest.mark.parametrize("named", [(), *((name,) for name in NAMED_CONFIGS)])
def test_every_named_config_round_trips_through_the_dataclasses_and_json(named: tuple[str, ...]) -> None:
    flat = resolved_model_config(*named)
    config = ExperimentConfig.from_dict(flat)
    assert config.to_dict() == flat and list(config.to_dict()) == list(DEFAULTS)
    assert ExperimentConfig.from_dict(config.to_dict()) == config
    assert ExperimentConfig.from_stored(json.loads(json.dumps(config.to_dict()))) == config  # as run.json holds it
    assert ModelSpec.from_dict(json.loads(json.dumps(config.spec.to_dict()))) == config.spec  # model_spec.json
    parts = (ModelSpec, DataConfig, TrainConfig, EvalConfig)
    keys = [field.name for part in parts for field in dataclasses.fields(part)]
    assert sorted(keys) == sorted(DEFAULTS)  # every key in exactly one dataclass


def test_values_are_typed_once() -> None:
    config = ExperimentConfig.from_dict(resolved_model_config("demo", alpha=1, eval_window_seconds=30,
                                                              unsup_gain_range=[0, 1]))
    assert config.train.alpha == 1.0 and isinstance(config.train.alpha, float)
    assert config.evaluation.eval_window_seconds == 30.0 and isinstance(config.evaluation.eval_window_seconds, float)
    assert config.train.unsup_gain_range == (0.0, 1.0) and config.data.unsup_voice_dirs == tuple(
        DEMO_DATA_CONFIG["unsup_voice_dirs"])
    assert config.spec == ModelSpec.from_dict(config.to_dict()) and hash(config.spec) == hash(
        ModelSpec.from_dict(config.to_dict()))  # hashable: Models.nets.shapes.get_shapes computes once per spec


def test_the_dataclasses_are_frozen() -> None:
    config = ExperimentConfig.from_dict(resolved_model_config())
    for part, field in ((config, "spec"), (config.spec, "num_fft"), (config.data, "musdb_path"),
                        (config.train, "batch_size"), (config.evaluation, "evaluate")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(part, field, getattr(part, field))


def test_the_defaults_and_named_configs_are_never_mutated() -> None:
    before = json.dumps([DEFAULTS, NAMED_CONFIGS])
    resolved_model_config("demo")["unsup_mixture_dirs"].append("elsewhere")
    resolved_model_config()["unsup_gain_range"][0] = 0.0
    assert json.dumps([DEFAULTS, NAMED_CONFIGS]) == before


def test_training_py_resolves_the_same_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Sacred interface takes its defaults and named configs from Models/config.py: ``with <name>`` and
    ``model_config.<key>=<value>`` resolve as :func:`resolved_model_config` does."""
    from Training import ex

    monkeypatch.chdir(tmp_path)
    for name in NAMED_CONFIGS:
        run = ex.run("print_config", named_configs=[name], config_updates={"model_config": {"batch_size": 3}},
                     options={"--unobserved": True})
        assert dict(run.config["model_config"]) == resolved_model_config(name, batch_size=3), name
    assert list(ex.named_configs) == list(NAMED_CONFIGS)


def _folder(tmp_path: Path, files: dict[str, object]) -> Path:
    folder = tmp_path / "1_sup"
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_text(json.dumps(content))
    return folder


def test_an_old_run_json_without_the_newer_keys_gives_the_defaults(tmp_path: Path) -> None:
    flat = resolved_model_config(num_frames=8, num_layers=1, num_initial_filters=2, critic_initial_filters=8,
                                 seed=5)
    old = {key: value for key, value in flat.items() if key not in NEWER_KEYS}
    folder = _folder(tmp_path, {RUN_RECORD_FILE: {"config": {**old, "retired_key": 1}, "git_commit": None},
                                MODEL_SPEC_FILE: OLD_SPEC})
    config = read_run_config(folder)
    assert config.spec == ModelSpec.from_dict({**flat, "jit_compile": False})
    assert config.spec.jit_compile is False and config.spec.critic_initial_filters == 8  # default; stored
    assert config.train.strategy == "default" and config.train.mixed_precision is False and config.train.seed == 5
    # Keys whose absence meant "off" keep the old runs' behaviour (resume continues them exactly).
    assert config.train.unsup_gain_range is None and config.data.include_silent_voices is False
    assert set(LEGACY_VALUES) <= set(DEFAULTS)
    spec = read_model_spec(folder)  # model_spec.json without mono_downmix and critic_initial_filters
    assert spec == ModelSpec(**OLD_SPEC, mono_downmix=DEFAULTS["mono_downmix"],
                             critic_initial_filters=DEFAULTS["critic_initial_filters"])


def test_a_legacy_model_config_json_of_the_first_layout_loads(tmp_path: Path) -> None:
    flat = resolved_model_config(num_layers=2)
    old = {key: value for key, value in flat.items() if key not in NEWER_KEYS}
    folder = _folder(tmp_path, {LEGACY_CONFIG_FILE: old})
    spec = read_model_spec(folder)
    assert spec.num_layers == 2 and spec.jit_compile is DEFAULTS["jit_compile"]
    assert read_run_config(folder).spec == spec and read_run_config(folder).train.unsup_gain_range is None


@pytest.mark.parametrize(("file", "content", "reason"), [
    (MODEL_SPEC_FILE, {**OLD_SPEC, "num_layers": "two"}, "model_config.num_layers must be int, got 'two'"),
    (MODEL_SPEC_FILE, {key: OLD_SPEC[key] for key in ("num_fft", "num_hop")}, "missing key(s) expected_sr"),
    (RUN_RECORD_FILE, {"config": {"batch_size": -2}}, "model_config.batch_size must be >= 1, got -2"),
])
def test_a_bad_stored_value_is_a_checkpoint_error_naming_the_file(tmp_path: Path, file: str, content: dict,
                                                                   reason: str) -> None:
    folder = _folder(tmp_path, {file: content})
    with pytest.raises(CheckpointError) as err:
        (read_model_spec if file == MODEL_SPEC_FILE else read_run_config)(folder)
    assert _one_line(err).startswith(f"{folder / file}: ") and reason in str(err.value)
