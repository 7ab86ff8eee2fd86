"""Decode-once cache of resampled audio, memory-mapped for cheap random excerpts.

Every track is decoded, downmixed (optionally) and resampled to the model's rate once, then stored as a
``.npy`` array ``[channels, samples]`` (float16 by default) in a cache folder. Later reads memory-map the file
(``np.load(mmap_mode="r")``), so cutting an excerpt only touches the pages it needs.

A cache file's name contains a hash of (resolved path, file size, modification time, sample rate, mono,
dtype): editing or replacing a source file, or changing the rate/downmix/dtype, selects a new cache file, and
the stale one is simply never read again (delete the folder to reclaim the space). Files are written to a
temporary name in the cache folder and renamed into place, so an interrupted run never leaves a truncated
array behind, and concurrent writers of the same track are harmless.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np

from Input.audio import files as audio_io
from Input.audio.files import AudioError
from Utils import atomic_open

if TYPE_CHECKING:
    from Sample import Sample

logger = logging.getLogger(__name__)

# A memmap keeps one (duplicated) file descriptor open; bound how many stay open at once.
MAX_OPEN_MEMMAPS = 128
# Cache format version: bump when the stored content changes meaning, to invalidate old files.
CACHE_VERSION = 1

SampleLike = Union["Sample", str, os.PathLike]  # a Sample (anything with a ``.path``) or a plain path


def _source_path(sample: SampleLike) -> str:
    """The audio file path of a ``Sample`` (its ``.path``) or of a plain path."""
    path = getattr(sample, "path", sample)
    return os.fspath(path)


class AudioCache:
    """Decoded, resampled audio tracks stored as memory-mapped ``.npy`` arrays.

    Args:
        cache_dir: folder for the cache files (created if missing).
        sr: sample rate of the cached audio in Hz (the model's ``expected_sr``).
        mono: average all channels into one (``mono_downmix``); otherwise all channels are kept.
        dtype: storage dtype (``cache_dtype``), ``"float16"`` (half the disk/page-cache footprint) or
            ``"float32"``.

    Thread-safe: :meth:`get` may be called from several threads (e.g. tf.data generator shards).
    """

    def __init__(self, cache_dir: str | os.PathLike, sr: int, mono: bool, dtype: str | np.dtype) -> None:
        self.cache_dir = Path(cache_dir)
        self.sr = int(sr)
        self.mono = bool(mono)
        self.dtype = np.dtype(dtype)
        if self.sr <= 0:
            raise ValueError(f"sr must be a positive sample rate in Hz, got {sr}")
        if self.dtype.kind != "f":
            raise ValueError(f"cache dtype must be a float type (float16/float32), got {self.dtype}")
        self._open: OrderedDict[str, np.ndarray] = OrderedDict()
        # (source path, size, mtime) -> cache file: get() skips resolving and hashing for files it has seen.
        self._targets: dict[tuple[str, int, int], str] = {}
        self._lock = threading.Lock()

    def key(self, sample: SampleLike) -> str:
        """Hex digest identifying the cached version of ``sample``'s file under this cache's settings.

        Raises:
            AudioError: the file does not exist or cannot be accessed.
        """
        path = _source_path(sample)
        try:
            resolved = Path(path).resolve()
            stat = resolved.stat()
        except OSError as e:
            raise AudioError(path, f"cannot access file ({e.strerror or e})") from e
        ident = repr((CACHE_VERSION, str(resolved), stat.st_size, stat.st_mtime_ns, self.sr, self.mono,
                      self.dtype.str))
        return hashlib.sha1(ident.encode("utf-8")).hexdigest()

    def path_for(self, sample: SampleLike) -> Path:
        """Cache file of ``sample``: ``<cache_dir>/<sanitised stem>-<hash>.npy`` (may not exist yet)."""
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(_source_path(sample)).stem)[:48] or "track"
        return self.cache_dir / f"{stem}-{self.key(sample)[:20]}.npy"

    def is_cached(self, sample: SampleLike) -> bool:
        """Whether ``sample``'s cache file already exists (raises AudioError if the source is missing)."""
        return self.path_for(sample).is_file()

    def decode(self, path: str) -> np.ndarray:
        """Decode one file to float32 ``[channels, samples]`` at ``self.sr`` (``[1, samples]`` if mono).

        The single place where audio is decoded; subclasses may override it (e.g. to count calls in tests).

        Raises:
            AudioError: unreadable, corrupt or empty file.
        """
        audio, _ = audio_io.load(path, sr=self.sr, mono=self.mono)
        return audio

    def _write(self, sample: SampleLike, target: Path) -> None:
        """Decode ``sample`` and store it atomically at ``target``."""
        path = _source_path(sample)
        audio = self.decode(path)
        if audio.ndim != 2 or audio.shape[1] == 0:
            raise AudioError(path, f"decoded to an unusable array of shape {audio.shape}")
        if not np.all(np.isfinite(audio)):
            raise AudioError(path, "decoded audio contains NaN or infinite samples")
        data = np.ascontiguousarray(audio, dtype=self.dtype)
        try:
            with atomic_open(target, "wb") as handle:
                np.save(handle, data, allow_pickle=False)
        except OSError as e:
            raise AudioError(target, f"cannot write cache file ({e.strerror or e})") from e
        logger.debug("cached %s -> %s (%d channels, %d samples)", path, target, data.shape[0], data.shape[1])

    def ensure(self, sample: SampleLike) -> Path:
        """Decode and store ``sample`` unless it is cached already; returns the cache file.

        Raises:
            AudioError: the source is missing/unreadable or the cache file cannot be written.
        """
        target = self.path_for(sample)
        if not target.is_file():
            self._write(sample, target)
        return target

    def prepare(self, samples: Iterable[SampleLike], num_workers: int = 1,
                progress: Callable[[int, int], None] | None = None, skip_errors: bool = False) -> list:
        """Decode and cache every not-yet-cached track, ``num_workers`` at a time (threads).

        Decoding (libsndfile, ffmpeg subprocesses, soxr) releases the GIL, so threads run in parallel.

        Args:
            samples: tracks (``Sample`` objects or paths); duplicates are decoded once.
            num_workers: parallel decoders (``<= 1``: sequential).
            progress: called as ``progress(done, total)`` after each track that needed decoding.
            skip_errors: log unreadable tracks as warnings and return them instead of raising.

        Returns:
            The samples that could not be cached (always empty unless ``skip_errors``).

        Raises:
            AudioError: the first failure (after the other tracks finished), unless ``skip_errors``.
        """
        unique = list(dict.fromkeys(samples))
        failed: list = []
        errors: list[AudioError] = []
        todo = []
        for sample in unique:
            try:
                if not self.is_cached(sample):
                    todo.append(sample)
            except AudioError as e:
                failed.append(sample)
                errors.append(e)
        logger.info("audio cache %s: %d of %d tracks cached, decoding %d", self.cache_dir,
                    len(unique) - len(todo) - len(failed), len(unique), len(todo))
        done = 0
        step = max(1, len(todo) // 10)

        def finished(sample: SampleLike, error: AudioError | None) -> None:
            nonlocal done
            done += 1
            if error is not None:
                failed.append(sample)
                errors.append(error)
            if progress is not None:
                progress(done, len(todo))
            if done % step == 0 or done == len(todo):
                logger.info("audio cache: decoded %d/%d tracks", done, len(todo))

        if num_workers <= 1:
            for sample in todo:
                try:
                    self.ensure(sample)
                    finished(sample, None)
                except AudioError as e:
                    finished(sample, e)
        else:
            with ThreadPoolExecutor(max_workers=int(num_workers)) as pool:
                futures = {pool.submit(self.ensure, sample): sample for sample in todo}
                for future in as_completed(futures):
                    error = future.exception()
                    if error is not None and not isinstance(error, AudioError):
                        raise error
                    finished(futures[future], error)
        if errors:
            if not skip_errors:
                raise errors[0]
            for error in errors:
                logger.warning("audio cache: skipping %s", error)
        return failed

    def get(self, sample: SampleLike) -> np.ndarray:
        """Read-only memory map ``[channels, samples]`` (cache dtype, rate ``sr``) of ``sample``'s audio.

        Decodes and stores the track first if it is not cached. Up to ``MAX_OPEN_MEMMAPS`` maps are kept
        open (least recently used are dropped), so repeated calls are cheap: a few microseconds (one ``stat``
        of the source, which still detects a changed file) when the map is open, as in the training pipelines'
        per-example reads.

        Raises:
            AudioError: the source is missing/unreadable or the cache file is corrupt.
        """
        path = _source_path(sample)
        try:
            stat = os.stat(path)
            seen = (path, stat.st_size, stat.st_mtime_ns)
        except OSError:
            seen = None  # ensure() below reports it
        with self._lock:
            name = self._targets.get(seen) if seen else None
            array = self._open.get(name) if name else None
            if array is not None:
                self._open.move_to_end(name)
                return array
        target = self.ensure(sample)
        name = str(target)
        with self._lock:
            if seen:
                self._targets[seen] = name
            array = self._open.get(name)
            if array is not None:
                self._open.move_to_end(name)
                return array
        try:
            array = np.load(target, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as e:
            raise AudioError(target, f"corrupt cache file, delete it to rebuild ({e})") from e
        if array.ndim != 2 or array.dtype != self.dtype:
            raise AudioError(target, f"corrupt cache file (shape {array.shape}, dtype {array.dtype}), "
                                     "delete it to rebuild")
        with self._lock:
            self._open[name] = array
            while len(self._open) > MAX_OPEN_MEMMAPS:
                self._open.popitem(last=False)
        return array
