"""Synthesis of one multitrack song: a sung-like vocal line over drums, bass and chords.

Each song has its own key, mode, tempo, chord progression, timbres and stem levels. The vocal is a harmonic
source whose pitch follows a phrased melody in the song's key with portamento and vibrato, shaped by per-syllable
vowel formants and amplitude envelopes, with consonant noise bursts and rests. The chords are voiced in
196-1000 Hz, so voice and accompaniment overlap in frequency. ``Input.synth.generate`` writes songs to disk.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
_MINOR = np.array([0, 2, 3, 5, 7, 8, 10])
_PROGRESSIONS = ((0, 4, 5, 3), (0, 5, 3, 4), (5, 3, 0, 4), (0, 3, 4, 3), (0, 3, 0, 4), (0, 6, 5, 4),
                 (0, 2, 3, 4), (0, 5, 1, 4))
# Vowel formant frequencies F1-F4 in Hz (a, e, i, o, u), their relative gains and bandwidths.
_VOWELS = np.array([[800, 1150, 2900, 3900], [450, 1900, 2600, 3500], [300, 2300, 3000, 3700],
                    [480, 850, 2800, 3500], [330, 750, 2700, 3600]], dtype=np.float64)
_FORMANT_GAIN = np.array([1.0, 0.55, 0.2, 0.1])
_FORMANT_BW = np.array([90.0, 110.0, 160.0, 200.0])
_HOP = 64  # control-rate hop of the vocal synthesiser, samples
_BASS_PATTERNS = (((0, 2, 0), (2, 2, 0), (4, 2, 0), (6, 2, 0)),
                  ((0, 3, 0), (3, 1, 0), (4, 2, 7), (6, 2, 12)),
                  ((0, 1, 0), (1, 1, 0), (2, 1, 12), (3, 1, 0), (4, 1, 0), (5, 1, 7), (6, 1, 0), (7, 1, 0)),
                  ((0, 4, 0), (4, 3, 0), (7, 1, 7)),
                  ((0, 3, 0), (3, 3, 0), (6, 2, 7)))
_COMP_PATTERNS = (((0, 8),), ((0, 2), (2, 2), (4, 2), (6, 2)), ((0, 3), (3, 3), (6, 2)),
                  ((0, 1), (2, 1), (3, 2), (5, 1), (6, 2)))  # (onset, length) in eighths within a bar
_KICKS = ((0, 8), (0, 6, 8), (0, 7, 10), (0, 3, 8, 11), (0, 8, 10))  # sixteenth steps within a bar


@dataclass(frozen=True)
class SongDomain:
    """The ranges a song's random choices are drawn from. Songs of two domains differ like two data sets do
    (tempo, key, vocal register and timbre); ``benchmarks.semisupervised`` tests across them."""

    tempo_bpm: tuple[float, float] = (80.0, 140.0)  # tempo, beats per minute
    transpose: int = 0  # semitones added to the song's key (melody, bass and chords)
    vocal_centre: tuple[float, float] = (50.0, 69.0)  # MIDI pitch the melody centres on
    formant_scale: float = 1.0  # vowel formant frequencies scaled by this (vocal timbre)


# "default": the demo songs. "shifted": faster songs, a higher, brighter (smaller vocal tract) voice, other keys.
DOMAINS: dict[str, SongDomain] = {
    "default": SongDomain(),
    "shifted": SongDomain(tempo_bpm=(150.0, 190.0), transpose=5, vocal_centre=(66.0, 78.0), formant_scale=1.25),
}


def _hz(midi: np.ndarray | float) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def _pan(x: np.ndarray, pan: float) -> np.ndarray:
    """Constant-power pan of mono ``x`` [samples] to stereo [2, samples]; ``pan`` in [-1, 1]."""
    angle = (pan + 1.0) * math.pi / 4.0
    return np.stack([math.cos(angle) * x, math.sin(angle) * x])


def _one_pole(x: np.ndarray, tau_frames: float) -> np.ndarray:
    """One-pole low-pass along axis 0, started at ``x[0]`` (no fade-in)."""
    a = math.exp(-1.0 / max(tau_frames, 1e-6))
    zi = a * np.asarray(x[:1], dtype=np.float64)
    return signal.lfilter([1.0 - a], [1.0, -a], x, axis=0, zi=zi)[0]


def _band_noise(rng: np.random.Generator, n: int, sr: int, low: float, high: float | None) -> np.ndarray:
    """Unit-RMS Gaussian noise [n] band-passed to ``low``-``high`` Hz (high-passed if ``high`` is None)."""
    nyq = sr / 2.0
    low = min(low, 0.6 * nyq)
    if high is None or high >= 0.95 * nyq:
        sos = signal.butter(4, low, btype="highpass", fs=sr, output="sos")
    else:
        sos = signal.butter(4, [low, high], btype="bandpass", fs=sr, output="sos")
    x = signal.sosfilt(sos, rng.standard_normal(n))
    return x / max(float(np.sqrt(np.mean(x ** 2))), 1e-12)


@functools.lru_cache(maxsize=128)  # progressions repeat, so most notes recur; results are read-only
def _note(freq: float, dur: float, sr: int, amps: tuple[float, ...], attack: float, decay: float,
          release: float, damp: float = 0.0, inharm: float = 0.0) -> np.ndarray:
    """Additive note [int(dur * sr)]: partial k has amplitude ``amps[k-1]`` and decays with time constant
    ``decay / (1 + damp * (k - 1))`` seconds; ``inharm`` stretches partials like a stiff string."""
    amps = np.asarray(amps)
    t = np.arange(int(dur * sr)) / sr
    k = np.arange(1, len(amps) + 1)
    fk = freq * k * np.sqrt(1.0 + inharm * k ** 2)
    keep = fk < 0.45 * sr
    decays = decay / (1.0 + damp * (k[keep] - 1))
    parts = amps[keep, None] * np.exp(-t / decays[:, None]) * np.sin(2 * np.pi * fk[keep, None] * t)
    env = np.minimum(1.0, t / attack) * np.clip((dur - t) / release, 0.0, 1.0)
    note = parts.sum(axis=0) * env
    note.flags.writeable = False
    return note


def _add(buf: np.ndarray, x: np.ndarray, start: int) -> None:
    """Add ``x`` [..., len] into ``buf`` [..., n] at sample ``start``, cropping at the end."""
    end = min(buf.shape[-1], start + x.shape[-1])
    if end > start >= 0:
        buf[..., start:end] += x[..., : end - start]


def _reverb(rng: np.random.Generator, x: np.ndarray, sr: int, rt60: float, wet: float) -> np.ndarray:
    """Stereo decorrelated noise reverb of ``x`` [2, n] (``rt60`` seconds, ``wet`` 0-1 mix)."""
    length = int(min(rt60, 1.5) * sr)
    t = np.arange(length) / sr
    ir = rng.standard_normal((2, length)) * np.exp(-6.9 * t / rt60)
    ir = signal.sosfilt(signal.butter(2, min(5000.0, 0.4 * sr), fs=sr, output="sos"), ir, axis=1)
    ir[:, : int(0.01 * sr)] = 0.0
    ir /= np.sqrt(np.sum(ir ** 2, axis=1, keepdims=True))
    return (1.0 - wet) * x + wet * signal.fftconvolve(x, ir, axes=1)[:, : x.shape[1]]


def _melody(rng: np.random.Generator, seconds: float, eighth: float, chords: list[int],
            key: int, scale: np.ndarray, centre_range: tuple[float, float]) -> list[tuple[float, float, float]]:
    """Phrased melody as (onset s, duration s, MIDI pitch) notes around a MIDI pitch drawn from
    ``centre_range``; chords[b] is bar b's chord degree."""
    total = int(seconds / eighth)
    steps = np.arange(140)
    midis = key + 12 * (steps // 7) + scale[steps % 7]
    centre = int(np.argmin(np.abs(midis - rng.uniform(*centre_range))))
    pos = min(int(rng.choice([0, 4, 8, 16])), total // 4)
    step, notes = centre, []
    while pos < total:
        phrase_end = min(total, pos + int(rng.choice([6, 8, 12, 16])))
        while pos < phrase_end:
            dur = min(int(rng.choice([1, 1, 2, 2, 3, 4])), phrase_end - pos)
            step = int(np.clip(step + rng.choice([-3, -2, -1, -1, 0, 1, 1, 2, 3, 4]), centre - 5, centre + 6))
            if pos % 4 == 0 and rng.random() < 0.7:  # strong beat: move to the nearest chord tone
                tones = {(chords[(pos // 8) % len(chords)] + i) % 7 for i in (0, 2, 4)}
                step += min((d for d in (0, -1, 1, -2, 2, -3, 3) if (step + d) % 7 in tones), key=abs)
            notes.append((pos * eighth, dur * eighth * rng.uniform(0.8, 1.0), float(midis[step])))
            pos += dur + int(rng.random() < 0.1)
        pos += int(rng.choice([2, 3, 4, 6, 8]))
    return notes


def _vocals(rng: np.random.Generator, notes: list[tuple[float, float, float]], n: int, sr: int,
            formant_scale: float = 1.0) -> np.ndarray:
    """Sung-like vocal [2, n]: formant-shaped harmonic voice (formants scaled by ``formant_scale``), vibrato,
    glides, consonants and rests."""
    nf = n // _HOP + 2
    ft = np.arange(nf) * _HOP / sr
    target, since = np.full(nf, np.nan), np.zeros(nf)
    env, vowel = np.zeros(nf), np.zeros(nf, dtype=np.int64)
    cons = [np.zeros(n) for _ in range(3)]  # envelopes of "s", "sh" and plosive bursts
    p_cons = rng.uniform(0.4, 0.8)
    for on, dur, midi in notes:
        a, b = int(on * sr / _HOP), min(nf, int((on + dur) * sr / _HOP))
        t = ft[a:b] - on
        target[a:b], since[a:b], vowel[a:b] = midi, t, rng.integers(len(_VOWELS))
        shape = np.minimum(1.0, t / rng.uniform(0.02, 0.07)) * np.clip((dur - t) / min(0.08, 0.3 * dur), 0, 1)
        env[a:b] = shape * (1.0 - 0.2 * t / dur) * rng.uniform(0.7, 1.0)
        if rng.random() < p_cons:
            kind, start = int(rng.integers(3)), int(on * sr)
            length = int(sr * (rng.uniform(0.04, 0.09) if kind < 2 else rng.uniform(0.01, 0.02)))
            if kind < 2:  # fricative: ends shortly after the vowel onset
                start = max(0, start - length + int(0.01 * sr))
            _add(cons[kind], np.hanning(length) if kind < 2 else np.exp(-np.arange(length) / (0.004 * sr)),
                 start)
    valid = ~np.isnan(target)
    idx = np.maximum.accumulate(np.where(valid, np.arange(nf), 0))
    idx[: int(np.argmax(valid))] = int(np.argmax(valid))
    midi = _one_pole(target[idx], rng.uniform(0.015, 0.05) * sr / _HOP)  # portamento
    vib_rate, vib_cents = rng.uniform(5.0, 6.5), rng.uniform(20.0, 60.0)
    vib_phase = 2 * np.pi * np.cumsum(vib_rate * (1 + 0.05 * _one_pole(rng.standard_normal(nf), 200))) * _HOP / sr
    vib_env = np.clip((since - rng.uniform(0.1, 0.3)) / 0.25, 0.0, 1.0)
    drift = 0.6 * _one_pole(rng.standard_normal(nf), 0.1 * sr / _HOP)  # slow pitch drift, ~7 cents rms
    f0 = _hz(midi + vib_cents / 100.0 * vib_env * np.sin(vib_phase) + drift)
    # Harmonic amplitudes [frames, K]: glottal roll-off times a smoothly moving vowel formant envelope.
    num_k = int(min(48, 0.45 * sr / f0.min()))
    k = np.arange(1, num_k + 1)
    formants = _one_pole(_VOWELS[vowel] * rng.uniform(0.9, 1.15) * formant_scale, 0.03 * sr / _HOP)  # [frames, 4]
    freqs = f0[:, None] * k[None, :]
    res = _FORMANT_GAIN / np.sqrt(1 + ((freqs[..., None] - formants[:, None, :]) / (_FORMANT_BW / 2)) ** 2)
    amps = (res.sum(axis=-1) + 0.02) * k ** -rng.uniform(0.7, 1.3) * (freqs < 0.45 * sr) * env[:, None]
    amps = amps.astype(np.float32)
    voice = np.zeros(n)
    on_frames = np.flatnonzero(np.diff(np.concatenate([[0], (env > 0).astype(np.int8), [0]])))
    for fa, fb in on_frames.reshape(-1, 2):  # synthesise each voiced segment [fa, fb) of frames
        sa, sb = fa * _HOP, min(n, (fb + 1) * _HOP)
        if sb <= sa:
            continue
        p = np.arange(sa, sb) / _HOP
        i0 = p.astype(np.int64)
        w = (p - i0).astype(np.float32)
        seg_amps = amps[i0].T * (1 - w) + amps[np.minimum(i0 + 1, nf - 1)].T * w
        phase = np.mod(2 * np.pi * np.cumsum(np.interp(p, np.arange(nf), f0)) / sr, 2 * np.pi)
        sines = np.sin(k[:, None].astype(np.float32) * phase.astype(np.float32)[None, :])
        voice[sa:sb] = np.einsum("kl,kl->l", seg_amps, sines)
    voiced = np.repeat(env, _HOP)[:n] > 0.05
    voice /= max(float(np.sqrt(np.mean(voice[voiced] ** 2))) if voiced.any() else 0.0, 1e-9)
    breath = _band_noise(rng, n, sr, 1500.0, 5000.0) * np.repeat(env, _HOP)[:n] * rng.uniform(0.02, 0.08)
    bands = ((4500.0, None), (2000.0, 4500.0), (1000.0, None))
    for c, (lo, hi) in zip(cons, bands, strict=True):
        voice += c * _band_noise(rng, n, sr, lo, hi) * rng.uniform(0.25, 0.5)
    stereo = _pan(voice + breath, rng.uniform(-0.15, 0.15))
    return _reverb(rng, stereo, sr, rng.uniform(0.4, 1.5), rng.uniform(0.05, 0.25))


def _drums(rng: np.random.Generator, n: int, sr: int, beat: float, n_bars: int) -> np.ndarray:
    """Kick (pitch-swept sine), snare (tone + noise) and hi-hats (high-passed noise) on a pattern [2, n]."""
    t = np.arange(int(0.45 * sr)) / sr
    f_lo, f_hi = rng.uniform(42, 60), rng.uniform(90, 170)
    sweep = f_lo + (f_hi - f_lo) * np.exp(-t / rng.uniform(0.02, 0.06))
    kick = np.sin(2 * np.pi * np.cumsum(sweep) / sr) * np.exp(-t / rng.uniform(0.12, 0.3))
    kick += 0.3 * rng.standard_normal(len(t)) * np.exp(-t / 0.003)
    f_sn = rng.uniform(160, 250)
    snare = (np.sin(2 * np.pi * f_sn * t) + 0.5 * np.sin(2 * np.pi * 1.6 * f_sn * t)) * np.exp(-t / 0.05)
    snare = snare * rng.uniform(0.3, 0.7) + _band_noise(rng, len(t), sr, 1200.0, 9000.0) * np.exp(
        -t / rng.uniform(0.06, 0.15)) * 0.5
    hat_noise = _band_noise(rng, len(t), sr, min(7000.0, 0.35 * sr), None)
    hat = hat_noise * np.exp(-t / rng.uniform(0.015, 0.045)) * 0.4
    open_hat = hat_noise * np.exp(-t / rng.uniform(0.12, 0.25)) * 0.3
    steps = np.arange(n_bars * 16)
    pos16, bar = steps % 16, steps // 16
    start_bar = int(rng.random() < 0.4)  # optional hats-only intro bar
    vel = np.zeros((4, len(steps)))
    vel[0] = np.isin(pos16, _KICKS[rng.integers(len(_KICKS))]) * (bar >= start_bar)
    fill = (bar % 4 == 3) & (pos16 >= 13) & (rng.random(len(steps)) < 0.5)
    vel[1] = ((pos16 == 4) | (pos16 == 12) | fill) * (bar >= start_bar)
    vel[1] += (pos16 == 15) * (rng.random(len(steps)) < 0.2) * 0.3  # ghost notes
    hat16 = rng.random() < 0.4
    vel[2] = np.where(pos16 % 4 == 0, 1.0, np.where(pos16 % 2 == 0, 0.75, 0.55 * hat16))
    vel[3] = (pos16 == 14) * (bar % 2 == 1) * (rng.random() < 0.6)
    vel[2] *= vel[3] == 0
    vel *= rng.uniform(0.85, 1.0, vel.shape)
    onsets = np.round((steps * beat / 4 + rng.normal(0, 0.004, len(steps))) * sr).astype(np.int64)
    out = np.zeros((2, n))
    pans = (0.0, rng.uniform(-0.15, 0.15), rng.uniform(-0.4, 0.4))
    for shot, v, pan in zip((kick, snare, hat, open_hat), vel, pans + (pans[2],), strict=True):
        train = np.zeros(n)
        ok = (v > 0) & (onsets >= 0) & (onsets < n)
        np.add.at(train, onsets[ok], v[ok])
        out += _pan(signal.fftconvolve(train, shot)[:n], pan)
    return out


def _bass(rng: np.random.Generator, n: int, sr: int, eighth: float, roots: list[int]) -> np.ndarray:
    """Bass line [2, n] on the chord roots (MIDI 33-44) with a per-song rhythm pattern."""
    pattern = _BASS_PATTERNS[rng.integers(len(_BASS_PATTERNS))]
    amps = tuple(np.arange(1, int(rng.integers(5, 11)) + 1) ** -rng.uniform(1.0, 2.0))
    decay = rng.uniform(0.2, 0.8)
    out = np.zeros(n)
    for b, root in enumerate(roots):
        midi = 33 + (root - 33) % 12
        for on, length, interval in pattern:
            note = _note(float(_hz(midi + interval)), length * eighth * 0.92, sr, amps, 0.005, decay, 0.02)
            _add(out, note, int(((8 * b + on) * eighth + rng.normal(0, 0.003)) * sr))
    return _pan(out, 0.0)


def _chords(rng: np.random.Generator, n: int, sr: int, eighth: float, chords: list[list[int]]) -> np.ndarray:
    """Chords [2, n] voiced in MIDI 55-79 as a pad and/or piano comping, plus an optional arpeggio."""
    out = np.zeros((2, n))
    style = rng.choice(["pad", "piano", "both"])
    low = int(rng.integers(55, 63))
    arp = rng.random() < 0.5
    pattern = _COMP_PATTERNS[rng.integers(len(_COMP_PATTERNS))]
    pad_amps = tuple(np.arange(1, 9) ** -rng.uniform(1.2, 2.2))
    piano_amps = tuple(np.arange(1, 11) ** -rng.uniform(0.8, 1.5))
    arp_amps = tuple(np.arange(1, 7) ** -rng.uniform(0.8, 1.6))
    for b, chord in enumerate(chords):
        voicing = [low + (m - low) % 12 for m in chord]
        start = 8 * b * eighth
        for i, m in enumerate(voicing):
            f = float(_hz(m))
            if style in ("pad", "both"):
                for detune, pan in ((1.0, -0.5 + i * 0.3), (2 ** (7 / 1200), 0.5 - i * 0.3)):
                    note = _note(f * detune, 8 * eighth + 0.15, sr, pad_amps, 0.25, 30.0, 0.3) * 0.35
                    _add(out, _pan(note, pan), int(start * sr))
            if style in ("piano", "both"):
                for on, length in pattern:
                    note = _note(f, length * eighth + 0.1, sr, piano_amps, 0.004, 0.8, 0.08, damp=0.35,
                                 inharm=2e-4)
                    _add(out, _pan(note, -0.3 + 0.2 * i), int((start + on * eighth) * sr))
        if arp:
            for j in range(8):
                m = voicing[j % len(voicing)] + 12 * (j % 4 == 3)
                note = _note(float(_hz(m)), eighth * 0.9, sr, arp_amps, 0.003, 0.25, 0.03) * 0.6
                _add(out, _pan(note, 0.4), int((start + j * eighth) * sr))
    return _reverb(rng, out, sr, rng.uniform(0.6, 2.0), rng.uniform(0.1, 0.3))


@dataclass(frozen=True)
class SongFacts:
    """What a generated song is, musically: its tempo (beats per minute), its key's tonic (pitch class, 0 = C)
    and mode ("major" | "minor")."""

    tempo_bpm: float
    tonic: int
    mode: str


def _facts(rng: np.random.Generator, style: SongDomain) -> tuple[SongFacts, np.ndarray, int]:
    """The song's first random choices (tempo, mode, key: always drawn first, in this order): its facts, its
    scale (semitones above the tonic) and its tonic as a MIDI offset (0-11 plus the domain's transposition)."""
    tempo = float(rng.uniform(*style.tempo_bpm))
    scale = _MAJOR if rng.random() < 0.6 else _MINOR
    key = int(rng.integers(12)) + style.transpose
    return SongFacts(tempo, key % 12, "major" if scale is _MAJOR else "minor"), scale, key


def song_facts(seed: int, domain: str = "default") -> SongFacts:
    """The tempo and key of ``generate_song(seed, ..., domain=domain)`` (any length and rate), without
    synthesising it."""
    return _facts(np.random.default_rng(seed), DOMAINS[domain])[0]


def generate_song(seed: int, seconds: float, sr: int = 22050, domain: str = "default") -> dict[str, np.ndarray]:
    """Synthesise one song.

    Args:
        seed: random seed (non-negative int); the same seed gives bitwise identical audio.
        seconds: duration in seconds (>= 1).
        sr: sample rate in Hz (>= 8000).
        domain: a key of :data:`DOMAINS`, the ranges of the song's random choices.

    Returns:
        ``{"vocals", "drums", "bass", "other", "mixture"}`` -> float32 arrays [2, round(seconds * sr)] in
        [-1, 1]; ``mixture`` is the float32 sum of the four stems, peaking at 0.5-0.9.
    """
    if seconds < 1.0 or sr < 8000:
        raise ValueError(f"need seconds >= 1 and sr >= 8000, got seconds={seconds}, sr={sr}")
    if domain not in DOMAINS:
        raise ValueError(f"domain must be one of {sorted(DOMAINS)}, got {domain!r}")
    style = DOMAINS[domain]
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    facts, scale, key = _facts(rng, style)
    beat = 60.0 / facts.tempo_bpm
    progression = _PROGRESSIONS[rng.integers(len(_PROGRESSIONS))]
    n_bars = int(math.ceil(seconds / (4 * beat))) + 1
    degrees = [progression[b % 4] for b in range(n_bars)]
    seventh = rng.random() < 0.3
    chords = [[int(key + 12 * ((d + i) // 7) + scale[(d + i) % 7]) for i in (0, 2, 4, 6)[: 3 + seventh]]
              for d in degrees]
    stems = {
        "vocals": _vocals(rng, _melody(rng, seconds, beat / 2, degrees, key, scale, style.vocal_centre), n, sr,
                          style.formant_scale),
        "drums": _drums(rng, n, sr, beat, n_bars),
        "bass": _bass(rng, n, sr, beat / 2, [c[0] for c in chords]),
        "other": _chords(rng, n, sr, beat / 2, chords),
    }
    gains_db = {"vocals": (-2, 3), "drums": (-6, 0), "bass": (-7, -1), "other": (-5, 1)}
    for name, x in stems.items():
        rms = max(float(np.sqrt(np.mean(x ** 2))), 1e-9)
        stems[name] = x / rms * 10 ** (rng.uniform(*gains_db[name]) / 20)
    peak = max(float(np.max(np.abs(sum(stems.values())))), *(float(np.max(np.abs(x))) for x in stems.values()))
    scale_to = rng.uniform(0.5, 0.9) / peak
    song = {name: (x * scale_to).astype(np.float32) for name, x in stems.items()}
    song["mixture"] = song["vocals"] + song["drums"] + song["bass"] + song["other"]
    return song
