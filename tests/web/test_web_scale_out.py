"""Scale-out: the same task code on Redis with RQ. A real ``redis-server`` on loopback (started and stopped
here; ``.ci/run`` installs the Debian package), two ``manage.py worker`` processes with ``REDIS_URL``, six
uploads: every job finishes, each exactly once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from harmony_split.backend.tracks.models import Separation
from tests.web.helpers import free_port, start_worker, upload, wait_for, worker_env

JOBS = 6


@pytest.fixture
def redis_url(tmp_path: Path):  # noqa: ANN201
    server = shutil.which("redis-server")
    if server is None:
        print("redis-server is not installed (Debian package redis-server): the scale-out test cannot run")
        pytest.skip("redis-server is not installed (Debian package redis-server; .ci/run installs it)")
    import redis

    port = free_port(range(8100, 8200))  # this test's range of loopback ports
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_for(answers, 20, "redis-server to answer")
        yield url
    finally:
        process.terminate()
        process.wait(20)


def test_two_rq_workers_finish_six_jobs_exactly_once(alice, audio, settings, redis_url: str, data_dir: Path,
                                                     checkpoint_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": redis_url, "DEFAULT_TIMEOUT": 3600}}
    settings.HARMONY_MAX_QUEUED = JOBS
    env = worker_env(data_dir, checkpoint_dir, REDIS_URL=redis_url)
    workers = [start_worker(env, tmp_path / f"worker{i}.log") for i in range(2)]
    try:
        source = audio("song.wav", seconds=2.0)
        ids = [upload(alice, source).json()["id"] for _ in range(JOBS)]
        assert Separation.objects.filter(status="queued").count() == JOBS

        def all_done() -> bool:
            return Separation.objects.filter(pk__in=ids, status="done").count() == JOBS

        wait_for(all_done, 240, "both RQ workers to finish the six jobs")
        assert sorted(Separation.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == [1] * JOBS
        logs = "".join((tmp_path / f"worker{i}.log").read_text() for i in range(2))
        assert logs.count(": done") == JOBS and "skipped" not in logs  # each job ran once, by one worker
        for track_id in ids:
            assert sorted(p.name for p in (data_dir / "tracks" / track_id).iterdir()) == [
                "accompaniment.wav", "upload.wav", "vocals.wav"]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
