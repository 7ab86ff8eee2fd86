"""Every test starts from the same random state, so model initialisations (and the results that depend on them)
are reproducible: a tiny ReLU separator is dead at initialisation for about 1 in 70 unseeded draws.

``keras.utils.set_random_seed`` is the call that fixes tf_keras's initial weights (``tf.random.set_seed`` alone
does not); a test that wants another model calls it with its own seed.

The tests that take a minute or more carry the ``slow`` marker (registered in pyproject.toml), given here from
:data:`SLOW` so that the test files stay as they are: ``pytest -m "not slow"`` is the quick loop while editing;
``make test`` runs everything."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
# Slow tests: whole modules (path under tests/) or single tests (module::name, every parametrization). They train
# models, run the command-line programs or web services in subprocesses (each imports TensorFlow), or drive the
# browser.
SLOW = (
    "test_training.py", "test_training_cli.py", "test_named_configs.py", "test_resume.py", "test_distribute.py",
    "test_interrupted_export.py", "test_cli_errors.py", "test_benchmark_interrupts.py",
    "test_separate_cli.py::test_cli_end_to_end",
    "test_separate_cli.py::test_cli_reports_every_bad_input_and_goes_on",
    "test_separate_cli.py::test_cli_without_checkpoint_explains_how_to_train",
    "test_separate_cli.py::test_cli_refuses_an_output_folder_that_is_a_file_before_loading_a_model",
    "test_separate_cli.py::test_cli_names_a_damaged_checkpoint_file_in_one_line",
    "test_separate_cli.py::test_cli_rejects_a_checkpoint_that_does_not_fit_its_config",
    "test_evaluate.py::test_cli_uses_the_checkpoint_config",
    "test_evaluate.py::test_cli_runs_without_the_training_machines_data_paths",
    "test_evaluate.py::test_cli_demo_evaluates_the_latest_checkpoint_on_the_demo_songs",
    "test_separator.py::test_long_input_memory_stays_bounded",
    "web/test_browser.py", "web/test_web_multi_machine.py", "web/test_web_scale_out.py", "web/test_web_upload_race.py",
    "web/test_web_worker_faults.py", "web/test_web_worker_quiet.py",
    "web/test_web_jobs.py::test_worker_process_sigterm_then_kill_9_then_recovery",
    "web/test_web_commands.py::test_serve_runs_web_and_worker_restarts_a_killed_worker_and_stops_on_ctrl_c",
    "web/test_web_limits.py::test_processes_share_the_counts_through_the_migrated_database",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of :data:`SLOW`; an entry whose module was collected but names no test fails the run (a
    renamed test must not lose its marker silently)."""
    collected: set[str] = set()
    matched: set[str] = set()
    for item in items:
        module = item.path.relative_to(TESTS).as_posix() if item.path.is_relative_to(TESTS) else ""
        collected.add(module)
        for entry in (module, f"{module}::{getattr(item, 'originalname', item.name)}"):
            if entry in SLOW:
                item.add_marker(pytest.mark.slow)
                matched.add(entry)
    stale = [entry for entry in SLOW if entry.split("::")[0] in collected and entry not in matched]
    if stale:
        raise pytest.UsageError(f"tests/conftest.py SLOW names tests that do not exist: {', '.join(stale)}")


@pytest.fixture(autouse=True)
def _seeded() -> None:
    import tf_keras as keras  # here, not at module level: tests without TensorFlow stay quick to collect

    keras.utils.set_random_seed(0)
