"""Every row of the bad-input table of issue 10: a clear one-line JSON answer, and nothing stored or lost."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from rest_framework.test import APIClient
from werkzeug.http import parse_options_header

from tests.web.helpers import DB_QUEUE, error_of, post_bytes, stored_tracks, upload


def png_bytes() -> bytes:
    """A valid 1x1 PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def test_upload_over_the_size_limit_is_413_and_not_stored(alice, audio, settings, data_dir) -> None:  # noqa: ANN001
    settings.HARMONY_MAX_UPLOAD_MB = 0.05  # 50 kB; the file has ~350 kB
    response = upload(alice, audio("big.wav", seconds=2.0, sr=44100))
    assert response.status_code == 413
    assert "upload limit of 0.05 MB" in error_of(response)
    assert stored_tracks(data_dir) == []


def test_size_limit_holds_while_the_body_arrives(settings) -> None:  # noqa: ANN001
    """Without a usable Content-Length, the handler stops at the first chunk past the limit."""
    from harmony_split.backend.tracks.uploads import LimitedUploadHandler, UploadTooLarge

    settings.HARMONY_MAX_UPLOAD_MB = 0.1
    handler = LimitedUploadHandler()
    handler.handle_raw_input(io.BytesIO(), {}, 0, b"boundary")
    handler.new_file("file", "x.wav", "audio/wav", None)
    handler.receive_data_chunk(b"x" * 60_000, 0)
    with pytest.raises(UploadTooLarge):
        handler.receive_data_chunk(b"x" * 60_000, 60_000)
    assert not Path(handler.file.temporary_file_path()).exists()


def test_empty_file_is_400(alice, data_dir) -> None:  # noqa: ANN001
    response = post_bytes(alice, "silence.wav", b"")
    assert response.status_code == 400 and error_of(response) == "file: empty file"
    assert stored_tracks(data_dir) == []


@pytest.mark.parametrize("name, content", [
    ("notes.mp3", b"these are my lyrics, not audio\n" * 40),
    ("cover.mp3", png_bytes()),
    ("noise.flac", bytes(range(256)) * 20),
    ("readme.txt", b"RIFF....WAVEfmt not really"),
], ids=["text-as-mp3", "image-as-mp3", "garbage-flac", "text-file"])
def test_not_audio_is_400_by_decoding(alice, data_dir, name: str, content: bytes) -> None:  # noqa: ANN001
    response = post_bytes(alice, name, content)
    assert response.status_code == 400
    assert error_of(response).startswith("file: not")
    assert stored_tracks(data_dir) == []


