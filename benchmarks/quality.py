"""What a listener gets: separation quality at the input's native rate for each way of applying the model, and
what each costs in throughput.

    python -m benchmarks.quality --checkpoint checkpoints/903_sup [--songs datasets/demo/test] [--seconds 180]

The demo test songs (``<songs>/<track>/{mixture,vocals,accompaniment}.wav``, 22050 Hz stereo; generated
as ``Evaluate.py --demo`` does when absent) are separated in memory (``Models.separation.input_rate.separate``) and
scored with museval (BSS Eval v4, SiSEC 2018: 1 s windows, median over the windows, then over the tracks) at
their native rate and channels, so the band above ``expected_sr / 2`` counts. Rows:

* vocals band-limited to ``expected_sr / 2``, soft masks (``--vocals-band model --wiener 0``: the output before
  this benchmark existed, and the default since it measured best here);
* full band with each mask extension (``--vocals-band full --extension average|top``);
* the multichannel Wiener filter with 1 and 2 EM iterations, on the best of those three;
* the IRM oracle at the native rate (ideal ratio masks of an STFT of about the model's window length), the
  upper bound of masking.

Each model row also gives its end-to-end throughput, in x real time, of ``Models.separation.files.separate_file`` (what
``separate.py`` runs) on a generated 3-minute 44.1 kHz stereo song: the median of ``--repeats`` runs, the settings
taking turns in each round. The row marked * has the best vocal SDR.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.cli import run_benchmark
from benchmarks.report import interleaved
from Input.audio.files import load, save
from Input.synth.generate import generate_dataset
from Input.synth.song import generate_song
from Models.api import Separator
from Models.config import ModelSpec
from Models.evaluation.metrics import aggregate, irm_estimates, museval_scores
from Models.separation.files import separate_file
from Models.separation.input_rate import separate
from Models.separation.options import PRECISION_CHOICES, SeparationOptions

SETTINGS: dict[str, dict] = {  # row label -> SeparationOptions fields
    "model band, soft mask (before this benchmark existed)": {"vocals_band": "model", "wiener": 0},
    "full band, average": {"vocals_band": "full", "extension": "average", "wiener": 0},
    "full band, top": {"vocals_band": "full", "extension": "top", "wiener": 0},
}
DEMO_SEED = 1337  # Training.py's default seed: the demo songs of `python Training.py with demo`


def test_songs(folder: Path, count: int) -> list[dict[str, np.ndarray | int]]:
    """Up to ``count`` songs of ``folder`` as ``{"mixture", "voice", "accompaniment": [channels, n], "sr": Hz}``."""
    if not folder.is_dir():
        generate_dataset(folder.parent, num_train=0, num_test=6, seconds=30.0, seed=DEMO_SEED)
    songs = []
    for track in sorted(p for p in folder.iterdir() if p.is_dir())[:count]:
        (mix, sr), (voice, _), (acc, _) = (load(track / f"{part}.wav") for part in
                                           ("mixture", "vocals", "accompaniment"))
        n = min(mix.shape[1], voice.shape[1], acc.shape[1])
        songs.append({"mixture": mix[:, :n], "voice": voice[:, :n], "accompaniment": acc[:, :n], "sr": sr})
    if not songs:
        raise SystemExit(f"error: {folder}: no test songs (folders with mixture.wav, vocals.wav, accompaniment.wav)")
    return songs


def score(songs: list[dict], estimate: Callable[[dict], dict[str, np.ndarray]]) -> dict[str, float]:
    """Median over tracks of museval's median SDR per track: ``{"voice", "accompaniment": dB}``."""
    per_track = []
    for song in songs:
        refs = {"voice": song["voice"], "accompaniment": song["accompaniment"]}
        per_track.append(museval_scores(refs, estimate(song), song["sr"]))
    medians = aggregate(per_track)["median"]
    return {source: medians[source]["SDR"] for source in ("voice", "accompaniment")}


