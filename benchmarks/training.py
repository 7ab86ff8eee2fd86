"""Training throughput at the paper's configuration, on generated songs through the real input pipeline.

    python -m benchmarks.training [--rounds 5] [--steps 2] [--workdir DIR]
    python -m benchmarks.training --compare train_jit_compile=true        # XLA vs not, same run
    python -m benchmarks.training --compare mixed_precision=mixed_bfloat16

Configuration: batch 64, 4 layers, 16 filters, ``num_frames`` 64, critics with 32 filters, ``num_disc`` 5 (one
semi-supervised step = 10 critic updates plus the separator update), num_workers 2. Songs: a handful of generated
30 s tracks (``Input.synth.generate``) decoded into the real ``AudioCache`` and read by the real pipelines
(``paired_waves``/``unpaired_waves`` under ``Models.training.distribute.distribute``, features in the step).

Measured, interleaved in every round so that a change of machine load hits all of them alike: the supervised
and the semi-supervised step on the real pipeline and on one in-memory batch repeated (the same batch each time;
the step's own work, the STFT included, is identical), each block after a 1 s pause. Figures are medians over
rounds after two warm-up steps (compilation); ratios are medians of the per-round ratios of blocks timed in the
same round (on a shared machine a load change between rounds then cancels). The input-pipeline ratio is
``in-memory step time / real-pipeline step time`` (1 = the pipeline never makes the step wait).
``--compare KEY=VALUE`` also times in-memory steps of models built with that config change: time ratio
variant / baseline, same run.

Counted, not timed: float operations per example of the supervised step and of the semi-supervised step's parts
(:func:`count_flops`), their ratio (the time ratio cannot fall below it unless the semi-supervised step runs at a
higher FLOP rate) and the achieved GFLOP/s of both steps.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import tensorflow as tf

from benchmarks.cli import run_benchmark
from benchmarks.flops import graph_flops
from benchmarks.report import parse_value, print_table
from Input.audio.cache import AudioCache
from Input.datasets.musdb import build_musdb_dataset
from Input.datasets.unpaired import scan_folders
from Input.excerpts import paired_waves, unpaired_waves
from Input.synth.generate import generate_dataset, generate_unpaired
from Models.config import ExperimentConfig, resolved_model_config
from Models.nets.shapes import get_shapes
from Models.training.distribute import distribute, get_strategy
from Models.training.features import excerpt_plan, paired_features, unpaired_features
from Models.training.semisupervised import AdversarialTrainer
from Models.training.supervised import SupervisedTrainer
from Utils import setup_logging

PAPER_CONFIG = resolved_model_config(seed=0)  # the paper's model and optimisation: Training.py's defaults
SONGS = 4  # generated 30 s songs per kind (paired training songs; unpaired mixtures, accompaniments, voices)
Step = Callable[[], dict[str, tf.Tensor]]
# Pause before each timed block: the previous block's pipelines refill their buffers and thread pools go idle,
# so that work is not billed to the next block (without it an in-memory step timed right after a real-pipeline
# semi-supervised step came out up to 1.6x slower).
SETTLE_SECONDS = 1.0


def prepare_songs(root: Path, seconds: float = 30.0) -> tuple[list[tuple], list[list]]:
    """Generate (once) the benchmark's songs at 8192 Hz: paired triples and the three unpaired lists."""
    if not (root / "train").is_dir():
        generate_dataset(root, num_train=SONGS, num_test=1, seconds=seconds, seed=11, sr=8192)
        generate_unpaired(root / "unpaired", num_tracks=SONGS, seconds=seconds, seed=12, sr=8192)
    triples = build_musdb_dataset(root, is_wav=True)["train_sup"]  # the MUSDB18-HQ reader (writes accompaniment)
    unpaired = [scan_folders([root / "unpaired" / g]) for g in ("mixtures", "accompaniments", "voices")]
    return triples, unpaired


