"""Real servers for the web app's multi-process tests, each on a free loopback port and stopped afterwards:
``redis-server``, a PostgreSQL cluster in a temporary folder, and the web processes (gunicorn) of the service.
Worker processes: :func:`tests.web.helpers.start_worker`.

A server that cannot start here raises :class:`Unavailable` with a one-line reason; the fixtures in
``tests/web/conftest.py`` print it and skip the test (``.ci/run`` installs the Debian packages).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.web.helpers import REPO, free_port, wait_for

REDIS_PORTS = range(8100, 8200)
POSTGRES_PORTS = range(8300, 8400)
WEB_PORTS = range(8400, 8500)


class Unavailable(RuntimeError):
    """A server cannot be started on this machine (the message says why, in one line)."""


def stop(processes: Iterable[subprocess.Popen], grace: float = 60.0) -> None:
    """SIGTERM each process still running, wait up to ``grace`` s, then SIGKILL its process group."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _started(process: subprocess.Popen, answers, what: str, log: Path | None, timeout: float = 30) -> None:  # noqa: ANN001
    """Wait until ``answers()`` is true; Unavailable if the server exits first (its log's last line says why)."""
    def up() -> bool:
        if process.poll() is not None:
            last = log.read_text(errors="replace").strip().splitlines()[-1:] if log and log.is_file() else []
            raise Unavailable(f"{what} exited with status {process.returncode} at start"
                              + (f": {last[0]}" if last else ""))
        return answers()

    wait_for(up, timeout, f"{what} to answer")


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A ``redis-server`` on loopback without persistence; yields its URL (database 0)."""
    server = shutil.which("redis-server")
    if server is None:
        raise Unavailable("redis-server is not installed (Debian package redis-server; .ci/run installs it)")
    import redis

    port = free_port(REDIS_PORTS)
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(folder)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        _started(process, answers, "redis-server", None)
        yield url
    finally:
        process.terminate()
        process.wait(20)


def _postgres_bin() -> Path:
    """The folder of Debian's PostgreSQL programs (``/usr/lib/postgresql/<version>/bin``, newest version), or of
    the ones on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[-3]))
    initdb = found[-1] if found else shutil.which("initdb")
    if initdb is None:
        raise Unavailable("PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)")
    return Path(initdb).parent


def _unprivileged() -> dict:
    """Popen arguments that run PostgreSQL's programs as the ``postgres`` user when we are root (PostgreSQL
    refuses to run as root); as ourselves otherwise."""
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam("postgres")
    except KeyError as err:
        raise Unavailable("running as root and there is no 'postgres' user to run PostgreSQL as") from err
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


@contextmanager
def postgres_server() -> Iterator[str]:
    """A throw-away PostgreSQL cluster: ``initdb`` in a temporary folder, ``postgres`` listening on 127.0.0.1
    (its unix socket in that folder), trust authentication, durability off (a test's data). Yields the URL of
    an empty database ``harmony`` owned by the user ``harmony``; the server is stopped and the folder removed
    afterwards."""
    import psycopg

    bindir, run_as = _postgres_bin(), _unprivileged()
    folder = Path(tempfile.mkdtemp(prefix="harmony-postgres-"))
    process = None
    try:
        if run_as:
            os.chown(folder, run_as["user"], run_as["group"])
        data, log = folder / "data", folder / "server.log"
        init = subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", "harmony", "--auth=trust",
                               "-E", "UTF8", "--no-sync", "--no-instructions"], capture_output=True, text=True,
                              cwd=folder, **run_as)
        if init.returncode != 0:
            lines = (init.stderr or init.stdout).strip().splitlines()
            raise Unavailable(f"initdb failed: {lines[-1] if lines else init.returncode}")
        port = free_port(POSTGRES_PORTS)
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-c", "listen_addresses=127.0.0.1",
                 "-c", f"unix_socket_directories={folder}", "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off"], stdout=out, stderr=subprocess.STDOUT, cwd=folder,
                start_new_session=True, **run_as)
        admin = f"postgresql://harmony@127.0.0.1:{port}/postgres"

        def answers() -> bool:
            try:
                with psycopg.connect(admin, connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                return False

        _started(process, answers, "postgres", log)
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute("CREATE DATABASE harmony")
        yield f"postgresql://harmony@127.0.0.1:{port}/harmony"
    finally:
        if process is not None:
            process.send_signal(signal.SIGQUIT)  # immediate shutdown: nothing here needs to survive
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def wait_healthy(url: str, processes: list[subprocess.Popen], log: Path, timeout: float = 120) -> None:
    """Wait until ``url``'s ``/api/health/`` answers 200; fail naming ``log`` if one of ``processes`` exits."""
    def healthy() -> bool:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"the service stopped (exit {process.returncode}); see {log}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/api/health/", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    wait_for(healthy, timeout, f"{url}/api/health/ to answer", every=0.2)


def start_web(env: dict[str, str], log: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """One web process of the service (gunicorn, one process with 4 threads) on a loopback port, in its own
    session; returns it and its base URL once it answers ``/api/health/``."""
    port = port or free_port(WEB_PORTS)
    with open(log, "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "harmony_split.backend.server.wsgi",
                                    "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
                                    "--chdir", str(REPO), "--no-control-socket"],
                                   env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, [process], log)
    except BaseException:
        stop([process], grace=10)
        raise
    return process, url
