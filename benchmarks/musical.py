"""Accuracy of the tempo and key estimates (``Input.audio.musical``) on generated songs whose tempo and key are
known (``Input.synth.song.song_facts``).

    python -m benchmarks.musical [--songs 40] [--seconds 30] [--domain default]

Each song is estimated from its mixture and from its accompaniment (drums + bass + other: what the web app's
worker analyses is the separated accompaniment; the true one here bounds it). Reported per source:

* tempo: the share within 4 % of the true tempo; separately the octave errors (within 4 % of half, double, 2/3
  or 3/2 of it) and the rest;
* key: the share exactly right; separately the relative key (same notes, other mode), a fifth away (same mode)
  and the parallel key (same tonic, other mode), and the rest.
"""

from __future__ import annotations

import argparse
from collections import Counter

from benchmarks.cli import run_benchmark
from benchmarks.report import print_table
from Input.audio.musical import Key, estimate_key, estimate_tempo
from Input.synth.song import DOMAINS, generate_song, song_facts

RATE = 22050


def tempo_verdict(estimate: float, truth: float) -> str:
    """``"right"`` (within 4 %), ``"octave"`` (within 4 % of 1/2, 2, 2/3 or 3/2 of the truth) or ``"wrong"``."""
    if abs(estimate / truth - 1) <= 0.04:
        return "right"
    if any(abs(estimate / (truth * factor) - 1) <= 0.04 for factor in (0.5, 2.0, 2 / 3, 1.5)):
        return "octave"
    return "wrong"


def key_verdict(estimate: Key | None, truth: Key) -> str:
    """``"right"``, ``"relative"``, ``"fifth"``, ``"parallel"`` or ``"wrong"``."""
    if estimate is None:
        return "wrong"
    if estimate == truth:
        return "right"
    if estimate.mode != truth.mode:
        relative = (truth.tonic + (9 if truth.mode == "major" else 3)) % 12  # C major <-> A minor
        if estimate.tonic == relative:
            return "relative"
        return "parallel" if estimate.tonic == truth.tonic else "wrong"
    return "fifth" if (estimate.tonic - truth.tonic) % 12 in (5, 7) else "wrong"


def measure(songs: int, seconds: float, domain: str) -> list[tuple[str, str]]:
    counts = {source: (Counter(), Counter()) for source in ("mixture", "accompaniment")}
    for seed in range(songs):
        facts = song_facts(seed, domain)
        truth = Key(facts.tonic, facts.mode)
        song = generate_song(seed, seconds, RATE, domain)
        audio = {"mixture": song["mixture"], "accompaniment": song["drums"] + song["bass"] + song["other"]}
        for source, signal in audio.items():
            tempos, keys = counts[source]
            tempos[tempo_verdict(estimate_tempo(signal, RATE), facts.tempo_bpm)] += 1
            keys[key_verdict(estimate_key(signal, RATE), truth)] += 1
    rows = [("songs", f"{songs} x {seconds:g} s, domain {domain!r} (tempo {DOMAINS[domain].tempo_bpm[0]:g}-"
                      f"{DOMAINS[domain].tempo_bpm[1]:g} BPM, 60 % major)")]
    for source, (tempos, keys) in counts.items():
        rows.append((f"{source}: tempo within 4 % / octave errors / other",
                     " / ".join(f"{tempos[v] / songs:.0%}" for v in ("right", "octave", "wrong"))))
        rows.append((f"{source}: key exact / relative / fifth / parallel / other",
                     " / ".join(f"{keys[v] / songs:.0%}" for v in ("right", "relative", "fifth", "parallel", "wrong"))))
    return rows


def _main(argv: list[str] | None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=40, help="generated songs (seeds 0..songs-1)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each song, s")
    parser.add_argument("--domain", choices=sorted(DOMAINS), default="default", help="the songs' style")
    args = parser.parse_args(argv)
    print_table(measure(args.songs, args.seconds, args.domain))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (``argv`` as ``sys.argv[1:]``); returns the exit status (``benchmarks.cli``)."""
    return run_benchmark("benchmarks.musical", lambda: _main(argv))


if __name__ == "__main__":
    raise SystemExit(main())
