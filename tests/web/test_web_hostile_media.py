"""Uploads that would make ffmpeg read another user's files are refused at upload; a file that decodes longer
than its header says fails its job at the length limit (issue 19, part 1)."""

from __future__ import annotations

import pytest

from tests.hostile_media import (
    concat_list,
    dash_manifest,
    hls_playlist,
    permissive_decode_seconds,
    write_longer_than_announced,
)
from tests.web.helpers import error_of, post_bytes, stored_tracks, upload

KINDS = {  # upload name -> the text, given the path of the other user's upload (absolute, or from the folder)
    "playlist.mp3": lambda absolute, relative: hls_playlist(absolute),
    "playlist.m4a": lambda absolute, relative: hls_playlist(absolute),
    "relative.mp3": lambda absolute, relative: hls_playlist(relative),
    "list.mp3": lambda absolute, relative: concat_list(relative),
    "manifest.mp4": lambda absolute, relative: dash_manifest(absolute),
}


@pytest.mark.parametrize("name", sorted(KINDS))
def test_a_file_naming_another_users_upload_is_400_and_not_stored(alice, client_of, audio, data_dir,
                                                                  name: str) -> None:  # noqa: ANN001
    bob = client_of("bob")
    source = "bob.m4a" if name == "manifest.mp4" else "bob.mp3"  # DASH reads MP4 segments
    bobs = bob.post("/api/tracks/", {"file": audio(source, seconds=3.0).open("rb")}, format="multipart").json()
    bobs_upload = data_dir / "tracks" / bobs["id"] / f"upload{source[-4:]}"
    assert bobs_upload.is_file()
    text = KINDS[name](str(bobs_upload), f"../{bobs['id']}/{bobs_upload.name}")
    # The premise: placed where alice's upload is stored, a plain ffmpeg would decode bob's song from it.
    probe_copy = data_dir / "tracks" / "alices-folder" / name
    probe_copy.parent.mkdir()
    probe_copy.write_text(text if name != "list.mp3" else concat_list(str(bobs_upload)))
    if name != "list.mp3":  # the concat demuxer only follows plain names: checked in tests/test_hostile_media.py
        assert permissive_decode_seconds(probe_copy) > 2.5
    probe_copy.unlink()
    probe_copy.parent.rmdir()

    response = post_bytes(alice, name, text.encode())
    assert response.status_code == 400, response.content
    assert error_of(response).startswith("file: not readable audio (not a readable ")
    assert [p.name for p in stored_tracks(data_dir)] == [bobs["id"]]  # nothing of alice's was kept
    assert alice.get("/api/tracks/").json()["count"] == 0


def test_audio_that_decodes_past_the_limit_fails_its_job_with_one_line(alice, settings, tmp_path,
                                                                       data_dir) -> None:  # noqa: ANN001
    settings.HARMONY_MAX_MINUTES = 0.1  # 6 s: the header's 1 s passes, the 31 s of audio do not
    liar = write_longer_than_announced(tmp_path / "liar.mp3", announced=1.0, real=30.0)
    created = upload(alice, liar)
    assert created.status_code == 201, created.content
    track = alice.get(f"/api/tracks/{created.json()['id']}/").json()
    assert track["status"] == "failed" and track["stems"] is None
    assert track["error"] == ("cannot separate this file: the audio goes on past the limit of 6.0 s "
                              "(its header announces 1.0 s)")
    folder = data_dir / "tracks" / track["id"]
    assert sorted(p.name for p in folder.iterdir()) == ["upload.mp3"]  # no partial stem; the upload kept
