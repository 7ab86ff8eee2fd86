"""Scale-out: the same task code on Redis with RQ. A real ``redis-server`` on loopback (the ``redis_url``
fixture; ``.ci/run`` installs the Debian package), two ``manage.py worker`` processes with ``REDIS_URL``, six
uploads: every job finishes, each exactly once."""

from __future__ import annotations

from pathlib import Path

from harmony_split.backend.tracks.models import Separation
from tests.web.helpers import start_worker, upload, wait_for, worker_env
from tests.web.servers import stop

JOBS = 6


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
        stop(workers)
