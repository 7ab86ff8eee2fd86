"""MUSDB18 / MUSDB18-HQ as paired (mixture, accompaniment, vocals) training data, exported once and cached.

Layout read (with the ``musdb`` package)::

    <musdb_path>/train/<Track>.stem.mp4   <musdb_path>/test/<Track>.stem.mp4     (MUSDB18, is_wav=False)
    <musdb_path>/{train,test}/<Track>/{mixture,drums,bass,other,vocals}.wav          (MUSDB18-HQ, is_wav=True)

Export on the first run (files that exist already are kept, so an interrupted run resumes):

* MUSDB18: ``<subset>/<Track>.stem.mp4`` -> ``<subset>/<Track>/mixture.wav``, ``vocals.wav`` and
  ``accompaniment.wav`` (= drums + bass + other), decoded by ffmpeg (via stempeg) to float32.
* MUSDB18-HQ: ``mixture.wav``/``vocals.wav`` are used as they are; ``<subset>/<Track>/accompaniment.wav``
  (= drums + bass + other) is written next to them.

Exports are 32-bit float wav (no clipping of sums above 1) at the track's own rate and channel count,
written atomically. Budget disk space: MUSDB18 (150 tracks, ~10 h) gives ~38 GB of wav, MUSDB18-HQ ~13 GB.

A track whose stems (or exported vocals/accompaniment) and mixture differ in length by more than
:data:`STEM_TOLERANCE` samples (a truncated file) is skipped with a warning naming the shorter file; a partition
whose tracks were all skipped is an error.

Partitions: ``train_sup`` = all tracks of subset ``train`` (100); the 50 ``test`` tracks, sorted by name,
alternate between ``train_valid`` (even positions 0, 2, ...) and ``train_test`` (odd positions), decided
on the full list of names before any track is read, so a skipped track never moves another one.
``train_unsup`` is left empty here (see :mod:`Input.datasets.load`).

The result is pickled to ``DataConfig.dataset_cache`` (``Utils.write_versioned_pickle``) with
:data:`CACHE_VERSION` and the key ``"<resolved dataset root> (is_wav=<is_wav>)"``; later runs load it without
touching musdb or decoding anything. A cache made for another root, ``is_wav`` or version, an unreadable one,
or one naming files that no longer exist is rebuilt, with a log line saying why.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from Input.audio import files as audio
from Input.audio.probe import probe_sample
from Input.datasets.partitions import PAIRED_PARTITIONS, DatasetError, DatasetNotFound, empty_dataset, validate_dataset
from Input.config import DataConfig
from Sample import Sample
from Utils import read_versioned_pickle, write_versioned_pickle

logger = logging.getLogger(__name__)

CACHE_VERSION = 1
MUSDB_URL = "https://sigsep.github.io/datasets/musdb.html"
SUBSETS: tuple[str, ...] = ("train", "test")
STEM_ORDER: tuple[str, ...] = ("mixture", "drums", "bass", "other", "vocals")  # audio streams of a .stem.mp4
ACCOMPANIMENT_SOURCES: tuple[str, ...] = ("drums", "bass", "other")
EXPORT_SUBTYPE = "FLOAT"
# Samples a stem (or a decoded AAC stream) may fall short of the mixture: AAC encoder padding. A stem shorter
# than that (a truncated file) makes the track skipped instead of cutting every stem to it.
STEM_TOLERANCE = 2048


@dataclass
class TrackRef:
    """Where one MUSDB track's files are. ``folder`` holds (or receives) the three wav files."""

    name: str
    subset: str
    path: Path  # .stem.mp4 file, or the HQ track's mixture.wav
    folder: Path
    is_wav: bool
    info: Any = None  # stempeg.Info of a .stem.mp4 when musdb probed it already
    sources: dict[str, Path] = field(default_factory=dict)  # HQ: stem name -> wav file

    @property
    def outputs(self) -> dict[str, Path]:
        """The (mixture, accompaniment, vocals) wav files this track is used through."""
        return {role: self.folder / f"{role}.wav" for role in ("mixture", "accompaniment", "vocals")}


def missing_error(root: Path, is_wav: bool, reason: str) -> DatasetNotFound:
    """The error raised when no MUSDB18 tracks are found at ``root``, with how to get the data set."""
    hq = " (MUSDB18-HQ: <Track>/mixture.wav ... folders)" if is_wav else " (.stem.mp4 files)"
    return DatasetNotFound(
        f"MUSDB18 not found in {root}: {reason}; expected {root / 'train'} and {root / 'test'}{hq}. "
        f"Download MUSDB18 from {MUSDB_URL} and unpack it there, or point to it with "
        f"`python Training.py with model_config.musdb_path=/path/to/MUSDB18` (add model_config.is_wav=True "
        f"for MUSDB18-HQ); `python Training.py with demo` runs without MUSDB18")


