"""The server side of separation in the browser: a model's ONNX export offered at a URL carrying the file's digest,
with a one-year immutable cache lifetime, and the cross-origin isolation headers on every response
(``harmony_split/backend/tracks/device_models.py``, ``harmony_split/backend/server/isolation.py``)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from django.test import Client

from tests.web.helpers import MODEL_ID

ISOLATION = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp",
             "Cross-Origin-Resource-Policy": "same-origin"}


@pytest.fixture
def exported(settings, checkpoint_dir: Path, tmp_path: Path) -> Path:  # noqa: ANN001 -- pytest-django settings
    """A copy of the tiny run with bytes standing for its ONNX export (the server only serves the file)."""
    shutil.copytree(checkpoint_dir / MODEL_ID, tmp_path / "runs" / MODEL_ID)
    settings.HARMONY_CHECKPOINT_DIR = tmp_path / "runs"
    onnx = tmp_path / "runs" / MODEL_ID / f"{MODEL_ID}-10.onnx"
    onnx.write_bytes(b"onnx model bytes " * 100)
    return onnx


def test_a_model_without_export_runs_on_the_server_only(alice) -> None:  # noqa: ANN001
    (model,) = alice.get("/api/models/").json()
    assert model["device"] is None


def test_the_export_is_served_once_per_version_with_a_long_cache_lifetime(alice, exported: Path) -> None:  # noqa: ANN001
    (model,) = alice.get("/api/models/").json()
    digest = hashlib.sha256(exported.read_bytes()).hexdigest()[:16]
    assert model["device"]["url"] == f"/api/models/{MODEL_ID}/onnx/{digest}.onnx"
    assert model["device"]["bytes"] == exported.stat().st_size
    assert model["device"]["spec"] == {"expected_sr": 8192, "num_fft": 512, "num_hop": 256, "num_frames": 8,
                                       "num_layers": 1}
    answer = alice.get(model["device"]["url"])
    assert answer.status_code == 200 and b"".join(answer.streaming_content) == exported.read_bytes()
    assert answer["Cache-Control"] == "private, max-age=31536000, immutable"

    exported.write_bytes(b"exported again")  # a new export: a new URL, and the old one is gone
    (model,) = alice.get("/api/models/").json()
    assert model["device"]["url"] != f"/api/models/{MODEL_ID}/onnx/{digest}.onnx"
    stale = alice.get(f"/api/models/{MODEL_ID}/onnx/{digest}.onnx")
    assert stale.status_code == 404 and "exported again" in stale.json()["error"]
    assert Client().get(model["device"]["url"]).status_code in (401, 403)  # not without an account


@pytest.mark.django_db
def test_every_response_is_cross_origin_isolated(client) -> None:  # noqa: ANN001 -- pytest-django client
    for path in ("/", "/api/health/", "/api/models/", "/accounts/login/"):
        answer = client.get(path)
        assert {name: answer.get(name) for name in ISOLATION} == ISOLATION, path
