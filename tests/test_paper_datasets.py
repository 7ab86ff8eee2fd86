"""The paper's data sets (Input/datasets/paper_corpora.py) and partition (Input/datasets/paper.py) on fixture trees in
their release layouts (tests/paper_trees.py): exports, caches, one-line errors, the original's thirds."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from Input.datasets.paper import load_paper, thirds
from Input.datasets.paper_corpora import CACHE_NAME, load_ccmixter, load_dsd100, load_ikala, load_medleydb
from Input.datasets.partitions import DatasetError
from tests import paper_trees
from tests.tiny import data_config


def _read(sample) -> np.ndarray:
    return sf.read(sample.path, dtype="float32", always_2d=True)[0].T


def test_each_loader_reads_its_layout_and_exports_the_sums(tmp_path: Path) -> None:
    dsd = load_dsd100(paper_trees.write_dsd100(tmp_path / "DSD100"))
    assert [len(dsd["Dev"]), len(dsd["Test"])] == [2, 2]
    mix, acc, voice = dsd["Test"][1]
    stems = paper_trees.song(101)
    np.testing.assert_allclose(_read(acc), stems["accompaniment"], atol=1e-6)
    np.testing.assert_allclose(_read(voice), stems["vocals"], atol=1e-6)
    assert Path(acc.path).parent == tmp_path / "DSD100" / "Sources" / "Test" / "001 - ArtistTest - Song 1"

    cc = load_ccmixter(paper_trees.write_ccmixter(tmp_path / "CCMixter"))
    assert [Path(t[0].path).parent.name for t in cc] == ["cc_song_0", "cc_song_1", "cc_song_2"]
    assert [Path(s.path).name for s in cc[0]] == ["mix.wav", "source-01.wav", "source-02.wav"]

    ikala = load_ikala(paper_trees.write_ikala(tmp_path / "iKala"))
    mix, acc, voice = ikala[2]
    stems = paper_trees.song(302)
    np.testing.assert_allclose(_read(acc)[0], stems["accompaniment"][0], atol=1e-6)  # left
    np.testing.assert_allclose(_read(voice)[0], stems["vocals"][0], atol=1e-6)  # right
    np.testing.assert_allclose(_read(mix)[0], stems["accompaniment"][0] + stems["vocals"][0], atol=1e-6)
    assert voice.channels == 1 and Path(voice.path).parent == tmp_path / "iKala" / "export" / "10002_chorus"

    root = paper_trees.write_medleydb(tmp_path / "MedleyDB")
    medley = load_medleydb(root)
    assert len(medley) == 3
    mix, acc, voice = medley[0]
    stems = paper_trees.song(400)
    np.testing.assert_allclose(_read(voice), stems["vocals"], atol=1e-6)  # the "female singer" stem
    np.testing.assert_allclose(_read(acc), stems["accompaniment"], atol=1e-5)
    np.testing.assert_allclose(_read(mix), stems["mixture"], atol=1e-5)
    mix, acc, voice = medley[1]  # instrumental: yes -> the accompaniment is the mixture, the voice is silent
    assert mix == acc and voice.duration >= acc.duration and not _read(voice).any()
    assert [Path(t[1].path).parent.parent.name for t in load_medleydb(root, include_silent_voices=False)] == [
        "Artist0_Track0", "Artist2_Track2"]


def test_a_second_load_reads_the_cache_and_writes_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = paper_trees.write_medleydb(tmp_path / "MedleyDB", count=2)
    first = load_medleydb(root)
    mtimes = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    with caplog.at_level(logging.INFO):
        assert load_medleydb(root) == first
    assert "from cache" in caplog.text and (root / CACHE_NAME).is_file()
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()} == mtimes
    Path(first[0][2].path).unlink()  # an export gone: rebuilt, the same triples again
    assert load_medleydb(root) == first and Path(first[0][2].path).is_file()


def test_missing_roots_are_one_line_and_broken_tracks_are_skipped(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    for load, key in ((load_dsd100, "dsd100_path"), (load_ikala, "ikala_path"), (load_medleydb, "medleydb_path")):
        with pytest.raises(DatasetError, match=key) as err:
            load(tmp_path / "absent")
        assert "\n" not in str(err.value) and str(tmp_path / "absent") in str(err.value)
    root = paper_trees.write_medleydb(tmp_path / "MedleyDB", count=3)
    next((root / "Audio" / "Artist2_Track2" / "Artist2_Track2_STEMS").glob("*_STEM_02.wav")).unlink()
    (root / "Audio" / "Artist0_Track0" / "Artist0_Track0_METADATA.yaml").write_text("stems: [unclosed")
    with caplog.at_level(logging.WARNING):
        tracks = load_medleydb(root)
    assert [Path(t[0].path).parent.parent.name for t in tracks] == ["Artist1_Track1"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("Artist2_Track2" in w and "STEM_02.wav is missing" in w for w in warnings)
    assert any("Artist0_Track0" in w and "METADATA.yaml" in w for w in warnings)
    (root / "Audio" / "Artist1_Track1" / "Artist1_Track1_METADATA.yaml").unlink()
    (root / CACHE_NAME).unlink()  # (the cache, like MUSDB18's, is rebuilt when an export is gone, not a source)
    with pytest.raises(DatasetError, match="none of its tracks"):
        load_medleydb(root)


def test_paper_partition_is_the_originals(tmp_path: Path) -> None:
    paths = paper_trees.write_paper_tree(tmp_path)
    dataset = load_paper(data_config(**paths, include_silent_voices=True))
    names = {part: [Path(t[0].path).parent.name for t in dataset[part]] for part in ("train_sup", "train_valid",
                                                                                     "train_test")}
    assert names["train_sup"] == ["000 - ArtistDev - Song 0", "001 - ArtistDev - Song 1"]
    # DSD100 Test[:25] (both here), then the middle thirds; the last thirds (and Test[25:], empty here) test.
    assert names["train_valid"][:2] == ["000 - ArtistTest - Song 0", "001 - ArtistTest - Song 1"]
    assert len(dataset["train_valid"]) == 2 + 3 and len(dataset["train_test"]) == 3
    assert [Path(t[0].path).parent.parent.name for t in dataset["train_test"]][0] == "Artist2_Track2"
    unsup = dataset["train_unsup"]
    assert [len(lst) for lst in unsup] == [3, 3, 3]  # the first third of MedleyDB, CCMixter and iKala
    assert "Artist0_Track0" in unsup[0][0].path and unsup[1][1].path.endswith("cc_song_0/source-01.wav")
    assert unsup[2][2].path.endswith("export/10000_chorus/voice.wav")
    assert thirds(list(range(7))) == ([0, 1], [2, 3], [4, 5, 6])
    without = load_paper(data_config(**{**paths, "ikala_path": None}, include_silent_voices=True))
    assert len(without["train_test"]) == 2 and [len(lst) for lst in without["train_unsup"]] == [2, 2, 2]
