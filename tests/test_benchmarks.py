"""The benchmarks' own arithmetic runs on the current APIs (tiny config; timings are not tested)."""

from __future__ import annotations

import pytest

from benchmarks.training import count_flops
from Models.config import ExperimentConfig, resolved_model_config


def test_training_flop_count_adds_up():
    config = ExperimentConfig.from_dict(resolved_model_config(
        num_frames=8, num_layers=1, num_initial_filters=2, critic_initial_filters=2, num_disc=3, batch_size=2))
    counts = count_flops(config, batch=2)
    assert all(value > 0 for value in counts.values())
    assert counts["semi"] == 3 * counts["critic_round"] + counts["separator_update"]
    assert counts["supervised"] > counts["separator_forward"]  # forward and backward


def test_quick_preset_is_the_out_of_domain_check_and_explicit_options_win():
    """``--quick`` is the preset whose sign agreed with the full run (README): one out-of-domain seed of 300 steps
    on 10 s songs; an option given on the command line overrides its part of the preset, nothing else."""
    from benchmarks.semisupervised import _parse

    quick = _parse(["--quick"])
    assert (quick.seeds, quick.steps, quick.test, quick.seconds, quick.scenario) == (1, 280, 3, 10.0,
                                                                                    ["out_of_domain"])
    assert (quick.labelled, quick.unlabelled) == (3, 39)  # the full run's song counts
    mixed = _parse(["--quick", "--steps", "80", "--scenario", "in_domain"])
    assert (mixed.steps, mixed.scenario, mixed.seeds, mixed.seconds) == (80, ["in_domain"], 1, 10.0)
    full = _parse([])
    assert (full.seeds, full.steps, full.seconds, full.scenario) == (3, 600, 30.0, ["in_domain", "out_of_domain"])


def test_steps_that_are_not_whole_epochs_are_refused_not_cut(capsys):
    """300 steps with the demo's epoch_it of 40 trained 280 while the results said 300."""
    from benchmarks.semisupervised import _parse

    with pytest.raises(SystemExit) as stopped:
        _parse(["--steps", "300"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
        "--steps 300: must be a multiple of epoch_it (40), e.g. 320")
    assert _parse(["--steps", "300", "--set", "epoch_it=50"]).steps == 300  # whole epochs of 50
