"""The one entry point for training/evaluation data: :func:`load_dataset` returns the dataset dict (layout and
checks in :mod:`Input.datasets.partitions`, whose names are re-exported here).

Where the data comes from (:func:`load_dataset`):

* ``DataConfig.dataset_loader = "module:function"``: that function is imported and called with the
  :class:`Input.config.DataConfig`; it must return the whole dict (it may call ``Input.datasets.unpaired.load_unpaired``
  itself).
* otherwise MUSDB18 at ``musdb_path`` (:func:`Input.datasets.musdb.load_musdb`, cached in ``dataset_cache``), and
  ``train_unsup`` from :func:`Input.datasets.unpaired.load_unpaired`.

Scarce labels (``num_labelled_tracks``, named config ``scarce_labels``): only that many of the ``train_sup`` songs
stay paired; the others become unpaired data (:func:`scarce_labels`).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from Input.config import DataConfig
from Input.datasets.partitions import (
    PAIRED_PARTITIONS,
    PARTITIONS,
    ROLES,
    UNPAIRED_PARTITION,
    DatasetError,
    describe,
    empty_dataset,
    validate_dataset,
)
from Input.datasets.musdb import load_musdb
from Input.datasets.unpaired import load_unpaired

__all__ = [
    "PAIRED_PARTITIONS", "PARTITIONS", "ROLES", "UNPAIRED_PARTITION", "DatasetError", "describe", "empty_dataset",
    "load_dataset", "resolve_loader", "scarce_labels", "split_record", "validate_dataset",
]

logger = logging.getLogger(__name__)

# Loaders named by their module's path before the sub-package layout (issue 20): a stored run config that names
# one (``resume=`` of an older ``with paper`` run) still resolves.
RENAMED_LOADERS: dict[str, str] = {"Input.paper_data:load_paper": "Input.datasets.paper:load_paper"}


def resolve_loader(spec: str) -> Callable[[DataConfig], dict]:
    """Import the function named by ``"package.module:function"``.

    Raises:
        DatasetError: (one line) the spec has no colon, the module cannot be imported, or it has no such
            callable.
    """
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise DatasetError(f"dataset_loader {spec!r}: expected 'module:function', e.g. 'my_data:load'")
    module_name, func_name = (part.strip() for part in RENAMED_LOADERS.get(spec.strip(), spec).split(":"))
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


def load_dataset(data: DataConfig, min_unpaired_seconds: float = 0.0, *, seed: int) -> dict[str, list]:
    """Load the dataset dict described in :mod:`Input.datasets.partitions`.

    Args:
        data: uses ``dataset_loader`` (``None`` or ``"module:function"``) and, for MUSDB18, ``musdb_path``,
            ``is_wav``, ``dataset_cache``, ``num_workers``; the fields of :func:`Input.datasets.unpaired.load_unpaired`
            for ``train_unsup``; ``num_labelled_tracks``.
        min_unpaired_seconds: unpaired files shorter than this (seconds; one network input excerpt, see
            ``Models.nets.shapes.min_excerpt_seconds``) are left out. Not used with a ``dataset_loader``.
        seed: the run's seed; with ``num_labelled_tracks`` it chooses the paired songs (:func:`scarce_labels`).

    Returns:
        The validated dataset dict.

    Raises:
        DatasetError: bad ``dataset_loader`` spec, MUSDB18 missing/unreadable, or a loader returned a malformed
            dict.
    """
    spec = data.dataset_loader
    if spec:
        loader = resolve_loader(spec)
        logger.info("loading the dataset with custom loader %s", spec)
        dataset = validate_dataset(loader(data), source=f"dataset_loader {spec!r}")
    else:
        dataset = load_musdb(data)
        unpaired = load_unpaired(data, min_unpaired_seconds)
        dataset = validate_dataset({**dataset, UNPAIRED_PARTITION: unpaired}, source="MUSDB18 + Input.datasets.unpaired")
    if data.num_labelled_tracks is not None:
        dataset = scarce_labels(dataset, data.num_labelled_tracks, int(seed))
    logger.debug("dataset: %s", describe(dataset))
    return dataset


def track_name(sample: object) -> str:
    """The song a Sample belongs to: the folder of an exported track (``<Track>/mixture.wav``), else the file."""
    path = Path(sample.path)
    return path.parent.name if path.stem in ("mixture", "accompaniment", "vocals", "voice") else path.name


def scarce_labels(dataset: dict[str, list], num_labelled: int, seed: int) -> dict[str, list]:
    """Keep ``num_labelled`` of the ``train_sup`` songs paired; split the others into three disjoint groups whose
    mixtures, accompaniments and voices respectively are added to ``train_unsup`` (nothing unpaired is secretly
    paired: no song gives more than one of the three).

    The choice is a permutation of the songs sorted by mixture path, drawn from ``seed``: the same songs and seed
    give the same split on every run and machine. Validation and test partitions are untouched.
    """
    songs = sorted(dataset["train_sup"], key=lambda triple: triple[0].path)
    if num_labelled >= len(songs):
        logger.warning("num_labelled_tracks=%d but only %d paired training songs: all stay paired", num_labelled,
                       len(songs))
        return dataset
    order = np.random.default_rng([int(seed), 12]).permutation(len(songs))
    labelled = [songs[i] for i in sorted(order[:num_labelled])]
    rest = [songs[i] for i in order[num_labelled:]]
    unsup = [list(items) for items in dataset[UNPAIRED_PARTITION]]
    for role in range(3):  # group k gives its songs' role-k files (mixtures, accompaniments, voices)
        unsup[role] += [triple[role] for triple in rest[role::3]]
    logger.info("scarce labels (seed %d): %d of %d training songs paired; %d / %d / %d others give the unpaired "
                "mixtures / accompaniments / voices", seed, len(labelled), len(songs),
                *(len(rest[k::3]) for k in range(3)))
    return {**dataset, "train_sup": labelled, UNPAIRED_PARTITION: unsup}


def split_record(dataset: dict[str, list]) -> dict[str, list[str]]:
    """Which songs each training partition uses, by track name: ``labelled`` and the three unpaired lists (for
    the run's record)."""
    record = {"labelled": [track_name(t[0]) for t in dataset["train_sup"]]}
    for name, items in zip(("mixtures", "accompaniments", "voices"), dataset[UNPAIRED_PARTITION], strict=True):
        record[f"unpaired_{name}"] = [track_name(s) for s in items]
    return record