def build_steps(config: ExperimentConfig, triples: list, unpaired: list, cache: AudioCache,
                in_memory_only: bool = False) -> dict[str, Step]:
    """Supervised and semi-supervised steps on the real pipelines and on one in-memory batch."""
    spec, train = config.spec, config.train
    strategy = get_strategy(train.strategy)
    batch = train.batch_size
    features = (paired_features(spec), unpaired_features(spec))

    plan, workers = excerpt_plan(spec), config.data.num_workers

    def paired(b: int, seed: tuple, skip: int = 0) -> tf.data.Dataset:
        return paired_waves(triples, plan, cache, batch_size=b, seed=seed, num_workers=workers, skip=skip)

    def unpaired_ds(b: int, seed: tuple, skip: int = 0) -> tf.data.Dataset:
        return unpaired_waves(unpaired, plan, cache, batch_size=b, seed=seed, num_workers=workers, skip=skip)

    fixed_p = tf.data.Dataset.from_tensors(next(iter(paired(batch, (1,))))).repeat()
    fixed_u = tf.data.Dataset.from_tensors(next(iter(unpaired_ds(batch, (2,))))).repeat()
    supervised = SupervisedTrainer(spec, train, strategy)
    trainer = AdversarialTrainer(spec, train, strategy=strategy)
    steps = {"sup_mem": supervised.make_step(fixed_p, features[0], batch),
             "semi_mem": trainer.make_step(fixed_p, fixed_u, features, batch)}
    if not in_memory_only:
        steps["sup_pipe"] = supervised.make_step(distribute(strategy, paired, batch, (3,)), features[0], batch)
        steps["semi_pipe"] = trainer.make_step(distribute(strategy, paired, batch, (4,)),
                                               distribute(strategy, unpaired_ds, batch, (5,)), features, batch)
    return steps


def count_flops(config: ExperimentConfig, batch: int = 2) -> dict[str, float]:
    """Float operations per example of the training computations at ``config``, counted by
    :func:`benchmarks.flops.graph_flops` on their graphs traced for ``batch``-example inputs (the counts are
    linear in the batch: batch 2 and 4 agree to 0.02%).

    Keys: ``separator_forward`` and ``critic_forward`` (one inference pass); ``supervised`` (the per-replica
    gradient function of ``SupervisedTrainer.make_step``: separator forward and backward); ``critic_round``
    (``AdversarialTrainer.critic_gradients``: separator forward without gradient, each critic forward and
    backward on real and fake, gradient penalty with its double backprop); ``separator_update``
    (``separator_gradients``: separator forward and backward on the paired and the unpaired batch, critics on
    the estimates); ``semi`` = ``num_disc`` x ``critic_round`` + ``separator_update``. Not counted: the STFT
    features in the step (FFTs, below 0.1%) and the optimiser updates (below 0.1%).
    """
    shapes = get_shapes(config.spec)
    global_batch = config.train.batch_size
    trainer = AdversarialTrainer(config.spec, config.train)
    # The penalty's random draws read a resource variable, which the FLOP counter's frozen graph cannot hold;
    # fixed draws cost the same float operations (none worth counting).
    trainer.penalty_draws = lambda real: {"permutation": tf.range(tf.shape(real)[0]),
                                          "weights": tf.fill(tf.shape(real)[:1], 0.5)}
    supervised = SupervisedTrainer(config.spec, config.train)
    separator, critic = trainer.separator, trainer.critics["voice"]
    mix = tf.TensorSpec([batch, shapes.input_freq, shapes.input_time, 1])
    target = tf.TensorSpec([batch, shapes.output_freq, shapes.output_time, 1])
    real = tf.TensorSpec([batch, shapes.disc_freq, shapes.disc_time, 1])

    functions = {
        "separator_forward": (lambda m: separator(m, training=False), (mix,)),
        "critic_forward": (lambda r: critic(r, training=False), (real,)),
        "supervised": (lambda m, a, v: supervised.gradients(m, a, v, global_batch), (mix, target, target)),
        "critic_round": (lambda m, a, v: trainer.critic_gradients(m, a, v, global_batch), (mix, real, real)),
        "separator_update": (lambda m, a, v, u: trainer.separator_gradients((m, a, v), u, global_batch),
                             (mix, target, target, mix)),
    }
    counts = {name: graph_flops(tf.function(fn).get_concrete_function(*specs)) / batch
              for name, (fn, specs) in functions.items()}
    counts["semi"] = trainer.num_disc * counts["critic_round"] + counts["separator_update"]
    return counts


def time_step(step: Step, count: int) -> float:
    """Seconds per call of ``step`` over ``count`` calls (waits for the last result)."""
    start = time.perf_counter()
    for _ in range(count):
        logs = step()
    float(logs["loss"])
    return (time.perf_counter() - start) / count


