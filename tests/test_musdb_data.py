"""MUSDB18 loading on tiny generated data sets in both layouts (real musdb, stempeg, ffmpeg, soundfile)."""

from __future__ import annotations

import logging
import pickle
import shutil
from pathlib import Path

import musdb
import numpy as np
import pytest
import soundfile as sf
import stempeg

from Input.audio import files as audio
from Input.config import DataConfig
from Input.datasets import musdb as musdb_data
from Input.datasets.load import DatasetError
from Input.datasets.musdb import load_musdb
from Sample import Sample
from tests.stem_files import SECONDS, SR, STEM_SR, make_stems, needs_ffmpeg, write_stem_file
from tests.tiny import data_config

TRAIN = ("Beta - Two", "Alpha - One")
TEST = ("Delta - Four", "Alpha - Three", "Gamma - Five", "Beta - Six")


def write_hq(root: Path, train=TRAIN, test=TEST, sr: int = SR) -> Path:
    """MUSDB18-HQ layout: root/{train,test}/<name>/{mixture,drums,bass,other,vocals}.wav."""
    for seed, (subset, name) in enumerate([("train", n) for n in train] + [("test", n) for n in test]):
        folder = root / subset / name
        folder.mkdir(parents=True)
        for stem, data in make_stems(seed, sr).items():
            sf.write(folder / f"{stem}.wav", data.T, sr, subtype="FLOAT")
    return root


def config(root: Path, tmp_path: Path, **extra) -> DataConfig:
    return data_config(**{"musdb_path": str(root), "is_wav": True,
                          "dataset_cache": str(tmp_path / "cache" / "dataset.pkl"), "num_workers": 2, **extra})


def names(triples) -> list[str]:
    return [Path(t[0].path).parent.name for t in triples]


@pytest.fixture
def hq(tmp_path: Path) -> Path:
    return write_hq(tmp_path / "MUSDB18-HQ")


def test_hq_partitions_exports_and_samples(hq: Path, tmp_path: Path) -> None:
    d = load_musdb(config(hq, tmp_path))
    assert set(d) == {"train_sup", "train_valid", "train_test", "train_unsup"}
    assert d["train_unsup"] == [[], [], []]
    assert names(d["train_sup"]) == sorted(TRAIN)
    # test tracks sorted by name alternate valid/test: Alpha, Beta, Delta, Gamma
    assert names(d["train_valid"]) == ["Alpha - Three", "Delta - Four"]
    assert names(d["train_test"]) == ["Beta - Six", "Gamma - Five"]
    for mix, acc, voice in d["train_sup"] + d["train_valid"] + d["train_test"]:
        folder = Path(mix.path).parent
        assert folder.is_absolute() and folder.parent.parent == hq.resolve()
        assert (Path(mix.path).name, Path(acc.path).name, Path(voice.path).name) == \
            ("mixture.wav", "accompaniment.wav", "vocals.wav")
        for s in (mix, acc, voice):
            assert isinstance(s, Sample)
            assert (s.sample_rate, s.channels) == (SR, 2)
            assert s.duration == pytest.approx(SECONDS)
        stems = [sf.read(folder / f"{n}.wav", dtype="float32")[0] for n in ("drums", "bass", "other")]
        exported, sr = sf.read(acc.path, dtype="float32")
        assert sr == SR and sf.info(acc.path).subtype == "FLOAT"
        np.testing.assert_allclose(exported, stems[0] + stems[1] + stems[2], atol=1e-6)
    assert Path(tmp_path / "cache" / "dataset.pkl").is_file()


