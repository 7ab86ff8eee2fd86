"""MoisesDB as unpaired data: each track's stems are summed into a mixture, an accompaniment and a voice.

Layout (as distributed, and as the ``moisesdb`` package reads it)::

    <root>/[<provider, e.g. moisesdb_v0.1>/]<track uuid>/data.json
                                                     /<stem>/<source uuid>.wav     (stem: vocals, bass, drums,
                                                     /...                            guitar, bowed_strings, ...)

A *track folder* is a folder one or two levels below the root that holds a ``data.json`` or at least one
sub-folder with audio files directly in it. Stems are found on the filesystem (every sub-folder holding audio
files); ``data.json`` only supplies the song title for log messages and is used to report sources it lists
but which are missing on disk.

Per track, all sources are loaded at the highest sample rate among them (soxr resampling), mono sources are
copied to every channel (other channel-count mismatches are downmixed to mono first), and shorter sources are
zero-padded at the end to the longest. Then

* ``voice`` = sum of the sources in the stem folder ``vocals``,
* ``accompaniment`` = sum of all other sources,
* ``mixture`` = ``voice + accompaniment``.

A track with nothing but vocals contributes its voice only. A track without vocals contributes its
accompaniment; with ``include_silent_voices`` (as the original code) it is also an unlabelled mixture (the
accompaniment file) and gives a silent voice (:mod:`Input.datasets.silence`, written to ``<root>/silence``), otherwise
nothing else.

The sums are written once as 32-bit float wavs to ``<track>/export/{mixture,accompaniment,voice}.wav`` together
with ``export/sources.json`` (a fingerprint of the source files: relative path, size, mtime in seconds). An
export whose fingerprint still matches is reused, so moving or copying the data set (with ``cp -p``/``rsync
-a``, which keep mtimes) does not re-export. The resulting :class:`Sample` lists are cached in
``<root>/unpaired_cache.pkl`` (``Utils.write_versioned_pickle``, keyed by the resolved root) with a format
version and the fingerprint of all tracks; a cache that is stale (other root or version, sources changed,
exported files gone) or unreadable is rebuilt.
The root folder must be writable.
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from Input.audio.files import AUDIO_EXTENSIONS, AudioError, load, probe, save
from Input.audio.probe import probe_sample
from Input.datasets.partitions import DatasetError
from Input.datasets.silence import silent_voices
from Sample import SOURCES, Sample
from Utils import atomic_open, read_versioned_pickle, write_versioned_pickle

logger = logging.getLogger(__name__)

CACHE_NAME = "unpaired_cache.pkl"
CACHE_VERSION = 1
EXPORT_DIR = "export"
MANIFEST_NAME = "sources.json"
EXPORT_SUBTYPE = "FLOAT"  # sums of stems may exceed [-1, 1]; float keeps them unclipped
VOCAL_STEMS = ("vocals",)
ROLES = ("mixture", *SOURCES)  # order of the returned lists: mixture, accompaniment, voice

Fingerprint = list[tuple[str, int, int]]  # (path relative to the track folder, size in bytes, mtime in s)


def _visible_dirs(folder: Path) -> list[Path]:
    """Sorted non-hidden sub-folders of ``folder``."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted(Path(e.path) for e in entries if e.is_dir() and not e.name.startswith("."))


