"""The dataset dict every data loader returns, and its checks (the bottom of the data-set modules)::

    {"train_sup":   [(mix, acc, voice), ...],   # paired Sample triples used for supervised training
     "train_valid": [(mix, acc, voice), ...],   # paired, validation (early stopping)
     "train_test":  [(mix, acc, voice), ...],   # paired, final evaluation
     "train_unsup": [mixtures, accompaniments, voices]}   # three independent lists of Sample (unpaired)

where every element is a :class:`Sample.Sample` (path, sample rate in Hz, channels, duration in seconds).
The loaders (:mod:`Input.datasets.musdb`, :mod:`Input.datasets.moisesdb`, :mod:`Input.datasets.unpaired`) build on this module;
:mod:`Input.datasets.load` (``load_dataset``) sits above them.
"""

from __future__ import annotations

from typing import Any

from Sample import Sample
from Utils import ProjectError

PAIRED_PARTITIONS: tuple[str, ...] = ("train_sup", "train_valid", "train_test")
UNPAIRED_PARTITION = "train_unsup"
PARTITIONS: tuple[str, ...] = PAIRED_PARTITIONS + (UNPAIRED_PARTITION,)
ROLES: tuple[str, ...] = ("mix", "acc", "voice")  # the elements of a triple, and the lists of train_unsup
UNPAIRED_LISTS: tuple[str, ...] = ("mixtures", "accompaniments", "voices")  # train_unsup's lists, for messages


class DatasetError(ProjectError, ValueError):
    """A data set is missing, unreadable or malformed. The message is one line and names the path/source."""

    kind = "dataset"


class DatasetNotFound(DatasetError):
    """A data set path (a config key such as ``musdb_path``) that points at nothing. The fix is in the
    configuration, so this is a config error (exit status 2), the usual first failure of ``python Training.py``."""

    kind = "config"


def empty_dataset() -> dict[str, list]:
    """A dataset dict with every partition empty (``train_unsup`` = ``[[], [], []]``)."""
    return {"train_sup": [], "train_valid": [], "train_test": [], "train_unsup": [[], [], []]}


def _type_name(value: Any) -> str:
    return type(value).__name__


def _length_or_type(value: Any) -> str:
    """``"length <n>"`` for a list/tuple, else the type name: what a malformed entry is, for messages."""
    return f"length {len(value)}" if isinstance(value, (list, tuple)) else _type_name(value)


def _check_sample(item: Any, source: str, where: str, role: str) -> None:
    """DatasetError naming ``source``, the position ``where`` and the ``role`` unless ``item`` is a Sample."""
    if not isinstance(item, Sample):
        raise DatasetError(f"{source}: {where} ({role}) is {_type_name(item)}, expected Sample")


def validate_dataset(dataset: Any, source: str = "dataset") -> dict[str, list]:
    """Check a dataset dict's structure and return a normalised copy.

    Paired partitions become lists of ``(mix, acc, voice)`` tuples; ``train_unsup`` a list of three lists.
    Lists and tuples are both accepted on input.

    Args:
        dataset: the dict to check (see the module docstring for the layout).
        source: what produced it (loader spec, cache path), used in error messages.

    Returns:
        The normalised dict with exactly the keys of ``PARTITIONS``.

    Raises:
        DatasetError: not a dict, missing/unknown keys, a triple that is not 3 long, or an element that is
            not a :class:`Sample.Sample`. The message names ``source`` and the offending entry.
    """
    if not isinstance(dataset, dict):
        raise DatasetError(f"{source}: expected a dict with keys {list(PARTITIONS)}, got {_type_name(dataset)}")
    missing = [k for k in PARTITIONS if k not in dataset]
    unknown = sorted(str(k) for k in dataset if k not in PARTITIONS)
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing keys {missing}")
        if unknown:
            parts.append(f"unknown keys {unknown}")
        raise DatasetError(f"{source}: {' and '.join(parts)} (expected exactly {list(PARTITIONS)})")

    out: dict[str, list] = {}
    for key in PAIRED_PARTITIONS:
        entries = dataset[key]
        if not isinstance(entries, (list, tuple)):
            raise DatasetError(f"{source}: {key} must be a list of (mix, acc, voice) tuples, "
                               f"got {_type_name(entries)}")
        triples = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, (list, tuple)) or len(entry) != 3:
                raise DatasetError(f"{source}: {key}[{i}] must be a (mix, acc, voice) tuple of 3 Samples, "
                                   f"got {_length_or_type(entry)}")
            for j, item in enumerate(entry):
                _check_sample(item, source, f"{key}[{i}][{j}]", ROLES[j])
            triples.append(tuple(entry))
        out[key] = triples

    unsup = dataset[UNPAIRED_PARTITION]
    if not isinstance(unsup, (list, tuple)) or len(unsup) != 3:
        raise DatasetError(f"{source}: {UNPAIRED_PARTITION} must be [mixtures, accompaniments, voices] "
                           f"(3 lists of Samples), got {_length_or_type(unsup)}")
    lists = []
    for j, items in enumerate(unsup):
        if not isinstance(items, (list, tuple)):
            raise DatasetError(f"{source}: {UNPAIRED_PARTITION}[{j}] ({ROLES[j]}) must be a list of Samples, "
                               f"got {_type_name(items)}")
        for i, item in enumerate(items):
            _check_sample(item, source, f"{UNPAIRED_PARTITION}[{j}][{i}]", ROLES[j])
        lists.append(list(items))
    out[UNPAIRED_PARTITION] = lists
    return out


def describe(dataset: dict[str, list]) -> str:
    """One line with the number of entries (and hours of mixture audio) per partition, for logging."""
    parts = []
    for key in PAIRED_PARTITIONS:
        entries = dataset.get(key, [])
        hours = sum(t[0].duration for t in entries) / 3600.0
        parts.append(f"{key}: {len(entries)} tracks ({hours:.2f} h)")
    unsup = dataset.get(UNPAIRED_PARTITION) or [[], [], []]
    counts = ", ".join(f"{len(items)} {name}" for name, items in zip(UNPAIRED_LISTS, unsup, strict=False))
    parts.append(f"{UNPAIRED_PARTITION}: {counts}")
    return "; ".join(parts)
