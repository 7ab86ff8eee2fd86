"""Jobs through the real worker code: progress from the separation, cancel while running, a real worker process
stopped by SIGTERM and killed with -9 (heartbeat, sweep, re-queue once, then failed), and retention cleanup."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path

from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from harmony_split.backend.tracks import jobs
from harmony_split.backend.tracks.models import Separation, Track
from tests.web.helpers import DB_QUEUE, start_worker, upload, wait_for, worker_env


def job(track_id: str) -> Separation:
    return Separation.objects.get(pk=track_id)


def test_progress_moves_block_by_block_to_done(alice, audio) -> None:  # noqa: ANN001
    seen: list[float] = []

    def record(sender: object, track_id: str, progress: float, **kwargs: object) -> None:
        seen.append(progress)

    jobs.track_progress.connect(record)
    try:
        track = upload(alice, audio("steps.wav", seconds=4.0)).json()
    finally:
        jobs.track_progress.disconnect(record)
    assert len(seen) >= 4 and seen == sorted(seen) and 0 < seen[0] < 0.5  # one update per 1-s block
    done = job(track["id"])
    assert (done.status, done.progress, done.attempts) == ("done", 1.0, 1)


def test_a_running_job_says_what_it_does(alice, audio, monkeypatch) -> None:  # noqa: ANN001
    """The API's stage follows the job: loading the model (no progress yet), separating (progress counts), analysing
    tempo and key; none once done. Spies read the stored track at each step and call the real code."""
    import Input.audio.musical
    from harmony_split.backend.tracks import separators
    from harmony_split.backend.tracks.serializers import TrackSerializer

    seen: list[tuple[str, str | None, float]] = []

    def observe(step: str) -> None:
        track = Track.objects.get(separation__status="running")
        data = TrackSerializer(track).data
        seen.append((step, data["stage"], data["progress"]))

    real_loaded, real_analyse = separators.loaded, Input.audio.musical.analyse_file
    monkeypatch.setattr(separators, "loaded", lambda model: (observe("load"), real_loaded(model))[1])
    monkeypatch.setattr(Input.audio.musical, "analyse_file", lambda path: (observe("analyse"), real_analyse(path))[1])

    def record(sender: object, track_id: str, progress: float, **kwargs: object) -> None:
        observe("block")

    jobs.track_progress.connect(record)
    try:
        track = upload(alice, audio("stages.wav", seconds=3.0)).json()
    finally:
        jobs.track_progress.disconnect(record)
    assert seen[0] == ("load", "loading", 0.0)
    assert [stage for step, stage, _ in seen[1:-1]] == ["separating"] * (len(seen) - 2) and len(seen) >= 4
    assert seen[-1][:2] == ("analyse", "analysing") and seen[-1][2] == max(p for *_, p in seen) > 0.5
    done = alice.get(f"/api/tracks/{track['id']}/").json()
    assert (done["status"], done["stage"]) == ("done", None)


def test_cancel_while_running_leaves_no_files(alice, audio, settings, data_dir: Path) -> None:  # noqa: ANN001
    settings.TASKS = DB_QUEUE  # queued; the job runs below in a thread, as in a worker
    track_id = upload(alice, audio("cancel.wav", seconds=6.0)).json()["id"]
    first_block, deleted, outcome = threading.Event(), threading.Event(), []

    def hold(sender: object, track_id: str, progress: float, **kwargs: object) -> None:
        first_block.set()
        deleted.wait(30)

    def work() -> None:
        try:
            outcome.append(jobs.run(track_id))
        finally:
            connection.close()

    jobs.track_progress.connect(hold)
    try:
        worker = threading.Thread(target=work)
        worker.start()
        assert first_block.wait(60), "the job never reported progress"
        assert job(track_id).status == "running"
        assert alice.delete(f"/api/tracks/{track_id}/").status_code == 204
        deleted.set()
        worker.join(60)
    finally:
        jobs.track_progress.disconnect(hold)
        deleted.set()
    assert outcome == ["cancelled"]  # stopped at the next block
    assert not Track.objects.filter(pk=track_id).exists()
    assert list((data_dir / "tracks").iterdir()) == []  # no partial stem, no upload left


def test_worker_process_sigterm_then_kill_9_then_recovery(alice, audio, settings, data_dir: Path,
                                                          checkpoint_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    """A real ``manage.py worker`` (the db_worker loop): SIGTERM hands the running job back to the queue;
    kill -9 leaves it running until a live worker's sweep re-queues it; that worker then finishes it."""
    settings.TASKS = DB_QUEUE
    source = audio("long.wav", seconds=60.0, sr=8000, channels=1)  # 60 blocks: time to catch it running
    track_id = upload(alice, source).json()["id"]
    upload_copy = (data_dir / "tracks" / track_id / "upload.wav").read_bytes()
    env = worker_env(data_dir, checkpoint_dir, HARMONY_STALE_SECONDS="3", HARMONY_HEARTBEAT_SECONDS="0.5")
    log = tmp_path / "worker.log"

    def running_with_progress() -> bool:
        current = job(track_id)
        return current.status == "running" and current.progress > 0

    first = start_worker(env, log)
    try:
        wait_for(running_with_progress, 120, "the first worker to start the job", every=0.02)
        os.killpg(first.pid, signal.SIGSTOP)  # frozen mid-job, so that the checks below cannot race the job
        assert job(track_id).status == "running"
        first.send_signal(signal.SIGTERM)
        os.killpg(first.pid, signal.SIGCONT)
        assert first.wait(60) == 0
        handed_back = job(track_id)
        assert (handed_back.status, handed_back.attempts, handed_back.worker) == ("queued", 0, "")

        second = start_worker(env, log)
        wait_for(running_with_progress, 120, "the second worker to start the job", every=0.02)
        os.killpg(second.pid, signal.SIGKILL)
        second.wait(10)
        killed = job(track_id)
        assert killed.status == "running" and killed.attempts == 1  # nobody knows yet

        third = start_worker(env, log)
        wait_for(lambda: job(track_id).status == "done", 180, "the third worker to finish the job")
        done = job(track_id)
        assert done.attempts == 2 and done.worker != killed.worker and done.progress == 1.0
        assert alice.get("/api/health/").json()["workers_seen"] >= 1
        assert (data_dir / "tracks" / track_id / "upload.wav").read_bytes() == upload_copy
        assert sorted(p.name for p in (data_dir / "tracks" / track_id).iterdir()) == [
            "accompaniment.wav", "upload.wav", "vocals.wav"]
        third.send_signal(signal.SIGTERM)
        assert third.wait(60) == 0
    finally:
        for process in (first, locals().get("second"), locals().get("third")):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    assert "re-queued" in log.read_text()


