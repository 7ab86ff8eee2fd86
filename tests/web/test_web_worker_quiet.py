"""A real ``manage.py worker`` starts and runs its first job as quietly as the command-line programs: none of
TensorFlow's native start-up lines (absl's preamble, INFO lines such as cpu_feature_guard's, the CUDA probe)."""

from __future__ import annotations

from pathlib import Path

from harmony_split.backend.tracks.models import Separation
from tests.web.helpers import DB_QUEUE, start_worker, upload, wait_for, worker_env
from tests.web.servers import stop

# What TensorFlow 2.21 prints natively when it starts with its default settings (see Utils._NATIVE_NOISE).
START_UP = ("absl::InitializeLog", "cpu_feature_guard", "To enable the following instructions", "cuInit",
            "oneDNN custom operations", "Unable to register", "port.cc:")


def test_worker_runs_its_first_job_without_tensorflow_start_up_lines(alice, audio, settings, data_dir: Path,  # noqa: ANN001
                                                                      checkpoint_dir: Path, tmp_path: Path) -> None:
    settings.TASKS = DB_QUEUE
    track_id = upload(alice, audio("quiet.wav", seconds=1.0)).json()["id"]
    env = worker_env(data_dir, checkpoint_dir)
    for key in ("TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES", "TF_USE_LEGACY_KERAS"):
        env.pop(key, None)  # TensorFlow's defaults, as a worker of `make serve` starts
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    try:
        wait_for(lambda: Separation.objects.get(pk=track_id).status in ("done", "failed"), 180,
                 "the worker to finish the job", every=0.2)
    finally:
        stop([worker])
    output = log.read_text(errors="replace")
    assert Separation.objects.get(pk=track_id).status == "done", output
    assert "started" in output and ": done" in output  # the worker's own lines still show
    noise = [line for line in output.splitlines() if any(mark in line for mark in START_UP)]
    assert noise == [], output