def _wrong_layout_hint(root: Path, is_wav: bool) -> str:
    """A hint when the other MUSDB18 variant is what lies at ``root``."""
    for subset in SUBSETS:
        folder = root / subset
        if not folder.is_dir():
            continue
        if is_wav and any(folder.glob("*.stem.mp4")):
            return "it holds .stem.mp4 files: drop model_config.is_wav=True"
        if not is_wav and any(folder.glob("*/mixture.wav")):
            return "it holds track folders with mixture.wav (MUSDB18-HQ): set model_config.is_wav=True"
    return "no tracks in it"


def _candidates(root: Path, subset: str, is_wav: bool) -> list[TrackRef]:
    """The tracks of one subset by folder layout alone (no probing), as musdb would list them."""
    folder = root / subset
    if not folder.is_dir():
        return []
    refs = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if is_wav and entry.is_dir():
            sources = {s: entry / f"{s}.wav" for s in STEM_ORDER[1:] if (entry / f"{s}.wav").exists()}
            refs.append(TrackRef(entry.name, subset, entry / "mixture.wav", entry, True, sources=sources))
        elif not is_wav and entry.is_file() and entry.name.endswith(".stem.mp4"):
            name = entry.name[: -len(".stem.mp4")]
            refs.append(TrackRef(name, subset, entry, folder / name, False))
    return refs


def list_tracks(root: Path, is_wav: bool) -> list[TrackRef]:
    """All tracks of both subsets, parsed by ``musdb.DB``.

    If musdb cannot open the data set as a whole (it probes every file up front, so one corrupt file makes
    it fail) the tracks are listed from the folder layout instead and each is checked when it is read.
    """
    import musdb  # deferred: only needed when (re)building

    try:
        db = musdb.DB(root=os.fspath(root), is_wav=is_wav, subsets=list(SUBSETS))
    except Exception as e:  # any failure of musdb's up-front probing
        detail = " ".join(str(e).split()) or type(e).__name__
        stderr = getattr(e, "stderr", None)  # ffmpeg-python's Error carries ffprobe's output
        if isinstance(stderr, bytes) and stderr.strip():
            detail += ": " + stderr.decode("utf-8", errors="replace").strip().splitlines()[-1]
        logger.warning("musdb could not open %s (%s); checking its tracks one by one", root, detail)
        return [ref for subset in SUBSETS for ref in _candidates(root, subset, is_wav)]

    refs: dict[Path, TrackRef] = {}
    for track in db.tracks:
        path = Path(track.path)
        if is_wav:
            folder = path.parent
            if folder.parent != root / track.subset or not folder.is_dir():
                continue  # musdb walks nested folders too and invents tracks for them
            sources = {name: Path(src.path) for name, src in (track.sources or {}).items()}
            refs[folder] = TrackRef(track.name, track.subset, path, folder, True, sources=sources)
        else:
            if not path.is_file():
                continue  # musdb walks nested folders too and gives their stem files wrong paths
            refs[path] = TrackRef(track.name, track.subset, path, path.parent / track.name, False,
                                  info=track.info)
    return list(refs.values())


def _decode_stream(ref: TrackRef, info: Any, index: int, length: int) -> np.ndarray:
    """Decode audio stream ``index`` of a .stem.mp4 to float32 ``[channels, length]``."""
    import stempeg

    stream = info.audio_stream_idx()[index]  # absolute stream index (files may carry e.g. cover art)
    stems, _ = stempeg.read_stems(os.fspath(ref.path), stem_id=stream, info=info, dtype=np.float32,
                                  ffmpeg_format="f32le", always_3d=True)
    data = np.ascontiguousarray(stems[0].T, dtype=np.float32)
    if data.shape[1] < length - STEM_TOLERANCE:
        raise DatasetError(f"{ref.path}: decoded only {data.shape[1]} of {length} samples of the "
                           f"{STEM_ORDER[index]} stream")
    return data[:, :length]  # drop the AAC encoder's end padding


