"""Dataset dict validation, custom loaders and load_dataset dispatch (real musdb on a tiny HQ layout)."""

from __future__ import annotations

import logging
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from Input.audio.probe import probe_sample
from Input.config import DataConfig
from Input.datasets import load as datasets
from Input.datasets.load import DatasetError, describe, load_dataset, resolve_loader, validate_dataset
from Sample import Sample
from tests.tiny import data_config

SR = 22050


def wav(path: Path, seconds: float = 1.0, channels: int = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = 0.1 * np.random.default_rng(0).standard_normal((int(SR * seconds), channels))
    sf.write(path, data.astype(np.float32), SR, subtype="FLOAT")
    return path


def sample(tmp_path: Path, name: str, seconds: float = 1.0) -> Sample:
    return probe_sample(wav(tmp_path / f"{name}.wav", seconds))


def small_dict(tmp_path: Path) -> dict:
    mix, acc, voice = (sample(tmp_path, n, 2.0) for n in ("mix", "acc", "voice"))
    return {"train_sup": [(mix, acc, voice)], "train_valid": [[mix, acc, voice]], "train_test": [],
            "train_unsup": [[mix], [acc, acc], []]}


def write_module(tmp_path: Path, monkeypatch, name: str, source: str) -> None:
    """Make ``name`` importable from tmp_path for this test only."""
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)


def write_hq(root: Path) -> Path:
    """Tiny MUSDB18-HQ layout: 1 train and 2 test tracks of 1 s."""
    for subset, name in (("train", "A - Train"), ("test", "B - Test"), ("test", "C - Test")):
        for stem in ("mixture", "drums", "bass", "other", "vocals"):
            wav(root / subset / name / f"{stem}.wav")
    return root


# --- validate_dataset / describe ----------------------------------------------------------------------


def test_validate_normalises_lists_to_tuples(tmp_path: Path) -> None:
    d = small_dict(tmp_path)
    out = validate_dataset(d)
    assert out["train_valid"] == [tuple(d["train_valid"][0])]
    assert isinstance(out["train_valid"][0], tuple)
    assert out["train_unsup"] == d["train_unsup"]
    assert set(out) == set(datasets.PARTITIONS)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("train_test"), r"missing keys \['train_test'\]"),
    (lambda d: d.update(extra=[]), r"unknown keys \['extra'\]"),
    (lambda d: d.update(train_sup=[d["train_sup"][0][:2]]), r"train_sup\[0\] must be a \(mix, acc, voice\) "
                                                            r"tuple of 3 Samples, got length 2"),
    (lambda d: d.update(train_valid=[(d["train_sup"][0][0], "acc.wav", d["train_sup"][0][2])]),
     r"train_valid\[0\]\[1\] \(acc\) is str, expected Sample"),
    (lambda d: d.update(train_test="x"), r"train_test must be a list"),
    (lambda d: d.update(train_unsup=[[], []]), r"train_unsup must be \[mixtures, accompaniments, voices\]"),
    (lambda d: d.update(train_unsup=[[], [], ["v.wav"]]), r"train_unsup\[2\]\[0\] \(voice\) is str"),
])
def test_validate_rejects_malformed(tmp_path: Path, mutate, message: str) -> None:
    d = small_dict(tmp_path)
    mutate(d)
    with pytest.raises(DatasetError, match=r"^my source: " + message):
        validate_dataset(d, source="my source")


def test_validate_rejects_non_dict() -> None:
    with pytest.raises(DatasetError, match="expected a dict"):
        validate_dataset([1, 2, 3])


def test_describe_counts(tmp_path: Path) -> None:
    text = describe(validate_dataset(small_dict(tmp_path)))
    assert "train_sup: 1 tracks" in text and "train_valid: 1 tracks" in text and "train_test: 0 tracks" in text
    assert "train_unsup: 1 mixtures, 2 accompaniments, 0 voices" in text
    assert "\n" not in text


