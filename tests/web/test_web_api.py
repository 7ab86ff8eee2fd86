"""The JSON API of harmony_split: every endpoint's happy path (jobs run in the request: the immediate task
backend, through the real worker code and the tiny model), and cross-user isolation."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.test import Client
from werkzeug.http import parse_options_header

from tests.web.helpers import MODEL_ID, upload


def test_health_needs_no_account(transactional_db) -> None:  # noqa: ANN001
    response = Client().get("/api/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "queue": 0, "workers_seen": 0, "max_upload_mb": 200}


def test_token_for_a_user_name_and_password(make_user) -> None:  # noqa: ANN001
    make_user("bob")
    client = Client()
    first = client.post("/api/auth/token/", {"username": "bob", "password": "bob-password-123"},
                        content_type="application/json")
    assert first.status_code == 200 and len(first.json()["token"]) == 40
    again = client.post("/api/auth/token/", {"username": "bob", "password": "bob-password-123"},
                        content_type="application/json")
    assert again.json() == first.json()
    tracks = client.get("/api/tracks/", HTTP_AUTHORIZATION=f"Token {first.json()['token']}")
    assert tracks.status_code == 200 and tracks.json()["count"] == 0


def test_models_lists_the_checkpoint_with_its_default(alice) -> None:  # noqa: ANN001
    response = alice.get("/api/models/")
    assert response.status_code == 200
    (model,) = response.json()
    assert model["id"] == MODEL_ID and model["default"] is True
    assert model["phase"] == "supervised" and model["val_loss"] == 0.25 and model["created"]
    # named by what it is, from the run's own record (not its folder name)
    day = datetime.fromisoformat(model["created"])
    assert model["name"] == f"Supervised · MUSDB18 · {day.day} {day:%b %Y} · vocals 4.3 dB SDR"
    assert (model["data"], model["vocals_sdr"]) == ("MUSDB18", 4.31)


def test_upload_separates_and_serves_both_stems(alice, audio, data_dir: Path) -> None:  # noqa: ANN001
    source = audio("My Song.wav", seconds=3.0, sr=22050, channels=2)
    created = upload(alice, source, format="flac")
    assert created.status_code == 201, created.content
    track = created.json()
    assert track["name"] == "My Song.wav" and track["model"] == MODEL_ID and track["format"] == "flac"
    assert (track["sample_rate"], track["channels"]) == (22050, 2)
    assert track["duration_s"] == pytest.approx(3.0, abs=0.01)

    done = alice.get(f"/api/tracks/{track['id']}/").json()  # the immediate backend ran the job in the request
    assert done["status"] == "done" and done["progress"] == 1.0 and done["error"] is None
    assert done["queue_position"] is None and done["finished"]
    assert set(done["stems"]) == {"vocals", "accompaniment"}

    mixture, _ = sf.read(source, dtype="float32")
    stems = {}
    for stem, url in done["stems"].items():
        response = alice.get(url)
        assert response.status_code == 200
        assert parse_options_header(response["Content-Disposition"]) == (
            "attachment", {"filename": f"My Song_{stem}.flac"})
        assert response["Accept-Ranges"] == "bytes"
        stems[stem], sr = sf.read(io.BytesIO(b"".join(response.streaming_content)), dtype="float32")
        assert sr == 22050 and stems[stem].shape == mixture.shape
    # Residual accompaniment: the stems add up to the input (16-bit FLAC rounding aside).
    np.testing.assert_allclose(stems["vocals"] + stems["accompaniment"], mixture, atol=2e-4)
    assert sf.read(source, dtype="float32")[0].tobytes() == mixture.tobytes()  # the input is untouched

    listed = alice.get("/api/tracks/").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == track["id"]


def test_range_requests_let_players_seek(alice, audio) -> None:  # noqa: ANN001
    track = upload(alice, audio("seek.wav", seconds=2.0)).json()
    url = f"/api/tracks/{track['id']}/stems/vocals"
    whole = b"".join(alice.get(url).streaming_content)
    part = alice.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{len(whole)}" and part["Content-Length"] == "100"
    assert b"".join(part.streaming_content) == whole[100:200]
    tail = alice.get(url, HTTP_RANGE="bytes=-10")
    assert tail.status_code == 206 and b"".join(tail.streaming_content) == whole[-10:]
    beyond = alice.get(url, HTTP_RANGE=f"bytes={len(whole) + 5}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(whole)}"
    assert "error" in beyond.json()


def test_zip_holds_both_stems_named_after_the_song(alice, audio) -> None:  # noqa: ANN001
    track = upload(alice, audio("duet.wav", seconds=2.0), format="wav").json()
    response = alice.get(f"/api/tracks/{track['id']}/download")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert parse_options_header(response["Content-Disposition"]) == ("attachment", {"filename": "duet_stems.zip"})
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == ["duet_accompaniment.wav", "duet_vocals.wav"]
    vocals = alice.get(f"/api/tracks/{track['id']}/stems/vocals")
    assert archive.read("duet_vocals.wav") == b"".join(vocals.streaming_content)


def test_mp3_upload_and_mp3_stems(alice, audio) -> None:  # noqa: ANN001
    track = upload(alice, audio("song.mp3", seconds=2.0, sr=44100), format="mp3").json()
    assert track["sample_rate"] == 44100
    done = alice.get(f"/api/tracks/{track['id']}/").json()
    assert done["status"] == "done"
    response = alice.get(done["stems"]["accompaniment"])
    assert response["Content-Type"] == "audio/mpeg"
    data, sr = sf.read(io.BytesIO(b"".join(response.streaming_content)))
    assert sr == 44100 and data.shape[1] == 2


def test_delete_removes_row_and_files_leaving_the_data_folder_empty(alice, audio, data_dir: Path) -> None:  # noqa: ANN001
    ids = [upload(alice, audio(f"t{i}.wav", seconds=1.0)).json()["id"] for i in range(2)]
    alice.get(f"/api/tracks/{ids[0]}/download")
    assert sorted(p.name for p in (data_dir / "tracks" / ids[0]).iterdir()) == [
        "accompaniment.wav", "stems.zip", "upload.wav", "vocals.wav"]
    for track_id in ids:
        assert alice.delete(f"/api/tracks/{track_id}/").status_code == 204
        assert alice.get(f"/api/tracks/{track_id}/").status_code == 404
    assert list((data_dir / "tracks").iterdir()) == []
    assert alice.get("/api/tracks/").json()["count"] == 0


def test_list_is_newest_first_and_paginated(alice) -> None:  # noqa: ANN001
    from django.contrib.auth import get_user_model

    from harmony_split.backend.tracks.models import Separation, Track

    owner = get_user_model().objects.get(username="alice")
    ids = []
    for i in range(23):  # rows only: the listing does not read files
        track = Track.objects.create(owner=owner, name=f"{i}.wav", upload="upload.wav", duration_s=1.0,
                                     sample_rate=8000, channels=1)
        Separation.objects.create(track=track, model=MODEL_ID, status="done")
        ids.append(str(track.id))
    first = alice.get("/api/tracks/").json()
    assert first["count"] == 23 and [t["id"] for t in first["results"]] == ids[::-1][:20]
    second = alice.get(first["next"]).json()
    assert [t["id"] for t in second["results"]] == ids[2::-1] and second["next"] is None


def test_library_search_and_sort_reach_every_track_once(client_of) -> None:  # noqa: ANN001
    from django.contrib.auth import get_user_model

    from harmony_split.backend.tracks.models import Separation, Track

    alice, bob = client_of("alice"), client_of("bob")
    owner = get_user_model().objects.get(username="alice")
    names = [f"{'Blues' if i % 3 == 0 else 'ballad'} take {i:02d}.wav" for i in range(26)]
    for i, name in enumerate(names):  # equal durations in pairs: ties must not lose or repeat a track
        track = Track.objects.create(owner=owner, name=name, upload="upload.wav", duration_s=float(100 - i // 2),
                                     sample_rate=8000, channels=1)
        Separation.objects.create(track=track, model=MODEL_ID, status="done")
    theirs = Track.objects.create(owner=get_user_model().objects.get(username="bob"), name="Blues take 99.wav",
                                  upload="upload.wav", duration_s=1.0, sample_rate=8000, channels=1)
    Separation.objects.create(track=theirs, model=MODEL_ID, status="done")

    def every_page(query: str) -> list[dict]:
        answer, rows = alice.get(f"/api/tracks/{query}").json(), []
        while True:
            rows += answer["results"]
            if answer["next"] is None:
                return rows
            answer = alice.get(answer["next"]).json()

    by_name = every_page("?ordering=name")
    assert [t["name"] for t in by_name] == sorted(names, key=str.lower)  # case does not split the list
    assert [t["name"] for t in every_page("?ordering=-name")] == sorted(names, key=str.lower, reverse=True)
    shortest = every_page("?ordering=duration_s")
    assert [t["duration_s"] for t in shortest] == sorted(t["duration_s"] for t in by_name)
    assert sorted(t["id"] for t in shortest) == sorted(t["id"] for t in by_name) and len(shortest) == 26
    blues = every_page("?search=BLUES%20take&ordering=-created")
    assert [t["name"] for t in blues] == [n for n in names[::-1] if n.startswith("Blues")]  # not bob's
    assert every_page("?search=nothing-like-this") == []
    accented = Track.objects.create(owner=owner, name="Étude in Ré.wav", upload="upload.wav", duration_s=1.0,
                                    sample_rate=8000, channels=1)
    Separation.objects.create(track=accented, model=MODEL_ID, status="done")
    for query in ("étude", "ETUDE re", "Étude%20RÉ"):  # no case and no accents, also for letters beyond ASCII
        assert [t["name"] for t in every_page(f"?search={query}")] == ["Étude in Ré.wav"], query
    aria = Track.objects.create(owner=owner, name="Âria.wav", upload="upload.wav", duration_s=1.0, sample_rate=8000,
                                channels=1)
    Separation.objects.create(track=aria, model=MODEL_ID, status="done")
    assert every_page("?ordering=name")[0]["name"] == "Âria.wav"  # as "aria", before "ballad" (bytes: last)
    assert [t["name"] for t in bob.get("/api/tracks/?search=take").json()["results"]] == ["Blues take 99.wav"]


def test_another_users_tracks_are_404(client_of, audio) -> None:  # noqa: ANN001
    alice, mallory = client_of("alice"), client_of("mallory")
    track_id = upload(alice, audio("private.wav", seconds=1.0)).json()["id"]
    assert mallory.get("/api/tracks/").json()["count"] == 0
    for url in (f"/api/tracks/{track_id}/", f"/api/tracks/{track_id}/stems/vocals",
                f"/api/tracks/{track_id}/download"):
        response = mallory.get(url)
        assert response.status_code == 404 and response.json() == {"error": "not found"}, url
    assert mallory.delete(f"/api/tracks/{track_id}/").status_code == 404
    assert alice.get(f"/api/tracks/{track_id}/").json()["status"] == "done"  # still there


def test_session_login_logout_and_csrf(make_user, audio) -> None:  # noqa: ANN001
    make_user("carol")
    browser = Client(enforce_csrf_checks=True)
    me = browser.get("/api/auth/me/")
    assert me.json() == {"username": None, "authenticated": False}
    csrf = browser.cookies["csrftoken"].value
    credentials = {"username": "carol", "password": "carol-password-123"}
    refused = browser.post("/api/auth/login/", credentials, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
    signed_in = browser.post("/api/auth/login/", credentials, content_type="application/json",
                             HTTP_X_CSRFTOKEN=csrf)
    assert signed_in.status_code == 200 and signed_in.json()["username"] == "carol"
    csrf = browser.cookies["csrftoken"].value  # rotated at login
    assert browser.get("/api/tracks/").status_code == 200
    with open(audio("s.wav", seconds=0.5), "rb") as handle:
        no_token = browser.post("/api/tracks/", {"file": handle})
    assert no_token.status_code == 403 and "CSRF" in no_token.json()["error"]
    with open(audio("s.wav", seconds=0.5), "rb") as handle:
        with_token = browser.post("/api/tracks/", {"file": handle}, HTTP_X_CSRFTOKEN=csrf)
    assert with_token.status_code == 201
    assert browser.post("/api/auth/logout/", HTTP_X_CSRFTOKEN=csrf).status_code == 204
    assert browser.get("/api/tracks/").status_code == 401


def test_django_login_page_is_served(transactional_db) -> None:  # noqa: ANN001
    page = Client().get("/accounts/login/")
    assert page.status_code == 200 and b'name="password"' in page.content


def test_schema_is_openapi_3(transactional_db) -> None:  # noqa: ANN001
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for route in ("/api/tracks/", "/api/tracks/{id}/", "/api/tracks/{id}/stems/{stem}", "/api/tracks/{id}/download",
                  "/api/models/", "/api/health/", "/api/auth/token/"):
        assert route in schema["paths"], route


def test_a_finished_track_has_its_tempo_and_key(alice, tmp_path: Path) -> None:  # noqa: ANN001
    from Input.synth.song import generate_song, song_facts

    song = tmp_path / "groove.flac"
    sf.write(song, generate_song(5, 12.0, 22050)["mixture"].T, 22050)
    created = upload(alice, song).json()  # the job runs at once here (settings.TASKS)
    done = alice.get(f"/api/tracks/{created['id']}/").json()
    assert done["status"] == "done"
    facts = song_facts(5)  # 128.3 BPM, F minor
    assert isinstance(done["bpm"], float) and abs(done["bpm"] / facts.tempo_bpm - 1) <= 0.04
    assert done["key"] == "F minor"
    listed = alice.get("/api/tracks/").json()["results"][0]
    assert (listed["bpm"], listed["key"]) == (done["bpm"], done["key"])


def test_high_quality_runs_the_wiener_filter(alice, audio) -> None:  # noqa: ANN001
    song = audio("duet.wav", seconds=3.0, channels=2)
    stems = {}
    for quality in ("standard", "high"):
        track = upload(alice, song, quality=quality).json()
        assert alice.get(f"/api/tracks/{track['id']}/").json()["quality"] == quality
        answer = alice.get(f"/api/tracks/{track['id']}/stems/vocals")
        stems[quality] = sf.read(io.BytesIO(b"".join(answer.streaming_content)))[0]
    assert stems["standard"].shape == stems["high"].shape
    assert np.abs(stems["standard"] - stems["high"]).max() > 1e-3  # the filter changed the estimate
    refused = upload(alice, song, quality="ultra")
    assert refused.status_code == 400 and "quality" in refused.json()["error"]