def test_second_start_uses_cache_without_musdb_or_decoding(hq: Path, tmp_path: Path, monkeypatch,
                                                           caplog) -> None:
    first = load_musdb(config(hq, tmp_path))
    for folder in hq.glob("*/*"):
        for stem in ("drums", "bass", "other"):
            (folder / f"{stem}.wav").unlink()

    def forbidden(*args, **kwargs):
        raise AssertionError("must not be called when the cache is valid")

    monkeypatch.setattr(musdb, "DB", forbidden)
    monkeypatch.setattr(stempeg, "read_stems", forbidden)
    monkeypatch.setattr(audio, "load", forbidden)
    monkeypatch.setattr(musdb_data, "build_musdb_dataset", forbidden)
    with caplog.at_level(logging.INFO, logger="Input.datasets.musdb"):
        second = load_musdb(config(hq, tmp_path))
    assert second == first
    assert "loaded dataset cache" in caplog.text


def test_existing_exports_are_not_rewritten(hq: Path, tmp_path: Path) -> None:
    acc = hq / "train" / "Alpha - One" / "accompaniment.wav"
    sf.write(acc, np.zeros((int(SR * SECONDS), 2), np.float32), SR, subtype="FLOAT")
    d = load_musdb(config(hq, tmp_path))
    assert np.all(sf.read(acc)[0] == 0)
    assert d["train_sup"][0][1].path == str(acc.resolve())


def test_cache_rebuilt_for_other_root(hq: Path, tmp_path: Path, caplog) -> None:
    load_musdb(config(hq, tmp_path))
    other = tmp_path / "copy"
    shutil.copytree(hq, other)
    with caplog.at_level(logging.INFO, logger="Input.datasets.musdb"):
        d = load_musdb(config(other, tmp_path))
    assert f"made for {hq.resolve()} (is_wav=True), not {other.resolve()} (is_wav=True)" in caplog.text
    assert all(Path(t[0].path).is_relative_to(other.resolve()) for t in d["train_sup"] + d["train_test"])
    with open(tmp_path / "cache" / "dataset.pkl", "rb") as fh:
        assert pickle.load(fh)["key"] == f"{other.resolve()} (is_wav=True)"


def test_cache_rebuilt_for_other_version(hq: Path, tmp_path: Path, monkeypatch, caplog) -> None:
    first = load_musdb(config(hq, tmp_path))
    monkeypatch.setattr(musdb_data, "CACHE_VERSION", musdb_data.CACHE_VERSION + 1)
    with caplog.at_level(logging.INFO, logger="Input.datasets.musdb"):
        second = load_musdb(config(hq, tmp_path))
    old, new = musdb_data.CACHE_VERSION - 1, musdb_data.CACHE_VERSION
    assert f"format version {old}, expected {new}" in caplog.text and "rebuilding" in caplog.text
    assert second == first
    with open(tmp_path / "cache" / "dataset.pkl", "rb") as fh:
        assert pickle.load(fh)["version"] == musdb_data.CACHE_VERSION


def test_corrupt_cache_is_rebuilt(hq: Path, tmp_path: Path, caplog) -> None:
    cfg = config(hq, tmp_path)
    Path(cfg.dataset_cache).parent.mkdir()
    Path(cfg.dataset_cache).write_bytes(b"\x80\x05garbage, not a pickle")
    with caplog.at_level(logging.INFO, logger="Input.datasets.musdb"):
        d = load_musdb(cfg)
    assert "unreadable" in caplog.text and "rebuilding" in caplog.text
    assert len(d["train_sup"]) == 2
    with open(cfg.dataset_cache, "rb") as fh:
        assert pickle.load(fh)["data"] == d


def test_cache_naming_deleted_files_is_rebuilt(hq: Path, tmp_path: Path, caplog) -> None:
    load_musdb(config(hq, tmp_path))
    gone = hq / "train" / "Alpha - One" / "accompaniment.wav"
    gone.unlink()
    with caplog.at_level(logging.INFO, logger="Input.datasets.musdb"):
        d = load_musdb(config(hq, tmp_path))
    assert "no longer exists" in caplog.text
    assert gone.is_file() and len(d["train_sup"]) == 2


