"""The benchmarks behave like the command-line programs: a real SIGINT or SIGTERM ends them with one line saying
what was finished and exit status 130/143, no traceback; ``benchmarks.semisupervised`` stores each finished score
in its workdir and a run started again there (the printed resume command) reuses them instead of retraining."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.semisupervised_results import ResultStore, tables
from tests.web.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent
# One in-domain seed of a one-layer, two-filter model: 12 separator updates per method (3 epochs, a checkpoint
# after each) on 3 s songs.
TINY = ["--seeds", "1", "--steps", "12", "--labelled", "1", "--unlabelled", "3", "--test", "1", "--seconds", "3",
        "--scenario", "in_domain", *(word for item in ("num_layers=1", "num_initial_filters=2", "num_frames=8",
                                                       "critic_initial_filters=2", "batch_size=2", "epoch_it=4",
                                                       "num_workers=1", "num_disc=1")
                                     for word in ("--set", item))]


def _start(args: list[str], out: Path) -> tuple[subprocess.Popen, Path, Path]:
    """Start a benchmark with its stdout and stderr in files under ``out`` (pipes could fill up and block it)."""
    stdout, stderr = out / "stdout.txt", out / "stderr.txt"
    with open(stdout, "w") as o, open(stderr, "w") as e:
        process = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=o, stderr=e, text=True)
    return process, stdout, stderr


def _stored_runs(workdir: Path) -> list[dict]:
    path = workdir / "results.json"
    return json.loads(path.read_text())["runs"] if path.is_file() else []


def _files(folder: Path) -> dict[str, int]:
    """Every file under ``folder`` with its modification time, ns."""
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


def test_semisupervised_sigint_reports_finished_runs_and_resumes_without_retraining(tmp_path):
    work = tmp_path / "work"
    (tmp_path / "first").mkdir()
    process, stdout, stderr = _start(["-m", "benchmarks.semisupervised", *TINY, "--workdir", str(work)],
                                     tmp_path / "first")
    try:
        # Once the supervised score is stored and the semi-supervised training has saved its first checkpoint.
        def ready() -> bool:
            return bool(_stored_runs(work) and list(work.glob("runs/*/checkpoints/bench_in_domain0_semisup/*.index")))

        wait_for(lambda: ready() or process.poll() is not None, 600, "the first stored score and checkpoint")
        process.send_signal(signal.SIGINT)
        status = process.wait(timeout=300)
    finally:
        process.kill()
    err = stderr.read_text()
    assert status == 130 and "Traceback" not in err, err
    last = err.splitlines()[-1]
    match = re.fullmatch(r"benchmarks\.semisupervised interrupted by SIGINT during in_domain seed 0 "
                         r"semi-supervised.*; 1 of 2 runs finished: in_domain seed 0 supervised \(scores in \S+\); "
                         r"resume with: (python -m benchmarks\.semisupervised .*)", last)
    assert match, last
    [stored] = _stored_runs(work)
    assert (stored["method"], stored["scenario"], stored["seed"]) == ("supervised", "in_domain", 0)
    assert "in_domain seed 0 whole supervised" in stdout.read_text()
    [runs] = (work / "runs").iterdir()
    supervised = {name: _files(runs / name / "bench_in_domain0_sup") for name in ("checkpoints", "logs")}

    command = shlex.split(match.group(1))
    assert command[-2:] == ["--workdir", str(work)]
    resumed = subprocess.run([sys.executable, *command[1:]], cwd=ROOT, capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    # The supervised run was not trained again: its checkpoints and logs are untouched, its score is the stored one.
    assert {name: _files(runs / name / "bench_in_domain0_sup") for name in supervised} == supervised
    assert f"in_domain seed 0 whole supervised       voice SDR {stored['voice']:6.2f} dB" in resumed.stdout
    # The interrupted semi-supervised training continued from its checkpoint to the full 12 steps.
    assert f"in_domain seed 0 semi-supervised: continuing from its newest checkpoint in {runs}" in resumed.stdout
    assert (runs / "checkpoints" / "bench_in_domain0_semisup" / "bench_in_domain0_semisup-12.index").is_file()
    assert sorted(run["method"] for run in _stored_runs(work)) == ["semi-supervised", "supervised"]
    table = (runs / "table.md").read_text()
    assert re.search(r"\| in_domain \| whole \| 0 \| [+-]\d+\.\d\d \| [+-]\d+\.\d\d \|", table), table
    assert "improved" in table and table.strip() in resumed.stdout


def test_benchmarks_share_the_boundary_sigterm_ends_in_one_line_143(tmp_path):
    """The cheapest benchmark, endless (huge ``--repeats``): SIGTERM once its handler is installed."""
    process, _, stderr = _start(["-m", "benchmarks.stft", "--batch", "1", "--seconds", "1", "--repeats",
                                 "100000000"], tmp_path)

    def sigterm_caught() -> bool:  # the SigCgt mask of /proc/<pid>/status: bit 15 is SIGTERM's handler
        status = Path(f"/proc/{process.pid}/status").read_text()
        return bool(int(re.search(r"SigCgt:\s*([0-9a-f]+)", status).group(1), 16) >> (signal.SIGTERM - 1) & 1)

    try:
        wait_for(lambda: process.poll() is not None or sigterm_caught(), 120, "the SIGTERM handler")
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=120)
    finally:
        process.kill()
    err = stderr.read_text()
    assert status == 143 and "Traceback" not in err, err
    assert err.splitlines()[-1] == ("benchmarks.stft interrupted by SIGTERM; finished: nothing (its table is "
                                    "printed once every measurement is done)"), err


SCORES = {("in_domain", "whole", "supervised"): {0: (5.0, 10.0), 1: (6.0, 10.5), 2: (7.0, 11.0)},
          ("in_domain", "whole", "semi-supervised"): {0: (6.5, 9.5), 1: (6.25, 11.0), 2: (6.0, 11.5)}}


def test_table_has_per_seed_differences_and_the_number_of_seeds_improved():
    table = tables(SCORES)
    assert "| in_domain | whole | supervised | 6.00 ± 0.82 | 10.50 ± 0.41 | 3 |" in table
    assert "| in_domain | whole | 0 | +1.50 | -0.50 |" in table
    assert "| in_domain | whole | 2 | -1.00 | +0.50 |" in table
    assert "| in_domain | whole | mean; improved | +0.25; 2 of 3 | +0.17; 2 of 3 |" in table
    tie = tables({("x", "whole", "supervised"): {0: (1.0, 2.0)}, ("x", "whole", "semi-supervised"): {0: (1.001, 2.0)}})
    assert "| x | whole | mean; improved | +0.00; 0 of 1 | +0.00; 0 of 1 |" in tie
    assert "per seed" not in tables({("x", "whole", "supervised"): {0: (1.0, 2.0)}})  # no pair yet


@pytest.mark.parametrize("change", [{"steps": 601}, {"alpha": 0.01}, {"model_config": {"epoch_it": 50}}])
def test_stored_scores_are_reused_only_under_the_same_settings(tmp_path, change):
    settings = {"steps": 600, "labelled": 3, "unlabelled": 39, "test": 6, "seconds": 30.0, "alpha": 0.001,
                "beta": 0.001, "model_config": {}}
    ResultStore(tmp_path / "results.json", settings).put("in_domain", 0, "supervised", "whole", (1.0, 2.0))
    assert ResultStore(tmp_path / "results.json", settings).get("in_domain", 0, "supervised", "whole") == (1.0, 2.0)
    other = ResultStore(tmp_path / "results.json", {**settings, **change})
    assert other.get("in_domain", 0, "supervised", "whole") is None
    other.put("in_domain", 0, "supervised", "whole", (3.0, 4.0))  # both kept
    assert ResultStore(tmp_path / "results.json", settings).get("in_domain", 0, "supervised", "whole") == (1.0, 2.0)
