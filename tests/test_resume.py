"""Exact resume through the command line: a real SIGINT during the supervised phase and a real SIGTERM during
the semi-supervised one each end in one line and exit status 130/143 with no traceback; the printed command
resumes; the final weights equal those of an uninterrupted run with the same seed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from Input.synth.generate import generate_dataset, generate_unpaired

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = 0.0  # same seed, same batches, same random draws: resumed and uninterrupted runs agree bit for bit


@pytest.fixture(scope="module")
def config_file(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("resume")
    songs = root / "songs"
    generate_dataset(songs, num_train=2, num_test=1, seconds=3.0, seed=3, sr=8192)
    generate_unpaired(songs / "unpaired", num_tracks=2, seconds=3.0, seed=4, sr=8192)
    model_config = {
        "num_layers": 1, "num_initial_filters": 2, "critic_initial_filters": 2, "num_frames": 8, "batch_size": 2,
        "epoch_it": 40, "max_epochs": 2, "patience": 5, "num_workers": 2, "log_every": 4, "summary_seconds": 1.0,
        "num_disc": 2, "init_sup_sep_lr": 1e-3, "init_unsup_sep_lr": 1e-3, "init_disc_lr": 1e-3, "seed": 11,
        "evaluate": False, "musdb_path": str(songs), "is_wav": True, "dataset_cache": str(root / "dataset.pkl"),
        "audio_cache_dir": str(root / "cache"), "moisesdb_path": "", "results_dir": str(root / "results"),
        "unsup_mixture_dirs": [str(songs / "unpaired" / "mixtures")],
        "unsup_voice_dirs": [str(songs / "unpaired" / "voices")],
        "unsup_accompaniment_dirs": [str(songs / "unpaired" / "accompaniments")],
    }
    path = root / "config.json"
    path.write_text(json.dumps({"model_config": model_config}))
    return path


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "Training.py"), *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _run_until(process: subprocess.Popen, marker: str, signum: int) -> tuple[int, list[str]]:
    """Read the output; once ``marker`` (the end of epoch 1) appears, wait a moment and send ``signum``: it lands in
    epoch 2 of the same phase (40 steps), usually mid-epoch; where exactly does not change the result."""
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if marker in line:
            time.sleep(0.05)
            process.send_signal(signum)
            break
    lines += process.stdout.read().splitlines()
    return process.wait(timeout=300), lines


def _weights(folder: Path) -> dict[str, np.ndarray]:
    reader = tf.train.load_checkpoint(str(tf.train.latest_checkpoint(str(folder))))
    return {name: reader.get_tensor(name) for name, dtype in reader.get_variable_to_dtype_map().items()
            if dtype != tf.string and "save_counter" not in name}


def test_interrupted_run_resumes_to_the_uninterrupted_weights(config_file, tmp_path):
    reference = _start(["with", str(config_file), "experiment_id=1"], tmp_path)
    output = reference.communicate(timeout=600)[0]
    assert reference.returncode == 0, output

    status, lines = _run_until(_start(["with", str(config_file), "experiment_id=2"], tmp_path),
                               "sup epoch 1 (step", signal.SIGINT)
    text = "\n".join(lines)
    assert status == 130 and "Traceback" not in text, text
    match = re.fullmatch(r"sup interrupted at step (\d+): checkpoint saved to \S+; "
                         r"resume with: python Training\.py with resume=(\S+)", lines[-1])
    assert match and tmp_path / match.group(2) == tmp_path / "checkpoints" / "2_sup", lines[-1]
    assert int(match.group(1)) >= 40  # after the first epoch

    status, lines = _run_until(_start(["with", f"resume={match.group(2)}"], tmp_path), "semisup epoch 1 (step",
                               signal.SIGTERM)
    text = "\n".join(lines)
    assert status == 143 and "Traceback" not in text, text
    assert "sup: resumed from" in text and "semisup: resumed" not in text
    match = re.fullmatch(r"semisup interrupted at step \d+: checkpoint saved to \S+; "
                         r"resume with: python Training\.py with resume=(\S+)", lines[-1])
    assert match and tmp_path / match.group(1) == tmp_path / "checkpoints" / "2_semisup", lines[-1]

    final = subprocess.run([sys.executable, str(ROOT / "Training.py"), "with", f"resume={match.group(1)}"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr
    assert "sup: finished before" in final.stderr and "semisup: resumed from" in final.stderr
    # the finished phase's test scores (stored when run 2 finished it) are not computed again; the others are
    assert re.search(r"2_sup-\d+: its test scores are reused", final.stderr), final.stderr
    assert not re.search(r"2_semisup-\d+: its test scores are reused", final.stderr), final.stderr
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["1_semisup", "1_sup", "2_semisup",
                                                                            "2_sup"]
    for phase in ("sup", "semisup"):
        ours, theirs = _weights(tmp_path / "checkpoints" / f"2_{phase}"), _weights(tmp_path / "checkpoints" /
                                                                                 f"1_{phase}")
        assert ours.keys() == theirs.keys() and any("critic" in k for k in ours) == (phase == "semisup")
        for name in ours:
            np.testing.assert_allclose(ours[name], theirs[name], rtol=0, atol=TOLERANCE, err_msg=f"{phase} {name}")


def test_sigterm_outside_a_phase_ends_in_one_line_that_says_what_to_run(config_file, tmp_path):
    """SIGTERM while the data is being prepared (the dataset cache is a pipe that nothing writes yet, so the run
    waits there): one line, status 143, no traceback, and the command to run again."""
    fifo = tmp_path / "dataset.pkl"
    os.mkfifo(fifo)
    config = json.loads(config_file.read_text())
    config["model_config"]["dataset_cache"] = str(fifo)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    process = _start(["with", str(path), "experiment_id=3"], tmp_path)
    writer = None
    try:
        deadline = time.monotonic() + 120
        while writer is None and time.monotonic() < deadline:  # opens once the run has the pipe open to read
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.05)
        assert writer is not None, "the run never opened its dataset cache"
        wchan = Path(f"/proc/{process.pid}/wchan")
        while "pipe_read" not in wchan.read_text() and time.monotonic() < deadline:  # blocked reading it: a signal
            time.sleep(0.05)  # sent a moment before would be handled only after the read, which never ends
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=120)[0]
    finally:
        if writer is not None:
            os.close(writer)
        if process.poll() is None:
            process.kill()
    lines = output.strip().splitlines()
    assert process.returncode == 143 and "Traceback" not in output, output
    assert lines[-1] == "interrupted while preparing the data; no phase has finished yet: run the same command again"
    assert not (tmp_path / "checkpoints" / "3_sup").exists()