@pytest.mark.parametrize("setup", ["missing", "empty"])
def test_missing_musdb_error(tmp_path: Path, setup: str) -> None:
    root = tmp_path / "nowhere" / "MUSDB18"
    if setup == "empty":
        (root / "train").mkdir(parents=True)
    with pytest.raises(DatasetError) as err:
        load_musdb(config(root, tmp_path, is_wav=False))
    msg = str(err.value)
    assert "\n" not in msg
    assert str(root) in msg
    assert musdb_data.MUSDB_URL in msg
    assert "model_config.musdb_path=" in msg and "model_config.is_wav=True" in msg
    assert "python Training.py with demo" in msg
    assert ("does not exist" if setup == "missing" else "no tracks") in msg
    assert not Path(tmp_path / "cache" / "dataset.pkl").exists()


def test_wrong_variant_hint(hq: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="set model_config.is_wav=True"):
        load_musdb(config(hq, tmp_path, is_wav=False))


def test_track_lacking_a_stem_is_skipped(hq: Path, tmp_path: Path, caplog) -> None:
    (hq / "test" / "Beta - Six" / "other.wav").unlink()
    with caplog.at_level(logging.WARNING, logger="Input.datasets.musdb"):
        d = load_musdb(config(hq, tmp_path))
    assert "Beta - Six" in caplog.text and "lacks other.wav" in caplog.text
    assert names(d["train_valid"]) == ["Alpha - Three", "Delta - Four"]  # split is not shifted
    assert names(d["train_test"]) == ["Gamma - Five"]
    assert len(d["train_sup"]) == 2


def test_unreadable_track_is_skipped(hq: Path, tmp_path: Path, caplog) -> None:
    (hq / "train" / "Beta - Two" / "mixture.wav").write_bytes(b"RIFF this is not audio at all" * 10)
    with caplog.at_level(logging.WARNING, logger="Input.datasets.musdb"):
        d = load_musdb(config(hq, tmp_path))
    assert "'Beta - Two'" in caplog.text
    assert names(d["train_sup"]) == ["Alpha - One"]
    assert len(d["train_valid"]) == 2 and len(d["train_test"]) == 2


# --- MUSDB18 (.stem.mp4) -------------------------------------------------------------------------------

@needs_ffmpeg
def test_stem_mp4_export(tmp_path: Path, caplog) -> None:
    root = tmp_path / "MUSDB18"
    tracks = {("train", "Alpha - One"): 0, ("test", "Beta - Two"): 1, ("test", "Gamma - Three"): 2,
              ("test", "Delta - Four"): 4}
    originals = {}
    for (subset, name), seed in tracks.items():
        originals[name] = make_stems(seed, STEM_SR)
        write_stem_file(root / subset / f"{name}.stem.mp4", originals[name], STEM_SR)
    write_stem_file(root / "test" / "Broken - Stem.stem.mp4", make_stems(3, STEM_SR), STEM_SR,
                    order=("mixture", "vocals"))

    with caplog.at_level(logging.WARNING, logger="Input.datasets.musdb"):
        d = load_musdb(config(root, tmp_path, is_wav=False))
    assert "Broken - Stem" in caplog.text and "has 2 audio streams, expected 5" in caplog.text
    assert names(d["train_sup"]) == ["Alpha - One"]
    # sorted test names: Beta, Broken, Delta, Gamma -> valid gets positions 0 and 2, the broken one is dropped
    assert names(d["train_valid"]) == ["Beta - Two", "Delta - Four"]
    assert names(d["train_test"]) == ["Gamma - Three"]

    n = int(STEM_SR * SECONDS)
    for mix, acc, voice in d["train_sup"] + d["train_valid"] + d["train_test"]:
        folder = Path(mix.path).parent
        assert folder.parent.parent == root.resolve() and (folder.parent / f"{folder.name}.stem.mp4").is_file()
        orig = originals[folder.name]
        expected = {"mixture": orig["mixture"], "vocals": orig["vocals"],
                    "accompaniment": orig["drums"] + orig["bass"] + orig["other"]}
        for sample, role in ((mix, "mixture"), (acc, "accompaniment"), (voice, "vocals")):
            assert Path(sample.path) == folder / f"{role}.wav"
            assert (sample.sample_rate, sample.channels) == (STEM_SR, 2)
            data, sr = audio.load(sample.path)
            assert sr == STEM_SR and sf.info(sample.path).subtype == "FLOAT"
            assert abs(data.shape[1] - n) <= 1024  # AAC padding
            m = min(n, data.shape[1])
            ref = expected[role][:, :m]
            err = np.sqrt(np.mean((data[:, :m] - ref) ** 2)) / np.sqrt(np.mean(ref ** 2))
            assert err < 0.1, (folder.name, role, err)
            assert sample.duration == pytest.approx(data.shape[1] / STEM_SR)

    # the second start reads the cache even when the stem files are gone
    for f in root.glob("*/*.stem.mp4"):
        f.unlink()
    assert load_musdb(config(root, tmp_path, is_wav=False)) == d


