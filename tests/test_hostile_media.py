"""ffmpeg opens the given file and nothing else; the decoded length, channels and rate are bounded, and the
samples finite (issue 19, part 1).

Every hostile file here is decoded to another file's audio by a plain ``ffmpeg -i`` (asserted first, so each
test would fail with the decoder before the barriers); the project's decoder refuses each with one line.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from Input.audio.files import AudioError, load, probe
from Input.audio.stream import AudioReader
from tests.hostile_media import (
    SECRET_SECONDS,
    permissive_decode_seconds,
    write_hostile,
    write_longer_than_announced,
    write_secrets,
)

HOSTILE = ["hls_absolute.mp3", "hls_absolute.m4a", "hls_absolute.mp4", "hls_relative.mp3", "concat.mp3",
           "dash.mp4"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hostile")
    secrets = write_secrets(root)
    return {**write_hostile(root / "uploader", secrets), **{f"secret.{k}": v for k, v in secrets.items()}}


@pytest.fixture(scope="module")
def liar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MP3 whose header announces 1 s and which decodes to 31 s."""
    return write_longer_than_announced(tmp_path_factory.mktemp("liar") / "liar.mp3", announced=1.0, real=30.0)


def one_line_error(info: pytest.ExceptionInfo, path: Path) -> str:
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message and "Traceback" not in message and len(message) < 500
    return message


@pytest.mark.parametrize("name", HOSTILE)
def test_a_permissive_ffmpeg_decodes_the_secret(hostile, name):
    """The premise: each file below really makes a plain ffmpeg read another file."""
    assert permissive_decode_seconds(hostile[name]) >= SECRET_SECONDS - 0.1


@pytest.mark.parametrize("name", HOSTILE)
def test_probe_refuses_every_file_that_refers_to_another(hostile, name):
    with pytest.raises(AudioError) as info:
        probe(hostile[name])
    message = one_line_error(info, hostile[name])
    container = "MP3" if name.endswith(".mp3") else "MP4/M4A"
    assert f"not a readable {container} file" in message


@pytest.mark.parametrize("name", HOSTILE)
def test_the_decoder_refuses_every_file_that_refers_to_another(hostile, name):
    with pytest.raises(AudioError) as info:
        load(hostile[name])
    one_line_error(info, hostile[name])


def test_real_files_still_decode_with_the_barriers(hostile):
    for name in ("secret.mp3", "secret.m4a"):
        audio, sr = load(hostile[name], sr=None, mono=False)
        assert sr == 44100 and audio.shape[0] == 2
        assert abs(audio.shape[1] / sr - SECRET_SECONDS) < 0.05
        assert np.abs(audio).max() > 0.05  # a sine at ffmpeg's default amplitude 1/8


def test_a_path_is_never_read_as_a_protocol(tmp_path, hostile, monkeypatch):
    """A relative file name with ``:`` and ``|`` (``concat:a|b`` is a protocol URL to ffmpeg) is a plain file."""
    monkeypatch.chdir(tmp_path)
    Path("concat:a|b.mp3").write_bytes(hostile["secret.mp3"].read_bytes())
    assert probe(Path("concat:a|b.mp3"))[:2] == (44100, 2)
    assert load("concat:a|b.mp3")[0].shape[0] == 2


