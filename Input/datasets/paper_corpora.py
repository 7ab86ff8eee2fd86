"""The paper's four data sets as paired ``(mixture, accompaniment, voice)`` Sample triples, exported once and
cached like MUSDB18 (:mod:`Input.datasets.musdb`).

Layouts (each loader takes the release's root folder):

* **DSD100**: ``Mixtures/{Dev,Test}/<track>/mixture.wav`` and ``Sources/{Dev,Test}/<track>/{vocals,bass,drums,
  other}.wav``. Accompaniment = bass + drums + other, exported to ``Sources/<subset>/<track>/accompaniment.wav``.
* **CCMixter**: ``<song>/mix.wav``, ``<song>/source-01.wav`` (instrumental), ``<song>/source-02.wav`` (voice);
  used as they are.
* **iKala**: ``Wavfile/<clip>.wav``, stereo, music left and voice right. Exported to
  ``export/<clip>/{mixture,accompaniment,voice}.wav`` (mixture = left + right, as the original code).
* **MedleyDB**: ``Audio/<track>/<track>_METADATA.yaml``, ``<track>_MIX.wav`` and
  ``<track>_STEMS/<track>_STEM_NN.wav``. The metadata's ``stems`` entries whose ``instrument`` is a voice
  (:data:`VOCAL_INSTRUMENTS`) are summed into the voice, the other stems into the accompaniment, and the mixture
  is their sum (as the original code, so that mixture = accompaniment + voice; ``_MIX.wav`` is not used). Exported
  to ``Audio/<track>/export/{mixture,accompaniment,voice}.wav``. A track marked ``instrumental: yes`` (or without a
  vocal stem) has a silent voice (:mod:`Input.datasets.silence`) with ``include_silent_voices``, else it is left out.

Exports are 32-bit float wavs written atomically next to the data (files that exist are kept, so an interrupted
export resumes). Each loader caches its triples in ``<root>/paired_cache.pkl`` (``Utils.write_versioned_pickle``,
keyed by the resolved root and the loader's options); a cache naming files that no longer exist is rebuilt.
Errors: a missing root is a :class:`DatasetNotFound` (a config error, exit status 2; one line, naming the path,
the layout and the config key); a track that cannot be read is skipped with a warning naming it; a root without
any readable track is an error.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml

from Input.audio import files as audio
from Input.audio.probe import probe_sample
from Input.datasets.partitions import DatasetError, DatasetNotFound
from Input.datasets.moisesdb import mix_track
from Input.datasets.silence import silent_sample
from Sample import Sample
from Utils import read_versioned_pickle, write_versioned_pickle

logger = logging.getLogger(__name__)

Triple = tuple[Sample, Sample, Sample]
CACHE_NAME = "paired_cache.pkl"
CACHE_VERSION = 1
EXPORT_SUBTYPE = "FLOAT"
DSD_ACCOMPANIMENT = ("bass", "drums", "other")
DSD_SUBSETS = ("Dev", "Test")
# MedleyDB instrument labels that are voices (its taxonomy); beatboxing counts as percussion.
VOCAL_INSTRUMENTS = frozenset({"female singer", "male singer", "vocalists", "choir", "male rapper", "female rapper",
                               "male speaker", "female speaker", "male screamer", "female screamer"})
LAYOUTS = {
    "DSD100": ("dsd100_path", "Mixtures/{Dev,Test}/<track>/mixture.wav and Sources/{Dev,Test}/<track>/*.wav"),
    "CCMixter": ("ccmixter_path", "<song>/mix.wav, source-01.wav and source-02.wav"),
    "iKala": ("ikala_path", "Wavfile/*.wav"),
    "MedleyDB": ("medleydb_path", "Audio/<track>/<track>_METADATA.yaml, _MIX.wav and _STEMS/"),
}


class TrackError(Exception):
    """One track cannot be used; the message says why (the loader names the track)."""


def _root(name: str, root: str | os.PathLike, marker: str) -> Path:
    """The resolved root, or a one-line DatasetNotFound when it (or its ``marker`` sub-folder) is missing."""
    path = Path(root).expanduser().resolve()
    if not (path / marker).is_dir():
        key, layout = LAYOUTS[name]
        raise DatasetNotFound(f"{name} not found in {path}: expected {layout}; point model_config.{key} at the "
                              f"release's root folder")
    return path


def _probe(*paths: Path) -> tuple[Sample, ...]:
    """Samples of ``paths``; TrackError naming a missing or unreadable one."""
    for path in paths:
        if not path.is_file():
            raise TrackError(f"{path.name} is missing")
    try:
        return tuple(probe_sample(p) for p in paths)
    except audio.AudioError as e:
        raise TrackError(str(e)) from e


def _save(path: Path, data: np.ndarray, sr: int) -> None:
    """Write an export atomically (kept when it exists)."""
    if path.is_file():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        audio.save(path, data, sr, subtype=EXPORT_SUBTYPE)
    except (OSError, audio.AudioError) as e:
        raise DatasetError(f"{path}: cannot write the export ({e})") from e


def _load(path: Path) -> tuple[np.ndarray, int]:
    try:
        return audio.load(path)
    except audio.AudioError as e:
        raise TrackError(str(e)) from e


def _cached(name: str, root: Path, options: str, build: Callable[[], dict[str, list[Triple]]]) -> dict:
    """``build()``'s partitions, from ``<root>/paired_cache.pkl`` when it is valid, else built and cached."""
    path, key = root / CACHE_NAME, f"{name} {root} {options}"
    cached = read_versioned_pickle(path, CACHE_VERSION, key, what=f"{name} cache", log=logger)
    if isinstance(cached, dict) and all(os.path.isfile(s.path) for part in cached.values() for t in part
                                        for s in t):
        logger.info("%s: %s from cache %s", name, ", ".join(f"{len(v)} {k}" for k, v in cached.items()), path)
        return cached
    parts = build()
    if not any(parts.values()):
        raise DatasetError(f"{name} at {root}: none of its tracks could be read (see the warnings above)")
    try:
        write_versioned_pickle(path, CACHE_VERSION, key, parts)
    except OSError as e:
        logger.warning("%s: cannot write the %s cache (%s)", path, name, e.strerror or e)
    return parts


