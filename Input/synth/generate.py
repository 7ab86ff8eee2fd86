"""Synthetic multitrack songs (sung-like vocals, drums, bass, chords) in MUSDB18-HQ layout.

Each song has its own key, mode, tempo, chord progression, timbres and stem levels. The vocal is a
harmonic source whose pitch follows a phrased melody in the song's key with portamento and vibrato, shaped
by per-syllable vowel formants and amplitude envelopes, with consonant noise bursts and rests. The chords
are voiced in 196-1000 Hz, so voice and accompaniment overlap in frequency. Stems are scaled jointly with
headroom before summing, so ``mixture == vocals + drums + bass + other`` exactly (stored as float wav).

    python -m Input.synth.generate --out datasets/synthetic --tracks 20 --seconds 30 --seed 0
"""
from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from Input.audio.files import save
from Input.synth.song import generate_song

logger = logging.getLogger(__name__)

STEMS = ("vocals", "drums", "bass", "other")
UNPAIRED_GROUPS = ("mixtures", "voices", "accompaniments")
_STREAMS = {"supervised": 0, "mixtures": 1, "voices": 2, "accompaniments": 3}


def ensure_demo_data(root: Path, seed: int) -> None:
    """Generate the demo songs into ``root`` unless they are there: 24 supervised and 6 test songs of 30 s
    (``root/train``, ``root/test``, :func:`generate_dataset` with ``seed``) and 18 unpaired ones
    (``root/unpaired``, :func:`generate_unpaired` with ``seed + 1``)."""
    root = Path(root)
    if not (root / "train").is_dir():
        logger.info("generating demo songs into %s", root)
        generate_dataset(root, num_train=24, num_test=6, seconds=30.0, seed=seed)
    if not (root / "unpaired").is_dir():
        logger.info("generating unpaired demo songs into %s", root / "unpaired")
        generate_unpaired(root / "unpaired", num_tracks=18, seconds=30.0, seed=seed + 1)


def _song_seed(seed: int, stream: str, index: int) -> int:
    """Independent seed of song ``index`` in a named stream (supervised, mixtures, voices, ...)."""
    return int(np.random.SeedSequence([seed, _STREAMS[stream], index]).generate_state(1, np.uint64)[0])


Job = tuple[int, float, int, tuple[tuple[str, str], ...], str]  # (seed, seconds, sr, ((part, path), ...), domain)


def _write_job(job: Job) -> list[str]:
    """Synthesise one song and write the requested parts."""
    seed, seconds, sr, outputs, domain = job
    song = generate_song(seed, seconds, sr, domain)
    song["accompaniment"] = song["drums"] + song["bass"] + song["other"]
    for part, path in outputs:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        save(path, song[part], sr, subtype="FLOAT")
    return [path for _, path in outputs]


def _run_jobs(jobs: list[Job], workers: int | None) -> None:
    """Run jobs serially or in a spawn-context process pool (safe even if TensorFlow is loaded)."""
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = max(1, min(workers, len(jobs)))
    if workers == 1:
        for job in jobs:
            _write_job(job)
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_write_job, jobs))


def _check_args(seconds: float, seed: int, sr: int, **counts: int) -> None:
    if seconds < 1.0 or sr < 8000 or seed < 0 or any(c < 0 for c in counts.values()):
        raise ValueError(f"need seconds >= 1, sr >= 8000, seed >= 0 and non-negative counts, got "
                         f"seconds={seconds}, sr={sr}, seed={seed}, {counts}")


def _unpaired_jobs(out_dir: Path, num_tracks: int, seconds: float, seed: int, sr: int, domain: str) -> list[Job]:
    parts = {"mixtures": ("mixture", "mix"), "voices": ("vocals", "voice"),
             "accompaniments": ("accompaniment", "acc")}
    return [(_song_seed(seed, group, i), seconds, sr, ((part, str(out_dir / group / f"{prefix}_{i:03d}.wav")),),
             domain) for group, (part, prefix) in parts.items() for i in range(num_tracks)]


def generate_unpaired(out_dir: str | Path, num_tracks: int, seconds: float, seed: int, sr: int = 22050,
                      workers: int | None = None, domain: str = "default") -> dict[str, list[Path]]:
    """Write unpaired data: ``num_tracks`` stereo float wavs in each of ``out_dir/mixtures`` (full mix),
    ``out_dir/voices`` (vocals only) and ``out_dir/accompaniments`` (drums + bass + other only).

    Every file comes from a different song: each group has its own seed stream, disjoint from the
    supervised songs of :func:`generate_dataset` with the same ``seed``. ``domain``: a key of
    ``Input.synth.song.DOMAINS``.

    Returns:
        ``{"mixtures": [...], "voices": [...], "accompaniments": [...]}`` -> sorted file paths.
    """
    _check_args(seconds, seed, sr, num_tracks=num_tracks)
    out_dir = Path(out_dir)
    start = time.perf_counter()
    _run_jobs(_unpaired_jobs(out_dir, num_tracks, seconds, seed, sr, domain), workers)
    logger.info("wrote %d unpaired songs per group to %s in %.1f s", num_tracks, out_dir,
                time.perf_counter() - start)
    return {group: sorted((out_dir / group).glob("*.wav")) for group in UNPAIRED_GROUPS}


