"""The endpoints the browser app adds (actions of TrackViewSet in harmony_split/backend/tracks/views.py): the
uploaded original as stem ``mixture``, cancelling a job while keeping its track, and the upload limit announced
by /api/health/."""

from __future__ import annotations

from werkzeug.http import parse_options_header

from tests.web.helpers import DB_QUEUE, upload


def test_mixture_is_the_uploaded_original(alice, audio) -> None:  # noqa: ANN001
    source = audio("take one.wav", seconds=1.0)
    track = upload(alice, source).json()
    answer = alice.get(f"/api/tracks/{track['id']}/stems/mixture")
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == source.read_bytes()
    assert parse_options_header(answer["Content-Disposition"]) == ("attachment", {"filename": "take one_mixture.wav"})
    ranged = alice.get(f"/api/tracks/{track['id']}/stems/mixture", HTTP_RANGE="bytes=0-9")
    assert ranged.status_code == 206
    assert b"".join(ranged.streaming_content) == source.read_bytes()[:10]


def test_mixture_waits_for_done_and_is_private(client_of, audio, settings) -> None:  # noqa: ANN001
    settings.TASKS = DB_QUEUE  # no worker runs: the job stays queued
    alice, bob = client_of("alice"), client_of("bob")
    track = upload(alice, audio("queued.wav", seconds=1.0)).json()
    assert alice.get(f"/api/tracks/{track['id']}/stems/mixture").status_code == 409
    assert bob.get(f"/api/tracks/{track['id']}/stems/mixture").status_code == 404


def test_cancel_keeps_the_track_cancelled(client_of, audio, settings) -> None:  # noqa: ANN001
    settings.TASKS = DB_QUEUE
    alice, bob = client_of("alice"), client_of("bob")
    track = upload(alice, audio("long.wav", seconds=1.0)).json()
    assert track["status"] == "queued"
    assert bob.post(f"/api/tracks/{track['id']}/cancel/").status_code == 404
    answer = alice.post(f"/api/tracks/{track['id']}/cancel/")
    assert answer.status_code == 200
    assert answer.json()["status"] == "cancelled"
    listed = alice.get("/api/tracks/").json()["results"]
    assert [(t["id"], t["status"]) for t in listed] == [(track["id"], "cancelled")]


def test_cancel_leaves_a_finished_job_alone(alice, audio) -> None:  # noqa: ANN001
    track = upload(alice, audio("done.wav", seconds=1.0)).json()
    assert alice.get(f"/api/tracks/{track['id']}/").json()["status"] == "done"
    assert alice.post(f"/api/tracks/{track['id']}/cancel/").json()["status"] == "done"


def test_health_announces_the_upload_limit(transactional_db, settings) -> None:  # noqa: ANN001
    from rest_framework.test import APIClient

    settings.HARMONY_MAX_UPLOAD_MB = 3
    assert APIClient().get("/api/health/").json()["max_upload_mb"] == 3
