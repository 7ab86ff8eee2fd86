"""The ONNX export and the ONNX engine: the same estimates as Keras, the same stems as the TF engine through
separate.py, no TensorFlow in the ONNX engine's process, and one-line errors for a bad ONNX file."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import soundfile as sf

from Input.synth.song import generate_song
from Models.api import Separator, choose_engine
from Models.nets.onnx_export import export_checkpoint, onnx_bytes
from Models.nets.onnx_files import SPEC_KEY
from Models.nets.padding import get_padding
from Models.nets.shapes import get_shapes
from Models.separation.model_rate import predict_magnitudes
from Models.separation.onnx_engine import OnnxNetwork
from tests.cli_helpers import ENV, REPO, write_run
from tests.tiny import TINY, TINY_MODEL, random_separator
from Utils import EXIT_STATUS, CheckpointError, ConfigError

SPEC = dataclasses.replace(TINY, output_activation=None)  # random_separator's spec


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    """The random tiny separator and its ONNX file."""
    model = random_separator()
    path = tmp_path_factory.mktemp("onnx") / "random.onnx"
    path.write_bytes(onnx_bytes(model, SPEC, "random"))
    return model, path


def test_onnx_network_matches_keras_on_random_input(exported: tuple) -> None:
    model, path = exported
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert json.loads(session.get_modelmeta().custom_metadata_map[SPEC_KEY]) == SPEC.to_dict()
    rng = np.random.default_rng(0)
    for batch, step in ((1, 8), (3, 64), (2, 200)):  # batch and time axes are free
        (freq, time), (out_freq, out_time) = get_padding((get_shapes(SPEC).num_bins, step), SPEC.num_layers)
        x = rng.normal(0.5, 1.0, size=(batch, freq, time, 1)).astype(np.float32)
        acc, voice = (t.numpy() for t in model(x, training=False))
        onnx_acc, onnx_voice = session.run(["accompaniment", "voice"], {"mixture": x})
        assert onnx_acc.shape == (batch, out_freq, out_time, 1)
        assert np.abs(onnx_acc - acc).max() <= 1e-4 and np.abs(onnx_voice - voice).max() <= 1e-4


def test_onnx_engine_windows_match_keras(exported: tuple) -> None:
    """The whole window machinery (batches, crop to the STFT bins, tail windows) gives the same estimates."""
    model, path = exported
    network = OnnxNetwork.load(path)
    assert network.spec == SPEC
    mix = np.random.default_rng(1).uniform(0, 2, size=(2, get_shapes(SPEC).num_bins, 301)).astype(np.float32)
    for keras_out, onnx_out in zip(predict_magnitudes(model, mix, get_shapes(SPEC), 4),
                                   predict_magnitudes(network, mix, get_shapes(SPEC), 4), strict=True):
        assert keras_out.shape == onnx_out.shape == mix.shape
        assert np.abs(keras_out - onnx_out).max() <= 1e-4


def test_engine_choice(tmp_path: Path) -> None:
    prefix = write_run(tmp_path, "1_sup", TINY_MODEL, 3)
    assert choose_engine(prefix) == choose_engine(tmp_path / "1_sup") == "tf"
    assert choose_engine(tmp_path / "x.onnx") == "onnx"
    (tmp_path / "1_sup" / "1_sup-2.onnx").write_bytes(b"")  # the export of another checkpoint of the run
    assert choose_engine(prefix) == choose_engine(tmp_path / "1_sup") == "tf"
    Path(f"{prefix}.onnx").write_bytes(b"")  # the export of the run's best checkpoint
    assert choose_engine(prefix) == choose_engine(tmp_path / "1_sup") == choose_engine(prefix, "auto", "auto") \
        == "onnx"
    assert choose_engine(prefix, "auto", "bfloat16") == "tf"  # 16-bit arithmetic is the TF engine's
    assert choose_engine(prefix, "tf") == "tf"
    with pytest.raises(ConfigError, match="x.onnx"):
        choose_engine(tmp_path / "x.onnx", "tf")
    with pytest.raises(ConfigError, match="engine"):
        choose_engine(prefix, "torch")


def test_bad_onnx_files_are_named_in_one_line(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a protobuf at all\n" * 10)
    for path, reason in ((garbage, "not a readable ONNX model"), (tmp_path / "absent.onnx", "no such ONNX file")):
        with pytest.raises(CheckpointError, match=reason) as info:
            Separator.load(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, check=False, env=ENV)


def snr(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / max(np.sum((reference - estimate) ** 2), 1e-30)))


@pytest.mark.slow
def test_separate_with_onnx_matches_tf(tmp_path: Path) -> None:
    prefix = write_run(tmp_path / "checkpoints", "1_sup", TINY_MODEL, 5, seed=2)
    folder = Path(prefix).parent
    exported = run(tmp_path, "-m", "Models.export", "--checkpoint", str(folder))
    assert exported.returncode == 0, exported.stderr[-3000:]
    assert Path(f"{prefix}.onnx").is_file()
    custom = run(tmp_path, "-m", "Models.export", "--checkpoint", prefix, "--output", "other/sep.onnx")
    assert custom.returncode == 0 and (tmp_path / "other" / "sep.onnx").is_file(), custom.stderr[-3000:]
    sf.write(tmp_path / "song.wav", generate_song(3, 4.0, 22050)["mixture"].T, 22050, subtype="FLOAT")
    for mode in ([], ["--wiener", "1", "--vocals-band", "full"]):
        stems = {}
        for engine in ("tf", "onnx"):
            out = tmp_path / f"out_{engine}_{len(mode)}"
            result = run(tmp_path, str(REPO / "separate.py"), "--input", "song.wav", "--output", str(out),
                         "--checkpoint", str(folder), "--engine", engine, "--bit-depth", "32", "--precision",
                         "float32", "--chunk-seconds", "2", *mode)
            assert result.returncode == 0, result.stderr[-3000:]
            assert f"(engine {engine})" in result.stderr
            stems[engine] = {s: sf.read(out / f"song_{s}.wav", dtype="float32")[0] for s in ("vocals", "accompaniment")}
        for source, tf_stem in stems["tf"].items():
            onnx_stem = stems["onnx"][source]
            assert tf_stem.shape == onnx_stem.shape and np.abs(tf_stem).max() > 1e-3
            assert np.abs(tf_stem - onnx_stem).max() <= 1e-4 or snr(tf_stem, onnx_stem) >= 60, (mode, source)


@pytest.mark.slow
def test_the_onnx_engine_imports_no_tensorflow(exported: tuple, tmp_path: Path) -> None:
    _, path = exported
    sf.write(tmp_path / "song.wav", generate_song(4, 2.0, 16000)["mixture"].T, 16000)
    script = textwrap.dedent(f"""
        import sys
        import separate
        status = separate.main(["--input", "song.wav", "--checkpoint", {str(path)!r}, "--wiener", "1",
                                "--vocals-band", "full", "--format", "flac"])
        assert status == 0, status
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "tf_keras", "keras"))
        print("loaded:", loaded)
        assert not loaded, loaded
    """)
    result = run(tmp_path, "-c", script)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert (tmp_path / "separated" / "song_vocals.flac").is_file()


@pytest.mark.slow
def test_separate_names_a_bad_onnx_file_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.onnx").write_bytes(b"\x08\x07garbage")
    sf.write(tmp_path / "song.wav", np.zeros((8000, 1), np.float32), 8000)
    result = run(tmp_path, str(REPO / "separate.py"), "--input", "song.wav", "--checkpoint", "bad.onnx")
    assert result.returncode == EXIT_STATUS["checkpoint"], result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "bad.onnx" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    wrong = run(tmp_path, str(REPO / "separate.py"), "--input", "song.wav", "--checkpoint", "bad.onnx", "--engine",
                "tf")
    assert wrong.returncode == EXIT_STATUS["config"] and "needs the onnx engine" in wrong.stderr


def test_export_checkpoint_writes_the_onnx_file_beside_the_checkpoint(tmp_path: Path) -> None:
    prefix = write_run(tmp_path, "1_sup", TINY_MODEL, 3)
    with pytest.raises(CheckpointError, match="has no ONNX export"):
        Separator.load(prefix, engine="onnx")
    written = export_checkpoint(tmp_path / "1_sup")
    assert written == Path(f"{prefix}.onnx")
    separator = Separator.load(tmp_path / "1_sup")
    assert separator.engine == "onnx" and separator.spec == Separator.load(prefix, engine="tf").spec
    assert separator.checkpoint == prefix  # results are named after the checkpoint, whichever engine ran it
    audio = np.random.default_rng(0).uniform(-0.5, 0.5, size=(1, 20000)).astype(np.float32)
    onnx_stems = separator.separate(audio, 8192)
    tf_stems = Separator.load(prefix, engine="tf").separate(audio, 8192)
    for source, stem in tf_stems.items():
        assert np.abs(stem - onnx_stems[source]).max() <= 1e-4
