"""Uploads that arrive at once cannot pass the per-account limits together: a real PostgreSQL server, two web
processes (gunicorn, 4 threads each), no worker (the jobs stay queued), and twelve uploads by one account at the
same moment under ``HARMONY_MAX_QUEUED=2``: exactly two are accepted. The count of queued jobs and the new row
used to be separate steps, so that uploads in flight together all saw room for themselves."""

from __future__ import annotations

import secrets
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.web.helpers import MANAGE, worker_env, write_tone
from tests.web.servers import start_web, stop
from tests.web.test_web_multi_machine import create_users, token_headers

UPLOADS = 12
LIMIT = 2


def test_simultaneous_uploads_do_not_pass_the_queue_limit(postgres_url: str, checkpoint_dir: Path,
                                                          tmp_path: Path) -> None:
    import psycopg

    env = worker_env(tmp_path / "data", checkpoint_dir, DATABASE_URL=postgres_url,
                     SECRET_KEY=secrets.token_urlsafe(50), HARMONY_CHECKPOINT="", HARMONY_MAX_QUEUED=str(LIMIT),
                     HARMONY_UPLOADS_PER_HOUR="0")
    subprocess.run([sys.executable, str(MANAGE), "migrate", "-v", "0"], env=env, check=True)
    create_users(env)
    webs = []
    try:
        for i in range(2):
            webs.append(start_web(env, tmp_path / f"web{i}.log"))
        headers = token_headers(webs[0][1], "ann")
        song = write_tone(tmp_path / "song.mp3", 3.0)  # probed with ffprobe: a wide window between check and row
        start = threading.Barrier(UPLOADS)

        def post(i: int) -> int:
            with open(song, "rb") as handle:
                body = handle.read()
            start.wait()
            return requests.post(f"{webs[i % 2][1]}/api/tracks/", headers=headers, files={"file": ("s.mp3", body)},
                                 timeout=60).status_code

        with ThreadPoolExecutor(UPLOADS) as pool:
            answers = sorted(pool.map(post, range(UPLOADS)))
        assert answers == [201] * LIMIT + [429] * (UPLOADS - LIMIT), answers
        with psycopg.connect(postgres_url) as db:
            assert db.execute("SELECT count(*) FROM tracks_track").fetchone() == (LIMIT,)
        assert len(list((tmp_path / "data" / "tracks").iterdir())) == LIMIT  # the refused uploads left nothing
    finally:
        stop([process for process, _ in webs])
