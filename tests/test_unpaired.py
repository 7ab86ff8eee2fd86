"""Tests of Input/datasets/unpaired.py with real audio files (mp3/m4a written by the real ffmpeg)."""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from Input.config import DataConfig
from Input.datasets import unpaired
from Input.datasets.load import DatasetError
from Input.datasets.unpaired import PROBE_CACHE_FILE, load_unpaired, scan_folders
from Sample import Sample
from tests.tiny import data_config

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")


def _tone(sr: int, channels: int, seconds: float) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return np.stack([0.3 * np.sin(2 * np.pi * (220 + 110 * c) * t) for c in range(channels)], axis=1)


def _write(path: Path, sr: int, channels: int, seconds: float) -> Path:
    """Write a tone; mp3/m4a are encoded by ffmpeg from a temporary wav."""
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = _tone(sr, channels, seconds).astype(np.float32)
    if path.suffix in (".mp3", ".m4a"):
        tmp = path.with_suffix(".src.wav")
        sf.write(tmp, audio, sr)
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(tmp), str(path)], check=True)
        tmp.unlink()
    else:
        sf.write(path, audio, sr)
    return path


def _write_moisesdb(root: Path) -> Path:
    """Three MoisesDB tracks (stems only; data.json is optional): two with vocals, one without."""
    layout = {"t1": {"vocals": 1.2, "bass": 1.2}, "t2": {"guitar": 0.9, "piano": 1.0},
              "t3": {"vocals": 1.5, "drums": 1.4}}
    for track, stems in layout.items():
        for stem, seconds in stems.items():
            _write(root / "moisesdb_v0.1" / track / stem / "src.wav", 16000, 1, seconds)
    return root


@pytest.fixture()
def folders(tmp_path: Path) -> dict[str, Path]:
    """Mixtures in odd formats/rates (nested), voices with a short and a broken file, accompaniments."""
    mix, voc, acc = tmp_path / "mix", tmp_path / "voc", tmp_path / "acc"
    if shutil.which("ffmpeg"):
        _write(mix / "a_song.mp3", 44100, 2, 2.0)
        _write(mix / "nested" / "deeper" / "e_song.m4a", 22050, 2, 2.0)
    _write(mix / "b_song.ogg", 48000, 1, 2.0)
    _write(mix / "nested" / "c_song.wav", 8000, 1, 2.5)
    _write(mix / "nested" / "d_song.flac", 32000, 2, 2.0)
    (mix / "notes.txt").write_text("not audio")
    _write(voc / "voice1.wav", 16000, 1, 2.0)
    _write(voc / "short.wav", 16000, 1, 0.5)
    _write(voc / "short2.flac", 16000, 1, 0.8)
    (voc / "broken.wav").write_bytes(b"RIFF1234WAVEnonsense")
    _write(acc / "inst.flac", 44100, 2, 3.0)
    return {"mix": mix, "voc": voc, "acc": acc}


def _config(folders: dict[str, Path], **extra) -> DataConfig:
    return data_config(**{"unsup_mixture_dirs": [str(folders["mix"])], "unsup_voice_dirs": [str(folders["voc"])],
                          "unsup_accompaniment_dirs": [str(folders["acc"])], **extra})


@needs_ffmpeg
def test_folders_any_format(folders: dict[str, Path]) -> None:
    mixtures, accs, voices = load_unpaired(_config(folders), min_seconds=1.0)
    names = [Path(s.path).name for s in mixtures]
    assert names == ["a_song.mp3", "b_song.ogg", "c_song.wav", "d_song.flac", "e_song.m4a"]
    info = {Path(s.path).name: (s.sample_rate, s.channels) for s in mixtures}
    assert info == {"a_song.mp3": (44100, 2), "b_song.ogg": (48000, 1), "c_song.wav": (8000, 1),
                    "d_song.flac": (32000, 2), "e_song.m4a": (22050, 2)}
    durations = {Path(s.path).name: s.duration for s in mixtures}
    assert durations["c_song.wav"] == pytest.approx(2.5)
    assert durations["a_song.mp3"] == pytest.approx(2.0, abs=0.06)
    assert all(isinstance(s, Sample) for s in mixtures + accs + voices)
    assert [Path(s.path).name for s in voices] == ["voice1.wav"]
    assert [(Path(s.path).name, s.channels, s.duration) for s in accs] == [("inst.flac", 2, pytest.approx(3.0))]


