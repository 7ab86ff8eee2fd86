"""separate.py end to end: checkpoint auto-detection, formats, outputs matching the inputs, bad input."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import separate
from Input.audio.files import load
from Models.nets.checkpoint_files import find_latest_checkpoint
from Models.separation.options import SeparationOptions
from tests.cli_helpers import ENV, REPO, tone, write_run
from tests.hostile_media import hls_playlist, write_secrets
from tests.tiny import TINY_MODEL
from Utils import EXIT_STATUS

TINY = TINY_MODEL


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "separate.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=ENV,
    )


def test_auto_detection_picks_the_newest_best_checkpoint(tmp_path: Path) -> None:
    write_run(tmp_path, "111_sup", TINY, 30, age=300)
    newest = write_run(tmp_path, "222_semisup", TINY, 20, age=10)
    write_run(tmp_path, "333_sup", TINY, 50, age=100)
    (tmp_path / "999_sup").mkdir()  # no config, no checkpoint: ignored
    assert find_latest_checkpoint(tmp_path) == newest
    assert find_latest_checkpoint(tmp_path / "absent") is None


OPTIONS = ("--input", "--output", "--checkpoint", "--format", "--bit-depth", "--accompaniment", "--offset",
           "--duration", "--overwrite", "--batch-size", "--chunk-seconds", "--precision", "--cpu", "--vocals-band",
           "--extension", "--wiener", "--engine")


def test_help_describes_every_option(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        separate.main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage:") and "Separate vocals and accompaniment" in text
    # One block per option: its invocation, then (after two or more spaces, or on the next lines) its help.
    blocks = re.split(r"\n(?=  -)", text.split("options:", 1)[1])
    described = {}
    for block in blocks:
        first, *rest = block.strip("\n").split("\n")
        invocation, _, after = first.strip().partition("  ")
        description = " ".join([after, *rest]).split()
        for flag in re.findall(r"--[a-z-]+", invocation):
            described[flag] = description
    assert set(OPTIONS) <= set(described)
    assert all(described[flag] for flag in OPTIONS), {f: d for f, d in described.items() if not d}


def test_options_parse_to_their_values_and_defaults() -> None:
    parser = separate.get_parser()
    args = parser.parse_args(["--input", "a.wav", "b", "--output", "out", "--checkpoint", "ck", "--format", "flac",
                              "--bit-depth", "24", "--accompaniment", "model", "--offset", "1.5", "--duration", "2",
                              "--overwrite", "--batch-size", "3", "--chunk-seconds", "4", "--precision", "bfloat16",
                              "--cpu", "--vocals-band", "model", "--extension", "top", "--wiener", "2", "--engine",
                              "onnx"])
    assert (args.input, args.output, args.checkpoint, args.format, args.bit_depth, args.accompaniment) == (
        ["a.wav", "b"], "out", "ck", "flac", 24, "model")
    assert (args.offset, args.duration, args.overwrite, args.batch_size, args.chunk_seconds) == (1.5, 2.0, True, 3, 4.0)
    assert (args.precision, args.cpu, args.engine) == ("bfloat16", True, "onnx")
    options = separate.separation_options(args)
    assert (options.vocals_band, options.extension, options.wiener) == ("model", "top", 2)
    defaults = parser.parse_args(["--input", "a.wav"])
    assert (defaults.output, defaults.checkpoint, defaults.format, defaults.bit_depth, defaults.accompaniment) == (
        "separated", None, "wav", 16, "residual")
    assert (defaults.offset, defaults.duration, defaults.overwrite, defaults.batch_size) == (0.0, None, False, None)
    assert (defaults.chunk_seconds, defaults.precision, defaults.cpu, defaults.engine) == (30.0, "auto", False, "auto")
    assert separate.separation_options(defaults) == SeparationOptions(chunk_seconds=30.0)


def test_the_separation_api_matches_the_input(tmp_path: Path) -> None:
    from Models.api import Separator
    from Models.separation.options import SeparationOptions

    separator = Separator.load(write_run(tmp_path, "4_sup", TINY, 1))
    audio = tone(48000, 0.4, 2).T
    out = separator.separate(audio, 48000, SeparationOptions(accompaniment="model"))
    assert {k: v.shape for k, v in out.items()} == {"vocals": audio.shape, "accompaniment": audio.shape}


def test_plan_outputs_keeps_colliding_names_apart(tmp_path: Path) -> None:
    inputs = [(Path("a/song.wav"), Path()), (Path("b/song.mp3"), Path()), (Path("c/x.flac"), Path("sub"))]
    plans = separate.plan_outputs(inputs, tmp_path, "flac")
    assert [p["vocals"].name for p in plans] == [
        "song_wav_vocals.flac",
        "song_mp3_vocals.flac",
        "x_vocals.flac",
    ]
    assert plans[2]["accompaniment"] == tmp_path / "sub" / "x_accompaniment.flac"
    assert plans[1]["copy"] == tmp_path / "song.mp3"


def test_a_folder_input_leaves_out_the_results_inside_it(tmp_path: Path) -> None:
    """``--input album --output album/separated`` a second time: the first run's stems and copies are not songs."""
    album = tmp_path / "album"
    (album / "separated" / "cd1").mkdir(parents=True)
    (album / "cd1").mkdir()
    for path in (album / "song.wav", album / "cd1" / "b.wav", album / "separated" / "song_vocals.wav",
                 album / "separated" / "song.wav", album / "separated" / "cd1" / "b_vocals.wav"):
        sf.write(path, tone(8000, 0.2, 1), 8000)
    errors: list[str] = []
    found = separate.collect_inputs([str(album)], errors, album / "separated")
    assert sorted(found) == [(album / "cd1" / "b.wav", Path("cd1")), (album / "song.wav", Path())] and not errors
    found = separate.collect_inputs([str(album / "separated")], errors, album / "separated")
    assert found == [] and errors == [f"{album / 'separated'}: folder holds no audio files besides earlier results"]


