"""Inference speed of the paper's separator on this machine: U-Net cost and efficiency, model-only and
end-to-end throughput, cold start and memory of ``python separate.py``, for both engines (TensorFlow and ONNX).

    python -m benchmarks.inference [--repeats 5] [--seconds 180] [--batch-size N] [--jit-compile 0|1]

The model is the paper's (``Training.py``'s default ``model_config``: 4 layers, 16 filters, 64 frames),
untrained, saved as a checkpoint in the trainer's layout in a temporary folder. Each figure is the median of
``--repeats`` rounds after a warm-up round, all in one process, the timed functions taking turns in each round
so that ratios compare like with like on a machine shared with other work:

* U-Net cost: float operations of the separator on one batch of inference windows, counted on the frozen graph of its
  concrete function (``benchmarks.flops``), per second of mono audio kept (stereo costs twice
  that: channels are separated independently); the same for training-size patches for comparison;
* achieved GFLOP/s of the inference function on that batch, and its share of a dense float32
  ``tf.matmul`` (``--matmul`` square) measured in the same run;
* model-only throughput: seconds of stereo audio per second that the U-Net alone sustains (window frames kept
  per call / call time / 2 channels);
* end to end: ``Models.separation.files.separate_file`` (the function ``separate.py`` runs) on a generated 3-minute
  44.1 kHz stereo 16-bit wav: decode, resample, STFT, U-Net, ISTFT, resample back, write both outputs; with
  today's defaults (vocals band-limited, soft masks) and with full-band vocals (``--vocals-band full``), each
  also as a share of the matmul-bound limit (the same run's dense matmul GFLOP/s divided by
  the U-Net's GFLOP per second of stereo audio: how fast separation would be if the U-Net ran at matmul speed
  and nothing else took time);
* the same two throughputs with the model in bfloat16 (``separate.py --precision bfloat16``);
* U-Net variants, for the effect of each change: eager calls on batches of ``inference_batch_size``
  training-size patches (how the code ran before), the same inside a ``tf.function``, the inference windows
  (now) and the inference windows compiled with XLA;
* cold start: ``python separate.py`` in a fresh process on a 10-second file, from process start until the
  first output file exists, and peak RSS (of that run and of one on the 3-minute file);
* the ONNX engine (``separate.py --engine onnx``: the checkpoint exported with ``Models.nets.onnx_export``, run by
  onnxruntime): the same model-only and end-to-end throughputs, their shares of the matmul-bound limit, its ratio
  to the TF engine, its cold start, and the disk size of the inference install (``pip install ".[separate]"``:
  this package's base requirements, recursively, as installed here; ``benchmarks.install_size``) beside the full
  one (``.[train]``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import tensorflow as tf

from benchmarks.cli import run_benchmark
from benchmarks.flops import graph_flops
from benchmarks.install_size import installed_megabytes
from benchmarks.report import interleaved, print_table
from Models.api import Separator
from Models.config import ExperimentConfig, resolved_model_config
from Models.nets.checkpoint_files import write_run_files
from Models.nets.factory import build_separator, get_shapes
from Models.nets.onnx_export import export_checkpoint
from Models.separation.files import separate_file
from Models.separation.model_rate import ModelRateStream
from Models.separation.options import DEFAULT_CHUNK_SECONDS, SeparationOptions
from Models.separation.windows import WindowPredictor

REPO = Path(__file__).resolve().parents[1]
FULL_BAND = SeparationOptions(vocals_band="full")  # separate.py --vocals-band full (the defaults otherwise)


def paper_config(**updates: object) -> ExperimentConfig:
    """``Training.py``'s default ``model_config`` (the paper's model and the inference defaults), with
    ``updates``."""
    return ExperimentConfig.from_dict(resolved_model_config(**updates))


def write_checkpoint(folder: Path, config: ExperimentConfig) -> str:
    """A run folder in the trainer's layout holding a fresh separator; returns the checkpoint prefix."""
    folder.mkdir(parents=True, exist_ok=True)
    prefix = folder / f"{folder.name}-1"
    tf.train.Checkpoint(model=build_separator(config.spec)).write(str(prefix))
    write_run_files(folder, config)
    (folder / "best.json").write_text(json.dumps({"checkpoint": prefix.name, "val_loss": 1.0}))
    return str(prefix)


