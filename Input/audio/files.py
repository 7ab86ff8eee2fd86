"""Audio file I/O: load (any supported format, excerpts, resampling), atomic save, file discovery.

Arrays are always ``float32`` shaped ``[channels, samples]`` with values nominally in ``[-1, 1]``;
sample rates are in Hz, offsets and durations in seconds.

Layers: :mod:`Input.audio.probe` (formats, :class:`AudioError`, :func:`probe`) <- :mod:`Input.audio.stream`
(:class:`~Input.audio.stream.AudioReader`, the one decoder: soundfile for wav/flac/ogg/aiff, ``ffmpeg`` for
mp3/m4a/mp4) <- this module, which re-exports the names of the lower one for its callers. Every problem with an
input file is raised as :class:`AudioError` with a one-line message ``"<path>: <reason>"``.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from Input.audio.probe import (
    AUDIO_EXTENSIONS,
    FFMPEG_EXTENSIONS,
    FFMPEG_MISSING,
    FFMPEG_PREROLL,
    SOUNDFILE_EXTENSIONS,
    AudioError,
    AudioWriteError,
    PathLike,
    one_line,
    probe,
)
from Input.audio.stream import AudioReader
from Utils import atomic_path

__all__ = [
    "AUDIO_EXTENSIONS", "FFMPEG_EXTENSIONS", "FFMPEG_MISSING", "FFMPEG_PREROLL", "LOAD_BLOCK_FRAMES", "SAVE_FORMATS",
    "SAVE_SUBTYPES", "SOUNDFILE_EXTENSIONS", "AudioError", "AudioWriteError", "PathLike", "find_audio_files", "load",
    "one_line", "probe", "resample", "save",
]

logger = logging.getLogger(__name__)

SAVE_FORMATS: dict[str, str] = {".wav": "WAV", ".flac": "FLAC"}
SAVE_SUBTYPES: tuple[str, ...] = ("PCM_16", "PCM_24", "FLOAT")
LOAD_BLOCK_FRAMES = 1 << 20  # samples per channel that load() takes from the reader at a time


def load(path: PathLike, sr: int | None = None, mono: bool = False, offset: float = 0.0,
         duration: float | None = None) -> tuple[np.ndarray, int]:
    """Load audio (or an excerpt of it) from any supported file.

    Args:
        path: audio file (one of ``AUDIO_EXTENSIONS``).
        sr: target sample rate in Hz; ``None`` keeps the file's rate, otherwise soxr resampling.
        mono: average all channels into one.
        offset: start of the excerpt in seconds (the decoder seeks; the file is not decoded from the start;
            mp3/AAC decoding starts ``FFMPEG_PREROLL`` samples earlier, so an excerpt equals the same slice of a
            full decode).
        duration: length of the excerpt in seconds; ``None`` reads to the end. Running past the end of
            the file returns what exists.

    Returns:
        ``(audio, sample_rate)``: float32 array ``[channels, samples]`` (``[1, samples]`` when mono)
        and its sample rate in Hz.

    Raises:
        AudioError: the file is missing, empty, not audio, corrupt, contains no samples, or ``offset``
            lies beyond its end.
        ValueError: ``sr``/``offset``/``duration`` out of range.
    """
    if not (math.isfinite(offset) and offset >= 0):
        raise ValueError(f"offset must be a finite number >= 0 seconds, got {offset}")
    if duration is not None and not (math.isfinite(duration) and duration > 0):
        raise ValueError(f"duration must be a finite number > 0 seconds or None, got {duration}")
    if sr is not None and sr <= 0:
        raise ValueError(f"sr must be a positive sample rate in Hz or None, got {sr}")
    with AudioReader(path, offset, duration) as reader:
        blocks = list(reader.blocks(LOAD_BLOCK_FRAMES))
        file_sr = reader.sample_rate
        audio = np.concatenate(blocks, axis=1) if blocks else np.zeros((reader.channels, 0), np.float32)
    if audio.shape[1] == 0:
        if offset:
            raise AudioError(path, f"offset {offset:g} s is beyond the end of the audio")
        raise AudioError(path, "contains no audio samples")
    if mono and audio.shape[0] > 1:
        audio = audio.mean(axis=0, keepdims=True, dtype=np.float32)
    if sr is not None and sr != file_sr:
        audio = resample(audio, file_sr, sr)
        file_sr = sr
    return np.ascontiguousarray(audio, dtype=np.float32), int(file_sr)


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample along the last axis with soxr "HQ" (as ``librosa.resample(res_type="soxr_hq")`` does).

    Args:
        audio: float array ``[channels, samples]`` (or ``[samples]``, or any leading dims).
        orig_sr: current sample rate in Hz.
        target_sr: wanted sample rate in Hz.

    Returns:
        float32 array ``[channels, ceil(samples * target_sr / orig_sr)]`` (length computed exactly in
        integers, then zero-padded/trimmed at the end if soxr is off by a sample).
    """
    if orig_sr <= 0 or target_sr <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_sr} -> {target_sr}")
    audio = np.asarray(audio, dtype=np.float32)
    if orig_sr == target_sr:
        return audio.copy()
    n_in = audio.shape[-1]
    n_out = -(-n_in * int(target_sr) // int(orig_sr))
    rows = audio.reshape(-1, n_in)
    out = np.zeros((rows.shape[0], n_out), dtype=np.float32)
    if n_in > 0 and rows.shape[0] > 0:
        # soxr takes [frames, channels] and resamples all channels in one pass.
        y = soxr.resample(np.ascontiguousarray(rows.T), int(orig_sr), int(target_sr), quality=soxr.HQ)
        y = y.reshape(y.shape[0], -1).T[:, :n_out]
        out[:, : y.shape[1]] = y
    return out.reshape(*audio.shape[:-1], n_out)


def save(path: PathLike, audio: np.ndarray, sr: int, subtype: str = "PCM_16") -> int:
    """Write audio atomically to a .wav or .flac file (format chosen by extension).

    The data goes to a temporary file in the same folder, is flushed to disk, then renamed over ``path``
    (``Utils.atomic_path``), so an interrupted write never leaves a half-written file. For PCM subtypes samples
    with ``|x| > 1`` are clipped to ``[-1, 1]``; how many is logged as a warning and returned. ``FLOAT`` stores
    the values unchanged (wav only).

    Args:
        path: output file, ``.wav`` or ``.flac``.
        audio: float array ``[channels, samples]``; a 1-D array is treated as mono ``[samples]``.
        sr: sample rate in Hz.
        subtype: ``"PCM_16"`` (default), ``"PCM_24"`` or ``"FLOAT"``.

    Returns:
        Number of clipped samples (counted over all channels; always 0 for ``FLOAT``).

    Raises:
        AudioError: unsupported extension, missing output folder, or the write failed.
        ValueError: bad array shape, non-finite samples, bad ``sr`` or ``subtype``.
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in SAVE_FORMATS:
        raise AudioError(path, f"cannot write '{p.suffix}' files (supported: {', '.join(SAVE_FORMATS)})")
    if subtype not in SAVE_SUBTYPES:
        raise ValueError(f"subtype must be one of {SAVE_SUBTYPES}, got {subtype!r}")
    if ext == ".flac" and subtype == "FLOAT":
        raise AudioError(path, "FLAC cannot store FLOAT samples; use PCM_16 or PCM_24")
    if sr <= 0:
        raise ValueError(f"sr must be a positive sample rate in Hz, got {sr}")
    data = np.array(audio, dtype=np.float32)  # copy: clipping must not modify the caller's array
    if data.ndim == 1:
        data = data[np.newaxis, :]
    if data.ndim != 2 or data.shape[0] == 0:
        raise ValueError(f"audio must be [channels, samples] or [samples], got shape {np.shape(audio)}")
    if data.shape[0] > 64:
        raise ValueError(f"audio must be [channels, samples]; shape {data.shape} would mean "
                         f"{data.shape[0]} channels (transposed?)")
    if not np.all(np.isfinite(data)):
        raise ValueError(f"audio for {path} contains NaN or infinite samples")
    if p.is_dir():
        raise AudioError(path, "is a directory")
    if not p.parent.is_dir():
        raise AudioError(path, "output folder does not exist")

    clipped = 0
    if subtype != "FLOAT":
        clipped = int(np.count_nonzero(np.abs(data) > 1.0))
        if clipped:
            np.clip(data, -1.0, 1.0, out=data)
            logger.warning("%s: clipped %d of %d samples (%.4f%%) to [-1, 1]", path, clipped, data.size,
                           100.0 * clipped / data.size)

    try:
        with atomic_path(p) as tmp, open(tmp, "xb") as fh:
            sf.write(fh, data.T, int(sr), subtype=subtype, format=SAVE_FORMATS[ext])
    except (OSError, sf.LibsndfileError, RuntimeError) as e:
        reason = getattr(e, "strerror", None) or getattr(e, "error_string", None) or str(e)
        raise AudioWriteError(path, f"cannot write audio ({reason})") from e
    return clipped


def find_audio_files(paths: Iterable[PathLike]) -> list[Path]:
    """Collect audio files from files and folders (folders scanned recursively).

    Only files whose extension (case-insensitive) is in ``AUDIO_EXTENSIONS`` are returned; inside folders,
    hidden files and folders (name starting with ``.``, e.g. macOS ``._song.wav``) are skipped. Explicitly
    named files with another extension are skipped with a warning.

    Returns:
        Sorted, de-duplicated list of paths.

    Raises:
        AudioError: a given path does not exist.
    """
    found: set[Path] = set()
    for item in paths:
        p = Path(item)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                for name in files:
                    if not name.startswith(".") and Path(name).suffix.lower() in AUDIO_EXTENSIONS:
                        found.add(Path(root) / name)
        elif p.is_file():
            if p.suffix.lower() in AUDIO_EXTENSIONS:
                found.add(p)
            else:
                logger.warning("%s: skipped, extension not one of %s", p, ", ".join(AUDIO_EXTENSIONS))
        else:
            raise AudioError(item, "no such file or directory")
    return sorted(found)