def test_plan_outputs_never_gives_two_inputs_one_file(tmp_path: Path) -> None:
    inputs = [(Path("a/song.wav"), Path()), (Path("b/song.wav"), Path()), (Path("c/a/song.wav"), Path()),
              (Path("d/a/Song.WAV"), Path()), (Path("e/song.mp3"), Path()), (Path("f/song.wav"), Path("sub"))]
    plans = separate.plan_outputs(inputs, tmp_path, "wav")
    assert [p["vocals"].name for p in plans] == [
        "a_song_wav_vocals.wav", "b_song_wav_vocals.wav", "a_song_wav_2_vocals.wav", "a_Song_wav_3_vocals.wav",
        "song_mp3_vocals.wav", "song_vocals.wav"]
    for key in ("vocals", "accompaniment", "copy"):
        targets = [str(p[key]).lower() for p in plans]  # case-insensitive file systems too
        assert len(set(targets)) == len(targets), (key, targets)
    assert plans[0]["copy"] == tmp_path / "a_song_wav.wav" and plans[4]["copy"] == tmp_path / "song.mp3"


def test_cli_end_to_end(tmp_path: Path) -> None:
    base = tmp_path / "checkpoints"
    write_run(base, "1_sup", TINY, 10, age=500)
    newest = write_run(base, "2_semisup", TINY, 7, age=5)
    sf.write(tmp_path / "stereo.wav", tone(22050, 1.3, 2), 22050)
    (tmp_path / "album" / "cd1").mkdir(parents=True)
    sf.write(tmp_path / "album" / "cd1" / "src.wav", tone(44100, 1.1, 1, seed=1), 44100)
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(tmp_path / "album" / "cd1" / "src.wav"),
            str(tmp_path / "album" / "cd1" / "mono.mp3"),
        ],
        check=True,
    )
    (tmp_path / "album" / "cd1" / "src.wav").unlink()
    inputs = [tmp_path / "stereo.wav", tmp_path / "album" / "cd1" / "mono.mp3"]
    before = {p: digest(p) for p in inputs}

    result = run_cli(tmp_path, "--input", "stereo.wav", "album")
    assert result.returncode == 0, result.stderr[-3000:]
    # TensorFlow's native start-up chatter is filtered; our own log line says where the model runs.
    assert "absl::InitializeLog" not in result.stderr and "I0000" not in result.stderr, result.stderr[:2000]
    assert "TensorFlow 2." in result.stderr and "running on" in result.stderr
    assert f"using checkpoint {Path(newest).relative_to(tmp_path)}" in result.stderr
    out = tmp_path / "separated"
    expected = {
        out / "stereo_vocals.wav": (22050, 2, int(22050 * 1.3)),
        out / "cd1" / "mono_vocals.wav": (44100, 1, load(inputs[1])[0].shape[1]),
    }
    for vocals, (sr, channels, frames) in expected.items():
        for path in (vocals, vocals.with_name(vocals.name.replace("vocals", "accompaniment"))):
            info = sf.info(path)
            assert (info.samplerate, info.channels, info.frames) == (sr, channels, frames), path
    assert (
        digest(out / "stereo.wav") == before[inputs[0]]
        and digest(out / "cd1" / "mono.mp3") == before[inputs[1]]
    )
    mixture, _ = load(inputs[0])
    vocals, _ = load(out / "stereo_vocals.wav")
    accompaniment, _ = load(out / "stereo_accompaniment.wav")
    np.testing.assert_allclose(vocals + accompaniment, mixture, atol=2e-4)  # 16-bit outputs of the residual

    stamp = (out / "stereo_vocals.wav").stat().st_mtime_ns
    again = run_cli(
        tmp_path,
        "--input",
        "stereo.wav",
        "--output",
        ".",
        "--format",
        "flac",
        "--bit-depth",
        "24",
        "--offset",
        "0.2",
        "--duration",
        "0.5",
        "--checkpoint",
        "checkpoints/1_sup",
        "--precision",
        "bfloat16",
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "not copied, the output folder is the input's own folder" in again.stderr
    info = sf.info(tmp_path / "stereo_vocals.flac")
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (22050, 2, 11025, "PCM_24")
    skipped = run_cli(tmp_path, "--input", "stereo.wav")
    assert skipped.returncode == 0 and "exists, skipped" in skipped.stderr
    assert (out / "stereo_vocals.wav").stat().st_mtime_ns == stamp
    assert all(digest(p) == before[p] for p in inputs)


def test_cli_reports_every_bad_input_and_goes_on(tmp_path: Path) -> None:
    write_run(tmp_path / "checkpoints", "1_sup", TINY, 3)
    sf.write(tmp_path / "good.wav", tone(8000, 0.6, 1), 8000)
    (tmp_path / "empty.wav").touch()
    (tmp_path / "text.wav").write_text("this is not audio")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "nothing").mkdir()
    # A playlist saved as .mp3 that names another file: ffmpeg must not follow it (issue 19).
    (tmp_path / "playlist.mp3").write_text(hls_playlist(str(write_secrets(tmp_path)["mp3"])))
    result = run_cli(
        tmp_path, "--input", "missing.wav", "empty.wav", "text.wav", "notes.txt", "good.wav", "nothing",
        "playlist.mp3"
    )
    assert result.returncode == EXIT_STATUS["audio"] and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    for name in ("missing.wav", "empty.wav", "text.wav", "notes.txt", "nothing", "playlist.mp3"):
        assert sum(name in line for line in errors) == 1, (name, errors)
    assert "playlist.mp3: not a readable MP3 file" in errors[-1]
    assert len(errors) == 6
    assert sf.info(tmp_path / "separated" / "good_vocals.wav").frames == 4800
    assert sorted(p.name for p in (tmp_path / "separated").iterdir()) == [
        "good.wav",
        "good_accompaniment.wav",
        "good_vocals.wav",
    ]


