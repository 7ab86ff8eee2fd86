"""The bottom of audio file I/O: supported formats, :class:`AudioError`, input checks and :func:`probe`.

wav/flac/ogg/aiff are probed with soundfile (libsndfile); mp3/m4a/mp4 with ``ffprobe`` (first audio stream).
Every ffmpeg and ffprobe call opens its input through :func:`ffmpeg_input`, which lets ffmpeg open that one file
as the container its extension names, and nothing else (no playlists, no references to other files).
Every problem with an input file is raised as :class:`AudioError` with a one-line message ``"<path>: <reason>"``.
Decoding builds on this module (:mod:`Input.audio.stream`, then :mod:`Input.audio.files`), never the other way round.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import subprocess
from pathlib import Path

import soundfile as sf

from Sample import Sample
from Utils import ProjectError, one_line

logger = logging.getLogger(__name__)

AUDIO_EXTENSIONS: tuple[str, ...] = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3", ".m4a", ".mp4")
SOUNDFILE_EXTENSIONS: tuple[str, ...] = (".wav", ".flac", ".ogg", ".aiff", ".aif")
FFMPEG_EXTENSIONS: tuple[str, ...] = (".mp3", ".m4a", ".mp4")
# The one ffmpeg demuxer each of FFMPEG_EXTENSIONS is read with (its name as `ffmpeg -demuxers` prints it), and
# the container's name in error messages. Audio containers only: see ffmpeg_input.
MP4_DEMUXER = "mov,mp4,m4a,3gp,3g2,mj2"
FFMPEG_DEMUXERS: dict[str, tuple[str, str]] = {
    ".mp3": ("mp3", "MP3"),
    ".m4a": (MP4_DEMUXER, "MP4/M4A"),
    ".mp4": (MP4_DEMUXER, "MP4/M4A"),
}
FFMPEG_PREROLL = 4096  # samples decoded before an mp3/m4a/mp4 excerpt and dropped
REASON_LIMIT = 300  # characters of a tool's error message kept in an AudioError
PROBE_TIMEOUT_S = 20.0  # longest ffprobe run, s (a 20-minute mp3 probes in well under a second)
FFMPEG_MISSING = "ffmpeg not found: install Debian package 'ffmpeg'"

PathLike = str | os.PathLike


class AudioError(ProjectError):
    """A file could not be read or written as audio. The message is one line: ``"<path>: <reason>"``."""

    kind = "audio"

    def __init__(self, path: PathLike, reason: str) -> None:
        self.path = str(path)
        self.reason = one_line(reason, REASON_LIMIT)
        super().__init__(f"{self.path}: {self.reason}")


class AudioWriteError(AudioError):
    """An audio file could not be written (e.g. a full disk); no partial file is left."""

    kind = "write"


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


def sf_reason(e: Exception) -> str:
    """Readable reason from a soundfile/libsndfile exception (without the repeated file name)."""
    reason = getattr(e, "error_string", None) or str(e)
    return f"not a readable audio file ({reason.strip()})"


def ffmpeg_input(path: Path) -> list[str]:
    """The ffmpeg/ffprobe arguments that open ``path`` (an mp3/m4a/mp4 file), and nothing else.

    ffmpeg is a media framework, not an audio file reader: left to itself it guesses the format from the content,
    and some formats name other files that it then opens (HLS and DASH playlists, ffconcat lists, MP4 data
    references). A text file of that kind saved as ``song.mp3`` would make it decode files that are not the
    caller's (another user's upload, any audio on the disk). So, each one a separate barrier:

    * ``-f``: the demuxer is the one the extension names (:data:`FFMPEG_DEMUXERS`), never guessed from the
      content. A playlist or list under an audio name is parsed as MP3 or MP4 and refused as not being one.
    * ``-format_whitelist``: that demuxer is the only one ffmpeg may open, nested opens included
      ("Format not on whitelist" otherwise).
    * ``-protocol_whitelist file``: local files only (no network, pipes, ``data:``, ``concat:``, ``subfile:``).
    * ``-enable_drefs 0`` for MP4: data references to other files are not followed (ffmpeg's default, made
      explicit).
    * ``file:`` before the path: the name is a path, never read as a protocol URL.
    """
    demuxer, _ = FFMPEG_DEMUXERS[path.suffix.lower()]
    args = ["-protocol_whitelist", "file", "-format_whitelist", demuxer, "-f", demuxer.split(",")[0]]
    if demuxer == MP4_DEMUXER:
        args += ["-enable_drefs", "0"]
    return [*args, "-i", f"file:{os.fspath(path)}"]


def tool_detail(stderr: bytes, path: Path) -> str:
    """Summarise ffmpeg/ffprobe stderr (``-v error``) into one short line."""
    parts = []
    for line in stderr.decode("utf-8", errors="replace").splitlines():
        line = re.sub(r"^\[[^\]]*@ 0x[0-9a-f]+\]\s*", "", line.strip())
        for prefix in (f"file:{path}:", f"{path}:", f"{path.name}:"):
            if line.startswith(prefix):
                line = line[len(prefix):].strip()
        if line and line not in parts:
            parts.append(line)
    return "; ".join(parts) or "unknown error"


def _run_tool(cmd: list[str], path: Path) -> bytes:
    """Run ffprobe (reads headers only), returning stdout; any failure, or taking over ``PROBE_TIMEOUT_S`` (a file
    built to parse slowly), becomes an AudioError naming ``path``."""
    try:
        result = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, check=False,
                                timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:  # subprocess.run has killed it
        raise AudioError(path, f"reading its {container(path)} header took over {PROBE_TIMEOUT_S:g} s") from e
    except FileNotFoundError as e:
        raise AudioError(path, FFMPEG_MISSING) from e
    except OSError as e:
        raise AudioError(path, f"cannot run {cmd[0]} ({e.strerror})") from e
    if result.returncode != 0:
        raise AudioError(path, f"not a readable {container(path)} file ({tool_detail(result.stderr, path)})")
    if result.stderr.strip():  # it worked, but reported damage (e.g. corrupt frames)
        logger.warning("%s: %s reported problems (%s)", path, cmd[0], tool_detail(result.stderr, path))
    return result.stdout


def container(path: Path) -> str:
    """The container name of an ffmpeg-read file, for messages ("MP3", "MP4/M4A")."""
    return FFMPEG_DEMUXERS[path.suffix.lower()][1]


def _ffprobe(path: Path) -> tuple[int, int, float]:
    """(sample_rate Hz, channels, duration s) of the first audio stream, read from the container."""
    cmd = ["ffprobe", "-v", "error", *ffmpeg_input(path), "-select_streams", "a:0",
           "-show_entries", "stream=sample_rate,channels,duration:format=duration", "-of", "json"]
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
        raise AudioError(path, sf_reason(e)) from e
    if info.samplerate <= 0 or info.channels <= 0:
        raise AudioError(path, f"invalid header ({info.samplerate} Hz, {info.channels} channels)")
    return int(info.samplerate), int(info.channels), float(info.frames) / info.samplerate


def probe_sample(path: str | os.PathLike) -> Sample:
    """A track's :class:`Sample.Sample` (rate, channels, duration) read from its header or container via
    :func:`probe`, without decoding the audio.

    Raises:
        AudioError: missing, empty, non-audio or corrupt file.
    """
    sample_rate, channels, duration = probe(path)
    return Sample(path=os.fspath(path), sample_rate=sample_rate, channels=channels, duration=duration)
