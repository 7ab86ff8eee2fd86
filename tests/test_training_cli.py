"""Training.py's command line refuses bad input in one line, with its Utils.EXIT_STATUS and no traceback, before
any work: unknown or mistyped config keys and named configs, values of the wrong type or sign (2), missing MUSDB18
(3), a bad resume path (5)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from Utils import EXIT_STATUS

ROOT = Path(__file__).resolve().parent.parent


def _train(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "Training.py"), *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize(("args", "message"), [
    (["with", "demo", "model_config.batchsize=8"],
     "error: unknown model_config key 'batchsize' (did you mean 'batch_size'?)"),
    (["with", "model_config.batch_size=abc"], "error: model_config.batch_size must be int, got 'abc'"),
    (["with", "model_config.alpha=-1"], "error: model_config.alpha must be >= 0, got -1"),
    (["with", "model_config.is_wav=1"], "error: model_config.is_wav must be bool, got 1"),
    (["with", "demoo"], "error: unknown named config 'demoo' (did you mean 'demo'?); named configs: demo, paper, "
                        "scarce_labels, musdb_hq, no_additive_penalty, two_sided_gp"),
    (["with", "resum=checkpoints/5_sup"], "error: unknown config entry 'resum' (did you mean 'resume'?)"),
])
def test_bad_config_is_refused_before_any_work(tmp_path, args, message):
    result = _train(tmp_path, *args)
    assert result.returncode == EXIT_STATUS["config"] == 2
    assert result.stderr.strip().splitlines()[-1] == message
    assert "Traceback" not in result.stderr and "WARNING" not in result.stderr
    assert not (tmp_path / "checkpoints").exists() and not (tmp_path / "datasets").exists()


def test_missing_musdb_and_bad_resume_path_are_one_line(tmp_path):
    result = _train(tmp_path)
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == EXIT_STATUS["config"] == 2 and "Traceback" not in result.stderr
    assert last.startswith(f"error: MUSDB18 not found in {tmp_path / 'datasets' / 'MUSDB18'}")
    assert last.endswith("`python Training.py with demo` runs without MUSDB18")
    result = _train(tmp_path, "with", "resume=checkpoints/5_sup")
    assert result.returncode == EXIT_STATUS["checkpoint"] and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "error: checkpoints/5_sup: no such run folder or checkpoint"


def test_fidelity_keys_are_checked():
    """unsup_gain_range, eval_window_seconds and num_labelled_tracks: null means off/whole/all; else a valid value."""
    from Models.config import check_value
    from Utils import ConfigError

    good = [("unsup_gain_range", None), ("unsup_gain_range", [0.5, 1.0]), ("eval_window_seconds", None),
            ("eval_window_seconds", 30), ("num_labelled_tracks", None), ("num_labelled_tracks", 50)]
    for key, value in good:
        check_value(key, value)
    bad = [("unsup_gain_range", [1.2, 0.2], "[low, high]"), ("unsup_gain_range", [0.2], "[low, high]"),
           ("unsup_gain_range", "loud", "[low, high]"), ("eval_window_seconds", 0, "seconds > 0"),
           ("eval_window_seconds", "30", "seconds > 0"), ("num_labelled_tracks", 0, "int >= 1"),
           ("num_labelled_tracks", 2.5, "int >= 1"), ("num_labelled_tracks", True, "int >= 1")]
    for key, value, expected in bad:
        with pytest.raises(ConfigError) as refused:
            check_value(key, value)
        line = str(refused.value)
        assert line.startswith(f"model_config.{key} must be") and expected in line, line