def generate_dataset(out_dir: str | Path, num_train: int, num_test: int, seconds: float, seed: int,
                     sr: int = 22050, extra: dict | None = None, workers: int | None = None,
                     domain: str = "default") -> list[Path]:
    """Write a MUSDB18-HQ-layout dataset readable by ``musdb.DB(root=out_dir, is_wav=True)``.

    Layout: ``out_dir/{train,test}/synthetic_NNN/{mixture,vocals,drums,bass,other}.wav``, stereo 32-bit
    float wav at ``sr`` Hz, ``seconds`` long; the mixture is exactly the sum of the four stems.

    Args:
        out_dir: dataset root. num_train, num_test: tracks per subset. seconds: track length in s.
        seed: dataset seed (>= 0); track i uses an independent seed derived from (seed, i).
        sr: sample rate in Hz.
        extra: optional unpaired data written in the same process pool:
            ``{"unpaired_dir": path, "unpaired_tracks": int}`` (see :func:`generate_unpaired`).
        workers: processes (default: available cores; 1 = serial).
        domain: a key of ``Input.synth.song.DOMAINS`` (all songs, unpaired ones included).

    Returns:
        Track folders, train first then test, each sorted by name.
    """
    extra = dict(extra or {})
    unknown = set(extra) - {"unpaired_dir", "unpaired_tracks"}
    if unknown or ("unpaired_dir" in extra) != ("unpaired_tracks" in extra):
        raise ValueError(f"extra needs both 'unpaired_dir' and 'unpaired_tracks' and nothing else, got {extra}")
    num_unpaired = int(extra.get("unpaired_tracks", 0))
    _check_args(seconds, seed, sr, num_train=num_train, num_test=num_test, unpaired_tracks=num_unpaired)
    out_dir = Path(out_dir)
    folders, jobs = [], []
    for i in range(num_train + num_test):
        folder = out_dir / ("train" if i < num_train else "test") / f"synthetic_{i:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        folders.append(folder)
        outputs = tuple((name, str(folder / f"{name}.wav")) for name in ("mixture",) + STEMS)
        jobs.append((_song_seed(seed, "supervised", i), seconds, sr, outputs, domain))
    for subset in ("train", "test"):
        (out_dir / subset).mkdir(parents=True, exist_ok=True)
    if num_unpaired:
        jobs += _unpaired_jobs(Path(extra["unpaired_dir"]), num_unpaired, seconds, seed, sr, domain)
    start = time.perf_counter()
    _run_jobs(jobs, workers)
    logger.info("wrote %d train + %d test tracks (%g s at %d Hz) and %d unpaired songs per group to %s "
                "in %.1f s", num_train, num_test, seconds, sr, num_unpaired, out_dir,
                time.perf_counter() - start)
    return folders


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point; see ``python -m Input.synth.generate --help``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="dataset root folder to write")
    parser.add_argument("--tracks", type=int, default=20, help="number of supervised tracks (train + test)")
    parser.add_argument("--test-tracks", type=int, default=None,
                        help="how many of --tracks go to test/ (default: round(20%%), at least 1 if tracks > 1)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each track in seconds")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (same seed = identical files)")
    parser.add_argument("--sr", type=int, default=22050, help="sample rate in Hz")
    parser.add_argument("--unpaired-tracks", type=int, default=0,
                        help="also write this many unpaired songs per group (mixtures/voices/accompaniments)")
    parser.add_argument("--unpaired-out", type=Path, default=None,
                        help="folder for the unpaired groups (default: OUT/unpaired)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    args = parser.parse_args(argv)
    test = args.test_tracks if args.test_tracks is not None else (
        max(1, round(0.2 * args.tracks)) if args.tracks > 1 else 0)
    if not 0 <= test <= args.tracks:
        parser.error(f"--test-tracks must be in [0, --tracks={args.tracks}], got {test}")
    extra = None
    if args.unpaired_tracks:
        extra = {"unpaired_dir": args.unpaired_out or args.out / "unpaired", "unpaired_tracks": args.unpaired_tracks}
    start = time.perf_counter()
    try:
        generate_dataset(args.out, args.tracks - test, test, args.seconds, args.seed, args.sr, extra, args.workers)
    except ValueError as e:
        parser.error(str(e))
    print(f"wrote {args.tracks - test} train + {test} test tracks of {args.seconds:g} s at {args.sr} Hz"
          + (f" and {args.unpaired_tracks} unpaired songs per group" if extra else "")
          + f" to {args.out} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    main()
