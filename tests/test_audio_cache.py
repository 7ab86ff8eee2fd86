"""Tests for Input/audio/cache.py on real wav files (soundfile) decoded with the real loader."""

import os
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from Input.audio.cache import AudioCache
from Input.audio.files import AudioError, load
from Input.audio.probe import probe_sample

SR = 22050


class CountingCache(AudioCache):
    """The real cache, counting how often it decodes (the one decode hook)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.decoded: list[str] = []
        self._count_lock = threading.Lock()

    def decode(self, path: str) -> np.ndarray:
        with self._count_lock:
            self.decoded.append(Path(path).name)
        return super().decode(path)


def _write(path: Path, seconds: float = 1.5, channels: int = 2, sr: int = SR, freq: float = 440.0) -> Path:
    t = np.arange(int(sr * seconds)) / sr
    data = np.stack([0.5 * np.sin(2 * np.pi * freq * (c + 1) * t) for c in range(channels)], axis=1)
    sf.write(path, data.astype(np.float32), sr, subtype="FLOAT")
    return path


def test_get_decodes_once_and_memmaps(tmp_path):
    src = _write(tmp_path / "song.wav")
    cache = CountingCache(tmp_path / "cache", sr=8192, mono=True, dtype="float16")
    first = cache.get(src)
    assert cache.decoded == ["song.wav"]
    target = cache.path_for(src)
    assert target.is_file() and target.parent == tmp_path / "cache"
    mtime = target.stat().st_mtime_ns

    # A fresh cache on the same folder (e.g. the next run) reads the file and does not decode again.
    again = CountingCache(tmp_path / "cache", sr=8192, mono=True, dtype="float16")
    second = again.get(src)
    assert again.decoded == []
    assert target.stat().st_mtime_ns == mtime
    assert isinstance(second, np.memmap) and not second.flags.writeable
    assert second.dtype == np.float16 and second.shape == first.shape
    np.testing.assert_array_equal(second, first)
    assert second.shape == (1, int(np.ceil(1.5 * SR * 8192 / SR)))
    assert abs(second.shape[1] - 1.5 * 8192) <= 1
    # Content: the resampled mono downmix, within float16 precision.
    ref, _ = load(src, sr=8192, mono=True)
    np.testing.assert_allclose(second.astype(np.float32), ref, atol=1e-3)
    # Only the finished .npy is left in the folder (atomic write, no temporaries).
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [target.name]


def test_settings_select_separate_cache_files(tmp_path):
    src = _write(tmp_path / "song.wav", channels=2)
    stereo = CountingCache(tmp_path / "cache", sr=8192, mono=False, dtype="float32")
    audio = stereo.get(probe_sample(src))  # Samples and paths name the same entry
    assert stereo.decoded == ["song.wav"]
    assert audio.dtype == np.float32 and audio.shape[0] == 2
    assert stereo.path_for(src) == stereo.path_for(probe_sample(src))
    mono = AudioCache(tmp_path / "cache", sr=8192, mono=True, dtype="float16")
    other_rate = AudioCache(tmp_path / "cache", sr=16000, mono=False, dtype="float32")
    names = {stereo.path_for(src), mono.path_for(src), other_rate.path_for(src)}
    assert len(names) == 3
    assert other_rate.get(src).shape[1] == 1.5 * 16000


def test_repeated_get_skips_resolving_and_hashing(tmp_path):
    class KeyCounting(AudioCache):
        keys = 0

        def key(self, sample):
            KeyCounting.keys += 1
            return super().key(sample)

    src = _write(tmp_path / "song.wav", seconds=0.5)
    cache = KeyCounting(tmp_path / "cache", sr=8192, mono=True, dtype="float16")
    first = cache.get(src)
    computed = KeyCounting.keys
    assert all(cache.get(src) is first for _ in range(100))  # the open memory map, from its stat alone
    assert KeyCounting.keys == computed
    assert cache.get(probe_sample(src)) is first  # a Sample of the same file too


def test_changed_source_is_decoded_again(tmp_path):
    src = _write(tmp_path / "song.wav", seconds=1.0)
    cache = CountingCache(tmp_path / "cache", sr=8192, mono=True, dtype="float16")
    old_target = cache.path_for(src)
    cache.get(src)
    _write(src, seconds=2.0, freq=220.0)
    stat = src.stat()
    os.utime(src, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a newer mtime even on coarse clocks
    assert cache.path_for(src) != old_target
    assert cache.get(src).shape == (1, 2 * 8192)
    assert cache.decoded == ["song.wav", "song.wav"]


def test_prepare_parallel_decodes_each_track_once(tmp_path):
    paths = [_write(tmp_path / f"t{i}.wav", seconds=0.5 + 0.25 * i, freq=200.0 * (i + 1)) for i in range(5)]
    samples = [probe_sample(p) for p in paths]
    cache = CountingCache(tmp_path / "cache", sr=8192, mono=True, dtype="float16")
    calls = []
    assert cache.prepare(samples + samples[:2], num_workers=3, progress=lambda d, t: calls.append((d, t))) == []
    assert sorted(cache.decoded) == sorted(p.name for p in paths)
    assert sorted(calls) == [(i, 5) for i in range(1, 6)]
    cache.prepare(samples, num_workers=3)
    assert len(cache.decoded) == 5
    for path, sample in zip(paths, samples, strict=True):
        assert cache.is_cached(sample)
        assert cache.get(sample).shape[1] == int(np.ceil(sf.info(path).frames * 8192 / SR))
    assert len(cache.decoded) == 5


def test_unreadable_files_raise_audio_error(tmp_path):
    good = _write(tmp_path / "good.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF but not really a wav file" * 10)
    missing = tmp_path / "missing.wav"
    cache = CountingCache(tmp_path / "cache", sr=8192, mono=True, dtype="float16")
    with pytest.raises(AudioError, match="bad.wav"):
        cache.get(bad)
    with pytest.raises(AudioError, match="missing.wav"):
        cache.get(missing)
    with pytest.raises(AudioError, match="bad.wav"):
        cache.prepare([good, bad], num_workers=2)
    assert cache.is_cached(good)  # the readable track was still cached
    failed = cache.prepare([bad, good, missing], num_workers=1, skip_errors=True)
    assert sorted(Path(p).name for p in failed) == ["bad.wav", "missing.wav"]
    assert not any(p.suffix == ".tmp" for p in (tmp_path / "cache").iterdir())


def test_settings_and_dtype_check(tmp_path):
    cache = AudioCache(str(tmp_path / "c"), 8192, False, "float16")
    assert (cache.sr, cache.mono, cache.dtype) == (8192, False, np.dtype("float16"))
    assert cache.cache_dir == tmp_path / "c"
    with pytest.raises(ValueError, match="float"):
        AudioCache(tmp_path, sr=8192, mono=True, dtype="int16")
