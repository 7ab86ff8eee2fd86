"""The files beside a run's checkpoints, and finding a checkpoint.

A checkpoint folder (``checkpoints/<id>_<phase>``) holds TensorFlow checkpoints named ``<id>_<phase>-<step>``
and:

* ``model_spec.json`` (:data:`MODEL_SPEC_FILE`): the model spec (``Models.config.ModelSpec``), only the keys
  needed to rebuild the separator and apply it to audio; all that loading, separation and evaluation read;
* ``run.json`` (:data:`RUN_RECORD_FILE`): the run record, ``{"config": the whole resolved run config (the flat
  model_config), "git_commit": sha or null, "created": ISO time}``, for people and for resuming a run;
* ``best.json`` (``Utils.BEST_FILE``): the best checkpoint by validation loss.

Folders written before the spec existed hold ``model_config.json`` (:data:`LEGACY_CONFIG_FILE`, the whole run
config) instead of the first two; they are read through the same functions. Keys added since a file was written
take their defaults (``Models.config.ModelSpec.from_dict``, ``ExperimentConfig.from_stored``).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from Models.config import ExperimentConfig, ModelSpec
from Utils import BEST_FILE, CheckpointError, ConfigError, checkpoint_exists, read_json, write_json_atomic

logger = logging.getLogger(__name__)
T = TypeVar("T")

MODEL_SPEC_FILE = "model_spec.json"
RUN_RECORD_FILE = "run.json"
LEGACY_CONFIG_FILE = "model_config.json"

# The model_config keys of model_spec.json, in its order.
SPEC_KEYS: tuple[str, ...] = ModelSpec.keys()


def git_commit(folder: str | os.PathLike = ".") -> str | None:
    """``git rev-parse HEAD`` of the checkout containing ``folder``; None outside a git checkout (or no git)."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=10,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def write_run_files(folder: str | os.PathLike, config: ExperimentConfig) -> None:
    """Write ``model_spec.json`` and ``run.json`` (see the module docstring) into ``folder``, each atomically.

    The commit is the one of the code that runs (this module's checkout), not of the current directory.
    """
    folder = Path(folder)
    record = {
        "config": config.to_dict(),
        "git_commit": git_commit(Path(__file__).resolve().parent),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_json_atomic(folder / MODEL_SPEC_FILE, config.spec.to_dict())
    write_json_atomic(folder / RUN_RECORD_FILE, record)


def _parsed(path: Path, data: object, build: Callable[[dict[str, Any]], T]) -> T:
    """``build(data)`` for the JSON object read from ``path``; CheckpointError naming ``path`` when ``data`` is no
    object or ``build`` refuses a value."""
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: not a JSON object")
    try:
        return build(data)
    except (ConfigError, ValueError, TypeError) as err:
        raise CheckpointError(f"{path}: {err}") from err


def read_model_spec(folder: str | os.PathLike) -> ModelSpec:
    """The model spec of a checkpoint folder: ``model_spec.json``, else the spec keys of a legacy
    ``model_config.json``; keys added since it was written take their defaults.

    Raises:
        CheckpointError: (one line, naming the file) neither file, not valid JSON, a key that rebuilds the
            network missing, or a value of the wrong type.
    """
    folder = Path(folder)
    path = folder / MODEL_SPEC_FILE
    if not path.is_file():
        path = folder / LEGACY_CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{folder / MODEL_SPEC_FILE}: missing (and no legacy {LEGACY_CONFIG_FILE}); "
                              "cannot rebuild the model")
    return _parsed(path, read_json(path), ModelSpec.from_dict)


def read_run_config(folder: str | os.PathLike) -> ExperimentConfig:
    """The whole run config of a checkpoint folder: ``run.json``'s ``"config"``, else a legacy
    ``model_config.json``; keys added since it was written take their defaults (``ExperimentConfig.from_stored``).

    Raises:
        CheckpointError: (one line, naming the file) neither file is there or readable, or a value is bad.
    """
    folder = Path(folder)
    path = folder / RUN_RECORD_FILE
    if path.is_file():
        record = read_json(path)
        if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
            raise CheckpointError(f"{path}: holds no \"config\" object")
        config = record["config"]
    else:
        legacy = folder / LEGACY_CONFIG_FILE
        if not legacy.is_file():
            raise CheckpointError(f"{path}: missing (and no legacy {LEGACY_CONFIG_FILE})")
        path, config = legacy, read_json(legacy)
    return _parsed(path, config, ExperimentConfig.from_stored)


def checkpoint_folder(path: str | os.PathLike) -> Path:
    """The run folder of a checkpoint prefix or run folder."""
    path = Path(path)
    return path if path.is_dir() else path.parent


def latest_checkpoint(folder: Path) -> str | None:
    """The prefix of the latest checkpoint of ``folder`` as TensorFlow's ``checkpoint`` file names it (what
    ``tf.train.latest_checkpoint`` returns, read without TensorFlow), or None when there is none on disk."""
    try:
        state = (folder / "checkpoint").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    found = re.search(r'^model_checkpoint_path:\s*"([^"]+)"', state, re.MULTILINE)
    if found is None:
        return None
    candidate = folder / Path(found.group(1)).name
    return str(candidate) if checkpoint_exists(candidate) else None