def _main(argv: list[str] | None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (medians are taken over them)")
    parser.add_argument("--steps", type=int, default=2, help="supervised steps per block (semi-supervised: 1)")
    parser.add_argument("--workdir", default=None, help="folder for the songs and the cache (temp dir)")
    parser.add_argument("--compare", default=None, help="KEY=VALUE config change to time against the baseline")
    parser.add_argument("--set", action="append", default=[], help="KEY=VALUE change of the benchmark config")
    args = parser.parse_args(argv)
    setup_logging(logging.WARNING)
    settings = dict(PAPER_CONFIG)
    for item in args.set:
        key, value = item.split("=", 1)
        settings[key] = parse_value(value)
    config = ExperimentConfig.from_dict(settings)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="training_bench_"))
    triples, unpaired = prepare_songs(work / "songs")
    cache = AudioCache(work / "cache", config.spec.expected_sr, True, config.data.cache_dtype)
    load_before = os.getloadavg()
    steps = build_steps(config, triples, unpaired, cache)
    if args.compare:
        key, value = args.compare.split("=", 1)
        variant = ExperimentConfig.from_dict(dict(settings, **{key: parse_value(value)}))
        steps.update({f"{name}_variant": step for name, step in
                      build_steps(variant, triples, unpaired, cache, in_memory_only=True).items()})
    for step in steps.values():  # warm-up: tracing, compilation, first pipeline fill
        time_step(step, 2)
    # Each round times every block once; ratios are taken within a round, so a load change between rounds
    # cancels; figures are medians over rounds.
    order = [n for n in ("sup_pipe", "sup_mem", "sup_mem_variant", "semi_pipe", "semi_mem", "semi_mem_variant")
             if n in steps]
    times: dict[str, list[float]] = {name: [] for name in order}
    for _ in range(args.rounds):
        for name in order:
            time.sleep(SETTLE_SECONDS)
            times[name].append(time_step(steps[name], args.steps if name.startswith("sup") else 1))

    def med(name: str) -> float:
        return statistics.median(times[name])

    def ratio(num: str, den: str) -> float:
        return statistics.median(a / b for a, b in zip(times[num], times[den], strict=True))

    batch = config.train.batch_size
    flops = {name: count / 1e9 for name, count in count_flops(config).items()}  # GFLOP per example
    sup, semi = flops["supervised"], flops["semi"]
    rows = [
        ("supervised step, real pipeline", f"{med('sup_pipe') * 1e3:.0f} ms"),
        ("supervised steps/s", f"{1 / med('sup_pipe'):.3f}"),
        ("supervised examples/s", f"{batch / med('sup_pipe'):.1f}"),
        ("supervised step, in-memory batch", f"{med('sup_mem') * 1e3:.0f} ms"),
        ("input-pipeline ratio, supervised", f"{ratio('sup_mem', 'sup_pipe'):.3f}"),
        ("semi-supervised step, real pipeline", f"{med('semi_pipe') * 1e3:.0f} ms"),
        ("semi-supervised steps/s", f"{1 / med('semi_pipe'):.4f}"),
        ("semi-supervised step, in-memory batch", f"{med('semi_mem') * 1e3:.0f} ms"),
        ("input-pipeline ratio, semi-supervised", f"{ratio('semi_mem', 'semi_pipe'):.3f}"),
        ("semi-supervised / supervised step cost", f"{ratio('semi_pipe', 'sup_pipe'):.2f}"),
        ("forward GFLOP per example: separator; critic", f"{flops['separator_forward']:.3f}; "
                                                          f"{flops['critic_forward']:.3f}"),
        ("GFLOP per example: supervised step; semi-supervised step = num_disc x critic round + separator update",
         f"{sup:.2f}; {semi:.2f} = {config.train.num_disc} x {flops['critic_round']:.2f} + "
         f"{flops['separator_update']:.2f}"),
        ("semi-supervised / supervised FLOPs per step (counted)", f"{semi * batch:.4g} / {sup * batch:.4g} GFLOP"),
        ("semi / sup FLOP ratio (compare the step cost above)", f"{semi / sup:.2f}"),
        ("achieved GFLOP/s, supervised / semi-supervised (real pipeline)",
         f"{sup * batch / med('sup_pipe'):.1f} / {semi * batch / med('semi_pipe'):.1f}"),
    ]
    if args.compare:
        for name in ("sup_mem", "semi_mem"):
            rows.append((f"{args.compare}: {name} time ratio (variant / baseline)",
                         f"{ratio(f'{name}_variant', name):.2f} ({med(f'{name}_variant') * 1e3:.0f} ms)"))
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, TensorFlow "
          f"{tf.__version__}, devices {[d.name for d in tf.config.list_logical_devices()]}; load average "
          f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after; {args.rounds} rounds")
    print_table(rows)
    print("per-round step times (ms): " + "; ".join(
        f"{name} {' '.join(f'{t * 1e3:.0f}' for t in values)}" for name, values in times.items()))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (``argv`` as ``sys.argv[1:]``); returns the exit status (``benchmarks.cli``)."""
    return run_benchmark("benchmarks.training", lambda: _main(argv))


if __name__ == "__main__":
    raise SystemExit(main())
