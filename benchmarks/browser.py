"""Separation inside the browser ("Separate on this device", harmony_split/README.md) in headless chromium: Debian's
chromium driven by Playwright against a real gunicorn with no worker, the paper's model (untrained, exported to
ONNX as training exports it) and a generated 44.1 kHz stereo song.

    python -m benchmarks.browser [--seconds 60] [--repeats 3]

Each round closes the previous result and chooses the song again in the same page (a fresh worker, the model from
the browser's cache); the first round also downloads the model and is a warm-up, not counted. Reported, medians of
``--repeats`` rounds:

* in-browser x real time: song seconds / the worker's wall time (resampling, STFT, the model in onnxruntime-web,
  masks, inverse STFT, resampling back, the residual), the model calls' share of that time, and each stage's
  seconds (``RunInfo.stages``, timed in the worker);
* end to end x real time: song seconds / the time from choosing the file until the summary shows (decoding,
  the worker, WAV encoding of both stems, the mixer's buffers);
* the backend and WASM thread count onnxruntime-web used, the model file's size and the bytes the first round
  downloaded (later rounds: 0, from the HTTP cache).

``--seconds 600`` shows a 10-minute song completing in the tab (chunks of 30 s at the model's rate keep the
worker's spectrograms bounded); the largest peak resident memory among chromium's processes is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.cli import run_benchmark
from benchmarks.inference import _peak_rss, paper_config, write_checkpoint, write_song
from benchmarks.report import print_table
from benchmarks.web import Service
from Models.nets.onnx_export import export_checkpoint

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
# one round may take this long (a 10-minute song on a slow machine), ms
TIMEOUT_MS = int(os.environ.get("BENCH_TIMEOUT_MS", "3600000"))


def chromium_peak_rss() -> float:
    """The largest peak resident memory (``VmHWM``, MiB) among the chromium processes this process started
    (through Playwright's driver); the tab's renderer, which runs the page and its workers, is the largest."""
    parents, names = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid], names[pid] = int(tail.split()[1]), head.split("(", 1)[1]
    tree, grew = {os.getpid()}, True
    while grew:
        grown = tree | {pid for pid, parent in parents.items() if parent in tree}
        grew, tree = grown != tree, grown
    return max((_peak_rss(pid) for pid in tree if names[pid].startswith(("chrom", "chrome"))), default=float("nan"))


def separate_once(page, song: Path) -> dict[str, float]:  # noqa: ANN001 -- a Playwright Page
    """Choose ``song`` (the switch is on); returns the run's figures once the stems are in the mixer."""
    close = page.get_by_role("button", name="Close")
    if close.count():
        close.click()
    started = time.perf_counter()
    page.get_by_label("Audio files").set_input_files(song)
    summary = page.get_by_text("Separated on this device in")
    summary.wait_for(timeout=TIMEOUT_MS)
    wall = time.perf_counter() - started
    figures = {key: float(summary.get_attribute(f"data-{key}"))
               for key in ("seconds", "threads", "duration", "model-bytes", "model-seconds")}
    figures["wall"] = wall
    figures["backend"] = summary.get_attribute("data-backend")
    figures["stages"] = json.loads(summary.get_attribute("data-stages"))
    return figures


def measure(args: argparse.Namespace, work: Path) -> list[tuple[str, str]]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise RuntimeError("chromium not found on PATH: install the Debian package 'chromium'")
    prefix = write_checkpoint(work / "checkpoints" / "bench_sup", paper_config())
    model = export_checkpoint(prefix)
    song = work / "song.wav"
    write_song(song, args.seconds)
    with socket.socket() as probe:  # a free loopback port (benchmarks.web's own may be in use)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # One signing key for both gunicorn workers (without one, each makes its own and a browser session signed by
    # one is refused by the other).
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    service = Service(work, work / "checkpoints", port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
            page = browser.new_page()
            page.set_default_timeout(120_000)  # a loaded machine
            page.goto(service.url)
            page.get_by_label("User name").fill("admin")
            page.get_by_label("Password").fill(service.password)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("button", name="Upload audio").wait_for()
            page.get_by_role("checkbox", name="Separate on this device").check()
            page.get_by_role("combobox", name="Model").wait_for()
            try:
                rounds = []
                for round_ in range(args.repeats + 1):  # a copy per round: choosing the same file again fires nothing
                    copy = song.with_name(f"song {round_}.wav")
                    shutil.copyfile(song, copy)
                    rounds.append(separate_once(page, copy))
            except Exception:
                print(page.locator("body").aria_snapshot(), file=sys.stderr)  # what the page showed instead
                raise
            peak = chromium_peak_rss()
            browser.close()
    finally:
        service.stop()
    first, timed = rounds[0], rounds[1:]
    median = {key: statistics.median(r[key] for r in timed) for key in ("seconds", "wall", "model-seconds")}
    stages = {stage: statistics.median(r["stages"][stage] for r in timed) for stage in first["stages"]}
    breakdown = ", ".join(f"{stage} {seconds:.2f} s ({seconds / median['seconds']:.0%})"
                          for stage, seconds in stages.items())
    return [
        ("song", f"{args.seconds:g} s, 44.1 kHz stereo; paper's model (untrained), {args.repeats} timed rounds"),
        ("in-browser x real time (the worker: resampling, STFT, model, masks, ISTFT)",
         f"{args.seconds / median['seconds']:.1f}"),
        ("model calls' share of the worker's time", f"{median['model-seconds'] / median['seconds']:.0%}"),
        ("the worker's stages, s (share of its time)", breakdown),
        ("end to end x real time (choose file -> stems in the mixer)", f"{args.seconds / median['wall']:.1f}"),
        ("backend, WASM threads", f"{first['backend']}, {first['threads']:.0f}"),
        ("model file, MB / downloaded by round 1, MB / by later rounds, MB",
         f"{model.stat().st_size / 1e6:.2f} / {first['model-bytes'] / 1e6:.2f} / "
         f"{max(r['model-bytes'] for r in timed) / 1e6:.2f}"),
        ("load average at the end (other work on the machine)", f"{os.getloadavg()[0]:.1f}"),
        ("largest peak RSS of chromium's processes (the tab), MiB", f"{peak:.0f}"),
    ]


def _main(argv: list[str] | None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (median), after one warm-up round")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the generated song, s")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="browser_bench_") as work:
        rows = measure(args, Path(work))
    print_table(rows)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (``argv`` as ``sys.argv[1:]``); returns the exit status (``benchmarks.cli``)."""
    return run_benchmark("benchmarks.browser", lambda: _main(argv))


if __name__ == "__main__":
    raise SystemExit(main())
