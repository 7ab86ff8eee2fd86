"""The separation API (``Models.api.Separator``): one object that loads a checkpoint once and separates arrays and
files exactly as the functions it stands for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from Models.api import Separator
from Models.separation.input_rate import separate
from Models.separation.options import SeparationOptions
from tests.cli_helpers import tone, write_run
from tests.tiny import TINY_MODEL as TINY


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("checkpoints")
    write_run(base, "7_sup", TINY, 3)
    return base / "7_sup"


def test_load_takes_a_run_folder_and_names_its_checkpoint(run_folder: Path) -> None:
    separator = Separator.load(run_folder)
    assert separator.checkpoint == str(run_folder / "7_sup-3")
    assert separator.precision == "float32"
    assert separator.sample_rate == TINY["expected_sr"]


def test_separate_is_the_inference_function_on_the_same_weights(run_folder: Path) -> None:
    separator = Separator.load(run_folder)
    model, spec = separator.model, separator.spec
    audio = tone(44100, 0.7, 2).T
    options = SeparationOptions(vocals_band="full", wiener=1)
    got, expected = separator.separate(audio, 44100, options), separate(audio, 44100, model, spec, options)
    for name in ("vocals", "accompaniment"):
        np.testing.assert_array_equal(got[name], expected[name])
    assert np.abs(got["vocals"]).max() > 0  # a real estimate, not silence


def test_separate_file_writes_what_separate_returns(run_folder: Path, tmp_path: Path) -> None:
    separator = Separator.load(run_folder)
    audio = tone(22050, 1.3, 2)  # [samples, channels]
    sf.write(tmp_path / "song.wav", audio, 22050, subtype="FLOAT")
    outputs = {"vocals": tmp_path / "v.wav", "accompaniment": tmp_path / "a.wav"}
    done: list[float] = []
    options = SeparationOptions(bit_depth=32)
    result = separator.separate_file(tmp_path / "song.wav", outputs, options, done.append)
    assert (result["sample_rate"], result["channels"], result["samples"]) == (22050, 2, audio.shape[0])
    assert sum(done) == pytest.approx(1.3, abs=1e-3)
    expected = separator.separate(audio.T, 22050, options)
    for name, path in outputs.items():
        written, sr = sf.read(path, dtype="float32", always_2d=True)
        assert sr == 22050
        np.testing.assert_allclose(written.T, expected[name], atol=1e-5)
