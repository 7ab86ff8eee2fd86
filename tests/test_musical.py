"""Tempo and key estimates (Input.audio.musical) on signals whose tempo and key are known, and the benchmark's
verdicts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks.musical import key_verdict, tempo_verdict
from Input.audio.musical import Key, analyse_file, estimate_key, estimate_tempo
from Input.synth.song import generate_song, song_facts

SR = 22050


def clicks(bpm: float, seconds: float = 20.0) -> np.ndarray:
    """``[2, samples]``: a short decaying noise burst on every beat."""
    signal = np.zeros(int(seconds * SR), np.float32)
    burst = np.random.default_rng(0).standard_normal(800) * np.exp(-np.arange(800) / 120)
    for start in (np.arange(0, seconds, 60 / bpm) * SR).astype(int):
        part = signal[start: start + 800]
        part += burst[: len(part)].astype(np.float32)
    return np.stack([signal, signal])


def chords(midi_chords: list[list[int]], seconds_each: float = 1.0) -> np.ndarray:
    """``[1, samples]``: each chord as summed harmonic tones, one after another, repeated 4 times."""
    t = np.arange(int(seconds_each * SR)) / SR
    parts = []
    for chord in midi_chords * 4:
        tone = sum(np.sin(2 * np.pi * 440 * 2 ** ((m - 69) / 12) * h * t) / h for m in chord for h in (1, 2, 3))
        parts.append(tone * np.hanning(t.size))
    return (0.1 * np.concatenate(parts))[None].astype(np.float32)


def test_tempo_of_click_tracks() -> None:
    for bpm in (90.0, 120.0, 136.0):
        assert abs(estimate_tempo(clicks(bpm), SR) / bpm - 1) <= 0.04, bpm
    assert estimate_tempo(np.zeros((2, SR * 5), np.float32), SR) == 0.0


def test_key_of_cadences() -> None:
    c_major = [[60, 64, 67], [65, 69, 72], [67, 71, 74], [60, 64, 67]]  # I IV V I
    a_minor = [[57, 60, 64], [62, 65, 69], [64, 68, 71], [57, 60, 64]]  # i iv V i (harmonic minor's G#)
    assert estimate_key(chords(c_major), SR) == Key(0, "major")
    assert str(estimate_key(chords(a_minor), SR)) == "A minor"
    assert str(estimate_key(chords([[m + 3 for m in c] for c in c_major]), 44100 // 2)) == "Eb major"
    assert estimate_key(np.zeros((1, SR * 3), np.float32), SR) is None


def test_generated_song_facts_and_a_file(tmp_path: Path) -> None:
    facts = song_facts(5)
    song = generate_song(5, 20.0, SR)
    assert 80 <= facts.tempo_bpm <= 140 and facts.mode in ("major", "minor")
    path = tmp_path / "accompaniment.flac"
    sf.write(path, (song["drums"] + song["bass"] + song["other"]).T, SR)
    bpm, key = analyse_file(path)
    assert tempo_verdict(bpm, facts.tempo_bpm) == "right"
    assert key == Key(facts.tonic, facts.mode)


def test_verdicts() -> None:
    assert [tempo_verdict(x, 120) for x in (124, 60.5, 240, 80, 100)] == ["right", "octave", "octave", "octave",
                                                                          "wrong"]
    truth = Key(0, "major")
    assert [key_verdict(k, truth) for k in (Key(0, "major"), Key(9, "minor"), Key(7, "major"), Key(5, "major"),
                                            Key(0, "minor"), Key(2, "major"), None)] == [
        "right", "relative", "fifth", "fifth", "parallel", "wrong", "wrong"]
