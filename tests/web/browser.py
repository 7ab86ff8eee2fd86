"""Helpers of the browser tests (``tests/web/test_browser.py``): the real service (migrated database, one account,
gunicorn and a worker on a free loopback port) and a headless Chromium driven by Playwright.

Playwright cannot download its own browsers here, so it drives Debian's ``chromium`` package (found on PATH).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.web.helpers import MANAGE, REPO, free_port
from tests.web.servers import wait_healthy

FRONTEND_DIST = REPO / "harmony_split" / "frontend" / "dist"
PORTS = range(8200, 8300)  # the loopback ports these tests may use
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
USER, PASSWORD = "browser-tester", "a-long-test-password-1"


@dataclass(frozen=True)
class Service:
    url: str
    data_dir: Path
    max_upload_mb: float


def chromium_path() -> str:
    """Debian's chromium (``apt-get install chromium``), or a one-line failure naming the package."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise RuntimeError("chromium not found on PATH: install the Debian package 'chromium' (.ci/run does)")
    return found


@contextmanager
def running_service(base: Path, checkpoint_dir: Path, max_upload_mb: float, worker: bool = True) -> Iterator[Service]:
    """The service as ``make serve`` runs it, in ``base``: migrate, one account, gunicorn and one `manage.py worker`
    (none with ``worker=False``: no job can run)."""
    if not (FRONTEND_DIST / "index.html").is_file():
        raise RuntimeError(f"{FRONTEND_DIST.relative_to(REPO)} is not built: run `make frontend` "
                           "(npm ci && npm run build in harmony_split/frontend)")
    data_dir = base / "data"
    data_dir.mkdir(parents=True)
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")}
    env.update({"HARMONY_DATA_DIR": str(data_dir), "HARMONY_CHECKPOINT_DIR": str(checkpoint_dir),
                "HARMONY_CHECKPOINT": "", "HARMONY_CHUNK_SECONDS": "2", "HARMONY_MAX_UPLOAD_MB": str(max_upload_mb),
                "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "",
                "DJANGO_SUPERUSER_PASSWORD": PASSWORD})
    manage = [sys.executable, str(MANAGE)]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True)
    subprocess.run([*manage, "createsuperuser", "--noinput", "--username", USER, "--email", "t@example.com"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    port = free_port(PORTS)
    log = base / "service.log"
    with open(log, "ab") as out:
        processes = [
            subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--threads", "4",
                              "harmony_split.backend.server.wsgi"], env=env, stdout=out, stderr=subprocess.STDOUT,
                             cwd=REPO, start_new_session=True),
        ]
        if worker:
            processes.append(subprocess.Popen([*manage, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                              start_new_session=True))
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, processes, log)
        yield Service(url, data_dir, max_upload_mb)
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def drop_files(page, target, files: list[tuple[str, bytes, str]], event: str = "drop") -> None:  # noqa: ANN001
    """Drop ``(name, content, MIME type)`` files on ``target`` with a synthetic drop event, as a person
    dragging them from a file manager would (``event="dragenter"``: drag them over it without letting go)."""
    payload = [[name, base64.b64encode(content).decode(), kind] for name, content, kind in files]
    transfer = page.evaluate_handle(
        """(files) => {
             const transfer = new DataTransfer();
             for (const [name, b64, type] of files) {
               const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
               transfer.items.add(new File([bytes], name, { type }));
             }
             return transfer;
           }""",
        payload,
    )
    target.dispatch_event(event, {"dataTransfer": transfer})


def add_finished_tracks(service: Service, tracks: list[tuple[str, float]]) -> None:
    """Rows of finished tracks ``(name, seconds)`` of the test account, oldest first (see :func:`add_tracks`)."""
    add_tracks(service, [{"name": name, "seconds": seconds} for name, seconds in tracks])


def add_tracks(service: Service, tracks: list[dict]) -> None:
    """Rows of tracks of the test account, oldest first, written into the service's database with ``manage.py
    shell`` (rows only: listing a library reads no files). Each dict has ``name`` and ``seconds`` and may set the
    job's ``status`` (default done), ``progress`` (0-1), ``stage``, ``error`` and the track's ``bpm`` and ``key``.
    Rows written as queued or running have no task and no heartbeat: no worker takes them and no sweep re-queues
    them, so they show that state for as long as the test needs."""
    code = (
        "import json, sys\n"
        "from django.contrib.auth import get_user_model\n"
        "from harmony_split.backend.tracks.models import Separation, Track\n"
        f"owner = get_user_model().objects.get(username={USER!r})\n"
        "for row in json.loads(sys.stdin.read()):\n"
        "    track = Track.objects.create(owner=owner, name=row['name'], upload='upload.wav',\n"
        "                                 duration_s=row['seconds'], sample_rate=44100, channels=2,\n"
        "                                 bpm=row.get('bpm'), key=row.get('key', ''))\n"
        "    Separation.objects.create(track=track, model='none', status=row.get('status', 'done'),\n"
        "                              progress=row.get('progress', 1.0), stage=row.get('stage', ''),\n"
        "                              error=row.get('error', ''))\n"
    )
    env = {**os.environ, "HARMONY_DATA_DIR": str(service.data_dir), "PYTHONPATH": str(REPO)}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, str(MANAGE), "shell", "--no-imports", "-c", code], env=env, check=True,
                   input=json.dumps(tracks), text=True)