def write_song(path: Path, seconds: float, sr: int = 44100) -> None:
    """A stereo 16-bit wav: a few tones and noise, different in each channel."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    left = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 1375 * t)
    right = 0.2 * np.sin(2 * np.pi * 330 * t) + 0.1 * np.sin(2 * np.pi * 2750 * t)
    noise = 0.05 * rng.standard_normal((2, t.size))
    sf.write(path, (np.stack([left, right]) + noise).T.astype(np.float32), sr, "PCM_16")


def _peak_rss(pid: int) -> float:
    """Peak resident memory (``VmHWM``) of a running process in MiB; 0 if it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_cli(work: Path, prefix: str, song: Path, out: Path, engine: str = "tf") -> tuple[float, float, float]:
    """``python separate.py --engine engine`` on ``song`` in a fresh process: (seconds to the first output file,
    seconds to exit, peak RSS in MiB, read from ``/proc`` every 5 ms: ``ru_maxrss`` of a child counts the parent's
    pages)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    outputs = [out / f"{song.stem}_vocals.wav", out / f"{song.stem}_accompaniment.wav"]
    for path in outputs:
        path.unlink(missing_ok=True)
    command = [sys.executable, str(REPO / "separate.py"), "--input", str(song), "--output", str(out), "--engine",
               engine]
    log = out.parent / "separate.log"
    start = time.perf_counter()
    with open(log, "wb") as stderr:
        proc = subprocess.Popen([*command, "--checkpoint", prefix, "--overwrite"], cwd=work, env=env, stderr=stderr)
        first, peak = None, 0.0
        try:
            while True:
                if first is None and any(p.exists() for p in outputs):
                    first = time.perf_counter() - start
                peak = _peak_rss(proc.pid) or peak
                pid, status = os.waitpid(proc.pid, os.WNOHANG)
                if pid:
                    break
                time.sleep(0.005)
        except BaseException:  # Ctrl-C or SIGTERM (benchmarks.cli): no separate.py left running on its own
            proc.kill()
            proc.wait()
            raise
    total = time.perf_counter() - start
    proc.returncode = status
    if status != 0 or not all(p.exists() for p in outputs):
        raise RuntimeError(f"separate.py failed ({status}): {log.read_text()[-2000:]}")
    first = total if first is None else first
    return first, total, peak


def measure(args: argparse.Namespace, work: Path) -> list[tuple[str, str]]:
    """Runs every measurement with its files in ``work``; returns the table rows ``(figure, value)``."""
    updates: dict[str, object] = {}
    if args.batch_size:
        updates["inference_batch_size"] = args.batch_size
    if args.jit_compile is not None:
        updates["jit_compile"] = bool(args.jit_compile)
    prefix = write_checkpoint(work / "1_sup", paper_config(**updates))
    full = Separator.load(prefix, engine="tf")
    model, spec, half = full.model, full.spec, Separator.load(prefix, "bfloat16", "tf").model
    onnx_file = export_checkpoint(prefix)
    network = Separator.load(prefix, engine="onnx").model
    shapes = get_shapes(spec)
    rows = [("machine", f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                        f"TF {tf.__version__}, load {os.getloadavg()[0]:.1f} at start")]
    frame_seconds = spec.num_hop / spec.expected_sr

    # The predictor separate_file uses for stereo input in 30 s chunks.
    predictor: WindowPredictor = ModelRateStream(model, spec, 2, DEFAULT_CHUNK_SECONDS).predictor
    half_predictor: WindowPredictor = ModelRateStream(half, spec, 2, DEFAULT_CHUNK_SECONDS).predictor
    onnx_predictor: WindowPredictor = ModelRateStream(network, spec, 2, DEFAULT_CHUNK_SECONDS).predictor
    win = predictor.windows
    batch = np.random.default_rng(0).random(
        (win.per_call, shapes.input_freq, win.input_time, 1), dtype=np.float32
    )
    forward = tf.function(lambda x: model(x, training=False))
    flops = graph_flops(forward.get_concrete_function(tf.TensorSpec(batch.shape, tf.float32)))
    flops_per_second = flops / (win.per_call * win.step * frame_seconds)
    patch = forward.get_concrete_function(tf.TensorSpec([1, shapes.input_freq, shapes.input_time, 1], tf.float32))
    patch_per_second = graph_flops(patch) / (shapes.output_time * frame_seconds)
    rows.append(("inference windows", f"{win.per_call} x {win.input_time} frames in -> {win.step} kept "
                                      f"(training patch {shapes.input_time} -> {shapes.output_time})"))
    rows.append(("U-Net cost, GFLOP per second of mono audio",
                 f"{flops_per_second / 1e9:.3f} (training-size patches: {patch_per_second / 1e9:.3f})"))

    song = work / "song.wav"
    write_song(song, args.seconds)
    outputs = {"vocals": work / "vocals.wav", "accompaniment": work / "accompaniment.wav"}
    size = args.matmul
    left, right = tf.random.uniform([size, size]), tf.random.uniform([size, size])
    product = tf.function(tf.matmul)
    # Variants of the model call, for the effect of each lever: HEAD's eager calls on batches of training-size
    # patches, the same in a tf.function, and the inference windows compiled with XLA.
    patches = np.random.default_rng(1).random(
        (spec.inference_batch_size, shapes.input_freq, shapes.input_time, 1), dtype=np.float32
    )
    patch_function = tf.function(lambda x: model(x, training=False), autograph=False)
    xla_function = tf.function(lambda x: model(x, training=False), autograph=False, jit_compile=True)
    times = interleaved(
        {
            "matmul": lambda: product(left, right).numpy(),
            "call": lambda: predictor.main.function(batch).numpy(),
            "e2e": lambda: separate_file(song, outputs, model, spec),
            "e2e full band": lambda: separate_file(song, outputs, model, spec, FULL_BAND),
            "call bf16": lambda: half_predictor.main.function(batch).numpy(),
            "e2e bf16": lambda: separate_file(song, outputs, half, spec),
            "eager patches": lambda: model(patches, training=False)[0].numpy(),
            "function patches": lambda: patch_function(patches)[0].numpy(),
            "xla windows": lambda: xla_function(batch)[0].numpy(),
            "call onnx": lambda: onnx_predictor.main.run(batch),
            "e2e onnx": lambda: separate_file(song, outputs, network, spec),
            "e2e onnx full band": lambda: separate_file(song, outputs, network, spec, FULL_BAND),
        },
        args.repeats,
    )
    matmul = 2 * size**3 / times["matmul"] / 1e9
    achieved = flops / times["call"] / 1e9
    rows.append((f"dense matmul {size}^2 float32, GFLOP/s", f"{matmul:.1f}"))
    rows.append(("U-Net forward, GFLOP/s (share of matmul)", f"{achieved:.1f} ({achieved / matmul:.0%})"))
    model_only = win.per_call * win.step * frame_seconds / times["call"] / 2
    rows.append(("model-only throughput, s of stereo audio per s", f"{model_only:.1f}"))
    patch_seconds = len(patches) * shapes.output_time * frame_seconds
    window_seconds = win.per_call * win.step * frame_seconds
    rates = [patch_seconds / times["eager patches"], patch_seconds / times["function patches"],
             window_seconds / times["call"], window_seconds / times["xla windows"]]
    rows.append(("U-Net variants, mono s/s: eager patches / tf.function patches / windows / windows + XLA",
                 " / ".join(f"{r:.0f}" for r in rates)))
    e2e = times["e2e"]
    rows.append((f"end to end, {args.seconds:g} s stereo 44.1 kHz wav, s", f"{e2e:.2f}"))
    rows.append(("end-to-end throughput, x real time (share of model-only)",
                 f"{args.seconds / e2e:.1f} ({args.seconds / e2e / model_only:.0%})"))
    limit = matmul / (2 * flops_per_second / 1e9)  # x real time of stereo audio at matmul speed
    full = times["e2e full band"]
    rows.append(("end to end, share of the matmul-bound limit: defaults / --vocals-band full",
                 f"{args.seconds / e2e / limit:.0%} / {args.seconds / full / limit:.0%} "
                 f"(limit {limit:.1f}x real time; {args.seconds / full:.1f}x with the full band)"))
    half_only = model_only * times["call"] / times["call bf16"]
    rows.append(("bfloat16 (--precision bfloat16): model-only s/s; end to end x real time (share)",
                 f"{half_only:.1f}; {args.seconds / times['e2e bf16']:.1f} "
                 f"({args.seconds / times['e2e bf16'] / half_only:.0%})"))

    onnx_only = model_only * times["call"] / times["call onnx"]
    onnx_e2e, onnx_full = args.seconds / times["e2e onnx"], args.seconds / times["e2e onnx full band"]
    rows.append((f"ONNX engine ({onnx_file.stat().st_size / 1e6:.1f} MB file): model-only s/s; end to end x real "
                 "time, defaults / --vocals-band full",
                 f"{onnx_only:.1f}; {onnx_e2e:.1f} / {onnx_full:.1f}"))
    rows.append(("ONNX engine, share of the matmul-bound limit: defaults / --vocals-band full",
                 f"{onnx_e2e / limit:.0%} / {onnx_full / limit:.0%}"))
    rows.append(("ONNX engine end to end / TF engine's (speed ratio, defaults / full band)",
                 f"{e2e / times['e2e onnx']:.2f} / {full / times['e2e onnx full band']:.2f}"))

    short = work / "short.wav"
    write_song(short, 10.0)
    for engine in ("tf", "onnx"):
        runs = [run_cli(work, prefix, short, work / "cli", engine) for _ in range(max(1, args.repeats // 2))]
        first, total, rss = (float(np.median(v)) for v in zip(*runs, strict=True))
        rows.append((f"cold start of separate.py --engine {engine} (10 s file): first output / exit, s; peak RSS MiB",
                     f"{first:.2f} / {total:.2f}; {rss:.0f}"))
    try:
        separate_mb, _ = installed_megabytes("adversarial-voice-separation")
        train_mb, _ = installed_megabytes("adversarial-voice-separation", ("train",))
        rows.append(('installed packages, MB: pip install ".[separate]" / ".[train]"',
                     f"{separate_mb:.0f} / {train_mb:.0f}"))
    except ImportError:  # metadata.PackageNotFoundError: run from a checkout without pip install
        rows.append(("installed packages, MB", "not measured: this package is not pip-installed here"))
    _, total, rss = run_cli(work, prefix, song, work / "cli")
    rows.append((f"separate.py on the {args.seconds:g} s file: wall s, peak RSS MiB", f"{total:.2f}, {rss:.0f}"))
    rows.append(("load average at the end", f"{os.getloadavg()[0]:.1f}"))
    return rows


def _main(argv: list[str] | None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (median)")
    parser.add_argument("--seconds", type=float, default=180.0, help="length of the generated song, s")
    parser.add_argument("--batch-size", type=int, default=None, help="inference_batch_size (default: config)")
    parser.add_argument("--jit-compile", type=int, choices=(0, 1), default=None, help="XLA (default: config)")
    parser.add_argument("--matmul", type=int, default=2048, help="size of the square matmul")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="inference_bench_") as work:
        rows = measure(args, Path(work))
    print_table(rows)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (``argv`` as ``sys.argv[1:]``); returns the exit status (``benchmarks.cli``)."""
    return run_benchmark("benchmarks.inference", lambda: _main(argv))


if __name__ == "__main__":
    raise SystemExit(main())