def _export_stem_file(ref: TrackRef) -> None:
    """Write mixture/vocals/accompaniment wav files of one .stem.mp4 (those not there yet)."""
    todo = [role for role, p in ref.outputs.items() if not p.exists()]
    if not todo:
        return
    import stempeg

    info = ref.info if ref.info is not None else stempeg.Info(os.fspath(ref.path))
    if info.nb_audio_streams < len(STEM_ORDER):
        raise DatasetError(f"{ref.path}: has {info.nb_audio_streams} audio streams, expected "
                           f"{len(STEM_ORDER)} ({', '.join(STEM_ORDER)})")
    rate = info.sample_rate(0)
    length = int(round(info.duration(0) * rate))
    ref.folder.mkdir(exist_ok=True)
    for role in todo:
        if role == "accompaniment":
            parts = [_decode_stream(ref, info, STEM_ORDER.index(s), length) for s in ACCOMPANIMENT_SOURCES]
            n = min(p.shape[1] for p in parts)
            data = parts[0][:, :n] + parts[1][:, :n] + parts[2][:, :n]
        else:
            data = _decode_stream(ref, info, STEM_ORDER.index(role), length)
        audio.save(ref.outputs[role], data, rate, subtype=EXPORT_SUBTYPE)


def _export_hq_accompaniment(ref: TrackRef) -> None:
    """Write ``accompaniment.wav`` = drums + bass + other of one MUSDB18-HQ track, if not there yet."""
    for role in ("mixture", "vocals"):
        if not ref.outputs[role].exists():
            raise DatasetError(f"{ref.folder}: lacks {role}.wav")
    target = ref.outputs["accompaniment"]
    if target.exists():
        return
    missing = [f"{s}.wav" for s in ACCOMPANIMENT_SOURCES if s not in ref.sources]
    if missing:
        raise DatasetError(f"{ref.folder}: lacks {', '.join(missing)}")
    mixture = probe_sample(ref.outputs["mixture"])
    parts, rates = [], set()
    for s in ACCOMPANIMENT_SOURCES:
        data, sr = audio.load(ref.sources[s])
        _check_length(ref.sources[s], data.shape[1], round(mixture.duration * sr))
        parts.append(data)
        rates.add(sr)
    if len(rates) != 1 or len({p.shape[0] for p in parts}) != 1:
        raise DatasetError(f"{ref.folder}: drums/bass/other differ in sample rate or channel count")
    n = min(p.shape[1] for p in parts)  # within STEM_TOLERANCE of the mixture
    audio.save(target, parts[0][:, :n] + parts[1][:, :n] + parts[2][:, :n], rates.pop(),
               subtype=EXPORT_SUBTYPE)


def _check_length(path: Path, samples: int, mixture_samples: int) -> None:
    """DatasetError naming the shorter file when ``path`` and the mixture differ in length by more than
    :data:`STEM_TOLERANCE` samples."""
    if samples < mixture_samples - STEM_TOLERANCE:
        raise DatasetError(f"{path.name} has {samples} samples, the mixture {mixture_samples}: shorter by more "
                           f"than {STEM_TOLERANCE} samples (truncated?)")
    if mixture_samples < samples - STEM_TOLERANCE:
        raise DatasetError(f"the mixture has {mixture_samples} samples, {path.name} {samples}: shorter by more "
                           f"than {STEM_TOLERANCE} samples (truncated?)")


def prepare_track(ref: TrackRef) -> tuple[Sample, Sample, Sample] | None:
    """Export one track's wav files if needed and return its ``(mix, acc, voice)`` Samples.

    Returns ``None`` (after a warning naming the track and the reason) when it cannot be read.
    """
    try:
        if ref.is_wav:
            _export_hq_accompaniment(ref)
        else:
            _export_stem_file(ref)
        mix, acc, voice = (probe_sample(ref.outputs[role]) for role in ("mixture", "accompaniment", "vocals"))
        for sample in (acc, voice):
            _check_length(Path(sample.path), round(sample.duration * sample.sample_rate),
                          round(mix.duration * sample.sample_rate))
        return mix, acc, voice
    except Exception as e:  # one bad track must not stop the whole data set
        reason = " ".join(str(e).split()) or type(e).__name__
        where = ref.folder if ref.is_wav else ref.path
        logger.warning("skipping MUSDB18 track %r (%s): %s", ref.name, where, reason)
        return None


def _partition(ref: TrackRef, valid_names: set[str]) -> str:
    """The paired partition a track belongs to (see the module docstring)."""
    if ref.subset == "train":
        return "train_sup"
    return "train_valid" if ref.name in valid_names else "train_test"


