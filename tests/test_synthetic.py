"""Tests for Input/synth/generate.py: layout, exact mixtures, determinism, musdb compatibility, musical content."""
import subprocess
import sys
from pathlib import Path

import musdb
import numpy as np
import pytest
import soundfile as sf

from Input.synth.generate import STEMS, generate_dataset, generate_song, generate_unpaired

SR = 16000
SECONDS = 3.0
FILES = {"mixture.wav", "vocals.wav", "drums.wav", "bass.wav", "other.wav"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    generate_dataset(root, num_train=2, num_test=1, seconds=SECONDS, seed=11, sr=SR, workers=2)
    return root


def _read(path: Path) -> np.ndarray:
    audio, sr = sf.read(path, dtype="float32", always_2d=True)
    assert sr == SR
    return audio.T


def _wav_bytes_without_peak(path: Path) -> bytes:
    """File bytes minus libsndfile's PEAK chunk, which stores the write time (seconds) in float wavs."""
    data, pos = path.read_bytes(), 12
    out = data[:12]
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4: pos + 8], "little")
        end = pos + 8 + size + (size % 2)
        if data[pos: pos + 4] != b"PEAK":
            out += data[pos:end]
        pos = end
    return out


def _frames(x: np.ndarray, size: int = 1024, hop: int = 512) -> np.ndarray:
    n = 1 + (len(x) - size) // hop
    return np.stack([x[i * hop: i * hop + size] for i in range(n)])


def _pitch(frame: np.ndarray, sr: int, width: int = 512) -> tuple[float, float]:
    """(f0 Hz, normalised cross-correlation at that lag) of ``frame``, searched over 70-1100 Hz."""
    lo, hi = int(sr / 1100), int(sr / 70)
    ref = frame[:width]
    segments = np.lib.stride_tricks.sliding_window_view(frame, width)[lo: hi + 1]
    nccf = segments @ ref / np.sqrt((segments ** 2).sum(axis=1) * (ref ** 2).sum() + 1e-12)
    i = int(np.flatnonzero(nccf >= 0.9 * nccf.max())[0])  # first strong peak: avoids sub-harmonics
    while i + 1 < len(nccf) and nccf[i + 1] > nccf[i]:
        i += 1
    return sr / (lo + i), float(nccf[i])


def _band_fraction(x: np.ndarray, sr: int, low: float, high: float) -> float:
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / sr)
    return float(power[(freqs >= low) & (freqs <= high)].sum() / power.sum())


def test_layout_and_file_set(dataset):
    assert sorted(p.name for p in dataset.iterdir()) == ["test", "train"]
    train = sorted(p.name for p in (dataset / "train").iterdir())
    test = sorted(p.name for p in (dataset / "test").iterdir())
    assert train == ["synthetic_000", "synthetic_001"] and test == ["synthetic_002"]
    for folder in [*(dataset / "train").iterdir(), *(dataset / "test").iterdir()]:
        assert {p.name for p in folder.iterdir()} == FILES
        for name in FILES:
            info = sf.info(folder / name)
            assert (info.samplerate, info.channels, info.frames, info.subtype) == (
                SR, 2, int(SECONDS * SR), "FLOAT")


def test_mixture_is_sum_of_stems_without_clipping(dataset):
    for folder in (dataset / "train").iterdir():
        stems = {name: _read(folder / f"{name}.wav") for name in STEMS}
        mixture = _read(folder / "mixture.wav")
        np.testing.assert_allclose(mixture, sum(stems.values()), rtol=0, atol=1e-6)
        assert np.abs(mixture).max() <= 1.0 and max(np.abs(x).max() for x in stems.values()) <= 1.0
        assert np.abs(mixture).max() > 0.3  # normalised with headroom, not silent
        assert all(np.sqrt(np.mean(x ** 2)) > 1e-3 for x in stems.values())  # every stem plays


def test_generate_song_determinism_and_variety():
    a, b, c = generate_song(5, 2.0, SR), generate_song(5, 2.0, SR), generate_song(6, 2.0, SR)
    assert set(a) == set(STEMS) | {"mixture"}
    for name in a:
        assert a[name].shape == (2, 2 * SR) and a[name].dtype == np.float32
        assert np.array_equal(a[name], b[name])
        assert not np.allclose(a[name], c[name], atol=1e-3)


def test_dataset_files_identical_across_runs_and_worker_counts(dataset, tmp_path):
    generate_dataset(tmp_path, num_train=1, num_test=0, seconds=SECONDS, seed=11, sr=SR, workers=1)
    for name in FILES:  # track 0 of the same seed, written serially instead of in a process pool
        assert _wav_bytes_without_peak(tmp_path / "train/synthetic_000" / name) == _wav_bytes_without_peak(
            dataset / "train/synthetic_000" / name)
    other = generate_dataset(tmp_path / "b", num_train=1, num_test=0, seconds=SECONDS, seed=12, sr=SR, workers=1)
    assert not np.allclose(_read(other[0] / "mixture.wav"), _read(tmp_path / "train/synthetic_000/mixture.wav"))


def test_musdb_reads_dataset(dataset):
    db = musdb.DB(root=str(dataset), is_wav=True)
    assert [(t.name, t.subset) for t in db.tracks] == [
        ("synthetic_000", "train"), ("synthetic_001", "train"), ("synthetic_002", "test")]
    assert len(musdb.DB(root=str(dataset), is_wav=True, subsets="train")) == 2
    assert len(musdb.DB(root=str(dataset), is_wav=True, subsets="test")) == 1
    track = db.tracks[2]
    assert track.rate == SR and set(track.sources) == set(STEMS)
    folder = dataset / "test/synthetic_002"
    tol = 2.0 ** -15 + 1e-6  # musdb decodes through ffmpeg as 16-bit PCM
    np.testing.assert_allclose(track.audio, _read(folder / "mixture.wav").T, rtol=0, atol=tol)
    np.testing.assert_allclose(track.targets["vocals"].audio, _read(folder / "vocals.wav").T, rtol=0, atol=tol)
    accompaniment = sum(_read(folder / f"{s}.wav") for s in ("drums", "bass", "other")).T
    np.testing.assert_allclose(track.targets["accompaniment"].audio, accompaniment, rtol=0, atol=4 * tol)