def test_short_and_unreadable_skipped(folders: dict[str, Path], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="Input.datasets.unpaired"):
        voices = scan_folders([folders["voc"]], min_seconds=1.0, name="unsup_voice_dirs")
    assert [Path(s.path).name for s in voices] == ["voice1.wav"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(folders["voc"] / "broken.wav") in warnings[0]
    assert "unsup_voice_dirs: skipped 2 of 3 files shorter than one excerpt (1.00 s)" in caplog.text


def test_missing_folder_names_key_and_path(tmp_path: Path) -> None:
    missing = tmp_path / "does_not_exist"
    config = data_config(unsup_voice_dirs=[str(missing)])
    with pytest.raises(DatasetError, match=rf"unsup_voice_dirs: folder {missing} does not exist"):
        load_unpaired(config, min_seconds=1.0)


def test_empty_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)  # datasets/MoisesDB does not exist here
    with caplog.at_level(logging.INFO, logger="Input.datasets.unpaired"):
        assert load_unpaired(data_config(moisesdb_path="datasets/MoisesDB"), min_seconds=1.0) == [[], [], []]
    assert "no MoisesDB at datasets/MoisesDB" in caplog.text
    assert load_unpaired(data_config(), min_seconds=1.0) == [[], [], []]  # all off: no unpaired data


def test_empty_folder_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "empty").mkdir()
    with caplog.at_level(logging.WARNING, logger="Input.datasets.unpaired"):
        lists = load_unpaired(data_config(unsup_mixture_dirs=[str(tmp_path / "empty")]), min_seconds=1.0)
    assert lists == [[], [], []]
    assert "unsup_mixture_dirs: no audio files found" in caplog.text


def test_moisesdb_and_folders_combined(folders: dict[str, Path], tmp_path: Path,
                                       caplog: pytest.LogCaptureFixture) -> None:
    root = _write_moisesdb(tmp_path / "MoisesDB")
    config = _config(folders, moisesdb_path=str(root), num_workers=2,
                     unsup_mixture_dirs=[str(folders["mix"] / "nested")])
    with caplog.at_level(logging.INFO, logger="Input.datasets.unpaired"):
        mixtures, accs, voices = load_unpaired(config, min_seconds=0.95)
    # MoisesDB first (track t2's 0.9 s guitar + 1.0 s piano accompaniment is 1.0 s long, so kept).
    assert [Path(s.path).name for s in mixtures][:2] == ["mixture.wav", "mixture.wav"]
    assert [Path(s.path).name for s in accs] == ["accompaniment.wav"] * 3 + ["inst.flac"]
    assert [Path(s.path).name for s in voices] == ["voice.wav", "voice.wav", "voice1.wav"]
    assert all(str(root) in s.path for s in mixtures[:2])
    expected_mix = 3 if shutil.which("ffmpeg") else 2  # nested: c_song.wav, d_song.flac (+ e_song.m4a)
    assert len(mixtures) == 2 + expected_mix
    hours = sum(s.duration for lst in (mixtures, accs, voices) for s in lst) / 3600
    assert f"total {hours:.2f} h" in caplog.text
    assert f"{len(mixtures)} mixtures" in caplog.text
    # Short MoisesDB exports are filtered as well, with a count.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="Input.datasets.unpaired"):
        _, accs_long, _ = load_unpaired(config, min_seconds=1.1)
    assert len(accs_long) == 3 and "MoisesDB accompaniments: skipped 1 of 3" in caplog.text


