"""Separation inside the browser ("Separate on this device", harmony_split/README.md) in headless chromium: Debian's
chromium driven by Playwright against a real gunicorn with no worker, the paper's model (untrained, exported to
ONNX as training exports it) and a generated 44.1 kHz stereo song.

    python -m benchmarks.browser [--seconds 60] [--repeats 3]

Each round closes the previous result and chooses the song again in the same page (a fresh worker, the model from
the browser's cache); the first round also downloads the model and is a warm-up, not counted. Reported, medians of
``--repeats`` rounds:

* in-browser x real time: song seconds / the worker's wall time (resampling, STFT, the model in onnxruntime-web,
  masks, inverse STFT, resampling back, the residual), and the model calls' share of that time;
* end to end x real time: song seconds / the time from choosing the file until the summary shows (decoding,
  the worker, WAV encoding of both stems, the mixer's buffers);
* the backend and WASM thread count onnxruntime-web used, the model file's size and the bytes the first round
  downloaded (later rounds: 0, from the HTTP cache).

``--seconds 600`` shows a 10-minute song completing in the tab (chunks of 30 s at the model's rate keep the
worker's spectrograms bounded); the largest peak resident memory among chromium's processes is reported.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
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
TIMEOUT_MS = 3_600_000  # one round may take this long (a 10-minute song on a slow machine)


def tree_peak_rss(root: int) -> float:
    """The largest peak resident memory (``VmHWM``, MiB) among ``root`` and its descendants (chromium's renderer,
    which runs the page and its workers, is the largest)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, grew = {root}, True
    while grew:
        grown = tree | {pid for pid, parent in parents.items() if parent in tree}
        grew, tree = grown != tree, grown
    return max(_peak_rss(pid) for pid in tree)


def chromium_pid(marker: str) -> int:
    """The process id of the chromium launched with the command-line argument ``marker``."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes().split(b"\0"):
                return int(cmdline.parent.name)
        except OSError:
            continue
    raise RuntimeError("the benchmark's chromium process was not found")


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
    service = Service(work, work / "checkpoints", port)
    try:
        with sync_playwright() as p:
            marker = f"--benchmark-run={work.name}"  # an argument chromium ignores: finds its process
            browser = p.chromium.launch(executable_path=chromium, args=[*CHROMIUM_FLAGS, marker])
            page = browser.new_page()
            page.set_default_timeout(120_000)  # a loaded machine
            page.goto(service.url)
            page.get_by_label("User name").fill("admin")
            page.get_by_label("Password").fill(service.password)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("button", name="Upload audio").wait_for()
            page.get_by_role("checkbox", name="Separate on this device").check()
            page.get_by_role("combobox", name="Model").wait_for()
            rounds = [separate_once(page, song) for _ in range(args.repeats + 1)]
            peak = tree_peak_rss(chromium_pid(marker))
            browser.close()
    finally:
        service.stop()
    first, timed = rounds[0], rounds[1:]
    median = {key: statistics.median(r[key] for r in timed) for key in ("seconds", "wall", "model-seconds")}
    return [
        ("song", f"{args.seconds:g} s, 44.1 kHz stereo; paper's model (untrained), {args.repeats} timed rounds"),
        ("in-browser x real time (the worker: resampling, STFT, model, masks, ISTFT)",
         f"{args.seconds / median['seconds']:.1f}"),
        ("model calls' share of the worker's time", f"{median['model-seconds'] / median['seconds']:.0%}"),
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
