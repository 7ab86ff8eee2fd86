"""The available separators (trained run folders) and, in a worker, the loaded ones.

A model id is the name of a run folder under ``HARMONY_CHECKPOINT_DIR`` (e.g. ``"542621_semisup"``), or of the
folder of ``HARMONY_CHECKPOINT`` when that points elsewhere. Listing reads only the JSON files beside the
checkpoints (no TensorFlow in the web server); :func:`loaded` restores a model once per checkpoint per process.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from Models.nets.checkpoint_files import (
    LEGACY_CONFIG_FILE,
    MODEL_SPEC_FILE,
    RUN_RECORD_FILE,
    checkpoint_folder,
    find_latest_checkpoint,
    resolve_checkpoint,
)
from Utils import BEST_FILE, CheckpointError, read_json

logger = logging.getLogger(__name__)

_loaded: dict[str, Any] = {}  # checkpoint prefix -> Models.api.Separator
_lock = threading.Lock()


def _run_folders() -> list[Path]:
    base = Path(settings.HARMONY_CHECKPOINT_DIR)
    folders = [f for f in base.iterdir() if f.is_dir()] if base.is_dir() else []
    if settings.HARMONY_CHECKPOINT:
        chosen = checkpoint_folder(settings.HARMONY_CHECKPOINT).resolve()
        if chosen not in [f.resolve() for f in folders]:
            folders.append(chosen)
    return [f for f in folders if any((f / name).is_file() for name in (MODEL_SPEC_FILE, LEGACY_CONFIG_FILE))]


def _read(path: Path) -> dict:
    try:
        data = read_json(path) if path.is_file() else {}
    except (OSError, ValueError, CheckpointError) as err:
        logger.warning("%s: unreadable (%s)", path, err)
        return {}
    return data if isinstance(data, dict) else {}


def _describe(folder: Path) -> dict[str, Any]:
    best, record = _read(folder / BEST_FILE), _read(folder / RUN_RECORD_FILE)
    stamp_file = folder / BEST_FILE if (folder / BEST_FILE).is_file() else folder
    created = record.get("created") or datetime.fromtimestamp(stamp_file.stat().st_mtime, UTC).isoformat()
    phase = folder.name.rsplit("_", 1)[-1] if "_" in folder.name else ""
    val_loss = best.get("val_loss")
    return {
        "id": folder.name,
        "name": folder.name,
        "phase": {"sup": "supervised", "semisup": "semi-supervised"}.get(phase, phase or "unknown"),
        "val_loss": float(val_loss) if isinstance(val_loss, int | float) else None,
        "created": created,
    }


def default_model_id() -> str | None:
    """The id of ``HARMONY_CHECKPOINT``, else of the newest best checkpoint; None when there is none."""
    if settings.HARMONY_CHECKPOINT:
        return checkpoint_folder(settings.HARMONY_CHECKPOINT).name
    latest = find_latest_checkpoint(settings.HARMONY_CHECKPOINT_DIR)
    return Path(latest).parent.name if latest else None


def list_models() -> list[dict[str, Any]]:
    """``[{"id", "name", "phase", "val_loss", "created", "default"}]``, newest first; only loadable folders."""
    default = default_model_id()
    models = []
    for folder in _run_folders():
        try:
            resolve_checkpoint(folder)
        except CheckpointError as err:
            logger.info("not offered: %s", err)
            continue
        models.append({**_describe(folder), "default": folder.name == default})
    return sorted(models, key=lambda m: m["created"], reverse=True)


def model_folder(model_id: str) -> Path | None:
    """The run folder of a model id, or None when no such model is offered."""
    for folder in _run_folders():
        if folder.name == model_id:
            return folder
    return None


def loaded(model_id: str) -> Any:  # noqa: ANN401 -- a Models.api.Separator (no TensorFlow import here)
    """The ``Models.api.Separator`` of a model id, restored once per checkpoint and kept while its checkpoint
    exists. Raises CheckpointError when the model is gone or unreadable.

    The checkpoint is looked up on disk on every call: a model deleted while the service runs is refused by every
    worker alike, also by one that still holds it in memory (which then frees it)."""
    with _lock:
        for gone in [prefix for prefix in _loaded if not Path(f"{prefix}.index").is_file()]:
            logger.info("%s: checkpoint deleted; model unloaded", gone)
            del _loaded[gone]
    folder = model_folder(model_id)
    if folder is None:
        raise CheckpointError(f"model {model_id!r}: no run folder of this name in {settings.HARMONY_CHECKPOINT_DIR}")
    prefix, _ = resolve_checkpoint(folder)
    with _lock:
        if prefix not in _loaded:
            from Models.api import Separator

            _loaded[prefix] = Separator.load(prefix, settings.HARMONY_PRECISION)  # TensorFlow only in workers
        return _loaded[prefix]
