"""The /api/tracks/ paths answer exactly where they always did (one DRF viewset behind a router since issue #20):
each path and method, the near misses that are 404 (no alias: no other trailing slash, no ``.json`` suffix, no
upper-case id), and only uploads count against the upload limit."""

from __future__ import annotations

import pytest

from tests.web.helpers import MODEL_ID, error_of, upload


@pytest.fixture
def track_id(alice) -> str:  # noqa: ANN001 -- a done track of alice's (a row: no file is read)
    from django.contrib.auth import get_user_model

    from harmony_split.backend.tracks.models import Separation, Track

    track = Track.objects.create(owner=get_user_model().objects.get(username="alice"), name="r.wav",
                                 upload="upload.wav", duration_s=1.0, sample_rate=8000, channels=1)
    Separation.objects.create(track=track, model=MODEL_ID, status="queued")
    return str(track.id)


@pytest.mark.parametrize("path, allow", [
    ("/api/tracks/", "GET, POST, HEAD, OPTIONS"),
    ("/api/tracks/{id}/", "GET, DELETE, HEAD, OPTIONS"),
    ("/api/tracks/{id}/cancel/", "POST, OPTIONS"),
    ("/api/tracks/{id}/stems/vocals", "GET, HEAD, OPTIONS"),
    ("/api/tracks/{id}/stems/mixture", "GET, HEAD, OPTIONS"),
    ("/api/tracks/{id}/download", "GET, HEAD, OPTIONS"),
])
def test_each_path_allows_its_methods(alice, track_id: str, path: str, allow: str) -> None:  # noqa: ANN001
    url = path.format(id=track_id)
    answer = alice.put(url)
    assert answer.status_code == 405 and answer["Allow"] == allow, url
    assert error_of(answer) == 'Method "PUT" not allowed.'


@pytest.mark.parametrize("path", [
    "/api/tracks", "/api/tracks.json", "/api/tracks/.json", "/api/tracks/{id}", "/api/tracks/{id}.json",
    "/api/tracks/{ID}/", "/api/tracks/not-a-uuid/", "/api/tracks/{id}/cancel", "/api/tracks/{id}/cancel.json",
    "/api/tracks/{id}/stems", "/api/tracks/{id}/stems/", "/api/tracks/{id}/stems/vocals/",
    "/api/tracks/{id}/stems/mixture/", "/api/tracks/{id}/stems/vocals/x", "/api/tracks/{id}/download/",
    "/api/tracks/{id}/download.json",
])
def test_near_misses_are_404(alice, track_id: str, path: str) -> None:  # noqa: ANN001
    url = path.format(id=track_id, ID=track_id.upper())
    for method in ("get", "post", "delete"):
        answer = getattr(alice, method)(url)
        assert answer.status_code == 404 and answer.json() == {"error": "not found"}, (method, url)


def test_answers_of_the_track_paths(alice, client_of, track_id: str) -> None:  # noqa: ANN001
    bob = client_of("bob")
    assert alice.get(f"/api/tracks/{track_id}/stems/vocals").status_code == 409  # queued: no stems yet
    assert error_of(alice.get(f"/api/tracks/{track_id}/stems/bogus")) == "no stem 'bogus' (vocals or accompaniment)"
    for tail in ("/", "/stems/mixture", "/download"):
        assert bob.get(f"/api/tracks/{track_id}{tail}").json() == {"error": "not found"}, tail
    assert bob.post(f"/api/tracks/{track_id}/cancel/").status_code == 404
    assert alice.post(f"/api/tracks/{track_id}/cancel/").json()["status"] == "cancelled"
    assert alice.delete(f"/api/tracks/{track_id}/").status_code == 204


def test_only_uploads_count_against_the_upload_limit(alice, track_id: str, audio, settings) -> None:  # noqa: ANN001
    settings.HARMONY_UPLOADS_PER_HOUR = 1
    for _ in range(3):
        assert alice.post(f"/api/tracks/{track_id}/cancel/").status_code == 200
    assert alice.delete(f"/api/tracks/{track_id}/").status_code == 204
    source = audio("one.wav", seconds=0.5)
    assert upload(alice, source).status_code == 201
    refused = upload(alice, source)
    assert refused.status_code == 429 and "too many uploads" in error_of(refused)
