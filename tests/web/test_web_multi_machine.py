"""Several machines, as harmony_split/README.md's deployment section describes them, on this one: a real PostgreSQL
server and a real Redis on loopback, two web processes (gunicorn) and two RQ workers (``manage.py worker``) with
``DATABASE_URL`` and ``REDIS_URL``, one shared data folder. Three users upload 20 tracks through both web
processes while one worker is killed with SIGKILL in the middle of a job: every job ends ``done`` exactly once,
every stem exists and decodes, and nobody sees another user's track.

The test talks to the service only through HTTP, ``manage.py`` and PostgreSQL itself (the rows it checks)."""

from __future__ import annotations

import io
import os
import secrets
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import soundfile as sf

from tests.web.helpers import MANAGE, start_worker, wait_for, worker_env, write_tone
from tests.web.servers import start_web, stop

USERS = ("ann", "bob", "cyd")
TRACKS = 20
TIMEOUT = 30  # seconds per HTTP request


def password(user: str) -> str:
    return f"{user}-a-long-password-7"


def create_users(env: dict[str, str]) -> None:
    code = ("from django.contrib.auth import get_user_model\n"
            f"for name, secret in {[(u, password(u)) for u in USERS]!r}:\n"
            "    get_user_model().objects.create_user(name, password=secret)")
    subprocess.run([sys.executable, str(MANAGE), "shell", "-c", code], env=env, check=True)


