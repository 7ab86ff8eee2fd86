"""Audio file I/O: probe, load (any supported format, excerpts, resampling), atomic save, file discovery.

Arrays are always ``float32`` shaped ``[channels, samples]`` with values nominally in ``[-1, 1]``;
sample rates are in Hz, offsets and durations in seconds.

wav/flac/ogg/aiff are read with soundfile (libsndfile); mp3/m4a/mp4 are probed with ``ffprobe`` and
decoded with ``ffmpeg`` (first audio stream). Every problem with an input file is raised as
:class:`AudioError` with a one-line message ``"<path>: <reason>"``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import subprocess
import uuid
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

logger = logging.getLogger(__name__)

AUDIO_EXTENSIONS: tuple[str, ...] = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3", ".m4a", ".mp4")
SOUNDFILE_EXTENSIONS: tuple[str, ...] = (".wav", ".flac", ".ogg", ".aiff", ".aif")
FFMPEG_EXTENSIONS: tuple[str, ...] = (".mp3", ".m4a", ".mp4")
SAVE_FORMATS: dict[str, str] = {".wav": "WAV", ".flac": "FLAC"}
SAVE_SUBTYPES: tuple[str, ...] = ("PCM_16", "PCM_24", "FLOAT")
FFMPEG_PREROLL = 4096  # samples decoded before an mp3/m4a/mp4 excerpt and dropped
FFMPEG_MISSING = "ffmpeg not found: install Debian package 'ffmpeg'"

PathLike = str | os.PathLike


class AudioError(Exception):
    """A file could not be read or written as audio. The message is one line: ``"<path>: <reason>"``."""

    def __init__(self, path: PathLike, reason: str) -> None:
        self.path = str(path)
        self.reason = one_line(reason)
        super().__init__(f"{self.path}: {self.reason}")


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace/newlines into single spaces and cap the length."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_input(path: PathLike) -> Path:
    """Validate that ``path`` is an existing, non-empty file with a supported extension."""
    p = Path(path)
    if not p.exists():
        raise AudioError(path, "no such file")
    if p.is_dir():
        raise AudioError(path, "is a directory, not an audio file")
    ext = p.suffix.lower()
    if ext not in AUDIO_EXTENSIONS:
        supported = ", ".join(AUDIO_EXTENSIONS)
        raise AudioError(path, f"unsupported file extension '{p.suffix}' (supported: {supported})")
    try:
        size = p.stat().st_size
    except OSError as e:
        raise AudioError(path, f"cannot access file ({e.strerror})") from e
    if size == 0:
        raise AudioError(path, "file is empty (0 bytes)")
    return p


def _sf_reason(e: Exception) -> str:
    """Readable reason from a soundfile/libsndfile exception (without the repeated file name)."""
    reason = getattr(e, "error_string", None) or str(e)
    return f"not a readable audio file ({reason.strip()})"


def _tool_detail(stderr: bytes, path: Path) -> str:
    """Summarise ffmpeg/ffprobe stderr (``-v error``) into one short line."""
    parts = []
    for line in stderr.decode("utf-8", errors="replace").splitlines():
        line = re.sub(r"^\[[^\]]*@ 0x[0-9a-f]+\]\s*", "", line.strip())
        for prefix in (f"{path}:", f"{path.name}:"):
            if line.startswith(prefix):
                line = line[len(prefix):].strip()
        if line and line not in parts:
            parts.append(line)
    return "; ".join(parts) or "unknown error"


def _run_tool(cmd: list[str], path: Path) -> bytes:
    """Run ffmpeg/ffprobe, returning stdout; any failure becomes an AudioError naming ``path``."""
    try:
        result = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    except FileNotFoundError as e:
        raise AudioError(path, FFMPEG_MISSING) from e
    except OSError as e:
        raise AudioError(path, f"cannot run {cmd[0]} ({e.strerror})") from e
    if result.returncode != 0:
        raise AudioError(path, f"{cmd[0]} could not read audio ({_tool_detail(result.stderr, path)})")
    if result.stderr.strip():  # it worked, but reported damage (e.g. corrupt frames)
        logger.warning("%s: %s reported problems (%s)", path, cmd[0], _tool_detail(result.stderr, path))
    return result.stdout


def _ffprobe(path: Path) -> tuple[int, int, float]:
    """(sample_rate Hz, channels, duration s) of the first audio stream, read from the container."""
    cmd = ["ffprobe", "-v", "error", "-select_streams", "a:0",
           "-show_entries", "stream=sample_rate,channels,duration:format=duration",
           "-of", "json", os.fspath(path)]
    out = _run_tool(cmd, path)
    try:
        info = json.loads(out.decode("utf-8", errors="replace") or "{}")
    except json.JSONDecodeError as e:
        raise AudioError(path, f"ffprobe returned unreadable output ({e.msg})") from e
    streams = info.get("streams") or []
    if not streams:
        raise AudioError(path, "no audio stream found")
    stream = streams[0]
    try:
        sample_rate = int(stream["sample_rate"])
        channels = int(stream["channels"])
    except (KeyError, TypeError, ValueError) as e:
        raise AudioError(path, "ffprobe reported no sample rate/channel count for the audio stream") from e
    duration = None
    for source in (stream, info.get("format") or {}):
        try:
            duration = float(source["duration"])
            break
        except (KeyError, TypeError, ValueError):
            continue
    if duration is None or not math.isfinite(duration):
        raise AudioError(path, "ffprobe could not determine the duration")
    if sample_rate <= 0 or channels <= 0:
        raise AudioError(path, f"invalid audio stream ({sample_rate} Hz, {channels} channels)")
    return sample_rate, channels, duration


def probe(path: PathLike) -> tuple[int, int, float]:
    """Read a file's metadata without decoding the audio.

    Returns ``(sample_rate, channels, duration)``: sample rate in Hz, channel count, duration in seconds.
    Raises :class:`AudioError` for missing, empty, non-audio, corrupt or unsupported files.
    """
    p = _check_input(path)
    if p.suffix.lower() in FFMPEG_EXTENSIONS:
        return _ffprobe(p)
    try:
        info = sf.info(os.fspath(p))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise AudioError(path, _sf_reason(e)) from e
    if info.samplerate <= 0 or info.channels <= 0:
        raise AudioError(path, f"invalid header ({info.samplerate} Hz, {info.channels} channels)")
    return int(info.samplerate), int(info.channels), float(info.frames) / info.samplerate


def _load_soundfile(p: Path, offset: float, duration: float | None) -> tuple[np.ndarray, int]:
    """Decode [offset, offset + duration) with libsndfile, seeking instead of decoding the whole file."""
    try:
        with sf.SoundFile(os.fspath(p)) as f:
            sr, total = int(f.samplerate), int(f.frames)
            start = int(round(offset * sr))
            if offset > 0 and start >= total:
                raise AudioError(p, f"offset {offset:g} s is beyond the end of the file ({total / sr:g} s)")
            frames = total - start
            if duration is not None:
                frames = min(frames, int(round(duration * sr)))
            if start > 0:
                f.seek(start)
            data = f.read(frames, dtype="float32", always_2d=True)
    except AudioError:
        raise
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise AudioError(p, _sf_reason(e)) from e
    return np.ascontiguousarray(data.T), sr


def _load_ffmpeg(p: Path, offset: float, duration: float | None) -> tuple[np.ndarray, int]:
    """Decode the first audio stream with ffmpeg to float32, seeking close to ``offset`` before decoding.

    Decoding starts ``FFMPEG_PREROLL`` samples before the excerpt and that lead-in is dropped: mp3/AAC
    decoders need a few frames of history (bit reservoir, MDCT overlap), so an excerpt equals the same
    slice of a full decode.
    """
    sr, channels, total = _ffprobe(p)
    if offset > 0 and offset >= total:
        raise AudioError(p, f"offset {offset:g} s is beyond the end of the file ({total:g} s)")
    start = int(round(offset * sr))
    first = max(0, start - FFMPEG_PREROLL)
    frames = None if duration is None else int(round(duration * sr))
    cmd = ["ffmpeg", "-nostdin", "-v", "error"]
    if first > 0:  # "-ss 0" is not a no-op for mp4 (it changes the priming trim), so only seek when needed
        cmd += ["-ss", f"{first / sr:.9f}"]
    if frames is not None:
        cmd += ["-t", f"{(start - first + frames + 16) / sr:.9f}"]  # a little slack, sliced off below
    cmd += ["-i", os.fspath(p), "-map", "0:a:0", "-f", "f32le", "-ac", str(channels), "-"]
    out = _run_tool(cmd, p)
    usable = len(out) // (4 * channels) * (4 * channels)
    data = np.frombuffer(out[:usable], dtype="<f4").reshape(-1, channels)[start - first:]
    if frames is not None:
        data = data[:frames]
    if p.suffix.lower() in (".m4a", ".mp4"):
        # The MP4 container states the exact length, but ffmpeg keeps the AAC encoder's end padding
        # (up to one 1024-sample frame): cut it so the length matches probe(). Not done for mp3, whose
        # probed duration can be a bitrate estimate shorter than the real audio.
        data = data[:max(int(round(total * sr)) - start, 0)]
    return np.ascontiguousarray(data.T, dtype=np.float32), sr


def load(path: PathLike, sr: int | None = None, mono: bool = False, offset: float = 0.0,
         duration: float | None = None) -> tuple[np.ndarray, int]:
    """Load audio (or an excerpt of it) from any supported file.

    Args:
        path: audio file (one of ``AUDIO_EXTENSIONS``).
        sr: target sample rate in Hz; ``None`` keeps the file's rate, otherwise soxr resampling.
        mono: average all channels into one.
        offset: start of the excerpt in seconds (the decoder seeks; the file is not decoded from the start).
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
    p = _check_input(path)
    if p.suffix.lower() in FFMPEG_EXTENSIONS:
        audio, file_sr = _load_ffmpeg(p, offset, duration)
    else:
        audio, file_sr = _load_soundfile(p, offset, duration)
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

    The data goes to a temporary file in the same folder, is flushed to disk, then renamed over ``path``,
    so an interrupted write never leaves a half-written file. For PCM subtypes samples with ``|x| > 1``
    are clipped to ``[-1, 1]``; how many is logged as a warning and returned. ``FLOAT`` stores the values
    unchanged (wav only).

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

    tmp = p.parent / f".{p.name}.{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "xb") as fh:
            sf.write(fh, data.T, int(sr), subtype=subtype, format=SAVE_FORMATS[ext])
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, (OSError, sf.LibsndfileError, RuntimeError)):
            reason = getattr(e, "strerror", None) or getattr(e, "error_string", None) or str(e)
            raise AudioError(path, f"cannot write audio ({reason})") from e
        raise
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