def oracle(song: dict, spec: ModelSpec) -> dict[str, np.ndarray]:
    """IRM estimates at the song's rate, with an STFT of about the model's window duration (a power of two)."""
    num_fft = 2 ** round(np.log2(spec.num_fft * song["sr"] / spec.expected_sr))
    return irm_estimates(song["mixture"], {s: song[s] for s in ("voice", "accompaniment")}, num_fft, num_fft // 2)


def measure(args: argparse.Namespace, work: Path) -> list[tuple[str, float, float, float]]:
    """Rows ``(setting, vocal SDR, accompaniment SDR, x real time)``; NaN throughput for the oracle."""
    separator = Separator.load(args.checkpoint, args.precision)
    model, spec = separator.model, separator.spec
    songs = test_songs(Path(args.songs), args.tracks)
    settings = dict(SETTINGS)

    def model_row(options: dict) -> dict[str, float]:
        return score(songs, lambda s: _rename(separate(s["mixture"], s["sr"], model, spec,
                                                      SeparationOptions(**options))))

    sdr = {}
    for label, options in settings.items():
        sdr[label] = model_row(options)
        print(f"{label}: {sdr[label]}", file=sys.stderr)
    best = max(SETTINGS, key=lambda label: sdr[label]["voice"])  # the Wiener filter on the best of those
    for iterations in (1, 2):
        label = f"{best.split(' (')[0].split(', soft')[0]}, Wiener {iterations}"
        settings[label] = {**SETTINGS[best], "wiener": iterations}
        sdr[label] = model_row(settings[label])
        print(f"{label}: {sdr[label]}", file=sys.stderr)

    song = work / "song.wav"
    save(song, generate_song(0, args.seconds, 44100)["mixture"], 44100)
    outputs = {"vocals": work / "vocals.wav", "accompaniment": work / "accompaniment.wav"}
    times = interleaved({label: (lambda o=options: separate_file(song, outputs, model, spec, SeparationOptions(**o)))
                         for label, options in settings.items()}, args.repeats)
    rows = [(label, sdr[label]["voice"], sdr[label]["accompaniment"], args.seconds / times[label])
            for label in settings]
    irm = score(songs, lambda s: oracle(s, spec))
    return [*rows, ("IRM oracle at the native rate (upper bound)", irm["voice"], irm["accompaniment"], np.nan)]


def _rename(estimates: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"voice": estimates["vocals"], "accompaniment": estimates["accompaniment"]}


def _main(argv: list[str] | None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="checkpoint prefix or run folder (e.g. a demo run)")
    parser.add_argument("--songs", default="datasets/demo/test", help="folder of test songs (default: demo)")
    parser.add_argument("--tracks", type=int, default=6, help="songs scored (default: 6)")
    parser.add_argument("--seconds", type=float, default=180.0, help="length of the throughput song, s")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per setting (median)")
    parser.add_argument("--precision", default="float32", choices=PRECISION_CHOICES,
                        help="model precision (default: float32)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="quality_bench_") as work:
        rows = measure(args, Path(work))
    best = max(rows[:-1], key=lambda r: r[1])[0]
    print(f"museval SDR, median over frames then tracks, at the songs' native rate; load {os.getloadavg()[0]:.1f}")
    print("| setting | vocals SDR dB | accompaniment SDR dB | x real time (3 min 44.1 kHz stereo) |")
    print("|---|---|---|---|")
    for label, voice, acc, speed in rows:
        mark = " *" if label == best else ""
        print(f"| {label}{mark} | {voice:.2f} | {acc:.2f} | {'-' if np.isnan(speed) else f'{speed:.1f}'} |")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (``argv`` as ``sys.argv[1:]``); returns the exit status (``benchmarks.cli``)."""
    return run_benchmark("benchmarks.quality", lambda: _main(argv))


if __name__ == "__main__":
    raise SystemExit(main())
