"""Unpaired training data (``dataset["train_unsup"]``): mixtures, accompaniments and voices, independently.

Sources, all optional (fields of :class:`Input.config.DataConfig`, the ``model_config`` keys of the same name):

* ``moisesdb_path`` (``None`` or ``""``: not used): a MoisesDB folder, see :mod:`Input.datasets.moisesdb`. Skipped with
  an info line when the folder does not exist.
* ``unsup_mixture_dirs``, ``unsup_accompaniment_dirs``, ``unsup_voice_dirs``: lists of folders of arbitrary
  audio files (any format of ``Input.audio.files.AUDIO_EXTENSIONS``, sample rate, channel count or length), scanned
  recursively. A folder that does not exist is an error.
* ``include_silent_voices`` (default True, as the original code): each instrumental (a file of
  ``unsup_accompaniment_dirs``, or a MoisesDB track without vocals) also gives a silent voice of its length
  (:mod:`Input.datasets.silence`; for the folders written to ``<audio_cache_dir>/silence``, never into your folders).

Files are only probed here (no decoding); the pipeline loads, resamples and samples excerpts later. Unreadable
files are skipped with a warning naming them, and files shorter than the caller's minimum (one network input
excerpt, ``Models.nets.shapes.min_excerpt_seconds``) are skipped (their number is logged).

Probe cache: the folder scans remember each file's probe result (or that it is unreadable) in
``<audio_cache_dir>/probes.pkl``, keyed by the resolved absolute path, size in bytes and modification time in
nanoseconds, so a later start does not probe unchanged files again. Changed and new files are probed; entries
of files no longer found below a scanned folder are dropped. A corrupt cache or one of another format version is
ignored (info line) and rebuilt (``Utils.read_versioned_pickle``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from Input.audio.files import AudioError, find_audio_files
from Input.audio.probe import probe_sample
from Input.config import DataConfig
from Input.datasets.partitions import UNPAIRED_LISTS, DatasetError
from Input.datasets.moisesdb import load_moisesdb
from Input.datasets.silence import silent_voices
from Sample import SOURCES, Sample
from Utils import read_versioned_pickle, write_versioned_pickle

logger = logging.getLogger(__name__)

# unsup_mixture_dirs, unsup_accompaniment_dirs, unsup_voice_dirs: in the order of the returned lists
FOLDER_KEYS: tuple[str, ...] = tuple(f"unsup_{name}_dirs" for name in ("mixture", *SOURCES))
PROBE_WORKERS = 8  # ffprobe runs as a subprocess, so threads overlap well
PROBE_CACHE_FILE = "probes.pkl"  # inside DataConfig.audio_cache_dir
PROBE_CACHE_VERSION = 1
# Cache entry of one file, keyed by its resolved absolute path: (size in bytes, mtime in ns, result), where the
# result is (sample rate in Hz, channels, duration in s), or the reason (str) the file is unreadable.
Entry = tuple[int, int, "tuple[int, int, float] | str"]


def _folders(data: DataConfig, key: str) -> list[Path]:
    """The folders listed under ``key``; DatasetError if one does not exist."""
    folders = [Path(v) for v in getattr(data, key)]
    for folder in folders:
        if not folder.exists():
            raise DatasetError(f"{key}: folder {folder} does not exist")
    return folders


def _probe(path: Path) -> tuple[int, int, float] | str:
    """``(sample rate in Hz, channels, duration in s)`` of ``path``, or why it is unreadable."""
    try:
        sample = probe_sample(path)
    except AudioError as e:
        return e.reason
    return sample.sample_rate, sample.channels, sample.duration


def _read_cache(cache_path: Path) -> dict[str, Entry]:
    """The entries of the probe cache at ``cache_path``; empty (with an info line why) when it is unusable."""
    entries = read_versioned_pickle(cache_path, PROBE_CACHE_VERSION, None, what="probe cache", log=logger)
    if entries is not None and not isinstance(entries, dict):
        logger.info("probe cache %s ignored (not a probe cache); rebuilding it", cache_path)
        return {}
    return entries or {}


def _under(key: str, roots: list[str]) -> bool:
    return any(key == root or key.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def scan_folders(folders: Iterable[str | os.PathLike], min_seconds: float = 0.0, name: str = "files",
                 workers: int = PROBE_WORKERS, cache_path: str | os.PathLike | None = None) -> list[Sample]:
    """Probe every audio file below ``folders`` (recursive) into a :class:`Sample` list, sorted by path.

    Args:
        folders: folders (or single files) to scan.
        min_seconds: files shorter than this (seconds) are skipped; their number is logged.
        name: what the files are, for log messages (e.g. the config key).
        workers: files probed in parallel.
        cache_path: probe cache file (see the module docstring), read and updated here; ``None``: no cache.

    Returns:
        One Sample per readable file at least ``min_seconds`` long. Unreadable files are skipped with a warning
        (on every call, cached or not).
    """
    folders = list(folders)
    if not folders:
        return []
    files = find_audio_files(folders)
    if not files:
        logger.warning("%s: no audio files found in %s", name, ", ".join(map(str, folders)))
        return []
    cache = _read_cache(Path(cache_path)) if cache_path is not None else {}
    results: list[tuple[int, int, float] | str | None] = [None] * len(files)
    keys: list[tuple[str, int, int] | None] = [None] * len(files)
    misses = []
    for i, file in enumerate(files):
        if cache_path is not None:
            try:
                st = file.stat()
                keys[i] = (str(file.resolve()), st.st_size, st.st_mtime_ns)
            except OSError:
                pass  # vanished since the scan: probed (and reported) below, not cached
        entry = cache.get(keys[i][0]) if keys[i] else None
        if entry is not None and tuple(entry[:2]) == keys[i][1:]:
            results[i] = entry[2]
        else:
            misses.append(i)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for i, result in zip(misses, pool.map(_probe, [files[i] for i in misses]), strict=True):
            results[i] = result

    samples = []
    for file, result in zip(files, results, strict=True):
        if isinstance(result, str):
            logger.warning("skipped unreadable file %s: %s", file, result)
        else:
            samples.append(Sample(os.fspath(file), *result))
    if cache_path is not None:
        logger.info("%s: %d files probed, %d from the probe cache %s", name, len(misses),
                    len(files) - len(misses), cache_path)
        _update_cache(Path(cache_path), cache, folders, keys, results, changed=bool(misses))
    return _drop_short(samples, min_seconds, name)


def _update_cache(cache_path: Path, cache: dict[str, Entry], folders: list, keys: list, results: list,
                  changed: bool) -> None:
    """Store this scan's results; drop entries below ``folders`` not found now. Written only on a change."""
    found = {key[0] for key in keys if key is not None}
    roots = [str(Path(f).resolve()) for f in folders]
    stale = [k for k in cache if k not in found and _under(k, roots)]
    if not changed and not stale:
        return
    entries = {k: v for k, v in cache.items() if k not in stale}
    entries.update({key[0]: (key[1], key[2], result) for key, result in zip(keys, results, strict=True)
                    if key is not None})
    try:
        write_versioned_pickle(cache_path, PROBE_CACHE_VERSION, None, entries)
    except OSError as e:
        logger.warning("could not write the probe cache %s: %s", cache_path, e)


