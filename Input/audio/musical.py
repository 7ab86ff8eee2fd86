"""A song's tempo and key, estimated from its audio with librosa (the web app shows them beside each track).

* Tempo: librosa's onset-strength tempo estimate (its beat tracker's tempo prior, centred on 120 BPM), in beats
  per minute.
* Key: the mean constant-Q chroma of the audio, correlated with the Krumhansl-Kessler major and minor key
  profiles in all 12 transpositions; the best of the 24 is the key. No harmonic/percussive separation first:
  librosa's HPSS took 92 % of the key's estimate (120 s of audio: 4.27 s with it,
  0.33 s without, on this 2-core box) and changed no estimate, neither on
  the 40 generated songs of ``benchmarks.musical`` nor on the MUSDB18 excerpt that stempeg ships (Ab minor with
  and without it); the constant-Q chroma averages the drums' broadband noise over all 12 classes.

``benchmarks.musical`` measures both on generated songs whose tempo and key are known, from the mixture and from
the accompaniment. The mixture did better for both (40 songs: tempo 98 % vs 95 %, key 72 % vs 55 %: the sung
melody stays in the key and adds to its evidence), so the web app analyses the uploaded mix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from Input.audio.files import load, resample

PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Krumhansl & Kessler (1982) probe-tone ratings, from the tonic up.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
ANALYSIS_RATE = 22050  # Hz: the audio is resampled to this rate first
MAX_SECONDS = 120.0  # the first two minutes are enough for both estimates (and bound the cost of long songs)


@dataclass(frozen=True)
class Key:
    tonic: int  # pitch class, 0 = C
    mode: str  # "major" | "minor"

    def __str__(self) -> str:
        return f"{PITCH_CLASSES[self.tonic]} {self.mode}"


def _mono(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """``[channels, samples]`` (or ``[samples]``) float at ``sample_rate`` Hz -> mono float32 at
    :data:`ANALYSIS_RATE`, at most :data:`MAX_SECONDS` long."""
    mono = np.asarray(audio, np.float32)
    mono = mono.mean(axis=0) if mono.ndim == 2 else mono
    mono = mono[: int(MAX_SECONDS * sample_rate)]
    return resample(mono, sample_rate, ANALYSIS_RATE) if sample_rate != ANALYSIS_RATE else mono


def estimate_tempo(audio: np.ndarray, sample_rate: int) -> float:
    """The tempo of ``audio`` (``[channels, samples]``, any rate, Hz) in beats per minute (0.0 for silence)."""
    import librosa

    mono = _mono(audio, sample_rate)
    onsets = librosa.onset.onset_strength(y=mono, sr=ANALYSIS_RATE)
    if not np.any(onsets > 0):
        return 0.0
    return float(librosa.feature.tempo(onset_envelope=onsets, sr=ANALYSIS_RATE, aggregate=np.median)[0])


def estimate_key(audio: np.ndarray, sample_rate: int) -> Key | None:
    """The key of ``audio`` (``[channels, samples]``, any rate, Hz), or None when it has no pitched content."""
    import librosa

    chroma = librosa.feature.chroma_cqt(y=_mono(audio, sample_rate), sr=ANALYSIS_RATE).mean(axis=1)  # [12], C first
    if not np.isfinite(chroma).all() or chroma.std() < 1e-6:
        return None
    scores = [(float(np.corrcoef(np.roll(profile, tonic), chroma)[0, 1]), tonic, mode)
              for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)) for tonic in range(12)]
    _, tonic, mode = max(scores)
    return Key(tonic, mode)


def analyse_file(path: str | os.PathLike) -> tuple[float, Key | None]:
    """(tempo in BPM, key) of an audio file, from its first :data:`MAX_SECONDS`.

    Raises:
        AudioError: the file cannot be read.
    """
    audio, _ = load(path, sr=ANALYSIS_RATE, mono=True, duration=MAX_SECONDS)
    return estimate_tempo(audio, ANALYSIS_RATE), estimate_key(audio, ANALYSIS_RATE)
