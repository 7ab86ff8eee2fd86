"""Tests for Input/audio/files.py on real files written with soundfile and encoded with the real ffmpeg."""

import logging
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from Input.audio.files import (
    AUDIO_EXTENSIONS,
    FFMPEG_MISSING,
    AudioError,
    find_audio_files,
    load,
    probe,
    resample,
    save,
)
from Input.audio.stream import AudioReader

SR = 44100
SECONDS = 2.0
N = int(SR * SECONDS)


def _signal(sr: int, seconds: float) -> np.ndarray:
    """[2, samples]: a 200->2000 Hz chirp (left) and a 1 kHz sine (right)."""
    t = np.arange(int(sr * seconds)) / sr
    chirp = 0.4 * np.sin(2 * np.pi * (200 * t + 450 * t**2))
    sine = 0.3 * np.sin(2 * np.pi * 1000 * t)
    return np.stack([chirp, sine]).astype(np.float32)


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-v", "error", *args], check=True)


def _snr_db(ref: np.ndarray, est: np.ndarray) -> float:
    n = min(ref.shape[-1], est.shape[-1])
    ref, est = ref[..., :n], est[..., :n]
    return float(10 * np.log10(np.sum(ref**2) / (np.sum((ref - est) ** 2) + 1e-12)))


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One folder of real audio files in every supported format, plus the reference signals."""
    d = tmp_path_factory.mktemp("media")
    stereo = _signal(SR, SECONDS)
    mono = _signal(22050, 1.5)[1:]
    sf.write(d / "stereo.wav", stereo.T, SR, subtype="PCM_16")
    sf.write(d / "stereo.flac", stereo.T, SR, subtype="PCM_16")
    sf.write(d / "stereo.aiff", stereo.T, SR, subtype="PCM_16")
    sf.write(d / "mono22k.wav", mono.T, 22050, subtype="PCM_16")
    _ffmpeg("-i", str(d / "stereo.wav"), "-c:a", "libvorbis", "-q:a", "6", str(d / "stereo.ogg"))
    _ffmpeg("-i", str(d / "stereo.wav"), "-c:a", "libmp3lame", "-b:a", "192k", str(d / "stereo.mp3"))
    _ffmpeg("-i", str(d / "stereo.wav"), "-c:a", "aac", "-b:a", "192k", str(d / "stereo.m4a"))
    _ffmpeg("-i", str(d / "mono22k.wav"), "-c:a", "libmp3lame", "-b:a", "96k", str(d / "mono22k.mp3"))
    # A video file whose first stream is video: the loader must pick the audio stream.
    _ffmpeg("-f", "lavfi", "-i", f"color=c=black:s=16x16:d={SECONDS}", "-i", str(d / "stereo.wav"),
            "-map", "0:v", "-map", "1:a", "-c:v", "mpeg4", "-c:a", "aac", "-b:a", "192k",
            str(d / "video.mp4"))
    _ffmpeg("-f", "lavfi", "-i", "color=c=black:s=16x16:d=1", "-c:v", "mpeg4", str(d / "silent_video.mp4"))
    ref_stereo, _ = sf.read(d / "stereo.wav", dtype="float32", always_2d=True)
    ref_mono, _ = sf.read(d / "mono22k.wav", dtype="float32", always_2d=True)
    return {"dir": d, "stereo": ref_stereo.T, "mono": ref_mono.T}


# name, channels, sample rate, samples, allowed length error (samples), lossless
FORMATS = [
    ("stereo.wav", 2, SR, N, 0, True),
    ("stereo.flac", 2, SR, N, 0, True),
    ("stereo.aiff", 2, SR, N, 0, True),
    ("stereo.ogg", 2, SR, N, 0, False),
    ("stereo.mp3", 2, SR, N, 2 * 1152, False),  # encoder delay/padding: up to two mp3 frames
    ("stereo.m4a", 2, SR, N, 1024, False),
    ("video.mp4", 2, SR, N, 1024, False),
    ("mono22k.mp3", 1, 22050, int(22050 * 1.5), 2 * 1152, False),
]


@pytest.mark.parametrize("name,channels,sr,samples,tol,lossless", FORMATS)
def test_every_format_loads(media, name, channels, sr, samples, tol, lossless):
    audio, got_sr = load(media["dir"] / name)
    assert audio.dtype == np.float32 and audio.ndim == 2 and audio.flags.c_contiguous
    assert audio.shape[0] == channels and got_sr == sr
    assert abs(audio.shape[1] - samples) <= tol
    ref = media["mono"] if name.startswith("mono") else media["stereo"]
    if lossless:  # bit-exact decode of what libsndfile stored, within 16-bit quantisation of the signal
        stored, _ = sf.read(media["dir"] / name, dtype="float32", always_2d=True)
        np.testing.assert_array_equal(audio, stored.T)
        assert np.max(np.abs(audio - ref)) <= 1.5 / 2**15
    else:  # decoded without a time shift and close to the original
        assert _snr_db(ref, audio) > 15
    probed_sr, probed_channels, probed_duration = probe(media["dir"] / name)
    assert (probed_sr, probed_channels) == (sr, channels)
    assert abs(probed_duration - samples / sr) <= (tol + 1) / sr + 0.03


def test_file_without_audio_stream(media):
    with pytest.raises(AudioError, match="silent_video.mp4: no audio stream"):
        load(media["dir"] / "silent_video.mp4")


@pytest.mark.parametrize("name", ["stereo.wav", "stereo.flac", "stereo.ogg"])
def test_excerpt_is_exact_slice_for_soundfile_formats(media, name):
    full, sr = load(media["dir"] / name)
    excerpt, _ = load(media["dir"] / name, offset=0.5, duration=0.75)
    start = int(round(0.5 * sr))
    np.testing.assert_array_equal(excerpt, full[:, start:start + int(round(0.75 * sr))])


@pytest.mark.parametrize("name", ["stereo.mp3", "stereo.m4a", "video.mp4"])
@pytest.mark.parametrize("offset", [0.01, 0.5, 1.2345])
def test_excerpt_matches_full_decode_for_ffmpeg_formats(media, name, offset):
    full, sr = load(media["dir"] / name)
    excerpt, _ = load(media["dir"] / name, offset=offset, duration=0.5)
    start = int(round(offset * sr))
    assert excerpt.shape == (2, int(round(0.5 * sr)))
    # The decoder warms up before the excerpt, so even its first samples match the full decode.
    np.testing.assert_allclose(excerpt, full[:, start:start + excerpt.shape[1]], atol=2e-3)


@pytest.mark.parametrize("name", ["stereo.wav", "stereo.flac", "stereo.mp3", "stereo.m4a", "video.mp4",
                                  "mono22k.mp3"])
@pytest.mark.parametrize("offset,duration", [(0.0, None), (0.5, 0.75), (1.2345, None)])
def test_load_equals_audio_reader_blocks(media, name, offset, duration):
    """load() and the streaming reader are one decoder: the same samples, bit for bit, in any block size."""
    audio, sr = load(media["dir"] / name, offset=offset, duration=duration)
    with AudioReader(media["dir"] / name, offset=offset, duration=duration) as reader:
        blocks = list(reader.blocks(1000))
    assert reader.sample_rate == sr and all(b.shape[0] == audio.shape[0] for b in blocks)
    assert all(b.shape[1] <= 1000 for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks, axis=1), audio)


@pytest.mark.parametrize("name", ["stereo.wav", "stereo.mp3"])
def test_duration_past_end_returns_the_rest(media, name):
    full, sr = load(media["dir"] / name)
    tail, _ = load(media["dir"] / name, offset=1.5, duration=10.0)
    start = int(round(1.5 * sr))
    assert tail.shape[1] == full.shape[1] - start
    np.testing.assert_allclose(tail, full[:, start:], atol=2e-3)


@pytest.mark.parametrize("name", ["stereo.wav", "stereo.mp3", "stereo.m4a"])
def test_offset_past_end_raises(media, name):
    with pytest.raises(AudioError, match=rf"{name}: offset 5 s is beyond the end"):
        load(media["dir"] / name, offset=5.0)


def test_bad_arguments_raise_value_error(media):
    for kwargs in ({"offset": -1.0}, {"duration": 0.0}, {"duration": float("nan")}, {"sr": 0}):
        with pytest.raises(ValueError):
            load(media["dir"] / "stereo.wav", **kwargs)


def test_mono_downmix(media):
    stereo, _ = load(media["dir"] / "stereo.wav")
    mono, sr = load(media["dir"] / "stereo.wav", mono=True)
    assert mono.shape == (1, N) and sr == SR
    np.testing.assert_allclose(mono[0], stereo.mean(axis=0), atol=1e-7)
    already_mono, _ = load(media["dir"] / "mono22k.wav", mono=True)
    np.testing.assert_array_equal(already_mono, media["mono"])


def _peak_hz(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * sr / len(x))


@pytest.mark.parametrize("name", ["stereo.wav", "stereo.mp3"])
@pytest.mark.parametrize("target", [8192, 16000, 48000])
def test_load_resamples_and_keeps_frequency(media, name, target):
    native, sr = load(media["dir"] / name)
    audio, got_sr = load(media["dir"] / name, sr=target)
    assert got_sr == target
    assert audio.shape == (2, int(np.ceil(native.shape[1] * target / sr)))
    assert abs(_peak_hz(audio[1], target) - 1000.0) <= target / audio.shape[1] + 1e-9
    # The 1 kHz sine keeps its level (soxr is near-transparent in the passband).
    def rms(x: np.ndarray) -> float:
        return float(np.sqrt(np.mean(x[len(x) // 10: -len(x) // 10] ** 2)))

    assert rms(audio[1]) == pytest.approx(rms(native[1]), rel=0.01)


def test_resample_function():
    x = _signal(SR, 1.0)
    y = resample(x, SR, 22050)
    assert y.dtype == np.float32 and y.shape == (2, 22050)
    assert abs(_peak_hz(y[1], 22050) - 1000.0) <= 1.0
    one_d = resample(x[1], SR, 8000)
    assert one_d.shape == (8000,)
    same = resample(x, SR, SR)
    np.testing.assert_array_equal(same, x)
    assert same is not x
    with pytest.raises(ValueError):
        resample(x, 0, SR)


def test_save_load_round_trip_pcm16(tmp_path):
    x = _signal(SR, 1.0)
    x[0, :100] = np.linspace(-1.0, 1.0, 100)  # include full scale
    assert save(tmp_path / "out.wav", x, SR) == 0
    info = sf.info(tmp_path / "out.wav")
    assert (info.format, info.subtype, info.channels, info.samplerate) == ("WAV", "PCM_16", 2, SR)
    y, sr = load(tmp_path / "out.wav")
    assert sr == SR and y.shape == x.shape
    assert np.max(np.abs(y - x)) <= 1.5 / 2**15  # within 16-bit quantisation
    np.testing.assert_array_equal(y * 2**15, np.round(y * 2**15))  # values lie on the 16-bit grid


def test_save_pcm24_and_float(tmp_path):
    x = _signal(SR, 0.5)
    save(tmp_path / "a24.wav", x, SR, subtype="PCM_24")
    assert sf.info(tmp_path / "a24.wav").subtype == "PCM_24"
    y, _ = load(tmp_path / "a24.wav")
    assert np.max(np.abs(y - x)) <= 1.5 / 2**23
    loud = x * 4.0  # a float file keeps values beyond full scale untouched
    assert save(tmp_path / "f.wav", loud, SR, subtype="FLOAT") == 0
    assert sf.info(tmp_path / "f.wav").subtype == "FLOAT"
    np.testing.assert_array_equal(load(tmp_path / "f.wav")[0], loud)


def test_save_flac_and_mono_vector(tmp_path):
    x = _signal(22050, 0.5)[0]
    save(tmp_path / "m.flac", x, 22050, subtype="PCM_24")
    info = sf.info(tmp_path / "m.flac")
    assert (info.format, info.subtype, info.channels) == ("FLAC", "PCM_24", 1)
    y, sr = load(tmp_path / "m.flac")
    assert y.shape == (1, x.shape[0]) and sr == 22050
    assert np.max(np.abs(y[0] - x)) <= 1.5 / 2**23
    with pytest.raises(AudioError, match="m.flac: FLAC cannot store FLOAT"):
        save(tmp_path / "m.flac", x, 22050, subtype="FLOAT")


def test_save_clips_counts_and_warns(tmp_path, caplog):
    x = np.zeros((2, 1000), dtype=np.float32)
    x[0, :5] = 1.5
    x[1, 10:13] = -3.0
    x[1, 20] = 1.0  # exactly full scale is not clipping
    original = x.copy()
    with caplog.at_level(logging.WARNING, logger="Input.audio.files"):
        assert save(tmp_path / "c.wav", x, SR) == 8
    assert "clipped 8 of 2000 samples" in caplog.text and "c.wav" in caplog.text
    np.testing.assert_array_equal(x, original)  # the caller's array is not modified
    y, _ = load(tmp_path / "c.wav")
    assert y[0, :5] == pytest.approx(32767 / 32768) and np.all(y[1, 10:13] == -1.0)
    assert np.max(np.abs(y)) <= 1.0


def test_save_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "out.wav"
    save(target, _signal(SR, 0.2), SR)
    save(target, _signal(SR, 0.3), SR)  # overwrite in place
    assert sorted(os.listdir(tmp_path)) == ["out.wav"]
    before = target.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(AudioError, match="out.wav: cannot write audio .No space left on device"):
        save(target, _signal(SR, 1.0), SR)
    assert sorted(os.listdir(tmp_path)) == ["out.wav"]  # temp file removed
    assert target.read_bytes() == before  # old file intact


def test_save_rejects_bad_input(tmp_path):
    x = _signal(SR, 0.1)
    with pytest.raises(AudioError, match="out.mp3: cannot write '.mp3'"):
        save(tmp_path / "out.mp3", x, SR)
    with pytest.raises(AudioError, match="out.wav: output folder does not exist"):
        save(tmp_path / "missing" / "out.wav", x, SR)
    with pytest.raises(ValueError, match="transposed"):
        save(tmp_path / "t.wav", x.T, SR)
    with pytest.raises(ValueError, match="NaN"):
        save(tmp_path / "n.wav", np.full((1, 10), np.nan), SR)
    with pytest.raises(ValueError, match="subtype"):
        save(tmp_path / "s.wav", x, SR, subtype="PCM_8")
    assert os.listdir(tmp_path) == []


def _bad_files(d: Path, media_dir: Path) -> dict[str, Path]:
    wav_bytes = (media_dir / "stereo.wav").read_bytes()
    rng = np.random.default_rng(0)
    files = {
        "missing": d / "missing.wav",
        "directory": d / "folder.wav",
        "text_as_wav": d / "text.wav",
        "txt": d / "notes.txt",
        "header_cut_wav": d / "cut.wav",
        "random_mp3": d / "random.mp3",
        "text_as_m4a": d / "text.m4a",
        "empty_wav": d / "empty.wav",
        "empty_mp3": d / "empty.mp3",
    }
    files["directory"].mkdir()
    files["text_as_wav"].write_text("this is not audio\n" * 20)
    files["txt"].write_text("hello\n")
    files["header_cut_wav"].write_bytes(wav_bytes[:20])
    files["random_mp3"].write_bytes(rng.integers(0, 256, 20000, dtype=np.uint8).tobytes())
    files["text_as_m4a"].write_text("this is not audio either\n" * 20)
    files["empty_wav"].write_bytes(b"")
    files["empty_mp3"].write_bytes(b"")
    return files


BAD_CASES = ["missing", "directory", "text_as_wav", "txt", "header_cut_wav", "random_mp3", "text_as_m4a",
             "empty_wav", "empty_mp3"]


@pytest.mark.parametrize("case", BAD_CASES)
@pytest.mark.parametrize("func", [load, probe])
def test_bad_input_raises_one_line_audio_error(tmp_path, media, case, func):
    path = _bad_files(tmp_path, media["dir"])[case]
    with pytest.raises(AudioError) as info:
        func(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and path.name in message
    assert "\n" not in message and len(message) < 500
    assert info.value.path == str(path)


def test_missing_ffmpeg_is_reported(media, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no ffmpeg/ffprobe to be found
    with pytest.raises(AudioError) as info:
        load(media["dir"] / "stereo.mp3")
    assert str(info.value) == f"{media['dir'] / 'stereo.mp3'}: {FFMPEG_MISSING}"
    assert "install Debian package 'ffmpeg'" in str(info.value)
    assert load(media["dir"] / "stereo.wav")[0].shape == (2, N)  # soundfile formats need no ffmpeg


def test_find_audio_files(tmp_path, caplog):
    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    (tmp_path / ".hidden").mkdir()
    names = ["a/x.wav", "a/deep/y.MP3", "a/deep/z.Flac", "b/w.m4a", "b/v.aif", "b/notes.txt", "b/cover.jpg",
             "a/._x.wav", ".hidden/h.wav", "top.ogg", "readme.md"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    found = find_audio_files([tmp_path / "a", tmp_path / "b", tmp_path / "top.ogg", tmp_path / "a" / "x.wav"])
    expected = sorted(tmp_path / n for n in ["a/x.wav", "a/deep/y.MP3", "a/deep/z.Flac", "b/w.m4a", "b/v.aif",
                                              "top.ogg"])
    assert found == expected
    assert all(p.suffix.lower() in AUDIO_EXTENSIONS for p in found)
    with caplog.at_level(logging.WARNING, logger="Input.audio.files"):
        assert find_audio_files([str(tmp_path / "readme.md")]) == []
    assert "readme.md" in caplog.text
    assert find_audio_files([]) == []
    with pytest.raises(AudioError, match="nope: no such file or directory"):
        find_audio_files([tmp_path / "nope"])