def _tracks(name: str, folders: list[Path], read: Callable[[Path], Triple | None]) -> list[Triple]:
    """``read`` applied to each folder (sorted by name); unreadable tracks skipped with a warning."""
    triples = []
    for folder in sorted(folders, key=lambda f: f.name):
        try:
            triple = read(folder)
        except TrackError as e:
            logger.warning("skipping %s track %r (%s): %s", name, folder.stem, folder, " ".join(str(e).split()))
            continue
        if triple is not None:
            triples.append(triple)
    return triples


def _subfolders(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")] if folder.is_dir() else []


def load_dsd100(root: str | os.PathLike) -> dict[str, list[Triple]]:
    """``{"Dev": [...50 triples], "Test": [...50]}`` of DSD100, each sorted by track name."""
    root = _root("DSD100", root, "Mixtures")

    def read(folder: Path) -> Triple:
        sources = root / "Sources" / folder.parent.name / folder.name
        target = sources / "accompaniment.wav"
        if not target.is_file():
            missing = [f"{s}.wav" for s in DSD_ACCOMPANIMENT if not (sources / f"{s}.wav").is_file()]
            if missing:
                raise TrackError(f"{', '.join(missing)} missing in {sources}")
            parts = [_load(sources / f"{s}.wav") for s in DSD_ACCOMPANIMENT]
            if len({sr for _, sr in parts}) != 1 or len({a.shape[0] for a, _ in parts}) != 1:
                raise TrackError("bass/drums/other differ in sample rate or channel count")
            n = min(a.shape[1] for a, _ in parts)
            _save(target, sum(a[:, :n] for a, _ in parts), parts[0][1])
        return _probe(folder / "mixture.wav", target, sources / "vocals.wav")

    return _cached("DSD100", root, "", lambda: {
        subset: _tracks("DSD100", _subfolders(root / "Mixtures" / subset), read) for subset in DSD_SUBSETS})


def load_ccmixter(root: str | os.PathLike) -> list[Triple]:
    """CCMixter's songs, sorted by folder name."""
    root = _root("CCMixter", root, ".")

    def read(folder: Path) -> Triple | None:
        if not (folder / "mix.wav").is_file():
            return None  # not a song folder
        return _probe(folder / "mix.wav", folder / "source-01.wav", folder / "source-02.wav")

    return _cached("CCMixter", root, "", lambda: {"songs": _tracks("CCMixter", _subfolders(root), read)})["songs"]


def load_ikala(root: str | os.PathLike) -> list[Triple]:
    """iKala's clips, sorted by file name; each stereo file exported to mixture, accompaniment and voice."""
    root = _root("iKala", root, "Wavfile")

    def read(file: Path) -> Triple:
        out = root / "export" / file.stem
        paths = [out / f"{role}.wav" for role in ("mixture", "accompaniment", "voice")]
        if not all(p.is_file() for p in paths):
            data, sr = _load(file)
            if data.shape[0] != 2:
                raise TrackError(f"has {data.shape[0]} channel(s), expected 2 (music left, voice right)")
            for path, signal in zip(paths, (data[0] + data[1], data[0], data[1]), strict=True):
                _save(path, signal[None], sr)
        return _probe(*paths)

    files = [f for f in (root / "Wavfile").glob("*.wav") if not f.name.startswith(".")]
    return _cached("iKala", root, "", lambda: {"clips": _tracks("iKala", files, read)})["clips"]


def medleydb_stems(folder: Path) -> tuple[list[Path], list[Path], bool]:
    """``(vocal stem files, other stem files, instrumental)`` of one MedleyDB track from its metadata."""
    meta_path = folder / f"{folder.name}_METADATA.yaml"
    try:
        meta = yaml.safe_load(meta_path.read_text(encoding="utf-8")) or {}
        stems = meta.get("stems") or {}
        vocal, other = [], []
        for entry in stems.values():
            instruments = entry.get("instrument")
            names = {str(i).lower() for i in (instruments if isinstance(instruments, list) else [instruments])}
            path = folder / f"{folder.name}_STEMS" / str(entry["filename"])
            (vocal if names & VOCAL_INSTRUMENTS else other).append(path)
    except (OSError, yaml.YAMLError, AttributeError, KeyError, TypeError) as e:
        raise TrackError(f"unreadable {meta_path.name} ({type(e).__name__}: {e})") from e
    missing = [p.name for p in vocal + other if not p.is_file()]
    if missing or not other:
        raise TrackError(f"stem {missing[0]} is missing" if missing else "no accompaniment stems")
    instrumental = str(meta.get("instrumental", "")).lower() in ("yes", "true") or not vocal
    return vocal, other, instrumental


def load_medleydb(root: str | os.PathLike, include_silent_voices: bool = True) -> list[Triple]:
    """MedleyDB's tracks, sorted by name; instrumental ones with a silent voice, or left out (see above)."""
    root = _root("MedleyDB", root, "Audio")

    def read(folder: Path) -> Triple | None:
        vocal, other, instrumental = medleydb_stems(folder)
        if instrumental and not include_silent_voices:
            return None
        out = folder / "export"
        paths = [out / f"{role}.wav" for role in ("mixture", "accompaniment", "voice")]
        if instrumental:
            paths[0] = paths[1]  # the mixture is the accompaniment
        if not all(p.is_file() for p in paths[: 2 if instrumental else 3]):
            try:
                voice, acc, sr = mix_track({"vocals": [] if instrumental else vocal, "accompaniment": other})
            except audio.AudioError as e:
                raise TrackError(str(e)) from e
            _save(paths[1], acc, sr)
            if not instrumental:
                _save(paths[2], voice, sr)
                _save(paths[0], voice + acc, sr)
        if instrumental:
            accompaniment = _probe(paths[1])[0]
            return accompaniment, accompaniment, silent_sample(out, accompaniment.duration)
        return _probe(*paths)

    options = f"include_silent_voices={bool(include_silent_voices)}"
    return _cached("MedleyDB", root, options,
                   lambda: {"tracks": _tracks("MedleyDB", _subfolders(root / "Audio"), read)})["tracks"]