def test_second_death_fails_the_job_and_keeps_the_upload(alice, audio, settings, data_dir: Path) -> None:  # noqa: ANN001
    settings.TASKS = DB_QUEUE
    settings.HARMONY_STALE_SECONDS = 60
    track_id = upload(alice, audio("twice.wav", seconds=1.0)).json()["id"]
    old = timezone.now() - timedelta(seconds=61)
    Separation.objects.filter(pk=track_id).update(status="running", attempts=2, worker="gone:1:x", heartbeat=old)
    (data_dir / "tracks" / track_id / ".vocals.wav.0123.tmp").write_bytes(b"half a stem")  # the killed writer's
    fresh = upload(alice, audio("fresh.wav", seconds=1.0)).json()["id"]
    Separation.objects.filter(pk=fresh).update(status="running", attempts=1, worker="alive:2:y",
                                               heartbeat=timezone.now())
    assert jobs.sweep() == 1
    failed = alice.get(f"/api/tracks/{track_id}/").json()
    assert failed["status"] == "failed" and failed["error"] == jobs.DEAD_TWICE
    assert job(fresh).status == "running"  # a live heartbeat is left alone
    assert [p.name for p in (data_dir / "tracks" / track_id).iterdir()] == ["upload.wav"]


def test_cleanup_removes_old_tracks_and_orphans(alice, audio, data_dir: Path, settings) -> None:  # noqa: ANN001
    settings.HARMONY_RETENTION_DAYS = 7
    old_id, new_id = (upload(alice, audio(f"{n}.wav", seconds=0.5)).json()["id"] for n in ("old", "new"))
    Track.objects.filter(pk=old_id).update(created=timezone.now() - timedelta(days=8))
    orphan = data_dir / "tracks" / "00000000-0000-0000-0000-000000000001"
    orphan.mkdir()
    (orphan / "upload.wav").write_bytes(b"left behind")
    stamp = time.time() - 2 * 3600
    os.utime(orphan, (stamp, stamp))
    call_command("cleanup")
    assert sorted(p.name for p in (data_dir / "tracks").iterdir()) == [new_id]
    assert list(Track.objects.values_list("pk", flat=True)) == [Track.objects.get(pk=new_id).pk]
    call_command("cleanup", days=0)
    assert list((data_dir / "tracks").iterdir()) == [] and not Track.objects.exists()


def test_workers_run_the_onnx_export_when_there_is_one(alice, audio, settings, checkpoint_dir: Path,  # noqa: ANN001
                                                       tmp_path: Path) -> None:
    import shutil

    from harmony_split.backend.tracks import separators
    from Models.nets.onnx_export import export_checkpoint

    settings.HARMONY_CHECKPOINT_DIR = shutil.copytree(checkpoint_dir, tmp_path / "checkpoints")
    (model_id,) = [folder.name for folder in settings.HARMONY_CHECKPOINT_DIR.iterdir()]
    settings.HARMONY_ENGINE = "auto"
    assert separators.loaded(model_id).engine == "tf"  # no export yet
    export_checkpoint(settings.HARMONY_CHECKPOINT_DIR / model_id)
    separators._loaded.clear()
    settings.HARMONY_ENGINE = "tf"
    assert separators.loaded(model_id).engine == "tf"  # asked for
    separators._loaded.clear()
    settings.HARMONY_ENGINE = "auto"
    track = upload(alice, audio("engine.wav", seconds=2.0)).json()
    assert job(track["id"]).status == "done"
    assert separators.loaded(model_id).engine == "onnx"  # the one that ran the job