def test_cli_without_checkpoint_explains_how_to_train(tmp_path: Path) -> None:
    sf.write(tmp_path / "a.wav", tone(8000, 0.5, 1), 8000)
    result = run_cli(tmp_path, "--input", "a.wav")
    assert result.returncode == EXIT_STATUS["checkpoint"]
    assert "python Training.py with demo" in result.stderr
    assert not (tmp_path / "separated").exists()


@pytest.mark.parametrize("output", ["out.wav", "out.wav/stems"])
def test_cli_refuses_an_output_folder_that_is_a_file_before_loading_a_model(tmp_path: Path, output: str) -> None:
    sf.write(tmp_path / "a.wav", tone(8000, 0.5, 1), 8000)
    (tmp_path / "out.wav").write_bytes(b"not a folder")
    result = run_cli(tmp_path, "--input", "a.wav", "--output", output, "--checkpoint", "no/such/checkpoint")
    where = "" if output == "out.wav" else ": out.wav"
    assert result.returncode == EXIT_STATUS["config"]
    assert result.stderr.strip().splitlines() == [f"error: output folder {output}{where} is a file"]
    assert (tmp_path / "out.wav").read_bytes() == b"not a folder"


@pytest.mark.parametrize("damage", ["truncated data", "garbage index"])
def test_cli_names_a_damaged_checkpoint_file_in_one_line(tmp_path: Path, damage: str) -> None:
    prefix = write_run(tmp_path / "checkpoints", "1_sup", TINY, 3)
    if damage == "truncated data":
        target = Path(f"{prefix}.data-00000-of-00001")
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])  # an interrupted copy
    else:
        target = Path(f"{prefix}.index")
        target.write_bytes(b"\x00garbage" * 10)
    sf.write(tmp_path / "a.wav", tone(8000, 0.5, 1), 8000)
    result = run_cli(tmp_path, "--input", "a.wav", "--checkpoint", prefix)
    assert result.returncode == EXIT_STATUS["checkpoint"] and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {target}: damaged"), result.stderr[-2000:]
    assert not (tmp_path / "separated").exists()


