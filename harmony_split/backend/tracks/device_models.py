"""The separators' ONNX exports for separation inside the browser ("Separate on this device").

A model's export is ``<best checkpoint prefix>.onnx`` (``Models.nets.onnx_files.onnx_file_of``), the file the
workers' ONNX engine loads. It is offered at ``/api/models/<id>/onnx/<digest>.onnx``, where ``<digest>`` is the first
16 hex digits of the file's SHA-256: a new export gets a new URL, so the file is sent with a one-year, immutable
cache lifetime and a browser downloads each export once. The digest is computed once per file version (path,
size, modification time) per process.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.urls import reverse

from Models.nets.checkpoint_files import resolve_checkpoint
from Models.nets.onnx_files import onnx_file_of
from Utils import CheckpointError

from . import separators

logger = logging.getLogger(__name__)

DIGEST_CHARS = 16  # hex digits of the SHA-256 in the URL (64 bits)
CACHE_CONTROL = "private, max-age=31536000, immutable"  # one year; the URL changes with the content
# What the browser needs of the model spec to run the model (Models.config.ModelSpec fields).
SPEC_FIELDS = ("expected_sr", "num_fft", "num_hop", "num_frames", "num_layers")


@dataclass(frozen=True)
class OnnxExport:
    """A model's ONNX file as the browser gets it: ``path``, ``digest`` (hex), ``size`` (bytes) and ``spec``."""

    path: Path
    digest: str
    size: int
    spec: dict[str, int]


_digests: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> digest
_lock = threading.Lock()


def _digest(path: Path, size: int, mtime_ns: int) -> str:
    key = (str(path), size, mtime_ns)
    with _lock:
        if key not in _digests:
            with open(path, "rb") as f:
                _digests[key] = hashlib.file_digest(f, "sha256").hexdigest()[:DIGEST_CHARS]
        return _digests[key]


def onnx_export(model_id: str) -> OnnxExport | None:
    """The ONNX export of a model id's best checkpoint, or None when the model or its export is missing."""
    folder = separators.model_folder(model_id)
    if folder is None:
        return None
    try:
        prefix, spec = resolve_checkpoint(folder)
    except CheckpointError:
        return None
    path = onnx_file_of(prefix)
    try:
        stat = path.stat()
    except OSError:
        return None
    spec_dict = spec.to_dict()
    return OnnxExport(path, _digest(path, stat.st_size, stat.st_mtime_ns), stat.st_size,
                      {key: int(spec_dict[key]) for key in SPEC_FIELDS})


def device_field(model_id: str) -> dict[str, Any] | None:
    """The ``device`` entry of a model in ``GET /api/models/``: ``{"url", "bytes", "spec"}``, or None when the model
    has no ONNX export (it then separates on the server only)."""
    export = onnx_export(model_id)
    if export is None:
        return None
    url = reverse("model-onnx", kwargs={"model_id": model_id, "digest": export.digest})
    return {"url": url, "bytes": export.size, "spec": export.spec}
