"""Fixtures of the web app's tests: a tiny checkpoint, a data folder per test, users and their API clients,
generated audio files, and a file SQLite database (WAL) that worker subprocesses share with the test.
Real Redis and PostgreSQL servers (skipped, saying why, where they cannot start). Plain helpers are in
``tests/web/helpers.py``, the servers in ``tests/web/servers.py``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.web import servers
from tests.web.helpers import IMMEDIATE, MODEL_ID, write_tone


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A file database (not SQLite's in-memory one), so that worker subprocesses see the test's rows."""
    from django.conf import settings

    settings.DATABASES["default"]["TEST"]["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(scope="session")
def checkpoint_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint folder with one tiny separator run (``MODEL_ID``), written as Training.py writes runs."""
    import tensorflow as tf
    import tf_keras as keras

    from Models.nets.checkpoint_files import write_run_files
    from Models.nets.factory import build_separator
    from Models.nets.runs import write_evaluation_record
    from tests.tiny import TINY_CONFIG

    base = tmp_path_factory.mktemp("checkpoints")
    folder = base / MODEL_ID
    folder.mkdir()
    keras.utils.set_random_seed(1)
    tf.train.Checkpoint(model=build_separator(TINY_CONFIG.spec)).write(str(folder / f"{MODEL_ID}-10"))
    write_run_files(folder, TINY_CONFIG)
    (folder / "best.json").write_text(json.dumps({"checkpoint": f"{MODEL_ID}-10", "val_loss": 0.25}))
    write_evaluation_record(folder, "MUSDB18", {"test_loss": 0.3, "bss": {"median": {"voice": {"SDR": 4.31}}}})
    return base


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(autouse=True)
def web_settings(settings, data_dir: Path, checkpoint_dir: Path) -> object:  # noqa: ANN001 -- pytest-django
    """Each test: its own data folder, the tiny model, 1-s blocks, and jobs run at once in the request."""
    settings.HARMONY_DATA_DIR = data_dir
    settings.HARMONY_CHECKPOINT_DIR = checkpoint_dir
    settings.HARMONY_CHECKPOINT = ""
    settings.HARMONY_CHUNK_SECONDS = 1.0
    settings.TASKS = IMMEDIATE
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; not under test here
    return settings


@pytest.fixture(autouse=True)
def throttle_counts(request: pytest.FixtureRequest) -> None:
    """Each test that uses the database starts with no sign-in or upload counts: the cache that holds them (the
    deployed default, a table of the test database, which the database fixtures do not empty) is cleared."""
    for fixture in ("transactional_db", "db"):
        if fixture in request.fixturenames:
            request.getfixturevalue(fixture)
            from django.core.cache import cache

            cache.clear()
            return


@pytest.fixture
def audio(tmp_path: Path) -> Callable[..., Path]:
    """``audio(name, seconds=2.0, **kw)``: a generated audio file in the test's folder."""
    folder = tmp_path / "audio"
    folder.mkdir(exist_ok=True)
    return lambda name, seconds=2.0, **kw: write_tone(folder / name, seconds, **kw)


@pytest.fixture
def make_user(transactional_db) -> Callable:  # noqa: ANN001
    from django.contrib.auth import get_user_model

    return lambda name: get_user_model().objects.create_user(name, password=f"{name}-password-123")


@pytest.fixture
def client_of(make_user) -> Callable:  # noqa: ANN001
    """``client_of("alice")``: a DRF API client authenticated with alice's token (the user is created)."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    def build(name: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=make_user(name)).key}")
        return client

    return build


@pytest.fixture
def alice(client_of):  # noqa: ANN001, ANN201
    return client_of("alice")




def _server(server: AbstractContextManager[str]) -> Iterator[str]:
    """The URL of a started server; the test is skipped, with the reason printed, when it cannot start here."""
    try:
        with server as url:
            yield url
    except servers.Unavailable as err:  # raised only while the server starts
        print(f"skipped: {err}")
        pytest.skip(str(err))


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real ``redis-server`` on loopback for this test."""
    yield from _server(servers.redis_server(tmp_path))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """An empty database on a real PostgreSQL server on loopback, for this test."""
    yield from _server(servers.postgres_server())