def test_every_ffmpeg_call_has_the_barriers(monkeypatch, hostile):
    """Each ffmpeg/ffprobe process the decoder starts names one input, as ``file:``, with one demuxer forced and
    whitelisted, and only the file protocol."""
    calls: list[list[str]] = []
    real_run, real_popen = subprocess.run, subprocess.Popen

    def run(cmd, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append(list(cmd))
        return real_run(cmd, *args, **kwargs)

    class Popen(real_popen):
        def __init__(self, cmd, *args, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
            calls.append(list(cmd))
            super().__init__(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(subprocess, "Popen", Popen)
    load(hostile["secret.mp3"])
    load(hostile["secret.m4a"], offset=1.0)
    assert {cmd[0] for cmd in calls} == {"ffprobe", "ffmpeg"}
    for cmd in calls:
        assert cmd.count("-i") == 1 and cmd[cmd.index("-i") + 1].startswith("file:")
        before_input = cmd[:cmd.index("-i")]
        value = dict(zip(before_input, before_input[1:], strict=False))  # the input's options
        assert value["-protocol_whitelist"] == "file"
        assert value["-f"] in ("mp3", "mov") and value["-format_whitelist"].split(",")[0] == value["-f"]


def test_the_liar_really_decodes_longer_than_its_header(liar):
    assert probe(liar)[2] < 1.2
    assert permissive_decode_seconds(liar) > 30


def test_decoding_stops_at_the_limit_whatever_the_header_says(liar):
    reader = AudioReader(liar, max_seconds=5.0)
    assert reader.duration < 1.2  # the header's claim passes the limit
    read = 0
    with pytest.raises(AudioError) as info, reader:
        for block in reader.blocks(44100):
            read += block.shape[1]
    message = one_line_error(info, liar)
    assert "goes on past the limit of 5.0 s" in message
    assert read <= 5 * 44100  # nothing past the limit was handed out


def test_a_header_over_the_limit_fails_before_decoding(hostile):
    with pytest.raises(AudioError) as info:
        AudioReader(hostile["secret.mp3"], max_seconds=2.0)
    assert "3.0 s long; the limit is 2.0 s" in one_line_error(info, hostile["secret.mp3"])


@pytest.mark.parametrize("name", ["secret.mp3", "secret.m4a"])
def test_a_file_within_the_limit_decodes_whole(hostile, name):
    with AudioReader(hostile[name], max_seconds=SECRET_SECONDS + 1) as reader:
        samples = sum(block.shape[1] for block in reader.blocks(8192))
    assert abs(samples / 44100 - SECRET_SECONDS) < 0.05


def test_channels_and_rate_over_the_limits_fail_before_decoding(tmp_path: Path):
    import soundfile as sf

    many = tmp_path / "surround.wav"
    sf.write(many, np.zeros((4410, 3), np.float32), 44100)
    fast = tmp_path / "fast.flac"
    sf.write(fast, np.zeros((38400, 2), np.float32), 384000)
    with pytest.raises(AudioError) as info:
        AudioReader(many, max_channels=2)
    assert "3 channels; the limit is 2" in one_line_error(info, many)
    with pytest.raises(AudioError) as info:
        AudioReader(fast, max_sample_rate=192000)
    assert "sampled at 384000 Hz; the limit is 192000 Hz" in one_line_error(info, fast)
    with AudioReader(many, max_channels=3) as reader, AudioReader(fast, max_sample_rate=384000) as other:
        assert next(reader.blocks(8192)).shape == (3, 4410) and next(other.blocks(8192)).shape == (2, 8192)


def test_nan_or_infinite_samples_fail_with_where(tmp_path: Path):
    import soundfile as sf

    audio = np.zeros((44100 * 3, 2), np.float32)
    audio[66150, 1] = np.inf  # 1.5 s, right channel
    broken = tmp_path / "broken.wav"
    sf.write(broken, audio, 44100, subtype="FLOAT")
    handed_out = 0
    with pytest.raises(AudioError) as info, AudioReader(broken) as reader:
        for block in reader.blocks(44100):
            handed_out += block.shape[1]
    assert "contains NaN or infinite samples (at 1.50 s)" in one_line_error(info, broken)
    assert handed_out == 44100  # the block holding it is never handed out


def test_a_probe_that_takes_too_long_is_stopped_with_one_line(hostile, monkeypatch):
    from Input.audio import probe as probing

    path = hostile["secret.mp3"]
    monkeypatch.setattr(probing, "PROBE_TIMEOUT_S", 1e-4)  # the real ffprobe, given no time at all
    with pytest.raises(AudioError) as info:
        probe(path)
    assert "reading its MP3 header took over 0.0001 s" in one_line_error(info, path)