def test_truncated_mp3_fails_its_job_with_one_line(alice, audio, data_dir) -> None:  # noqa: ANN001
    whole = audio("cut.mp3", seconds=8.0, sr=44100).read_bytes()
    created = post_bytes(alice, "cut.mp3", whole[: len(whole) // 4])
    assert created.status_code == 201  # the header announces 8 s: only decoding finds the cut
    track = alice.get(f"/api/tracks/{created.json()['id']}/").json()
    assert track["status"] == "failed" and track["stems"] is None
    assert "truncated or corrupt" in track["error"] and "\n" not in track["error"]
    folder = data_dir / "tracks" / track["id"]
    assert sorted(p.name for p in folder.iterdir()) == ["upload.mp3"]  # no partial stem; the upload kept


def test_audio_longer_than_the_limit_is_400_naming_it(alice, audio, settings, data_dir) -> None:  # noqa: ANN001
    settings.HARMONY_MAX_MINUTES = 0.02  # 1.2 s
    response = upload(alice, audio("long.wav", seconds=2.0))
    assert response.status_code == 400 and "the limit is 0.02 minutes" in error_of(response)
    assert stored_tracks(data_dir) == []


def test_channels_and_rates_over_the_limits_are_400_naming_them(alice, audio, settings, data_dir) -> None:  # noqa: ANN001
    surround = upload(alice, audio("surround.wav", seconds=0.5, channels=6))
    assert surround.status_code == 400
    assert error_of(surround) == "file: 6 channels; this server separates songs of at most 2 (mix it down to stereo)"
    fast = upload(alice, audio("fast.flac", seconds=0.2, sr=384000))
    assert fast.status_code == 400 and error_of(fast) == "file: sampled at 384000 Hz; the limit is 192000 Hz"
    assert stored_tracks(data_dir) == []
    settings.HARMONY_MAX_CHANNELS, settings.HARMONY_MAX_SAMPLE_RATE = 6, 384000
    assert upload(alice, audio("fast.flac", seconds=0.2, sr=384000)).status_code == 201


def test_mp3_stems_of_a_rate_mp3_cannot_hold_are_400_before_the_job(alice, audio, data_dir) -> None:  # noqa: ANN001
    song = audio("hi-res.flac", seconds=0.3, sr=96000)
    refused = upload(alice, song, format="mp3")
    assert refused.status_code == 400 and error_of(refused) == (
        "format: MP3 holds mono or stereo at up to 48000 Hz, and this audio has 2 channels at 96000 Hz: choose WAV "
        "or FLAC")
    assert stored_tracks(data_dir) == []
    assert upload(alice, song, format="flac").status_code == 201


def test_the_worker_holds_the_channel_limit_on_what_it_decodes(alice, audio, settings, data_dir) -> None:  # noqa: ANN001
    from harmony_split.backend.tracks import jobs

    settings.TASKS = DB_QUEUE  # queued; run below as a worker would, under a lower limit than at upload
    settings.HARMONY_MAX_CHANNELS = 3
    track = upload(alice, audio("three.wav", seconds=0.5, channels=3)).json()
    settings.HARMONY_MAX_CHANNELS = 2
    jobs.run(track["id"])
    failed = alice.get(f"/api/tracks/{track['id']}/").json()
    assert failed["status"] == "failed" and failed["error"].endswith("3 channels; the limit is 2")
    assert sorted(p.name for p in (data_dir / "tracks" / track["id"]).iterdir()) == ["upload.wav"]


@pytest.mark.parametrize("name, shown", [
    ("../../etc/passwd.wav", "passwd.wav"),
    ("a/b\\c.wav", "c.wav"),
    ("nul\x00byte.wav", "nulbyte.wav"),
    ("Ünïcödé – ♪ 歌.wav", "Ünïcödé – ♪ 歌.wav"),
    ("x" * 300 + ".wav", "x" * 116 + ".wav"),
], ids=["dot-dot", "slashes", "nul", "non-ascii", "very-long"])
def test_hostile_file_names_are_stored_under_a_generated_name(alice, audio, data_dir, name: str,
                                                              shown: str) -> None:  # noqa: ANN001
    response = post_bytes(alice, name, audio("x.wav", seconds=0.5).read_bytes())
    assert response.status_code == 201, response.content
    track = response.json()
    assert track["name"] == shown
    (folder,) = stored_tracks(data_dir)
    assert folder.name == track["id"] and sorted(p.name for p in folder.iterdir()) == [
        "accompaniment.wav", "upload.wav", "vocals.wav"]
    download = alice.get(track["stems"]["vocals"])
    expected = shown[: -len(".wav")] + "_vocals.wav"
    assert parse_options_header(download["Content-Disposition"]) == ("attachment", {"filename": expected})
    assert download["Content-Disposition"].isascii()  # non-ASCII names travel percent-encoded (filename*=)


def test_unknown_model_and_format_are_400(alice, audio, data_dir) -> None:  # noqa: ANN001
    source = audio("m.wav", seconds=0.5)
    unknown = upload(alice, source, model="no-such-model")
    assert unknown.status_code == 400 and "unknown model id 'no-such-model'" in error_of(unknown)
    bad_format = upload(alice, source, format="ogg")
    assert bad_format.status_code == 400 and error_of(bad_format).startswith("format:")
    missing = alice.post("/api/tracks/", {}, format="multipart")
    assert missing.status_code == 400 and error_of(missing).startswith("file:")
    assert stored_tracks(data_dir) == []


def test_missing_or_invalid_token_is_401(transactional_db) -> None:  # noqa: ANN001
    anonymous = APIClient()
    for method, url in (("get", "/api/tracks/"), ("post", "/api/tracks/"), ("get", "/api/models/")):
        response = getattr(anonymous, method)(url)
        assert response.status_code == 401 and response["WWW-Authenticate"] == "Token", url
        assert error_of(response)
    anonymous.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert anonymous.get("/api/tracks/").status_code == 401
    bad_login = anonymous.post("/api/auth/token/", {"username": "nobody", "password": "x"}, format="json")
    assert bad_login.status_code == 400 and "unable to sign in" in error_of(bad_login)


def test_more_than_max_queued_jobs_is_429(alice, audio, settings, data_dir) -> None:  # noqa: ANN001
    settings.TASKS = DB_QUEUE  # no worker runs: the jobs stay queued
    settings.HARMONY_MAX_QUEUED = 2
    source = audio("q.wav", seconds=0.5)
    first, second = (upload(alice, source).json() for _ in range(2))
    assert (first["status"], first["queue_position"], second["queue_position"]) == ("queued", 1, 2)
    refused = upload(alice, source)
    assert refused.status_code == 429 and "the limit is 2" in error_of(refused)
    assert len(stored_tracks(data_dir)) == 2
    assert alice.delete(f"/api/tracks/{first['id']}/").status_code == 204  # cancels a queued job
    assert alice.get(f"/api/tracks/{second['id']}/").json()["queue_position"] == 1
    assert upload(alice, source).status_code == 201


def test_errors_are_json_never_html(alice) -> None:  # noqa: ANN001
    for response in (alice.get("/api/no-such-endpoint/"), alice.get("/api/tracks/not-a-uuid/"),
                     alice.put("/api/tracks/", {}), alice.get("/api/tracks/?page=99")):
        assert response["Content-Type"] == "application/json" and error_of(response)
    assert alice.get("/api/tracks/00000000-0000-0000-0000-000000000000/stems/drums").status_code == 404