def test_vocals_are_pitched_with_rests_and_overlap_accompaniment():
    for seed in (1, 3, 5):
        song = generate_song(seed, 6.0, SR)
        vocals = song["vocals"].mean(axis=0)
        frames = _frames(vocals)
        rms = np.sqrt(np.mean(frames ** 2, axis=1))
        assert np.mean(rms < 0.05 * rms.max()) > 0.05, "vocal line needs rests"
        voiced = frames[rms > 0.25 * rms.max()]
        pitches = np.array([_pitch(f, SR) for f in voiced])
        assert np.median(pitches[:, 1]) > 0.95, "vocal must be periodic (harmonic)"
        assert np.mean((pitches[:, 0] >= 80) & (pitches[:, 0] <= 1000)) > 0.95
        semitones = np.round(12 * np.log2(pitches[:, 0] / 440)).astype(int)
        assert len(np.unique(semitones)) >= 3, "melody needs several notes"
        major = np.array([0, 2, 4, 5, 7, 9, 11])
        in_key = max(np.mean(np.isin(semitones % 12, (major + k) % 12)) for k in range(12))
        assert in_key > 0.8, "melody must stay in one (diatonic) key"
        # many partials: energy well above 1.5 kHz in voiced frames
        assert _band_fraction(voiced.ravel(), SR, 1500, SR / 2) > 1e-3
        accompaniment = (song["drums"] + song["bass"] + song["other"]).mean(axis=0)
        assert _band_fraction(vocals, SR, 200, 1000) > 0.3
        assert _band_fraction(accompaniment, SR, 200, 1000) > 0.1
        assert _band_fraction(accompaniment, SR, 20, 150) > 0.05  # kick and bass below the voice


def test_unpaired_groups_disjoint_and_right_content(tmp_path):
    groups = generate_unpaired(tmp_path, num_tracks=2, seconds=2.0, seed=11, sr=SR, workers=1)
    assert {g: [p.name for p in paths] for g, paths in groups.items()} == {
        "mixtures": ["mix_000.wav", "mix_001.wav"], "voices": ["voice_000.wav", "voice_001.wav"],
        "accompaniments": ["acc_000.wav", "acc_001.wav"]}
    audio = {g: [_read(p) for p in paths] for g, paths in groups.items()}
    for v in audio["voices"]:
        for a in audio["accompaniments"]:
            assert not any(np.allclose(v + a, m, atol=1e-4) for m in audio["mixtures"])
    supervised = generate_song(int(np.random.SeedSequence([11, 0, 0]).generate_state(1, np.uint64)[0]), 2.0, SR)
    assert not any(np.allclose(v, supervised["vocals"], atol=1e-4) for v in audio["voices"])
    for v in audio["voices"]:
        assert _band_fraction(v.mean(axis=0), SR, 20, 100) < 0.01  # no kick or bass in the voice group
    for a in audio["accompaniments"]:
        assert _band_fraction(a.mean(axis=0), SR, 20, 150) > 0.05
    for m in audio["mixtures"]:
        assert np.abs(m).max() <= 1.0


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="seconds"):
        generate_dataset(tmp_path, 1, 0, seconds=0.5, seed=0)
    with pytest.raises(ValueError, match="extra"):
        generate_dataset(tmp_path, 1, 0, seconds=2.0, seed=0, extra={"unpaired": 3})
    with pytest.raises(ValueError, match="seed"):
        generate_unpaired(tmp_path, 1, seconds=2.0, seed=-1)


def test_cli_writes_split_and_unpaired(tmp_path):
    out = tmp_path / "data"
    cmd = [sys.executable, "-m", "Input.synth.generate", "--out", str(out), "--tracks", "3", "--test-tracks", "1",
           "--seconds", "1.5", "--seed", "3", "--sr", str(SR), "--unpaired-tracks", "1", "--workers", "1"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[1])
    assert "2 train + 1 test" in result.stdout
    assert len(list((out / "train").iterdir())) == 2 and len(list((out / "test").iterdir())) == 1
    assert sorted(p.name for p in (out / "unpaired").iterdir()) == ["accompaniments", "mixtures", "voices"]
    bad = subprocess.run(cmd[:-4] + ["--test-tracks", "4"], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert bad.returncode == 2 and "--test-tracks" in bad.stderr


def test_shifted_domain_has_higher_brighter_voices_and_default_is_unchanged():
    """The benchmark's out-of-domain songs: same seeds, a higher and brighter voice; "default" is the old songs."""
    assert all(np.array_equal(a, b) for a, b in zip(generate_song(3, 2.0, SR).values(),
                                                    generate_song(3, 2.0, SR, "default").values(), strict=True))

    def centroid(x: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(x.mean(axis=0)))
        return float((spectrum * np.fft.rfftfreq(x.shape[1], 1 / SR)).sum() / spectrum.sum())

    seeds = range(4)
    default = [centroid(generate_song(s, 3.0, SR)["vocals"]) for s in seeds]
    shifted = [centroid(generate_song(s, 3.0, SR, "shifted")["vocals"]) for s in seeds]
    assert np.median(shifted) > 1.05 * np.median(default)  # 1.09 for these seeds (consonant noise is shared)
    with pytest.raises(ValueError, match="domain"):
        generate_song(3, 2.0, SR, "other")
