"""``manage.py serve`` (what ``make serve`` runs): the whole service on one machine, in the foreground.

It checks for a trained model, prepares the data folder and its secret key, migrates the database, creates a
first account if there is none, then starts the web server (gunicorn) and ``HARMONY_WORKERS`` workers and prints
the URL. Ctrl-C (or SIGTERM) stops them all: each worker hands its running job back to the queue first.
A worker that exits on its own (killed for memory, say) is started again, after 1 s and up to ``RESTART_MAX``
seconds when it keeps exiting (its job is re-queued by the heartbeat check, see tracks.jobs); the service stops
only when the web server itself exits.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from harmony_split.backend.tracks import separators
from Utils import CheckpointError

MANAGE = Path(__file__).resolve().parents[3] / "manage.py"
REPO = MANAGE.parents[2]
GRACE = 60.0  # seconds the processes get to stop before they are killed
RESTART_MAX = 60.0  # longest wait before starting an exited worker again, s; one that ran longer waits 1 s


def _key_file() -> None:
    """A random SECRET_KEY in the data folder (mode 600), unless the environment gives one."""
    key = Path(settings.HARMONY_DATA_DIR) / "secret_key"
    if not os.environ.get("SECRET_KEY") and not key.is_file():
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(50))


class Command(BaseCommand):
    help = "Run harmony_split here: migrate, first account, web server and HARMONY_WORKERS workers (Ctrl-C stops)."

    def handle(self, *args: object, **options: object) -> None:
        if not separators.list_models():
            raise CheckpointError(f"no trained model in {settings.HARMONY_CHECKPOINT_DIR}: run `make demo` first "
                                  "(it trains the demo model in a few minutes), or set HARMONY_CHECKPOINT")
        Path(settings.HARMONY_DATA_DIR).mkdir(parents=True, exist_ok=True, mode=0o700)
        _key_file()
        call_command("migrate", verbosity=0)
        call_command("first_account")
        host, port = os.environ.get("HARMONY_HOST", "127.0.0.1"), os.environ.get("HARMONY_PORT", "8000")
        workers = int(os.environ.get("HARMONY_WORKERS", "1"))
        commands = [[sys.executable, "-m", "gunicorn", "harmony_split.backend.server.wsgi", "--bind",
                     f"{host}:{port}", "--workers", "2", "--threads", "4", "--timeout", "300", "--chdir", str(REPO),
                     "--access-logfile", "-", "--no-control-socket"]]
        commands += [[sys.executable, str(MANAGE), "worker"] for _ in range(workers)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        # Own sessions: the terminal's Ctrl-C reaches only this process, which stops each child exactly once.
        def start(cmd: list[str]) -> subprocess.Popen:
            return subprocess.Popen(cmd, env=env, start_new_session=True)

        children = [start(cmd) for cmd in commands]
        stopping: list[int] = []
        signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))
        signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
        url_host = f"[{host}]" if ":" in host else host
        self.stdout.write(f"harmony_split is running at http://{url_host}:{port}/ with {workers} worker(s); "
                          "Ctrl-C stops it.")
        self.stdout.flush()
        failed = None
        started = [time.monotonic()] * len(children)
        waits = [1.0] * len(children)  # the next restart's back-off, per worker
        due: list[float | None] = [None] * len(children)  # when an exited worker starts again
        while not stopping and failed is None:
            time.sleep(0.3)
            now = time.monotonic()
            if children[0].poll() is not None:
                failed = children[0]
            for i in range(1, len(children)):
                if due[i] is None and children[i].poll() is not None:
                    waits[i] = 1.0 if now - started[i] > RESTART_MAX else min(RESTART_MAX, 2 * waits[i])
                    due[i] = now + waits[i]
                    self.stderr.write(f"worker {i} exited with status {children[i].returncode} after "
                                      f"{now - started[i]:.0f} s; starting it again in {waits[i]:.0f} s")
                elif due[i] is not None and now >= due[i]:
                    children[i], started[i], due[i] = start(commands[i]), now, None
        if failed is not None:
            self.stderr.write(f"the web server exited with status {failed.returncode}; stopping")
        self.stdout.write("stopping: running jobs go back to the queue ...")
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE
        for child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.stdout.write("stopped")
        sys.exit(1 if failed is not None else 0)
