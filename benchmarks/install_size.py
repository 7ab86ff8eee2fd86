"""The disk size of an install: the files of a distribution and of everything it requires, recursively, as the
installed metadata lists them (``importlib.metadata``), without Python itself, pip or setuptools."""

from __future__ import annotations

import re
from importlib import metadata

from packaging.requirements import Requirement


def _requirements(dist: metadata.Distribution, extras: frozenset[str]) -> list[str]:
    """The names of the distributions ``dist`` requires with ``extras`` (markers evaluated here)."""
    names = []
    for text in dist.requires or []:
        requirement = Requirement(text)
        if requirement.marker is None or any(requirement.marker.evaluate({"extra": extra})
                                              for extra in (extras or {""})):
            names.append(requirement.name)
    return names


def installed_megabytes(name: str, extras: tuple[str, ...] = ()) -> tuple[float, list[str]]:
    """(MB of files, the distribution names counted) of ``name`` installed with ``extras`` and its requirements.

    Raises:
        metadata.PackageNotFoundError: ``name`` is not installed.
    """
    seen: set[str] = set()
    total = 0
    pending = [(name, frozenset(extras))]
    while pending:
        current, wanted = pending.pop()
        key = re.sub(r"[-_.]+", "-", current).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(current)
        except metadata.PackageNotFoundError:
            if current == name:
                raise
            continue  # an optional requirement for another platform
        total += sum(path.locate().stat().st_size for path in dist.files or [] if path.locate().is_file())
        pending.extend((required, frozenset()) for required in _requirements(dist, wanted))
    return total / 1e6, sorted(seen)