def _drop_short(samples: list[Sample], min_seconds: float, name: str) -> list[Sample]:
    kept = [s for s in samples if s.duration >= min_seconds]
    if len(kept) < len(samples):
        logger.info("%s: skipped %d of %d files shorter than one excerpt (%.2f s)", name, len(samples) - len(kept),
                    len(samples), min_seconds)
    return kept


def load_unpaired(data: DataConfig, min_seconds: float) -> list[list[Sample]]:
    """``[mixtures, accompaniments, voices]``: the unpaired data of MoisesDB plus the configured folders.

    Args:
        data: reads ``moisesdb_path`` (``None`` or ``""``: no MoisesDB), ``unsup_mixture_dirs``,
            ``unsup_accompaniment_dirs``, ``unsup_voice_dirs``, ``include_silent_voices``, ``num_workers`` (when
            MoisesDB is used) and ``audio_cache_dir`` (folder of the probe cache ``probes.pkl`` and the silent
            voices; ``None`` or ``""``: no cache).
        min_seconds: minimum track length in seconds (one network input excerpt:
            ``Models.nets.shapes.min_excerpt_seconds(spec)``).

    Returns:
        Three independent lists of :class:`Sample`: MoisesDB tracks first (by track folder), then each folder
        list's files (sorted by path).

    Raises:
        DatasetError: a configured folder does not exist, or the MoisesDB export cannot be written.
    """
    folders = [_folders(data, key) for key in FOLDER_KEYS]
    silent = data.include_silent_voices
    moisesdb_path = data.moisesdb_path
    use_moisesdb = bool(moisesdb_path) and Path(moisesdb_path).is_dir()
    if moisesdb_path and not use_moisesdb:
        logger.info("no MoisesDB at %s: not used", moisesdb_path)
    if not use_moisesdb and not any(folders):
        logger.info("no unpaired data configured")
        return [[], [], []]

    lists: list[list[Sample]] = [[], [], []]
    if use_moisesdb:
        moises = load_moisesdb(moisesdb_path, num_workers=data.num_workers,
                               include_silent_voices=silent)
        for i, samples in enumerate(moises):
            lists[i] += _drop_short(samples, min_seconds, f"MoisesDB {UNPAIRED_LISTS[i]}")
    cache_dir = data.audio_cache_dir
    cache_path = Path(cache_dir) / PROBE_CACHE_FILE if cache_dir else None
    found = [scan_folders(folders[i], min_seconds, name=key, cache_path=cache_path)
             for i, key in enumerate(FOLDER_KEYS)]
    for i in range(3):
        lists[i] += found[i]
    if silent and found[1]:
        lists[2] += silent_voices(found[1], Path(cache_dir or "datasets/cache") / "silence")
        logger.info("%d silent voices added for the instrumentals of unsup_accompaniment_dirs", len(found[1]))

    hours = [sum(s.duration for s in lst) / 3600.0 for lst in lists]
    logger.info("unpaired data: %s; total %.2f h", ", ".join(
        f"{len(lst)} {n} ({h:.2f} h)" for lst, n, h in zip(lists, UNPAIRED_LISTS, hours, strict=True)), sum(hours))
    return lists