def token_headers(url: str, user: str) -> dict[str, str]:
    answer = requests.post(f"{url}/api/auth/token/", json={"username": user, "password": password(user)},
                           timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Token {answer.json()['token']}"}


def post_track(url: str, headers: dict[str, str], song: Path) -> dict:
    with open(song, "rb") as handle:
        answer = requests.post(f"{url}/api/tracks/", headers=headers, files={"file": (song.name, handle)},
                               timeout=TIMEOUT)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_two_web_processes_two_workers_postgres_redis_and_a_killed_worker(
        postgres_url: str, redis_url: str, checkpoint_dir: Path, tmp_path: Path) -> None:
    import psycopg

    data_dir = tmp_path / "shared-data"
    env = worker_env(data_dir, checkpoint_dir, DATABASE_URL=postgres_url, REDIS_URL=redis_url,
                     SECRET_KEY=secrets.token_urlsafe(50), HARMONY_CHECKPOINT="", HARMONY_MAX_QUEUED=str(TRACKS),
                     HARMONY_HEARTBEAT_SECONDS="0.5", HARMONY_STALE_SECONDS="5")
    subprocess.run([sys.executable, str(MANAGE), "migrate", "-v", "0"], env=env, check=True)
    create_users(env)
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    workers = [start_worker(env, log) for log in logs]
    processes = list(workers)
    db = psycopg.connect(postgres_url, autocommit=True)
    try:
        webs = []
        for i in range(2):
            web, url = start_web(env, tmp_path / f"web{i}.log")
            processes.append(web)
            webs.append(url)
        headers = {user: token_headers(webs[i % 2], user) for i, user in enumerate(USERS)}
        songs = tmp_path / "songs"
        songs.mkdir()
        # Track 0 is long (120 1-s blocks at 8 kHz): a wide window to catch a worker in the middle of a job.
        plan = [(USERS[j % 3], write_tone(songs / f"song{j}.wav", 120.0, sr=8000, channels=1) if j == 0
                 else write_tone(songs / f"song{j}.wav", 2.0, seed=j)) for j in range(TRACKS)]
        owner: dict[str, str] = {}
        owner[post_track(webs[0], headers[plan[0][0]], plan[0][1])["id"]] = plan[0][0]
        with ThreadPoolExecutor(4) as pool:  # the other uploads arrive while the long job runs and a worker dies
            pending = {pool.submit(post_track, webs[j % 2], headers[user], song): user
                       for j, (user, song) in enumerate(plan) if j}

            def frozen_mid_job() -> tuple[str, str, subprocess.Popen] | None:
                """A worker frozen (SIGSTOP) while its row says it runs a job with progress: (track, worker id,
                process). Freezing first makes "mid-job" certain: a frozen worker cannot finish the job."""
                for track, worker in db.execute("SELECT track_id::text, worker FROM tracks_separation "
                                                "WHERE status = 'running' AND progress > 0").fetchall():
                    process = next(w for w in workers if w.pid == int(worker.rsplit(":", 2)[1]))
                    os.killpg(process.pid, signal.SIGSTOP)
                    if db.execute("SELECT 1 FROM tracks_separation WHERE track_id = %s AND status = 'running' "
                                  "AND worker = %s AND progress < 0.99", (track, worker)).fetchone():
                        return track, worker, process
                    os.killpg(process.pid, signal.SIGCONT)
                return None

            killed, victim_id, victim = wait_for(frozen_mid_job, 180, "a worker running a job", every=0.05)
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait(30)
            for future, user in pending.items():
                owner[future.result()["id"]] = user
        assert len(owner) == TRACKS

        def finished() -> bool:
            counts = dict(db.execute("SELECT status, count(*) FROM tracks_separation GROUP BY status").fetchall())
            assert not counts.get("failed"), db.execute("SELECT track_id, error FROM tracks_separation").fetchall()
            return counts == {"done": TRACKS}

        wait_for(finished, 240, "all 20 jobs to be done by the surviving worker", every=0.5)

        # Exactly once: one "done" per track in the two workers' logs together; the killed run's attempt counted.
        rows = db.execute("SELECT t.id::text, u.username, s.attempts FROM tracks_track t JOIN auth_user u "
                          "ON u.id = t.owner_id JOIN tracks_separation s ON s.track_id = t.id").fetchall()
        assert {track: user for track, user, _ in rows} == owner
        assert {track: attempts for track, _, attempts in rows} == {
            track: 2 if track == killed else 1 for track in owner}
        text = "".join(log.read_text() for log in logs)
        assert {track: text.count(f"track {track}: done") for track in owner} == dict.fromkeys(owner, 1), text
        assert f"track {killed}: done" not in logs[workers.index(victim)].read_text()
        assert f"track {killed}: worker {victim_id} stopped beating; re-queued" in text
        assert "Traceback" not in text and "skipped" not in text, text

        # No file lost: each track's folder holds its upload and both stems, nothing else; no SQLite database.
        assert sorted(p.name for p in (data_dir / "tracks").iterdir()) == sorted(owner)
        for track in owner:
            assert sorted(p.name for p in (data_dir / "tracks" / track).iterdir()) == [
                "accompaniment.wav", "upload.wav", "vocals.wav"]
        assert not (data_dir / "db.sqlite3").exists()

        for i, user in enumerate(USERS):
            mine = {track for track, who in owner.items() if who == user}
            for url in webs:  # both web processes give every user the same view, of their own tracks only
                listing = requests.get(f"{url}/api/tracks/", headers=headers[user], timeout=TIMEOUT).json()
                assert listing["count"] == len(mine) and {t["id"] for t in listing["results"]} == mine
            for track in mine:  # the stems, through the web process the track was not uploaded to
                url = webs[(i + 1) % 2]
                details = requests.get(f"{url}/api/tracks/{track}/", headers=headers[user], timeout=TIMEOUT).json()
                for stem in ("vocals", "accompaniment"):
                    answer = requests.get(f"{url}{details['stems'][stem]}", headers=headers[user], timeout=TIMEOUT)
                    assert answer.status_code == 200, answer.text
                    audio, rate = sf.read(io.BytesIO(answer.content))
                    assert abs(len(audio) / rate - details["duration_s"]) < 0.01
            other = next(track for track, who in owner.items() if who != user)
            for method, path in (("GET", ""), ("GET", "stems/vocals"), ("DELETE", "")):
                answer = requests.request(method, f"{webs[i % 2]}/api/tracks/{other}/{path}", headers=headers[user],
                                          timeout=TIMEOUT)
                assert (answer.status_code, answer.json()) == (404, {"error": "not found"})
        assert db.execute("SELECT count(*) FROM tracks_track").fetchone() == (TRACKS,)
    finally:
        db.close()
        stop(processes)