# --- custom loaders -----------------------------------------------------------------------------------


@pytest.mark.parametrize("spec, message", [
    ("no_such_module_for_tests:load", "cannot import module 'no_such_module_for_tests'"),
    ("json:no_such_function", "module 'json' has no attribute 'no_such_function'"),
    ("json", "expected 'module:function'"),
    ("json:", "expected 'module:function'"),
    ("a:b:c", "expected 'module:function'"),
    ("json:__doc__", "is not callable"),
])
def test_bad_loader_spec(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        load_dataset(data_config(dataset_loader=spec), seed=0)
    assert "\n" not in str(err.value) and repr(spec) in str(err.value)


def test_custom_loader(tmp_path: Path, monkeypatch) -> None:
    files = [str(wav(tmp_path / f"{n}.wav")) for n in ("m", "a", "v")]
    write_module(tmp_path, monkeypatch, "custom_loader_ok", f"""
        from pathlib import Path
        from Input.audio.probe import probe_sample

        def load(data):  # the run's Input.config.DataConfig
            s = [probe_sample(p) for p in {files!r}]
            assert Path(data.musdb_path).name == "no_musdb_here"
            return {{"train_sup": [tuple(s)], "train_valid": [], "train_test": [tuple(s)],
                    "train_unsup": [[s[0]], [], [s[2]]]}}
    """)
    cfg = data_config(dataset_loader="custom_loader_ok:load", musdb_path=str(tmp_path / "no_musdb_here"))
    d = load_dataset(cfg, seed=0)
    triple = tuple(probe_sample(f) for f in files)
    assert d == {"train_sup": [triple], "train_valid": [], "train_test": [triple],
                 "train_unsup": [[triple[0]], [], [triple[2]]]}
    assert resolve_loader("custom_loader_ok:load").__module__ == "custom_loader_ok"


def test_custom_loader_returning_malformed_dict(tmp_path: Path, monkeypatch) -> None:
    write_module(tmp_path, monkeypatch, "custom_loader_bad", """
        def load(data):
            return {"train_sup": [("mix.wav", "acc.wav", "voice.wav")], "train_valid": [], "train_test": [],
                    "train_unsup": [[], [], []]}
    """)
    with pytest.raises(DatasetError, match=r"dataset_loader 'custom_loader_bad:load': train_sup\[0\]\[0\] "
                                           r"\(mix\) is str, expected Sample"):
        load_dataset(data_config(dataset_loader="custom_loader_bad:load"), seed=0)


# --- MUSDB + unpaired data ----------------------------------------------------------------------------


def musdb_config(tmp_path: Path, **keys: object) -> DataConfig:
    return data_config(musdb_path=str(write_hq(tmp_path / "hq")), is_wav=True,
                       dataset_cache=str(tmp_path / "dataset.pkl"), num_workers=1, **keys)


def test_load_dataset_musdb_without_unpaired_data(tmp_path: Path, caplog) -> None:
    cfg = musdb_config(tmp_path)  # no moisesdb_path, no unsup_*_dirs
    with caplog.at_level(logging.INFO, logger="Input.datasets.musdb"):
        d = load_dataset(cfg, seed=0)
        assert load_dataset(cfg, seed=0) == d
    assert [len(d[k]) for k in datasets.PAIRED_PARTITIONS] == [1, 1, 1]
    assert d["train_unsup"] == [[], [], []]
    assert "loaded dataset cache" in caplog.text


def test_load_dataset_fills_train_unsup_from_load_unpaired(tmp_path: Path, monkeypatch) -> None:
    voice = wav(tmp_path / "unpaired" / "voice.wav", 3.0)
    calls = []

    def fake_load_unpaired(data: DataConfig, min_seconds: float) -> list:
        calls.append(min_seconds)
        assert data.is_wav is True
        return [[], [], [probe_sample(voice)]]

    monkeypatch.setattr(datasets, "load_unpaired", fake_load_unpaired)
    d = load_dataset(musdb_config(tmp_path), 2.5, seed=0)
    assert d["train_unsup"] == [[], [], [probe_sample(voice)]]
    assert len(d["train_sup"]) == 1
    assert calls == [2.5]  # min_unpaired_seconds is passed through


def test_load_dataset_unpaired_folders_and_min_seconds(tmp_path: Path) -> None:
    long_voice = wav(tmp_path / "voices" / "long.wav", 3.0)
    wav(tmp_path / "voices" / "short.wav", 1.0)
    cfg = musdb_config(tmp_path, unsup_voice_dirs=[str(tmp_path / "voices")])
    assert load_dataset(cfg, 2.0, seed=0)["train_unsup"] == [[], [], [probe_sample(long_voice)]]
    assert len(load_dataset(cfg, seed=0)["train_unsup"][2]) == 2  # default 0.0: nothing is too short


def test_load_dataset_rejects_bad_unpaired_lists(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(datasets, "load_unpaired", lambda data, min_seconds: [[], []])
    with pytest.raises(DatasetError, match=r"MUSDB18 \+ Input.datasets.unpaired: train_unsup must be"):
        load_dataset(musdb_config(tmp_path), seed=0)


def test_load_dataset_missing_musdb(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="MUSDB18 not found in .*nothing.*with demo"):
        load_dataset(data_config(musdb_path=str(tmp_path / "nothing"), dataset_cache=str(tmp_path / "d.pkl"),
                                 is_wav=False, num_workers=1), seed=0)


def _songs(n: int) -> list[tuple[Sample, Sample, Sample]]:
    return [tuple(Sample(f"musdb/train/Song {i:02d}/{role}.wav", 44100, 2, 10.0)
                  for role in ("mixture", "accompaniment", "vocals")) for i in range(n)]


def test_scarce_labels_split_is_disjoint_stable_and_seeded() -> None:
    songs = _songs(20)
    extra = Sample("moises/voice.wav", 44100, 2, 5.0)
    dataset = {"train_sup": songs, "train_valid": songs[:1], "train_test": songs[1:2], "train_unsup": [[], [], [extra]]}
    split = datasets.scarce_labels(dataset, 5, seed=3)
    record = datasets.split_record(split)
    labelled = set(record["labelled"])
    groups = [set(record[f"unpaired_{k}"]) - {"moises"} for k in ("mixtures", "accompaniments", "voices")]
    assert len(labelled) == 5 and [len(g) for g in groups] == [5, 5, 5]
    assert not labelled & (groups[0] | groups[1] | groups[2])  # nothing unpaired is secretly paired
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    assert labelled | groups[0] | groups[1] | groups[2] == {f"Song {i:02d}" for i in range(20)}
    assert all(s.path.endswith(f"/{role}.wav") for role, lst in
               zip(("mixture", "accompaniment", "vocals"), split["train_unsup"], strict=True)
               for s in lst if s is not extra)
    assert split["train_unsup"][2][0] == extra and split["train_valid"] == songs[:1]
    shuffled = {**dataset, "train_sup": songs[::-1]}
    assert datasets.split_record(datasets.scarce_labels(shuffled, 5, seed=3)) == record  # stable
    assert datasets.split_record(datasets.scarce_labels(dataset, 5, seed=4))["labelled"] != record["labelled"]
    assert datasets.scarce_labels(dataset, 20, seed=3) is dataset  # enough labels: nothing to split


def test_the_paper_loader_under_its_old_module_path_still_resolves() -> None:
    """A run config stored before the sub-package layout names ``Input.paper_data:load_paper``; resuming it must
    find the same function (the loader's module moved to ``Input.datasets.paper``)."""
    from Input.datasets.paper import load_paper

    assert datasets.resolve_loader("Input.paper_data:load_paper") is load_paper
    assert datasets.resolve_loader("Input.datasets.paper:load_paper") is load_paper