def _direct_audio_files(folder: Path) -> list[Path]:
    """Sorted non-hidden audio files directly inside ``folder`` (not recursive)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted(Path(e.path) for e in entries if e.is_file() and not e.name.startswith(".")
                  and Path(e.name).suffix.lower() in AUDIO_EXTENSIONS)


def find_stems(track_dir: str | os.PathLike) -> dict[str, list[Path]]:
    """``{stem folder name: [source files]}`` of one track folder (the ``export`` folder excluded)."""
    stems = {}
    for sub in _visible_dirs(Path(track_dir)):
        if sub.name == EXPORT_DIR:
            continue
        files = _direct_audio_files(sub)
        if files:
            stems[sub.name] = files
    return stems


def _is_track(folder: Path) -> bool:
    return (folder / "data.json").is_file() or bool(find_stems(folder))


def find_tracks(root: str | os.PathLike) -> list[Path]:
    """Track folders directly under ``root`` or under one level of provider folders, sorted."""
    tracks = []
    for child in _visible_dirs(Path(root)):
        if _is_track(child):
            tracks.append(child)
        else:
            tracks.extend(grandchild for grandchild in _visible_dirs(child) if _is_track(grandchild))
    return sorted(tracks)


def _fingerprint(track_dir: Path, stems: dict[str, list[Path]]) -> Fingerprint:
    out = []
    for files in stems.values():
        for f in files:
            st = f.stat()
            out.append((f.relative_to(track_dir).as_posix(), int(st.st_size), int(st.st_mtime)))
    return sorted(out)


def _title(track_dir: Path) -> str:
    """``"artist - song (folder)"`` from data.json, or the folder name; warns about sources missing on disk."""
    path = track_dir / "data.json"
    if not path.is_file():
        return track_dir.name
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        missing = [f"{s.get('stemName')}/{t.get('id')}.{t.get('extension', 'wav')}"
                   for s in meta.get("stems", []) for t in s.get("tracks", [])
                   if not (track_dir / str(s.get("stemName")) / f"{t.get('id')}.{t.get('extension', 'wav')}")
                   .is_file()]
    except (OSError, ValueError, AttributeError, TypeError) as e:
        logger.warning("%s: unreadable data.json (%s); using the folder name", path, e)
        return track_dir.name
    if missing:
        logger.warning("%s: %d source(s) listed in data.json are missing on disk (e.g. %s)", track_dir,
                       len(missing), missing[0])
    name = " - ".join(str(meta[k]) for k in ("artist", "song") if meta.get(k))
    return f"{name} ({track_dir.name})" if name else track_dir.name


def _to_channels(audio: np.ndarray, channels: int) -> np.ndarray:
    """``[c, n]`` -> ``[channels, n]``: copies mono, downmixes any other mismatch to mono first."""
    if audio.shape[0] == channels:
        return audio
    if audio.shape[0] != 1:
        audio = audio.mean(axis=0, keepdims=True)
    return np.repeat(audio, channels, axis=0)


def _accumulate(total: np.ndarray | None, audio: np.ndarray) -> np.ndarray:
    """``total + audio``, zero-padding the shorter one at the end (both ``[channels, samples]``)."""
    if total is None:
        return audio.astype(np.float32, copy=True)
    if audio.shape[1] > total.shape[1]:
        total = np.pad(total, ((0, 0), (0, audio.shape[1] - total.shape[1])))
    total[:, : audio.shape[1]] += audio
    return total


def mix_track(stems: dict[str, list[Path]]) -> tuple[np.ndarray | None, np.ndarray | None, int]:
    """Sum a track's sources into ``(voice, accompaniment, sample_rate)``.

    Returns float32 arrays ``[channels, samples]`` (``None`` where the track has no such sources), both padded
    to the same length; ``sample_rate`` in Hz is the highest among the sources.

    Raises:
        AudioError: a source file cannot be read.
    """
    infos = {f: probe(f) for files in stems.values() for f in files}
    sr = max(info[0] for info in infos.values())
    channels = max(info[1] for info in infos.values())
    voice = acc = None
    for stem, files in stems.items():
        for f in files:
            audio = _to_channels(load(f, sr=sr)[0], channels)
            if stem.lower() in VOCAL_STEMS:
                voice = _accumulate(voice, audio)
            else:
                acc = _accumulate(acc, audio)
    length = max(x.shape[1] for x in (voice, acc) if x is not None)
    voice, acc = (None if x is None else np.pad(x, ((0, 0), (0, length - x.shape[1]))) for x in (voice, acc))
    return voice, acc, sr


def _export_paths(track_dir: Path, has_voice: bool, has_acc: bool) -> dict[str, Path]:
    """Exported file per role for a track with/without vocals and other stems."""
    roles = [r for r, keep in zip(ROLES, (has_voice and has_acc, has_acc, has_voice), strict=True) if keep]
    return {role: track_dir / EXPORT_DIR / f"{role}.wav" for role in roles}


def _write_json(path: Path, data: object) -> None:
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data))


def _read_manifest(track_dir: Path) -> dict | None:
    try:
        return json.loads((track_dir / EXPORT_DIR / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def export_track(track_dir: str | os.PathLike) -> tuple[dict[str, Sample], bool]:
    """Export one track's sums (unless an up-to-date export exists) and describe the exported files.

    Args:
        track_dir: a MoisesDB track folder.

    Returns:
        ``({role: Sample}, written)`` with roles among ``mixture``/``accompaniment``/``voice`` (see the module
        docstring), and whether the files were (re)written now.

    Raises:
        AudioError: a source file is unreadable, or the track has no audio.
        DatasetError: the export could not be written (e.g. read-only data set).
    """
    track_dir = Path(track_dir)
    stems = find_stems(track_dir)
    if not stems:
        raise AudioError(track_dir, "no stem folders with audio files")
    has_voice = any(s.lower() in VOCAL_STEMS for s in stems)
    has_acc = any(s.lower() not in VOCAL_STEMS for s in stems)
    paths = _export_paths(track_dir, has_voice, has_acc)
    fingerprint = [list(x) for x in _fingerprint(track_dir, stems)]
    manifest = _read_manifest(track_dir)
    if manifest == {"version": CACHE_VERSION, "sources": fingerprint} and all(p.is_file() for p in paths.values()):
        try:
            return {role: probe_sample(p) for role, p in paths.items()}, False
        except AudioError as e:
            logger.info("%s; exporting the track again", e)

    voice, acc, sr = mix_track(stems)
    arrays = {"mixture": None if voice is None or acc is None else voice + acc, "accompaniment": acc,
              "voice": voice}
    try:
        (track_dir / EXPORT_DIR).mkdir(exist_ok=True)
        (track_dir / EXPORT_DIR / MANIFEST_NAME).unlink(missing_ok=True)
        for role, path in paths.items():
            save(path, arrays[role], sr, subtype=EXPORT_SUBTYPE)
        _write_json(track_dir / EXPORT_DIR / MANIFEST_NAME, {"version": CACHE_VERSION, "sources": fingerprint})
    except (OSError, AudioError) as e:
        raise DatasetError(f"{track_dir / EXPORT_DIR}: cannot write the MoisesDB export ({e})") from e
    return {role: probe_sample(p) for role, p in paths.items()}, True


def _scan(root: Path) -> dict[str, Fingerprint]:
    """``{track folder relative to root: source fingerprint}`` for every track folder."""
    out = {}
    for track in find_tracks(root):
        try:
            out[track.relative_to(root).as_posix()] = _fingerprint(track, find_stems(track))
        except OSError as e:
            logger.warning("%s: cannot read the track folder (%s); skipped", track, e.strerror)
    return out


def _read_cache(path: Path, root: Path, tracks: dict[str, Fingerprint]) -> dict | None:
    """The cached ``samples`` lists and ``instrumental`` accompaniments if the cache at ``path`` matches ``root``
    and ``tracks``; None (with a log line) if not."""
    cache = read_versioned_pickle(path, CACHE_VERSION, str(root.resolve()), what="MoisesDB cache", log=logger)
    if cache is None:
        return None
    try:
        if cache["tracks"] != tracks:
            reason = "the source files changed"
        elif not all(os.path.isfile(s.path) for lst in cache["samples"] for s in lst):
            reason = "exported files are missing"
        else:
            for track, error in cache["skipped"].items():
                logger.warning("MoisesDB track %s skipped: %s", track, error)
            return {"samples": [list(lst) for lst in cache["samples"]], "instrumental": list(cache["instrumental"])}
    except (KeyError, TypeError, AttributeError) as e:
        reason = f"it is not a MoisesDB cache ({type(e).__name__}: {e})"
    logger.info("rebuilding the MoisesDB cache %s: %s", path, reason)
    return None


def _write_cache(path: Path, root: Path, data: dict) -> None:
    try:
        write_versioned_pickle(path, CACHE_VERSION, str(root.resolve()), data)
    except OSError as e:
        logger.warning("%s: cannot write the MoisesDB cache (%s)", path, e.strerror or e)


def load_moisesdb(root: str | os.PathLike, num_workers: int = 2,
                  include_silent_voices: bool = False) -> list[list[Sample]]:
    """Unpaired ``[mixtures, accompaniments, voices]`` from a MoisesDB folder (exported and cached, see above).

    Args:
        root: the MoisesDB folder (holding track folders, or provider folders holding them).
        num_workers: tracks exported in parallel.
        include_silent_voices: tracks without vocals are also mixtures and give silent voices (at the end of
            their lists).

    Returns:
        Three lists of :class:`Sample` (the exported float wavs), sorted by track folder. Empty (with a
        warning) when no valid track is found. Unreadable tracks are skipped with a warning.

    Raises:
        DatasetError: ``root`` is not a folder, or an export cannot be written.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: MoisesDB folder does not exist")
    tracks = _scan(root)
    cache_path = root / CACHE_NAME
    cached = _read_cache(cache_path, root, tracks)
    if cached is not None:
        logger.info("MoisesDB: %d mixtures, %d accompaniments, %d voices from cache %s",
                    *(len(lst) for lst in cached["samples"]), cache_path)
        return _with_silent_voices(cached, root, include_silent_voices)

    names = sorted(tracks)

    def work(name: str) -> tuple[dict[str, Sample] | None, bool, str | None]:
        try:
            samples, written = export_track(root / name)
            return samples, written, None
        except AudioError as e:
            return None, False, str(e)

    with ThreadPoolExecutor(max_workers=max(1, int(num_workers))) as pool:
        results = list(pool.map(work, names))

    lists: list[list[Sample]] = [[], [], []]
    instrumental: list[Sample] = []
    skipped = {}
    for name, (samples, written, error) in zip(names, results, strict=True):
        if error is not None:
            logger.warning("MoisesDB track %s skipped: %s", name, error)
            skipped[name] = error
            continue
        logger.debug("MoisesDB %s: %s %s", "exported" if written else "reused", _title(root / name),
                     sorted(samples))
        for i, role in enumerate(ROLES):
            if role in samples:
                lists[i].append(samples[role])
        if set(samples) == {"accompaniment"}:
            instrumental.append(samples["accompaniment"])
    exported = sum(1 for _, written, _ in results if written)
    if not any(lists):
        logger.warning("%s: no valid MoisesDB tracks found (expected <track>/<stem>/<source>.wav folders)", root)
    logger.info("MoisesDB: %d tracks (%d exported now, %d skipped): %d mixtures, %d accompaniments, %d voices",
                len(names), exported, len(skipped), *(len(lst) for lst in lists))
    data = {"samples": lists, "instrumental": instrumental}
    _write_cache(cache_path, root, {"tracks": tracks, "skipped": skipped, **data})
    return _with_silent_voices(data, root, include_silent_voices)


def _with_silent_voices(data: dict, root: Path, include: bool) -> list[list[Sample]]:
    """The three lists, with the instrumental tracks added as mixtures and silent voices when ``include``."""
    mixtures, accompaniments, voices = (list(lst) for lst in data["samples"])
    if include and data["instrumental"]:
        mixtures += data["instrumental"]
        voices += silent_voices(data["instrumental"], root / "silence")
        logger.info("MoisesDB: %d instrumental tracks added as mixtures with silent voices", len(data["instrumental"]))
    return [mixtures, accompaniments, voices]
