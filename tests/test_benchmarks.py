"""The benchmarks' own arithmetic runs on the current APIs (tiny config; timings are not tested)."""

from __future__ import annotations

from benchmarks.training import count_flops
from Models.config import ExperimentConfig, resolved_model_config


def test_training_flop_count_adds_up():
    config = ExperimentConfig.from_dict(resolved_model_config(
        num_frames=8, num_layers=1, num_initial_filters=2, critic_initial_filters=2, num_disc=3, batch_size=2))
    counts = count_flops(config, batch=2)
    assert all(value > 0 for value in counts.values())
    assert counts["semi"] == 3 * counts["critic_round"] + counts["separator_update"]
    assert counts["supervised"] > counts["separator_forward"]  # forward and backward
