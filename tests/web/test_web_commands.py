"""The service's commands and settings: the first account's once-printed password, `serve` without a model,
`check --deploy` clean in production mode, and SECRET_KEY required there."""

from __future__ import annotations

import io
import json
import os
import secrets
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import call_command

from tests.web.helpers import MANAGE, REPO, wait_for
from Utils import EXIT_STATUS


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {key: value for key, value in os.environ.items()
            if not key.startswith(("HARMONY_", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"))}
    return subprocess.run([sys.executable, str(MANAGE), *args], env={**base, "PYTHONPATH": str(REPO), **env},
                          capture_output=True, text=True, timeout=120, check=False)


def test_first_account_prints_its_password_once_and_stores_only_a_hash(transactional_db, data_dir: Path) -> None:  # noqa: ANN001
    first, again = io.StringIO(), io.StringIO()
    call_command("first_account", stdout=first)
    call_command("first_account", stdout=again)
    password = first.getvalue().split("password '")[1].split("'")[0]
    assert len(password) >= 16 and again.getvalue() == ""
    user = get_user_model().objects.get()
    assert user.username == "admin" and user.is_superuser and user.check_password(password)
    assert password not in user.password  # a salted hash


def test_serve_without_a_model_says_so_in_one_line(tmp_path: Path) -> None:
    done = manage("serve", HARMONY_DATA_DIR=str(tmp_path / "data"), HARMONY_CHECKPOINT_DIR=str(tmp_path / "none"))
    assert done.returncode == EXIT_STATUS["checkpoint"]
    assert done.stderr.strip().count("\n") == 0 and "make demo" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()


def test_production_mode_needs_a_secret_key_and_passes_check_deploy(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    missing = manage("check", HARMONY_PRODUCTION="1", HARMONY_DATA_DIR=data)
    assert missing.returncode != 0
    assert missing.stderr.strip() == ("error: SECRET_KEY is not set: production mode (HARMONY_PRODUCTION=1) "
                                      "needs one")
    deploy = manage("check", "--deploy", "--fail-level", "WARNING", HARMONY_PRODUCTION="1", HARMONY_DATA_DIR=data,
                    SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="separate.example.org")
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    assert "no issues" in deploy.stdout


def worker_pids(parent: int) -> list[int]:
    """PIDs of the running ``manage.py worker`` children of ``parent``."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            command = (status.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:  # exited meanwhile
            continue
        if int(fields.get("PPid", "0")) == parent and b"worker" in command and fields.get("State", "")[:1] != "Z":
            found.append(int(status.parent.name))
    return found


def test_serve_runs_web_and_worker_restarts_a_killed_worker_and_stops_on_ctrl_c(tmp_path: Path,
                                                                               checkpoint_dir: Path) -> None:
    from tests.web.helpers import free_port

    port = free_port(range(8150, 8200))  # this test's range of loopback ports
    base = {key: value for key, value in os.environ.items() if not key.startswith(("HARMONY_", "REDIS_URL"))}
    env = {**base, "PYTHONPATH": str(REPO), "HARMONY_DATA_DIR": str(tmp_path / "data"),
           "HARMONY_CHECKPOINT_DIR": str(checkpoint_dir), "HARMONY_PORT": str(port), "HARMONY_WORKERS": "1"}
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        serve = subprocess.Popen([sys.executable, str(MANAGE), "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        def health() -> dict | None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health/", timeout=5) as answer:
                    body = json.load(answer)
                return body if body["workers_seen"] == 1 else None
            except OSError:
                return None

        assert wait_for(health, 120, "the web server and one worker")["status"] == "ok"
        printed = log.read_text()
        assert f"running at http://127.0.0.1:{port}/" in printed and "password '" in printed
        password = printed.split("password '")[1].split("'")[0]
        assert not any(password.encode() in p.read_bytes() for p in (tmp_path / "data").rglob("*") if p.is_file())

        first = wait_for(lambda: worker_pids(serve.pid) or None, 30, "the worker process")
        os.kill(first[0], signal.SIGKILL)  # as the kernel's OOM killer would: the web server and service stay up
        again = wait_for(lambda: [p for p in worker_pids(serve.pid) if p not in first] or None, 60, "a new worker")
        assert serve.poll() is None and health() is not None
        assert "worker 1 exited with status -9" in log.read_text()
        assert len(again) == 1
        serve.send_signal(signal.SIGINT)
        assert serve.wait(90) == 0
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
    assert health() is None  # nothing listens any more
    assert "stopped" in log.read_text()
