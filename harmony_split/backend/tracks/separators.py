"""The available separators (trained run folders) and, in a worker, the loaded ones.

A model id is the name of a run folder under ``HARMONY_CHECKPOINT_DIR`` (e.g. ``"542621_semisup"``), or of the
folder of ``HARMONY_CHECKPOINT`` when that points elsewhere. Listing reads only the JSON files beside the
checkpoints (no TensorFlow in the web server); :func:`loaded` restores a model once per checkpoint per process.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from django.conf import settings

from Models.nets.checkpoint_files import checkpoint_folder, find_latest_checkpoint, resolve_checkpoint, run_folders
from Models.nets.runs import distinct_labels, list_runs
from Utils import CheckpointError

logger = logging.getLogger(__name__)

_loaded: dict[str, Any] = {}  # checkpoint prefix -> Models.api.Separator
_lock = threading.Lock()


def _extra() -> list[str]:
    """``HARMONY_CHECKPOINT``, offered even when it lies outside ``HARMONY_CHECKPOINT_DIR``."""
    return [settings.HARMONY_CHECKPOINT] if settings.HARMONY_CHECKPOINT else []


def default_model_id() -> str | None:
    """The id of ``HARMONY_CHECKPOINT``, else of the newest best checkpoint; None when there is none."""
    if settings.HARMONY_CHECKPOINT:
        return checkpoint_folder(settings.HARMONY_CHECKPOINT).name
    latest = find_latest_checkpoint(settings.HARMONY_CHECKPOINT_DIR)
    return Path(latest).parent.name if latest else None


def list_models() -> list[dict[str, Any]]:
    """``[{"id", "name", "phase", "data", "vocals_sdr", "val_loss", "created", "default"}]``, newest first; only
    loadable folders. ``name`` says what the model is (``Models.nets.runs.distinct_labels``)."""
    default = default_model_id()
    runs = list_runs(settings.HARMONY_CHECKPOINT_DIR, _extra())
    return [{"id": run.folder.name, "name": name, "phase": run.phase, "data": run.data,
             "vocals_sdr": run.vocals_sdr, "val_loss": run.val_loss, "created": run.created,
             "default": run.folder.name == default}
            for run, name in zip(runs, distinct_labels(runs), strict=True)]


def model_folder(model_id: str) -> Path | None:
    """The run folder of a model id, or None when there is no run folder of that name (a folder whose checkpoint
    cannot be loaded is returned: loading it then says why)."""
    return next((folder for folder in run_folders(settings.HARMONY_CHECKPOINT_DIR, _extra())
                 if folder.name == model_id), None)


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

            # TensorFlow (engine tf) only in workers
            _loaded[prefix] = Separator.load(prefix, settings.HARMONY_PRECISION, settings.HARMONY_ENGINE)
        return _loaded[prefix]
