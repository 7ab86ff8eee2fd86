"""Tests of Input/datasets/moisesdb.py on a generated data set in the MoisesDB layout (real wav files)."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from Input.audio.files import load
from Input.datasets.load import DatasetError
from Input.datasets.moisesdb import CACHE_NAME, EXPORT_DIR, export_track, find_tracks, load_moisesdb
from Sample import Sample

PROVIDER = "moisesdb_v0.1"
# track -> stem -> [(source id, sample rate, channels, seconds)]
LAYOUT = {
    "0a1b-voc": {"vocals": [("v1", 22050, 1, 1.0), ("v2", 44100, 2, 1.2)],
                 "bass": [("b1", 44100, 2, 1.1)],
                 "drums": [("d1", 44100, 1, 1.25)]},
    "1c2d-inst": {"guitar": [("g1", 16000, 1, 0.9)], "piano": [("p1", 16000, 1, 1.0)]},
    "2e3f-voc": {"vocals": [("v3", 16000, 2, 1.5)], "bowed_strings": [("s1", 16000, 2, 1.5)],
                 "other": [("o1", 16000, 1, 1.4)]},
}


def _write_dataset(root: Path, seed: int = 0) -> Path:
    """Write LAYOUT under ``root/PROVIDER`` with data.json files; returns ``root``."""
    rng = np.random.default_rng(seed)
    for track, stems in LAYOUT.items():
        track_dir = root / PROVIDER / track
        meta = {"song": f"Song {track}", "artist": "Test Artist", "genre": "pop", "stems": []}
        for stem, sources in stems.items():
            (track_dir / stem).mkdir(parents=True)
            tracks = []
            for sid, sr, ch, sec in sources:
                audio = (0.2 * rng.standard_normal((int(sr * sec), ch))).astype(np.float32)
                sf.write(track_dir / stem / f"{sid}.wav", audio, sr, subtype="FLOAT")
                tracks.append({"id": sid, "trackType": f"{stem}_type", "extension": "wav"})
            meta["stems"].append({"stemName": stem, "id": stem, "tracks": tracks})
        (track_dir / "data.json").write_text(json.dumps(meta))
    return root


def _expected(track_dir: Path) -> dict[str, np.ndarray]:
    """Reference sums computed independently: common rate = max, mono copied, pad to longest."""
    files = {stem: sorted((track_dir / stem).glob("*.wav")) for stem in LAYOUT[track_dir.name]}
    sr = max(sf.info(f).samplerate for fs in files.values() for f in fs)
    ch = max(sf.info(f).channels for fs in files.values() for f in fs)
    loaded = {stem: [load(f, sr=sr)[0] for f in fs] for stem, fs in files.items()}
    n = max(a.shape[1] for arrs in loaded.values() for a in arrs)
    sums = {"voice": np.zeros((ch, n), np.float32), "accompaniment": np.zeros((ch, n), np.float32)}
    for stem, arrs in loaded.items():
        for a in arrs:
            key = "voice" if stem == "vocals" else "accompaniment"
            sums[key][:, : a.shape[1]] += np.broadcast_to(a, (ch, a.shape[1]))
    sums["mixture"] = sums["voice"] + sums["accompaniment"]
    sums["sr"] = sr
    return sums


def _export_mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob(f"{EXPORT_DIR}/*"))}


@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    return _write_dataset(tmp_path / "MoisesDB")


def test_find_tracks_under_provider_folder(dataset: Path) -> None:
    assert [t.name for t in find_tracks(dataset)] == sorted(LAYOUT)
    # Without the provider level (tracks directly under the root) they are found too.
    flat = dataset.parent / "flat"
    shutil.copytree(dataset / PROVIDER, flat)
    assert [t.name for t in find_tracks(flat)] == sorted(LAYOUT)


def test_sums_and_lists(dataset: Path) -> None:
    mixtures, accs, voices = load_moisesdb(dataset)
    # Track without vocals contributes an accompaniment only.
    assert len(mixtures) == 2 and len(voices) == 2 and len(accs) == 3
    assert all(isinstance(s, Sample) for lst in (mixtures, accs, voices) for s in lst)
    assert [Path(s.path).parent.parent.name for s in accs] == sorted(LAYOUT)
    assert "1c2d-inst" not in {Path(s.path).parent.parent.name for s in mixtures + voices}

    by_track = {}
    for role, lst in (("mixture", mixtures), ("accompaniment", accs), ("voice", voices)):
        for s in lst:
            by_track.setdefault(Path(s.path).parent.parent, {})[role] = s
    for track_dir, samples in by_track.items():
        ref = _expected(track_dir)
        for role, s in samples.items():
            audio, sr = sf.read(s.path, dtype="float32", always_2d=True)
            assert sr == ref["sr"] == s.sample_rate
            assert s.path.endswith(f"{EXPORT_DIR}/{role}.wav")
            assert sf.info(s.path).subtype == "FLOAT"
            np.testing.assert_allclose(audio.T, ref[role], atol=1e-6)
    # Track 1: stereo (mono sources copied), 44.1 kHz, padded to the longest source (1.25 s).
    first = by_track[dataset / PROVIDER / "0a1b-voc"]
    assert first["voice"].channels == 2 and first["voice"].sample_rate == 44100
    assert first["voice"].duration == pytest.approx(1.25)
    assert first["mixture"].duration == first["accompaniment"].duration == first["voice"].duration
    # Track 2: mono, 16 kHz, the longer source's length.
    inst = by_track[dataset / PROVIDER / "1c2d-inst"]["accompaniment"]
    assert (inst.channels, inst.sample_rate, inst.duration) == (1, 16000, pytest.approx(1.0))


def test_export_and_cache_reused(dataset: Path, caplog: pytest.LogCaptureFixture) -> None:
    first = load_moisesdb(dataset)
    assert (dataset / CACHE_NAME).is_file()
    mtimes = _export_mtimes(dataset)
    assert len(mtimes) == (3 + 1) + (1 + 1) + (3 + 1)  # wavs + sources.json per track
    time.sleep(0.01)
    with caplog.at_level(logging.INFO, logger="Input.datasets.moisesdb"):
        assert load_moisesdb(dataset) == first
    assert "from cache" in caplog.text
    assert _export_mtimes(dataset) == mtimes
    # Without the cache the exports are still reused (fingerprint matches), not rewritten.
    (dataset / CACHE_NAME).unlink()
    assert load_moisesdb(dataset) == first
    assert _export_mtimes(dataset) == mtimes


def test_cache_rebuilt_on_root_change(dataset: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    load_moisesdb(dataset)
    moved = tmp_path / "elsewhere" / "MoisesDB"
    shutil.copytree(dataset, moved)  # copy2 keeps mtimes, like rsync -a
    mtimes = _export_mtimes(moved)
    with caplog.at_level(logging.INFO, logger="Input.datasets.moisesdb"):
        lists = load_moisesdb(moved)
    assert f"MoisesDB cache {moved / CACHE_NAME} ignored (made for {dataset.resolve()}" in caplog.text
    assert all(s.path.startswith(str(moved)) for lst in lists for s in lst)
    assert _export_mtimes(moved) == mtimes  # exports reused, only the cache was rebuilt


def test_changed_source_reexports_that_track_only(dataset: Path, caplog: pytest.LogCaptureFixture) -> None:
    load_moisesdb(dataset)
    mtimes = _export_mtimes(dataset)
    bass = dataset / PROVIDER / "0a1b-voc" / "bass" / "b1.wav"
    sf.write(bass, np.full((44100, 2), 0.1, np.float32), 44100, subtype="FLOAT")  # shorter, new content
    with caplog.at_level(logging.INFO, logger="Input.datasets.moisesdb"):
        _, accs, _ = load_moisesdb(dataset)
    assert "the source files changed" in caplog.text
    after = _export_mtimes(dataset)
    changed = {k for k in mtimes if after[k] != mtimes[k]}
    assert changed and all(k.startswith(f"{PROVIDER}/0a1b-voc/") for k in changed)
    acc = next(s for s in accs if "0a1b-voc" in s.path)
    audio, _ = sf.read(acc.path, dtype="float32", always_2d=True)
    np.testing.assert_allclose(audio.T, _expected(dataset / PROVIDER / "0a1b-voc")["accompaniment"], atol=1e-6)


def test_corrupt_cache_rebuilt(dataset: Path, caplog: pytest.LogCaptureFixture) -> None:
    first = load_moisesdb(dataset)
    (dataset / CACHE_NAME).write_bytes(b"not a pickle")
    with caplog.at_level(logging.INFO, logger="Input.datasets.moisesdb"):
        assert load_moisesdb(dataset) == first
    assert "unreadable" in caplog.text
    assert not list(dataset.glob(".*.tmp"))


def test_unreadable_source_skips_track(dataset: Path, caplog: pytest.LogCaptureFixture) -> None:
    bad = dataset / PROVIDER / "2e3f-voc" / "other" / "o1.wav"
    bad.write_bytes(b"RIFF garbage, not audio")
    with caplog.at_level(logging.WARNING, logger="Input.datasets.moisesdb"):
        mixtures, accs, voices = load_moisesdb(dataset)
    assert len(mixtures) == 1 and len(accs) == 2 and len(voices) == 1
    assert "2e3f-voc" in caplog.text and str(bad) in caplog.text
    # The skip is repeated from the cache on the next call.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="Input.datasets.moisesdb"):
        load_moisesdb(dataset)
    assert "2e3f-voc" in caplog.text


def test_data_json_missing_source_warned(dataset: Path, caplog: pytest.LogCaptureFixture) -> None:
    (dataset / PROVIDER / "1c2d-inst" / "piano" / "p1.wav").unlink()
    with caplog.at_level(logging.WARNING, logger="Input.datasets.moisesdb"):
        _, accs, _ = load_moisesdb(dataset)
    assert "missing on disk" in caplog.text and "piano/p1.wav" in caplog.text
    assert len(accs) == 3


def test_export_track_without_data_json(dataset: Path) -> None:
    track = dataset / PROVIDER / "2e3f-voc"
    (track / "data.json").unlink()
    assert track in find_tracks(dataset)
    samples, written = export_track(track)
    assert written and set(samples) == {"mixture", "accompaniment", "voice"}
    assert export_track(track)[1] is False


def test_empty_and_missing_root(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "empty" / "junk").mkdir(parents=True)
    with caplog.at_level(logging.WARNING, logger="Input.datasets.moisesdb"):
        assert load_moisesdb(tmp_path / "empty") == [[], [], []]
    assert "no valid MoisesDB tracks" in caplog.text
    with pytest.raises(DatasetError, match="does not exist"):
        load_moisesdb(tmp_path / "nope")


def test_instrumental_tracks_give_silent_voices_and_stay_mixtures(dataset: Path) -> None:
    """include_silent_voices (the original code's choice): the track without vocals is also an unlabelled
    mixture, and the voices gain an all-zero track at least as long as it; from the cache alike."""
    for _ in range(2):  # exported now, then from the cache
        mixtures, accs, voices = load_moisesdb(dataset, include_silent_voices=True)
        assert (len(mixtures), len(accs), len(voices)) == (3, 3, 3)
        inst = accs[1]
        assert "1c2d-inst" in inst.path and mixtures[-1] == inst
        silence = voices[-1]
        assert Path(silence.path).parent == dataset / "silence" and silence.duration >= inst.duration
        audio, _ = sf.read(silence.path, dtype="float32")
        assert audio.size > 0 and not audio.any()
    assert [len(lst) for lst in load_moisesdb(dataset)] == [2, 3, 2]  # off: as before