def test_cli_rejects_a_checkpoint_that_does_not_fit_its_config(tmp_path: Path) -> None:
    prefix = write_run(tmp_path / "checkpoints", "1_sup", TINY, 3)
    (tmp_path / "checkpoints" / "1_sup" / "model_config.json").write_text(
        json.dumps({**TINY, "num_layers": 2})
    )
    sf.write(tmp_path / "a.wav", tone(8000, 0.5, 1), 8000)
    result = run_cli(tmp_path, "--input", "a.wav", "--checkpoint", prefix)
    assert result.returncode == EXIT_STATUS["checkpoint"] and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and prefix in errors[0] and "do not match" in errors[0]
    assert not (tmp_path / "separated").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--input", "a.wav", "--format", "flac", "--bit-depth", "32"], "--bit-depth 32"),
        (["--input", "a.wav", "--chunk-seconds", "0"], "--chunk-seconds must be > 0"),
        (["--input", "a.wav", "--offset", "-1"], "--offset must be >= 0"),
        (["--input", "a.wav", "--duration", "0"], "--duration must be > 0"),
        (["--input", "a.wav", "--batch-size", "0"], "--batch-size must be >= 1"),
        (["--input", "a.wav", "--wiener", "11"], "--wiener"),
        (["--input", "a.wav", "--vocals-band", "half"], "--vocals-band"),
        (["--input", "a.wav", "--format", "ogg"], "--format"),
        (["--format", "wav"], "--input"),
    ],
)
def test_cli_rejects_bad_options(argv: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        separate.main(argv)
    assert info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "error:" in error and message in error, error


def test_native_noise_filter_drops_only_start_up_chatter() -> None:
    from Utils import _NATIVE_NOISE

    noise = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1795611943.351995   19552 port.cc:153] oneDNN custom operations are on.",
        "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow",
        "E0000 00:00:1795611938.391889   19525 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error",
    ]
    kept = [
        "E0000 00:00:1795611938.391889   19525 some_op.cc:12] a real error",
        "W0000 00:00:1795611938.391889   19525 gpu_device.cc:12] Cannot dlopen some GPU libraries.",
        "Traceback (most recent call last):",
        "ImportError: libcudart.so.12: cannot open shared object file",
        "Illegal instruction",
    ]
    assert all(_NATIVE_NOISE.match(line) for line in noise)
    assert not any(_NATIVE_NOISE.match(line) for line in kept)


@pytest.mark.parametrize(("rate", "channels"), [(96000, 2), (44100, 6)])
def test_mp3_stems_beyond_what_mp3_holds_are_refused_in_words_before_any_work(tmp_path: Path, rate: int,
                                                                              channels: int) -> None:
    from Models.api import Separator
    from Models.separation.files import AudioError

    separator = Separator.load(write_run(tmp_path / "ck", "5_sup", TINY, 1))
    song = tmp_path / "hi-res.wav"
    sf.write(song, tone(rate, 0.5, channels), rate)
    outputs = {"vocals": tmp_path / "v.mp3", "accompaniment": tmp_path / "a.mp3"}
    with pytest.raises(AudioError) as err:
        separator.separate_file(song, outputs, SeparationOptions(fmt="mp3"))
    assert str(err.value) == (f"{song}: MP3 holds mono or stereo at up to 48000 Hz, and this audio has {channels} "
                              f"channels at {rate} Hz: choose WAV or FLAC")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck", "hi-res.wav"]  # nothing written
    separator.separate_file(song, {"vocals": tmp_path / "v.flac"}, SeparationOptions(fmt="flac"))
    assert sf.info(tmp_path / "v.flac").samplerate == rate and sf.info(tmp_path / "v.flac").channels == channels
