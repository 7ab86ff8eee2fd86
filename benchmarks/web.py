"""The web service (harmony_split) under load, driven over HTTP like its users: a real gunicorn and real
``manage.py worker`` processes on this machine, with the paper's model (untrained, saved in the trainer's layout).

    python -m benchmarks.web [--long-seconds 180] [--short-seconds 30] [--users 3] [--uploads 30]
        [--pollers 200] [--poll-interval 1.0] [--rss-jobs 30]

* Overhead: the time from upload-complete (the 201 answer) to ``done`` for a ``--long-seconds`` 44.1 kHz stereo
  mp3 on a warm worker, divided by ``python separate.py``'s wall time on the same file with the same model (and,
  for reference, by ``Models.separation.files.separate_file``'s time in one warm process). Target: <= 1.2.
* Memory: peak RSS (``VmHWM``) of one worker after each of ``--rss-jobs`` jobs on the ``--short-seconds`` file
  (no growth).
* Load: ``--users`` accounts upload the ``--long-seconds`` file ``--uploads`` times in all, at once, to two
  workers, while ``--pollers`` clients (wrk connections) poll ``GET /api/tracks/<id>/`` of their own account's tracks
  as the browser app does at its fastest (one request, then about ``--poll-interval`` s, then the next). Reported:
  all done, no error, the p50/p95 latency of those requests and the request rate reached (target p95 <= 250 ms on
  a 2-core box). Needs Debian's ``wrk``.

The benchmark talks to the service only through HTTP and ``manage.py`` (nothing imports harmony_split).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests

from benchmarks.cli import run_benchmark
from benchmarks.inference import _peak_rss, paper_config, run_cli, write_checkpoint, write_song
from benchmarks.report import print_table

REPO = Path(__file__).resolve().parents[1]
MANAGE = REPO / "harmony_split" / "backend" / "manage.py"
PORT = 8187


class Service:
    """gunicorn plus worker processes on a fresh data folder; ``token`` is the first account's API token."""

    def __init__(self, work: Path, checkpoints: Path, port: int = PORT) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3",
                    "HARMONY_DATA_DIR": str(work / "data"), "HARMONY_CHECKPOINT_DIR": str(checkpoints),
                    "HARMONY_MAX_QUEUED": "1000", "HARMONY_MAX_MINUTES": "60",
                    # the abuse limits would stop the benchmark's own uploads (0 turns each off)
                    "HARMONY_UPLOADS_PER_HOUR": "0", "HARMONY_MAX_STORED_MB": "0"}
        for key in ("REDIS_URL", "DATABASE_URL", "HARMONY_PRODUCTION"):
            self.env.pop(key, None)
        self.log = open(work / "service.log", "ab")  # noqa: SIM115 -- closed in stop()
        self.processes: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        (work / "data").mkdir()
        subprocess.run([sys.executable, str(MANAGE), "migrate", "-v", "0"], env=self.env, check=True)
        made = subprocess.run([sys.executable, str(MANAGE), "first_account"], env=self.env, check=True,
                              capture_output=True, text=True).stdout
        password = re.search(r"password '([^']+)'", made).group(1)
        self._start([sys.executable, "-m", "gunicorn", "harmony_split.backend.server.wsgi", "--bind",
                     f"127.0.0.1:{port}", "--workers", "2", "--threads", "8", "--chdir", str(REPO),
                     "--no-control-socket"])
        self._wait(lambda: self._get("/api/health/"), "the web server")
        self.password = password  # the first account's ("admin"), for sign-ins in a browser (benchmarks.browser)
        self.headers = self._sign_in("admin", password)

    def _sign_in(self, name: str, password: str) -> dict[str, str]:
        """The request headers of ``name``'s API token."""
        answer = requests.post(f"{self.url}/api/auth/token/", json={"username": name, "password": password},
                               timeout=60)
        return {"Authorization": f"Token {answer.json()['token']}"}

    def add_user(self, name: str) -> dict[str, str]:
        """A new (non-staff) account; returns its request headers."""
        password = secrets.token_urlsafe(16)
        code = (f"from django.contrib.auth.models import User; "
                f"User.objects.create_user({name!r}, password={password!r})")
        subprocess.run([sys.executable, str(MANAGE), "shell", "--no-imports", "-c", code], env=self.env, check=True)
        return self._sign_in(name, password)

    def _start(self, command: list[str]) -> subprocess.Popen:
        process = subprocess.Popen(command, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def _get(self, path: str) -> dict | None:
        try:
            return requests.get(f"{self.url}{path}", headers=getattr(self, "headers", {}), timeout=30).json()
        except requests.RequestException:
            return None

    @staticmethod
    def _wait(predicate, what: str, timeout: float = 600.0) -> object:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise RuntimeError(f"timed out waiting for {what}")

    def add_worker(self) -> subprocess.Popen:
        worker = self._start([sys.executable, str(MANAGE), "worker"])
        self.workers.append(worker)
        self._wait(lambda: (self._get("/api/health/") or {}).get("workers_seen", 0) >= len(self.workers),
                   "the worker's first heartbeat")
        return worker

    def upload(self, song: Path, headers: dict[str, str] | None = None) -> tuple[str, float]:
        """POST the song (as the first account, or the account of ``headers``); returns (track id, time of the
        201 answer)."""
        with open(song, "rb") as handle:
            answer = requests.post(f"{self.url}/api/tracks/", headers=headers or self.headers,
                                   files={"file": handle}, timeout=600)
        if answer.status_code != 201:
            raise RuntimeError(f"upload failed: {answer.status_code} {answer.text[:300]}")
        return answer.json()["id"], time.perf_counter()

    def wait_done(self, track_id: str, poll: float = 0.02, headers: dict[str, str] | None = None) -> float:
        """Poll until the track is done; returns the time it was first seen done."""
        def done() -> float | None:
            try:
                track = requests.get(f"{self.url}/api/tracks/{track_id}/", headers=headers or self.headers,
                                     timeout=30).json()
            except requests.RequestException:
                return None
            if track.get("status") in ("failed", "cancelled"):
                raise RuntimeError(f"track {track_id}: {track}")
            return time.perf_counter() if track.get("status") == "done" else None

        return self._wait(lambda: (time.sleep(poll), done())[1], f"track {track_id}")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(120)
        self.log.close()


def overhead(service: Service, song: Path, repeats: int) -> float:
    """Median seconds from upload-complete to done."""
    times = []
    for _ in range(repeats):
        track_id, uploaded = service.upload(song)
        times.append(service.wait_done(track_id) - uploaded)
    return float(np.median(times))


def in_process_seconds(prefix: str, song: Path, out: Path, repeats: int) -> float:
    """Median wall time of ``Separator.separate_file`` in this process (model loaded once, one warm-up run)."""
    from Models.api import Separator

    separator = Separator.load(prefix)
    outputs = {"vocals": out / "v.wav", "accompaniment": out / "a.wav"}
    separator.separate_file(song, outputs)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        separator.separate_file(song, outputs)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


# wrk's Lua script of the status pollers: each request asks for one track of its own user (token and track id pairs
# in the script's arguments, after the delay in ms); each connection waits delay x U(0.5, 1.5) after an answer, so
# that 200 clients are spread over time as browsers are, not synchronised into bursts.
POLL_SCRIPT = """
local targets, delay_ms, next_target, threads = {}, 1000, 0, 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
function init(args)
  delay_ms = tonumber(args[1])
  for i = 2, #args, 2 do targets[#targets + 1] = {args[i], args[i + 1]} end
  math.randomseed(os.time() * 100 + id)
  next_target = math.random(#targets)
end
function request()
  next_target = next_target % #targets + 1
  local target = targets[next_target]
  return wrk.format("GET", "/api/tracks/" .. target[2] .. "/", {["Authorization"] = "Token " .. target[1]})
end
function delay() return delay_ms * (0.5 + math.random()) end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p95_ms": %.3f, "max_ms": %.3f, '
    .. '"not_2xx": %d, "socket_errors": %d}\\n', summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(95) / 1e3, latency.max / 1e3, e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


def load(service: Service, song: Path, users: list[dict[str, str]], uploads: int, pollers: int,
         interval: float, work: Path) -> dict:
    """``uploads`` concurrent uploads shared round-robin by ``users`` (request headers), then ``pollers`` clients
    polling the uploaders' own tracks (``GET /api/tracks/<id>/`` with the owner's token), each waiting about
    ``interval`` s after every answer, until every job has ended.

    The pollers are wrk's (Debian's ``wrk``: C, epoll, 2 threads, keep-alive connections): one process that costs
    the shared 2 cores little, where 200 Python threads (this benchmark before 2026-12-05) spent a core of their
    own and measured their own wait for the interpreter lock as latency. Returns ``{"errors": jobs not done,
    "failed_polls": non-2xx answers and socket errors, "p50", "p95": ms, "requests", "rate": polls/s, "wall": s}``.
    """
    owners = [users[i % len(users)] for i in range(uploads)]
    start = time.perf_counter()
    with ThreadPoolExecutor(min(uploads, 32)) as pool:
        ids = [track_id for track_id, _ in pool.map(lambda who: service.upload(song, who), owners)]
    script = work / "poll.lua"
    script.write_text(POLL_SCRIPT)
    targets = [part for track_id, owner in zip(ids, owners, strict=True)
               for part in (owner["Authorization"].removeprefix("Token "), track_id)]
    wrk = subprocess.Popen(["wrk", "-t", "2", "-c", str(pollers), "-d", "24h", "--timeout", "30s", "-s", str(script),
                            service.url, "--", str(round(interval * 1000)), *targets],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    errors = 0
    try:
        for track_id, owner in zip(ids, owners, strict=True):
            try:
                service.wait_done(track_id, poll=0.5, headers=owner)
            except RuntimeError:
                errors += 1
    finally:
        wrk.send_signal(signal.SIGINT)  # wrk stops and prints its summary
        output = wrk.communicate(timeout=60)[0]
    line = next((line for line in output.splitlines() if line.startswith("WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary: {output[-500:]}")
    polled = json.loads(line[4:])
    return {"errors": errors, "failed_polls": polled["not_2xx"] + polled["socket_errors"], "p50": polled["p50_ms"],
            "p95": polled["p95_ms"], "requests": polled["requests"], "rate": polled["requests"] / polled["seconds"],
            "wall": time.perf_counter() - start}


def _main(argv: list[str] | None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--long-seconds", type=float, default=180.0, help="length of the overhead song, s")
    parser.add_argument("--short-seconds", type=float, default=30.0, help="length of the load song, s")
    parser.add_argument("--users", type=int, default=3, help="accounts that upload in the load test")
    parser.add_argument("--uploads", type=int, default=30, help="concurrent uploads in the load test (all users)")
    parser.add_argument("--pollers", type=int, default=200, help="clients polling track status in the load test")
    parser.add_argument("--poll-interval", type=float, default=1.0,
                        help="seconds between a client's polls (the browser app's fastest)")
    parser.add_argument("--rss-jobs", type=int, default=30, help="jobs of the memory test")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (median)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("benchmarks.web: the status pollers need wrk (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        work = Path(tmp)
        prefix = write_checkpoint(work / "checkpoints" / "1_sup", paper_config())
        songs = {}
        for name, seconds in (("long", args.long_seconds), ("short", args.short_seconds)):
            write_song(work / f"{name}.wav", seconds)
            songs[name] = work / f"{name}.mp3"
            subprocess.run(["ffmpeg", "-v", "error", "-i", str(work / f"{name}.wav"), "-b:a", "192k",
                            str(songs[name])], check=True)
        out = work / "out"
        out.mkdir()
        cli = float(np.median([run_cli(work, prefix, songs["long"], out)[1] for _ in range(args.repeats)]))
        in_process = in_process_seconds(prefix, songs["long"], out, args.repeats)
        service = Service(work, work / "checkpoints")
        try:
            first = service.add_worker()
            overhead(service, songs["short"], 1)  # warm-up: the worker loads the model
            served = overhead(service, songs["long"], args.repeats)
            rss = []
            for _ in range(args.rss_jobs):
                service.wait_done(service.upload(songs["short"])[0])
                rss.append(_peak_rss(first.pid))
            service.add_worker()
            users = [service.add_user(f"user{i + 1}") for i in range(args.users)]
            result = load(service, songs["long"], users, args.uploads, args.pollers, args.poll_interval, work)
        finally:
            service.stop()
    print_table([
        (f"upload-complete to done, {args.long_seconds:g}-s 44.1 kHz stereo mp3", f"{served:.2f} s"),
        ("python separate.py on the same file (wall, fresh process)", f"{cli:.2f} s"),
        ("ratio service / separate.py (target <= 1.2)", f"{served / cli:.2f}"),
        ("separate_file in a warm process (reference)", f"{in_process:.2f} s (service / this: "
                                                         f"{served / in_process:.2f})"),
        (f"worker peak RSS after jobs 1, {args.rss_jobs // 2}, {args.rss_jobs}",
         f"{rss[0]:.0f} / {rss[args.rss_jobs // 2 - 1]:.0f} / {rss[-1]:.0f} MiB"),
        (f"{args.uploads} concurrent uploads of the {args.long_seconds:g}-s file by {args.users} users, 2 workers",
         f"{args.uploads - result['errors']} done, {result['errors']} errors, {result['wall']:.1f} s"),
        (f"GET /api/tracks/<id>/ from {args.pollers} clients every {args.poll_interval:g} s while the jobs run: "
         "p50 / p95 (target p95 <= 250 ms)",
         f"{result['p50']:.1f} / {result['p95']:.1f} ms ({result['requests']} requests, {result['rate']:.0f}/s, "
         f"{result['failed_polls']} not 200)"),
    ])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (``argv`` as ``sys.argv[1:]``); returns the exit status (``benchmarks.cli``)."""
    return run_benchmark("benchmarks.web", lambda: _main(argv))


if __name__ == "__main__":
    raise SystemExit(main())
