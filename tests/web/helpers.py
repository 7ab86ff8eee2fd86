"""Helpers of the web app's tests (fixtures: ``tests/web/conftest.py``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
MANAGE = REPO / "harmony_split" / "backend" / "manage.py"
MODEL_ID = "100_sup"
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
DB_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def write_tone(path: Path, seconds: float, sr: int = 22050, channels: int = 2, seed: int = 0) -> Path:
    """A tone plus noise, different per channel; mp3/m4a through ffmpeg, other formats through soundfile."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    audio = np.stack([0.3 * np.sin(2 * np.pi * (220 + 110 * c) * t) + 0.02 * rng.standard_normal(t.size)
                      for c in range(channels)], axis=1).astype(np.float32)
    if path.suffix in (".mp3", ".m4a"):
        wav = path.with_suffix(".src.wav")
        sf.write(wav, audio, sr)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), str(path)], check=True)
        wav.unlink()
    else:
        sf.write(path, audio, sr)
    return path


def upload(client, path: Path, **fields: str):  # noqa: ANN001, ANN201
    """POST a file to /api/tracks/ (multipart), returning the response."""
    with open(path, "rb") as handle:
        return client.post("/api/tracks/", {"file": handle, **fields}, format="multipart")


def post_bytes(client, name: str, content: bytes, **fields: str):  # noqa: ANN001, ANN201
    """POST ``content`` as a file named ``name`` to /api/tracks/ (multipart), returning the response."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/api/tracks/", {"file": SimpleUploadedFile(name, content), **fields}, format="multipart")


def stored_tracks(data_dir: Path) -> list[Path]:
    """The track folders in the data folder."""
    folder = data_dir / "tracks"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def error_of(response) -> str:  # noqa: ANN001
    """The one-line ``error`` of a JSON error response (asserting that it is the body's only key)."""
    body = response.json()
    assert set(body) == {"error"} and "\n" not in body["error"] and "Traceback" not in body["error"]
    return body["error"]


def wait_for(predicate: Callable[[], object], timeout: float, what: str, every: float = 0.1) -> object:
    """Poll ``predicate`` every ``every`` s until it returns something truthy; fail naming ``what`` after
    ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def worker_env(data_dir: Path, checkpoint_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker subprocess sharing the test's database and folders; ``extra`` adds or
    overrides variables (e.g. ``DATABASE_URL`` of another database)."""
    from django.conf import settings

    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")}
    env.update({
        "DATABASE_URL": f"sqlite:///{settings.DATABASES['default']['NAME']}",
        "HARMONY_DATA_DIR": str(data_dir),
        "HARMONY_CHECKPOINT_DIR": str(checkpoint_dir),
        "HARMONY_CHUNK_SECONDS": "1",
        "PYTHONPATH": str(REPO),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",
        **extra,
    })
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """``manage.py worker`` in its own session (so a test can kill it alone), output to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, str(MANAGE), "worker"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def free_port(ports: range) -> int:
    """The first loopback port of ``ports`` that nothing listens on (each kind of test server has its range)."""
    for port in ports:
        with socket.socket() as candidate:
            try:
                candidate.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in {ports.start}-{ports.stop - 1}")
