"""Abuse limits (issue 19, part 2): sign-in attempts per user name and per client address on every sign-in path,
uploads per account per hour, stored megabytes per account. Each refusal is 429 with ``Retry-After`` in whole
seconds and a one-line JSON error; under the limits everything answers as before."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from tests.web.helpers import DB_QUEUE, MANAGE, upload, worker_env

HOUR = 3600
TOKEN, LOGIN = "/api/auth/token/", "/api/auth/login/"


def sign_in(path: str, name: str, password: str, address: str = "192.0.2.1",  # noqa: ANN201
            headers: dict[str, str] | None = None):
    """One sign-in attempt from ``address`` (the connection's), with extra request ``headers``: JSON for the
    API's two paths, a form post for Django's pages."""
    client = Client(REMOTE_ADDR=address)
    credentials = {"username": name, "password": password}
    if path.startswith("/api/"):
        return client.post(path, credentials, content_type="application/json", headers=headers)
    return client.post(path, credentials, headers=headers)


def refused(response, limit: int = HOUR) -> str:  # noqa: ANN001
    """Assert a 429 with ``Retry-After`` (whole seconds, 1..``limit``) and a one-line JSON error; return it."""
    assert response.status_code == 429, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"].isdigit() and 1 <= int(response["Retry-After"]) <= limit
    body = response.json()
    assert set(body) == {"error"} and "\n" not in body["error"]
    return body["error"]


def stored_tracks(data_dir: Path) -> list[Path]:
    folder = data_dir / "tracks"
    return sorted(folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def bob(make_user):  # noqa: ANN001, ANN201
    return make_user("bob")


def test_per_name_limit_holds_across_name_spellings_from_one_address(bob, settings) -> None:  # noqa: ANN001
    settings.HARMONY_SIGN_INS_PER_NAME = 3
    for name in ("bob", "BOB", " Bob"):
        assert sign_in(TOKEN, name, "wrong", "192.0.2.1").status_code == 400  # under the limit: the usual answer
    blocked = sign_in(TOKEN, "bob", "bob-password-123", "192.0.2.1")  # even the right password, from there
    assert re.fullmatch(r"too many sign-in attempts for this user name from your address \(the limit is 3 an "
                        r"hour\): try again in (59 minutes|1 hour)", refused(blocked))
    assert int(blocked["Retry-After"]) > HOUR - 60
    assert sign_in(TOKEN, "carol", "wrong", "192.0.2.1").status_code == 400  # other names are not held up


def test_wrong_passwords_from_elsewhere_do_not_lock_the_owner_out(bob, settings) -> None:  # noqa: ANN001
    """Counted per name alone, 3 addresses x the name limit of wrong passwords kept bob out of his account."""
    settings.HARMONY_SIGN_INS_PER_NAME = 3
    for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        for _ in range(3):
            assert sign_in(TOKEN, "bob", "wrong", address).status_code == 400
        assert "user name from your address" in refused(sign_in(TOKEN, "bob", "guess", address))
    assert sign_in(TOKEN, "bob", "bob-password-123", "192.0.2.77").status_code == 200  # bob, from his address


def test_per_address_limit_holds_across_names(bob, settings) -> None:  # noqa: ANN001
    settings.HARMONY_SIGN_INS_PER_ADDRESS = 3
    for name in ("ann", "ben", "cid"):
        assert sign_in(TOKEN, name, "wrong", "198.51.100.7").status_code == 400
    assert "from your address" in refused(sign_in(TOKEN, "bob", "bob-password-123", "198.51.100.7"))
    assert sign_in(TOKEN, "bob", "bob-password-123", "198.51.100.8").status_code == 200


def test_rotating_x_forwarded_for_does_not_bypass_the_address_limit(bob, settings) -> None:  # noqa: ANN001
    settings.HARMONY_SIGN_INS_PER_ADDRESS = 3
    for n in range(3):
        assert sign_in(TOKEN, f"user{n}", "wrong", headers={"X-Forwarded-For": f"203.0.113.{n}"}) \
            .status_code == 400
    assert "from your address" in refused(sign_in(TOKEN, "bob", "bob-password-123",
                                                  headers={"X-Forwarded-For": "203.0.113.99"}))


def test_behind_one_trusted_proxy_the_client_is_the_proxys_entry(bob, settings) -> None:  # noqa: ANN001
    """With ``HARMONY_TRUSTED_PROXIES=1`` the address is the last X-Forwarded-For entry (the one the proxy
    appended): clients behind the proxy count apart, and entries a client adds itself change nothing."""
    settings.HARMONY_SIGN_INS_PER_ADDRESS = 2
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = "10.0.0.1"
    for fake in ("1.1.1.1", "2.2.2.2"):
        answer = sign_in(TOKEN, "x", "wrong", proxy, headers={"X-Forwarded-For": f"{fake}, 203.0.113.5"})
        assert answer.status_code == 400
    assert "from your address" in refused(sign_in(TOKEN, "x", "wrong", proxy,
                                                  headers={"X-Forwarded-For": "3.3.3.3, 203.0.113.5"}))
    other_client = sign_in(TOKEN, "bob", "bob-password-123", proxy, headers={"X-Forwarded-For": "203.0.113.6"})
    assert other_client.status_code == 200, other_client.content


@pytest.mark.parametrize("path", [TOKEN, LOGIN, "/accounts/login/", "/admin/login/"])
def test_every_sign_in_path_counts_and_is_limited(bob, settings, path: str) -> None:  # noqa: ANN001
    """The token endpoint, the browser app's login and Django's two login pages share one count per name (and
    address)."""
    settings.HARMONY_SIGN_INS_PER_NAME = 4
    normal = {TOKEN: 400, LOGIN: 400, "/accounts/login/": 200, "/admin/login/": 200}  # forms show their error
    for each, status in normal.items():
        assert sign_in(each, "bob", "wrong", "192.0.2.9").status_code == status, each
    assert "user name" in refused(sign_in(path, "bob", "bob-password-123", "192.0.2.9"))


def test_uploads_per_hour_per_account(client_of, audio, settings, data_dir: Path) -> None:  # noqa: ANN001
    settings.TASKS = DB_QUEUE  # no worker: the jobs stay queued (the queued-jobs limit is 5)
    settings.HARMONY_UPLOADS_PER_HOUR = 2
    alice, bob = client_of("alice"), client_of("bob")
    source = audio("u.wav", seconds=0.5)
    assert [upload(alice, source).status_code for _ in range(2)] == [201, 201]
    blocked = upload(alice, source)
    assert "too many uploads (the limit is 2 an hour)" in refused(blocked)
    assert int(blocked["Retry-After"]) > HOUR - 60
    assert len(stored_tracks(data_dir)) == 2
    assert alice.get("/api/tracks/").json()["count"] == 2  # reading is not limited
    assert upload(bob, source).status_code == 201  # per account


def test_storage_quota_counts_uploads_and_stems_and_refuses_before_storing(alice, audio, settings,
                                                                             data_dir: Path) -> None:  # noqa: ANN001
    from harmony_split.backend.tracks.models import Track

    source = audio("q.wav", seconds=1.0)  # 22050 Hz stereo
    size = source.stat().st_size
    stems = 2 * 22050 * 2 * 2  # its two stems' 16-bit PCM, reserved as soon as the upload is read
    first = upload(alice, source).json()  # the immediate backend separates it in the request
    folder = data_dir / "tracks" / first["id"]
    on_disk = {path.name: path.stat().st_size for path in folder.iterdir()}
    assert {"vocals.wav", "accompaniment.wav"} <= set(on_disk)
    used = sum(on_disk.values())
    assert used > 2 * size  # the stems count: uploads alone (2 x size) would fit the quota below
    settings.HARMONY_MAX_STORED_MB = (used + size + stems - 1) / 1e6
    settings.HARMONY_RETENTION_DAYS = 7
    Track.objects.filter(pk=first["id"]).update(created=timezone.now() - timedelta(days=6))

    blocked = upload(alice, source)  # the file alone fits: its stems do not
    message = refused(blocked, limit=7 * 24 * HOUR)
    assert message.startswith("file: ") and "delete tracks to free space" in message
    assert 24 * HOUR - 60 <= int(blocked["Retry-After"]) <= 24 * HOUR  # when the oldest track expires
    assert stored_tracks(data_dir) == [folder]  # nothing of the refused upload was stored
    assert {path.name: path.stat().st_size for path in folder.iterdir()} == on_disk

    settings.HARMONY_MAX_STORED_MB = (used + size + stems) / 1e6  # exactly full is allowed
    assert upload(alice, source).status_code == 201


def test_queued_tracks_reserve_their_stems(alice, audio, settings, data_dir: Path) -> None:  # noqa: ANN001
    settings.TASKS = DB_QUEUE  # no worker runs: the jobs stay queued, their stems not written yet
    source = audio("r.wav", seconds=1.0)  # 22050 Hz stereo
    need = source.stat().st_size + 2 * 22050 * 2 * 2
    settings.HARMONY_MAX_STORED_MB = (2 * need - 1) / 1e6
    assert upload(alice, source).status_code == 201
    refused(upload(alice, source), limit=7 * 24 * HOUR)  # on disk there is only the first upload
    assert len(stored_tracks(data_dir)) == 1
    settings.HARMONY_MAX_STORED_MB = 2 * need / 1e6
    assert upload(alice, source).status_code == 201


def test_mp3_stems_are_reserved_at_mp3_bitrates(alice, audio, settings) -> None:  # noqa: ANN001
    source = audio("m.wav", seconds=1.0)
    settings.HARMONY_MAX_STORED_MB = (source.stat().st_size + 2 * 40_000) / 1e6  # 320 kbit/s for each stem
    assert upload(alice, source, format="wav").status_code == 413  # 16-bit PCM stems would not fit at all
    assert upload(alice, source, format="mp3").status_code == 201


def test_a_file_larger_than_the_whole_quota_is_413(alice, audio, settings, data_dir: Path) -> None:  # noqa: ANN001
    settings.HARMONY_MAX_STORED_MB = 0.01
    response = upload(alice, audio("big.wav", seconds=1.0))
    assert response.status_code == 413 and "storage limit of 0.01 MB" in response.json()["error"]
    assert stored_tracks(data_dir) == []


def test_deleting_tracks_frees_the_quota(alice, audio, settings) -> None:  # noqa: ANN001
    source = audio("d.wav", seconds=1.0)
    first = upload(alice, source).json()
    settings.HARMONY_MAX_STORED_MB = 1.5 * (source.stat().st_size + 2 * 22050 * 2 * 2) / 1e6
    assert upload(alice, source).status_code == 429
    assert alice.delete(f"/api/tracks/{first['id']}/").status_code == 204
    assert upload(alice, source).status_code == 201


ATTEMPTS = """
import os
from django.test import Client
for _ in range(int(os.environ["ATTEMPTS"])):
    answer = Client(REMOTE_ADDR="192.0.2.1").post("/api/auth/token/", {"username": "bob", "password": "wrong"},
                                                  content_type="application/json")
    print(answer.status_code)
"""


def test_processes_share_the_counts_through_the_migrated_database(tmp_path: Path, checkpoint_dir: Path) -> None:
    """Two processes (as two gunicorn workers or two machines are) on a database made by ``migrate`` alone:
    the second one sees the first one's attempts."""
    data = tmp_path / "data"
    data.mkdir()
    env = {**worker_env(data, checkpoint_dir), "DATABASE_URL": f"sqlite:///{data / 'db.sqlite3'}",
           "ALLOWED_HOSTS": "testserver", "HARMONY_SIGN_INS_PER_NAME": "2"}

    def manage(*args: str, attempts: int = 0) -> str:
        done = subprocess.run([sys.executable, str(MANAGE), *args], env={**env, "ATTEMPTS": str(attempts)},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    manage("migrate", "-v", "0")
    assert manage("shell", "--no-imports", "-c", ATTEMPTS, attempts=2).split() == ["400", "400"]
    assert manage("shell", "--no-imports", "-c", ATTEMPTS, attempts=1).split() == ["429"]