def build_musdb_dataset(root: str | os.PathLike, is_wav: bool = False, num_workers: int = 2) -> dict:
    """Scan MUSDB18 at ``root``, export the wav files that are missing and return the dataset dict.

    Args:
        root: MUSDB18 folder (with ``train/`` and ``test/``).
        is_wav: ``True`` for MUSDB18-HQ (wav folders), ``False`` for ``.stem.mp4`` files.
        num_workers: tracks exported in parallel (threads; decoding runs in ffmpeg).

    Returns:
        Dataset dict with ``train_sup``/``train_valid``/``train_test`` filled (absolute paths) and
        ``train_unsup`` = ``[[], [], []]``.

    Raises:
        DatasetError: ``root`` does not exist, holds no tracks, or none of the tracks of a partition could be
            read.
    """
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise missing_error(root, is_wav, "the folder does not exist")
    refs = list_tracks(root, is_wav)
    if not refs:
        raise missing_error(root, is_wav, _wrong_layout_hint(root, is_wav))
    for subset in SUBSETS:
        if not any(r.subset == subset for r in refs):
            logger.warning("MUSDB18 at %s has no tracks in %s/", root, subset)

    test_names = sorted(r.name for r in refs if r.subset == "test")
    valid_names = set(test_names[0::2])
    logger.info("preparing %d MUSDB18 tracks from %s", len(refs), root)
    with ThreadPoolExecutor(max_workers=max(1, int(num_workers))) as pool:
        results = list(tqdm(pool.map(prepare_track, refs), total=len(refs), desc="MUSDB18 tracks",
                            unit="track", disable=None))

    dataset = empty_dataset()
    for ref, triple in sorted(zip(refs, results, strict=True), key=lambda x: (x[0].subset, x[0].name)):
        if triple is None:
            continue
        dataset[_partition(ref, valid_names)].append(triple)
    used = sum(len(dataset[k]) for k in PAIRED_PARTITIONS)
    for key in PAIRED_PARTITIONS:
        assigned = sum(_partition(r, valid_names) == key for r in refs)
        if assigned and not dataset[key]:
            raise DatasetError(f"MUSDB18 at {root}: none of the {assigned} tracks of {key} could be read "
                               f"(see the warnings above)")
    if used < len(refs):
        logger.warning("MUSDB18 at %s: skipped %d of %d tracks", root, len(refs) - used, len(refs))
    return dataset


def _cache_key(root: Path, is_wav: bool) -> str:
    """What a dataset cache was made from: the resolved MUSDB18 root and the layout."""
    return f"{root} (is_wav={is_wav})"


def read_cache(path: str | os.PathLike, root: Path, is_wav: bool) -> dict | None:
    """The cached dataset dict if ``path`` holds a valid cache for ``root``/``is_wav``, else ``None``.

    Logs why a cache that exists is not used. Reads only the pickle and checks that the files it names exist.
    """
    payload = read_versioned_pickle(path, CACHE_VERSION, _cache_key(root, is_wav), what="dataset cache",
                                    log=logger)
    if payload is None:
        return None
    try:
        dataset = validate_dataset(payload, source=f"dataset cache {path}")
    except DatasetError as e:
        logger.warning("%s: rebuilding it", e)
        return None
    for key in PAIRED_PARTITIONS:
        for triple in dataset[key]:
            for sample in triple:
                if not os.path.exists(sample.path):
                    logger.info("dataset cache %s names %s, which no longer exists: rebuilding it", path,
                                sample.path)
                    return None
    return dataset


def write_cache(path: str | os.PathLike, dataset: dict, root: Path, is_wav: bool) -> None:
    """Pickle ``dataset`` for ``root``/``is_wav`` to ``path`` atomically (read back by :func:`read_cache`)."""
    write_versioned_pickle(path, CACHE_VERSION, _cache_key(root, is_wav), dataset)
    logger.info("wrote dataset cache %s", path)


def load_musdb(data: DataConfig) -> dict:
    """MUSDB18 dataset dict from the cache, or by scanning/exporting (then cached).

    Args:
        data: ``musdb_path`` (the MUSDB18 root), ``is_wav`` (``True`` for MUSDB18-HQ), ``dataset_cache`` (cache
            file; empty/``None`` disables caching), ``num_workers`` (tracks exported in parallel).

    Returns:
        Dataset dict (``train_unsup`` empty), see :func:`build_musdb_dataset`.

    Raises:
        DatasetError: MUSDB18 missing or unreadable.
    """
    root = Path(data.musdb_path).expanduser().resolve()
    is_wav = data.is_wav
    cache = data.dataset_cache
    if cache:
        dataset = read_cache(cache, root, is_wav)
        if dataset is not None:
            logger.info("loaded dataset cache %s", cache)
            return dataset
    dataset = build_musdb_dataset(root, is_wav, data.num_workers)
    if cache:
        write_cache(cache, dataset, root, is_wav)
    return dataset
