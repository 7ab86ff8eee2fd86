"""The one entry point for training/evaluation data: :func:`load_dataset` returns the dataset dict (layout and
checks in :mod:`Input.dataset_dict`, whose names are re-exported here).

Where the data comes from (:func:`load_dataset`):

* ``model_config["dataset_loader"] = "module:function"``: that function is imported and called with
  ``model_config``; it must return the whole dict (it may call ``Input.unpaired.load_unpaired`` itself).
* otherwise MUSDB18 at ``model_config["musdb_path"]`` (:func:`Input.musdb_data.load_musdb`, cached in
  ``model_config["dataset_cache"]``), and ``train_unsup`` from :func:`Input.unpaired.load_unpaired`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from Input.dataset_dict import (
    PAIRED_PARTITIONS,
    PARTITIONS,
    ROLES,
    UNPAIRED_PARTITION,
    DatasetError,
    describe,
    empty_dataset,
    validate_dataset,
)
from Input.musdb_data import load_musdb
from Input.unpaired import load_unpaired

__all__ = [
    "PAIRED_PARTITIONS", "PARTITIONS", "ROLES", "UNPAIRED_PARTITION", "DatasetError", "describe", "empty_dataset",
    "load_dataset", "resolve_loader", "validate_dataset",
]

logger = logging.getLogger(__name__)


def resolve_loader(spec: str) -> Callable[[dict], dict]:
    """Import the function named by ``"package.module:function"``.

    Raises:
        DatasetError: (one line) the spec has no colon, the module cannot be imported, or it has no such
            callable.
    """
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise DatasetError(f"dataset_loader {spec!r}: expected 'module:function', e.g. 'my_data:load'")
    module_name, func_name = (part.strip() for part in spec.split(":"))
    if not module_name or not func_name:
        raise DatasetError(f"dataset_loader {spec!r}: expected 'module:function', e.g. 'my_data:load'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        raise DatasetError(f"dataset_loader {spec!r}: cannot import module {module_name!r} ({e})") from e
    func = getattr(module, func_name, None)
    if func is None:
        raise DatasetError(f"dataset_loader {spec!r}: module {module_name!r} has no attribute {func_name!r}")
    if not callable(func):
        raise DatasetError(f"dataset_loader {spec!r}: {module_name}.{func_name} is not callable")
    return func


def load_dataset(model_config: dict, min_unpaired_seconds: float = 0.0) -> dict[str, list]:
    """Load the dataset dict described in :mod:`Input.dataset_dict`.

    Args:
        model_config: uses ``dataset_loader`` (``None`` or ``"module:function"``) and, for MUSDB18,
            ``musdb_path``, ``is_wav``, ``dataset_cache``, ``num_workers``; the keys of
            :func:`Input.unpaired.load_unpaired` for ``train_unsup``.
        min_unpaired_seconds: unpaired files shorter than this (seconds; one network input excerpt, see
            ``Models.shapes.min_excerpt_seconds``) are left out. Not used with a ``dataset_loader``.

    Returns:
        The validated dataset dict.

    Raises:
        DatasetError: bad ``dataset_loader`` spec, MUSDB18 missing/unreadable, or a loader returned a malformed
            dict.
    """
    spec = model_config.get("dataset_loader")
    if spec:
        loader = resolve_loader(spec)
        logger.info("loading the dataset with custom loader %s", spec)
        dataset = validate_dataset(loader(model_config), source=f"dataset_loader {spec!r}")
    else:
        dataset = load_musdb(model_config)
        unpaired = load_unpaired(model_config, min_unpaired_seconds)
        dataset = validate_dataset({**dataset, UNPAIRED_PARTITION: unpaired}, source="MUSDB18 + Input.unpaired")
    logger.debug("dataset: %s", describe(dataset))
    return dataset