def resolve_checkpoint(path: str | os.PathLike) -> tuple[str, ModelSpec]:
    """Turn a checkpoint prefix or a checkpoint folder into ``(prefix, model spec)``.

    A folder resolves to its best checkpoint (``best.json``), else its latest one. The spec is read with
    :func:`read_model_spec` from the checkpoint's folder. Raises CheckpointError naming the path and the reason.
    """
    path = Path(path)
    if path.is_dir():
        folder = path
        prefix = None
        if (folder / BEST_FILE).is_file():
            best = read_json(folder / BEST_FILE)
            candidate = folder / Path(best.get("checkpoint", "")).name
            if checkpoint_exists(candidate):
                prefix = str(candidate)
        if prefix is None:
            prefix = latest_checkpoint(folder)
        if prefix is None:
            raise CheckpointError(f"{path}: folder holds no TensorFlow checkpoint")
    else:
        if not checkpoint_exists(path):
            raise CheckpointError(f"{path}: no checkpoint with this prefix ({path}.index is missing)")
        folder, prefix = path.parent, str(path)
    return prefix, read_model_spec(folder)


def is_run_folder(folder: Path) -> bool:
    """Whether ``folder`` is a run's checkpoint folder: it holds a model spec (or a legacy model config)."""
    return folder.is_dir() and any((folder / name).is_file() for name in (MODEL_SPEC_FILE, LEGACY_CONFIG_FILE))


def run_folders(base_dir: str | os.PathLike, extra: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """The run folders (:func:`is_run_folder`) in ``base_dir`` plus those of the ``extra`` checkpoints, each once;
    only the folder listing and file names are read (no checkpoint is resolved)."""
    base = Path(base_dir)
    folders = [f for f in base.iterdir() if f.is_dir()] if base.is_dir() else []
    seen = {f.resolve() for f in folders}
    for path in extra:
        chosen = checkpoint_folder(path).resolve()
        if chosen not in seen:
            seen.add(chosen)
            folders.append(chosen)
    return [folder for folder in folders if is_run_folder(folder)]


def find_latest_checkpoint(base_dir: str | os.PathLike = "checkpoints") -> str | None:
    """Return the newest best checkpoint of any run (semi-supervised or supervised) under ``base_dir``.

    Run folders are those with a ``model_spec.json`` or a legacy ``model_config.json``. "Newest" is by the
    modification time of the run's ``best.json`` (or of its newest checkpoint index when a run recorded no
    best). Returns None when nothing is found.
    """
    candidates: list[tuple[float, str]] = []
    for folder in run_folders(base_dir):
        try:
            prefix, _ = resolve_checkpoint(folder)
        except CheckpointError as err:
            logger.debug("skipping %s: %s", folder, err)
            continue
        marker = folder / BEST_FILE if (folder / BEST_FILE).is_file() else Path(f"{prefix}.index")
        candidates.append((marker.stat().st_mtime, prefix))
    if not candidates:
        return None
    return max(candidates)[1]


def damage(prefix: str | os.PathLike) -> str | None:
    """Why the checkpoint files of ``prefix`` cannot be read (a truncated or garbage ``.index`` or data file, e.g.
    from an interrupted copy), naming the file; None when every tensor reads back. Reads the whole checkpoint, so
    call it to explain a failed restore, not on every load."""
    import tensorflow as tf  # lazily: the CLIs resolve paths without TensorFlow's start-up cost

    index = f"{prefix}.index"
    try:
        reader = tf.train.load_checkpoint(str(prefix))
    except (tf.errors.OpError, ValueError, IndexError) as err:
        return f"{index}: damaged or not a TensorFlow checkpoint index ({' '.join(str(err).split())[:160]})"
    data = sorted(Path(prefix).parent.glob(f"{Path(prefix).name}.data-*"))
    try:
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except (tf.errors.OpError, ValueError, IndexError) as err:
        files = ", ".join(str(p) for p in data) or f"{prefix}.data-*"
        return f"{files}: damaged (truncated or corrupt: {' '.join(str(err).split())[:160]})"
    return None


def restore_checkpoint(checkpoint: Any, prefix: str | os.PathLike, mismatch: str) -> None:
    """Restore ``checkpoint`` (a ``tf.train.Checkpoint``) from ``prefix`` strictly: every object it tracks must be
    in the files. The one way training, evaluation and separation read weights.

    Raises:
        CheckpointError: one line: a damaged file, named (see :func:`damage`), or else
            ``"<prefix>: <mismatch> (<TensorFlow's reason>)"``.
    """
    import tensorflow as tf

    try:
        status = checkpoint.read(str(prefix))
        status.assert_existing_objects_matched()
        status.expect_partial()
    except (AssertionError, ValueError, IndexError, tf.errors.OpError) as err:
        broken = damage(prefix)
        if broken:
            raise CheckpointError(broken) from err
        raise CheckpointError(f"{prefix}: {mismatch} ({' '.join(str(err).split())[:200]})") from err