def test_min_excerpt_seconds() -> None:
    from Models.config import ModelSpec, resolved_model_config
    from Models.nets.shapes import get_shapes, min_excerpt_seconds

    # Default model: input_time 158 frames -> (157 * 256 + 512) / 8192 s.
    default = ModelSpec.from_dict(resolved_model_config())
    assert min_excerpt_seconds(default) == pytest.approx((157 * 256 + 512) / 8192)
    config = ModelSpec.from_dict(resolved_model_config(num_fft=1024, num_hop=512, expected_sr=16000, num_frames=32,
                                                       num_layers=3))

    input_time = get_shapes(config).input_time
    assert min_excerpt_seconds(config) == pytest.approx(((input_time - 1) * 512 + 1024) / 16000)


# --- probe cache -------------------------------------------------------------------------------------------------


def _count_probes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make ``probe_sample`` record the file names it probes (and still probe them)."""
    calls: list[str] = []
    original = unpaired.probe_sample

    def counting(path: str | os.PathLike) -> Sample:
        calls.append(Path(path).name)
        return original(path)

    monkeypatch.setattr(unpaired, "probe_sample", counting)
    return calls


def _forbid_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(path: str | os.PathLike) -> Sample:
        raise AssertionError(f"{path} probed although cached")

    monkeypatch.setattr(unpaired, "probe_sample", fail)


def _files(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


@needs_ffmpeg
def test_probe_cache_second_scan_probes_nothing(folders: dict[str, Path], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    cache = tmp_path / "cache" / PROBE_CACHE_FILE
    inputs = [folders["mix"], folders["voc"]]
    before = {f: _files(f) for f in inputs}
    uncached = scan_folders(inputs, min_seconds=1.0)
    assert not cache.exists()  # cache_path None: no cache
    calls = _count_probes(monkeypatch)
    with caplog.at_level(logging.INFO, logger="Input.datasets.unpaired"):
        first = scan_folders(inputs, min_seconds=1.0, name="mix", cache_path=cache)
    assert first == uncached and any(s.path.endswith(".mp3") for s in first)
    assert len(calls) == 9 and cache.is_file()  # 5 mixtures + 4 voice files (2 short, 1 broken)
    assert "mix: 9 files probed, 0 from the probe cache" in caplog.text
    assert {f: _files(f) for f in inputs} == before  # nothing written into the input folders

    monkeypatch.chdir(tmp_path)
    relative = scan_folders(["voc"])  # uncached, with another spelling of the voices folder
    _forbid_probes(monkeypatch)
    caplog.clear()
    mtime = cache.stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="Input.datasets.unpaired"):
        second = scan_folders(inputs, min_seconds=1.0, name="mix", cache_path=cache)
    assert second == uncached
    assert "mix: 0 files probed, 9 from the probe cache" in caplog.text
    assert cache.stat().st_mtime_ns == mtime  # unchanged: not rewritten
    # Keyed by the resolved path: the other spelling hits the cache and keeps its own spelling in Sample.path.
    assert scan_folders(["voc"], cache_path=cache) == relative and relative[0].path.startswith("voc")


def test_load_unpaired_uses_probe_cache(folders: dict[str, Path], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    uncached = load_unpaired(_config(folders), min_seconds=1.0)
    assert not (tmp_path / "cache").exists()
    config = _config(folders, audio_cache_dir=str(tmp_path / "cache"))
    assert load_unpaired(config, min_seconds=1.0) == uncached
    assert (tmp_path / "cache" / PROBE_CACHE_FILE).is_file()
    _forbid_probes(monkeypatch)  # the three folder scans share one cache file without evicting each other
    assert load_unpaired(config, min_seconds=1.0) == uncached
    with pytest.raises(AssertionError, match="probed although cached"):
        load_unpaired(_config(folders, audio_cache_dir=None), min_seconds=1.0)


def test_probe_cache_changed_new_and_deleted_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, cache = tmp_path / "songs", tmp_path / "cache" / PROBE_CACHE_FILE
    for name in ("a", "b", "c", "e"):
        _write(folder / f"{name}.wav", 8000, 1, 1.0)
    scan_folders([folder], cache_path=cache)

    _write(folder / "a.wav", 8000, 1, 2.0)  # new content and size
    st = (folder / "b.wav").stat()
    os.utime(folder / "b.wav", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # touched only
    (folder / "c.wav").unlink()
    _write(folder / "d.wav", 8000, 2, 1.5)
    calls = _count_probes(monkeypatch)
    samples = scan_folders([folder], cache_path=cache)
    assert sorted(calls) == ["a.wav", "b.wav", "d.wav"]
    assert [(Path(s.path).name, s.channels, s.duration) for s in samples] == [
        ("a.wav", 1, pytest.approx(2.0)), ("b.wav", 1, pytest.approx(1.0)), ("d.wav", 2, pytest.approx(1.5)),
        ("e.wav", 1, pytest.approx(1.0))]
    monkeypatch.undo()
    assert samples == scan_folders([folder])
    entries = pickle.loads(cache.read_bytes())["data"]
    assert sorted(Path(k).name for k in entries) == ["a.wav", "b.wav", "d.wav", "e.wav"]  # c.wav dropped out
    _forbid_probes(monkeypatch)
    assert scan_folders([folder], cache_path=cache) == samples


@pytest.mark.parametrize("content", [b"\x00garbage\xff" * 10, pickle.dumps({"version": 999, "key": None, "data": {}}),
                                     pickle.dumps(["not", "a", "cache"])], ids=["garbage", "version", "type"])
def test_probe_cache_corrupt_is_rebuilt(content: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture) -> None:
    folder, cache = tmp_path / "songs", tmp_path / "cache" / PROBE_CACHE_FILE
    for name in ("a", "b"):
        _write(folder / f"{name}.wav", 8000, 1, 1.0)
    uncached = scan_folders([folder])
    cache.parent.mkdir()
    cache.write_bytes(content)
    calls = _count_probes(monkeypatch)
    with caplog.at_level(logging.INFO, logger="Input.datasets.unpaired"):
        assert scan_folders([folder], cache_path=cache) == uncached
    assert f"probe cache {cache} ignored" in caplog.text and "rebuilding it" in caplog.text
    assert calls == ["a.wav", "b.wav"]
    _forbid_probes(monkeypatch)
    assert scan_folders([folder], cache_path=cache) == uncached  # rebuilt


def test_probe_cache_unreadable_probed_once_warned_each_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    folder, cache = tmp_path / "songs", tmp_path / "cache" / PROBE_CACHE_FILE
    good = _write(folder / "good.wav", 8000, 1, 1.0)
    (folder / "x.wav").write_text("this is a text file, not audio")
    calls = _count_probes(monkeypatch)
    warnings = []
    for _ in range(2):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="Input.datasets.unpaired"):
            assert [s.path for s in scan_folders([folder], cache_path=cache)] == [str(good)]
        warnings.append([r.getMessage() for r in caplog.records if r.levelno == logging.WARNING])
    assert sorted(calls) == ["good.wav", "x.wav"]  # once each, on the first start only
    assert len(warnings[0]) == 1 and f"skipped unreadable file {folder / 'x.wav'}: " in warnings[0][0]
    assert warnings[1] == warnings[0]


def test_instrumentals_give_silent_voices_outside_the_users_folders(folders: dict[str, Path],
                                                                     tmp_path: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    config = _config(folders, include_silent_voices=True, audio_cache_dir=str(tmp_path / "cache"))
    mixtures, accs, voices = load_unpaired(config, min_seconds=1.0)
    assert [Path(s.path).name for s in voices] == ["voice1.wav", "silence_3s.wav"]
    silence = voices[-1]
    assert Path(silence.path).parent == tmp_path / "cache" / "silence"
    assert silence.duration == pytest.approx(3.0) and silence.duration >= accs[0].duration
    assert not sf.read(silence.path, dtype="float32")[0].any()
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())  # inputs untouched
    assert not any(p.name.startswith("silence") for f in folders.values() for p in f.rglob("*"))
    off = load_unpaired(_config(folders, include_silent_voices=False), min_seconds=1.0)
    assert [Path(s.path).name for s in off[2]] == ["voice1.wav"]
