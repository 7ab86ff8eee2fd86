"""Tests for Sample.py: metadata read from real wav/mp3 files, pickling, equality and ordering."""

import dataclasses
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from Input.audio.files import AudioError
from Input.audio.probe import probe_sample
from Sample import Sample


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("samples")
    t = np.arange(int(22050 * 1.5)) / 22050
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)]).T * 0.3
    sf.write(d / "stereo.wav", stereo, 22050, subtype="PCM_16")
    sf.write(d / "mono.wav", stereo[:, 0], 22050, subtype="PCM_16")
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-v", "error", "-i", str(d / "stereo.wav"), "-ar", "44100",
                    "-c:a", "libmp3lame", "-b:a", "128k", str(d / "stereo.mp3")], check=True)
    return d


def test_probe_sample_wav(files):
    s = probe_sample(files / "stereo.wav")
    assert s == Sample(str(files / "stereo.wav"), 22050, 2, 1.5)
    assert isinstance(s.path, str) and isinstance(s.sample_rate, int) and isinstance(s.channels, int)
    m = probe_sample(str(files / "mono.wav"))
    assert (m.sample_rate, m.channels, m.duration) == (22050, 1, 1.5)


def test_probe_sample_mp3(files):
    s = probe_sample(files / "stereo.mp3")
    assert (s.path, s.sample_rate, s.channels) == (str(files / "stereo.mp3"), 44100, 2)
    assert s.duration == pytest.approx(1.5, abs=0.06)  # mp3 encoder delay/padding


def test_pickle_round_trip(files):
    s = probe_sample(files / "stereo.wav")
    restored = pickle.loads(pickle.dumps(s))
    assert restored == s and hash(restored) == hash(s) and restored is not s


def test_frozen_equality_and_ordering():
    a = Sample("a.wav", 44100, 2, 10.0)
    b = Sample("b.wav", 8000, 1, 1.0)
    a_short = Sample("a.wav", 44100, 2, 5.0)
    assert sorted([b, a, a_short]) == [a_short, a, b]  # by path, then the remaining fields
    assert a == Sample("a.wav", 44100, 2, 10.0) and a != a_short
    assert len({a, Sample("a.wav", 44100, 2, 10.0), b}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.duration = 3.0  # type: ignore[misc]


def test_probe_sample_bad_files(tmp_path):
    (tmp_path / "text.wav").write_text("not audio\n")
    (tmp_path / "empty.mp3").write_bytes(b"")
    for name in ["text.wav", "empty.mp3", "missing.wav"]:
        with pytest.raises(AudioError, match=name):
            probe_sample(tmp_path / name)