# --- truncated stems (a stem shorter than the mixture by more than STEM_TOLERANCE skips the track) -------------

def truncate(path: Path, size: int = 500) -> None:
    """Cut a file to its first ``size`` bytes, as an interrupted copy leaves it (the header still says more)."""
    with open(path, "r+b") as handle:
        handle.truncate(size)


@pytest.mark.parametrize("stem", ["bass", "vocals", "mixture"])
def test_truncated_stem_skips_the_track_and_the_others_are_used(hq: Path, tmp_path: Path, caplog, stem) -> None:
    track = hq / "train" / "Beta - Two"
    truncate(track / f"{stem}.wav")
    with caplog.at_level(logging.WARNING, logger="Input.datasets.musdb"):
        d = load_musdb(config(hq, tmp_path))
    skipped = [r.getMessage() for r in caplog.records if "Beta - Two" in r.getMessage()]
    shorter = "the mixture has 5" if stem == "mixture" else f"{stem}.wav has 5"
    assert len(skipped) == 1 and shorter in skipped[0] and "truncated" in skipped[0], skipped
    assert "cut to the shortest" not in caplog.text
    assert names(d["train_sup"]) == ["Alpha - One"] and len(d["train_valid"]) == len(d["train_test"]) == 2
    assert (track / "accompaniment.wav").exists() == (stem == "vocals")  # nothing made from a truncated stem
    for triple in d["train_sup"] + d["train_valid"] + d["train_test"]:
        assert {round(s.duration * s.sample_rate) for s in triple} == {int(SR * SECONDS)}


def test_stem_shorter_within_the_tolerance_is_cut(hq: Path, tmp_path: Path, caplog) -> None:
    bass = hq / "train" / "Beta - Two" / "bass.wav"
    data, _ = sf.read(bass, dtype="float32")
    short = len(data) - musdb_data.STEM_TOLERANCE
    sf.write(bass, data[:short], SR, subtype="FLOAT")
    with caplog.at_level(logging.WARNING, logger="Input.datasets.musdb"):
        d = load_musdb(config(hq, tmp_path))
    assert caplog.text == ""
    acc = d["train_sup"][1][1]
    assert Path(acc.path).parent.name == "Beta - Two" and round(acc.duration * SR) == short


def test_a_partition_whose_tracks_are_all_truncated_is_one_error(hq: Path, tmp_path: Path) -> None:
    for name in TRAIN:
        truncate(hq / "train" / name / "drums.wav")
    with pytest.raises(DatasetError) as err:
        load_musdb(config(hq, tmp_path))
    assert str(err.value) == (f"MUSDB18 at {hq.resolve()}: none of the 2 tracks of train_sup could be read "
                              f"(see the warnings above)")
    assert not Path(tmp_path / "cache" / "dataset.pkl").exists()
