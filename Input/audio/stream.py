"""Block-wise reading and writing of audio files, so that arbitrarily long files are processed in bounded
memory.

wav/flac/ogg/aiff are read with soundfile (seeking to the excerpt); mp3/m4a/mp4 are decoded by an ``ffmpeg``
process whose float32 output is read from a pipe. :class:`AudioReader` is the one decoder of the project:
``Input.audio.files.load`` concatenates its blocks. Before an mp3/AAC excerpt a pre-roll is decoded and dropped, and
the AAC end padding is cut to the container's stated length. Every problem is an ``AudioError`` naming the
file. Written files appear atomically (:class:`AudioWriter` fills a ``Utils.AtomicFile``).
"""

from __future__ import annotations

import errno
import logging
import math
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import numpy as np
import soundfile as sf

from Input.audio.probe import (
    FFMPEG_EXTENSIONS,
    FFMPEG_MISSING,
    FFMPEG_PREROLL,
    AudioError,
    AudioWriteError,
    container,
    ffmpeg_input,
    probe,
    sf_reason,
    tool_detail,
)
from Utils import AtomicFile

logger = logging.getLogger(__name__)


class AudioReader:
    """Reads an audio file, or the excerpt ``[offset, offset + duration)`` seconds of it, block by block.

    Attributes (after construction, which probes the file and raises ``AudioError`` if it is not usable):
        sample_rate: Hz. channels: channel count. duration: seconds that will be read (from the header; an
        estimate for mp3).

    ``max_seconds`` bounds what is *decoded*, whatever the header claims: a file (or excerpt) whose header says
    more fails at once, and one that decodes to more than it announced fails with ``AudioError`` as soon as the
    decoded audio passes the limit (after at most one more block). None: no limit. ``max_channels`` and
    ``max_sample_rate`` (Hz) bound the stream's channels and rate: both are what is decoded (libsndfile decodes
    the header's; ffmpeg is told to give the probed ones), so a file over either fails at once. A block with a
    NaN or infinite sample fails with ``AudioError`` too.

    Use as a context manager; :meth:`blocks` yields float32 ``[channels, n]`` arrays.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        offset: float = 0.0,
        duration: float | None = None,
        max_seconds: float | None = None,
        max_channels: int | None = None,
        max_sample_rate: int | None = None,
    ) -> None:
        if not (math.isfinite(offset) and offset >= 0):
            raise ValueError(f"offset must be a finite number >= 0 seconds, got {offset}")
        if duration is not None and not (math.isfinite(duration) and duration > 0):
            raise ValueError(f"duration must be a finite number > 0 seconds or None, got {duration}")
        if max_seconds is not None and not (math.isfinite(max_seconds) and max_seconds > 0):
            raise ValueError(f"max_seconds must be a finite number > 0 seconds or None, got {max_seconds}")
        self.path = Path(path)
        self.sample_rate, self.channels, total = probe(self.path)
        if offset > 0 and offset >= total:
            raise AudioError(self.path, f"offset {offset:g} s is beyond the end of the file ({total:g} s)")
        self.max_seconds = max_seconds
        self.offset = offset
        self.start = int(round(offset * self.sample_rate))
        self.limit = None if duration is None else int(round(duration * self.sample_rate))
        self.duration = (
            max(0.0, total - offset) if duration is None else min(duration, max(0.0, total - offset))
        )
        self._total_seconds = total
        if max_seconds is not None and self.duration > max_seconds:
            raise AudioError(self.path, f"{_minutes(self.duration)} long; the limit is {_minutes(max_seconds)}")
        if max_channels is not None and self.channels > max_channels:
            raise AudioError(self.path, f"{self.channels} channels; the limit is {max_channels}")
        if max_sample_rate is not None and self.sample_rate > max_sample_rate:
            raise AudioError(self.path, f"sampled at {self.sample_rate} Hz; the limit is {max_sample_rate} Hz")
        self._ffmpeg = self.path.suffix.lower() in FFMPEG_EXTENSIONS
        self._file: sf.SoundFile | None = None
        self._proc: subprocess.Popen | None = None
        self._stderr = None

    def __enter__(self) -> AudioReader:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the file or stop the decoder."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            self._proc.stdout.close()
            self._proc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def blocks(self, frames: int) -> Iterator[np.ndarray]:
        """Yield float32 ``[channels, n]`` blocks of at most ``frames`` samples until the excerpt ends.

        Raises:
            AudioError: the file cannot be decoded, or it decodes to more than ``max_seconds``.
        """
        frames = max(1, int(frames))
        decoded = self._ffmpeg_blocks(frames) if self._ffmpeg else self._soundfile_blocks(frames)
        limit = None if self.max_seconds is None else int(math.floor(self.max_seconds * self.sample_rate))
        read = 0
        for block in decoded:
            if not np.isfinite(block).all():
                at = self.offset + (read + int(np.argmax(~np.isfinite(block).all(axis=0)))) / self.sample_rate
                raise AudioError(self.path, f"contains NaN or infinite samples (at {at:.2f} s)")
            read += block.shape[1]
            if limit is not None and read > limit:
                raise AudioError(self.path, f"the audio goes on past the limit of {_minutes(self.max_seconds)} "
                                 f"(its header announces {_minutes(self.duration)})")
            yield block

    def _soundfile_blocks(self, frames: int) -> Iterator[np.ndarray]:
        try:
            self._file = sf.SoundFile(os.fspath(self.path))
            if self.start > 0:
                self._file.seek(min(self.start, self._file.frames))
            remaining = self._file.frames - min(self.start, self._file.frames)
            if self.limit is not None:
                remaining = min(remaining, self.limit)
            while remaining > 0:
                data = self._file.read(min(frames, remaining), dtype="float32", always_2d=True)
                if data.shape[0] == 0:
                    break
                remaining -= data.shape[0]
                yield np.ascontiguousarray(data.T)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
            raise AudioError(self.path, sf_reason(err)) from err

    def _ffmpeg_blocks(self, frames: int) -> Iterator[np.ndarray]:
        """Decode with ffmpeg to float32, seeking close to the excerpt before decoding.

        Decoding starts ``FFMPEG_PREROLL`` samples before the excerpt and that lead-in is dropped: mp3/AAC
        decoders need a few frames of history (bit reservoir, MDCT overlap), so an excerpt equals the same slice
        of a full decode.
        """
        sr, channels = self.sample_rate, self.channels
        first = max(0, self.start - FFMPEG_PREROLL)
        skip = self.start - first
        cmd = ["ffmpeg", "-nostdin", "-v", "error"]
        if first > 0:  # "-ss 0" is not a no-op for mp4 (it changes the priming trim), so only seek when needed
            cmd += ["-ss", f"{first / sr:.9f}"]
        if self.limit is not None:
            cmd += ["-t", f"{(skip + self.limit + 16) / sr:.9f}"]  # a little slack, cut off below
        # The probed rate and channels, whatever the stream switches to later (bounds what is decoded).
        cmd += [*ffmpeg_input(self.path), "-map", "0:a:0", "-f", "f32le", "-ac", str(channels), "-ar", str(sr), "-"]
        remaining = self.limit
        if self.path.suffix.lower() in (".m4a", ".mp4"):
            # The MP4 container states the exact length, but ffmpeg keeps the AAC encoder's end padding (up to
            # one 1024-sample frame): cut it so the length matches probe(). Not done for mp3, whose probed
            # duration can be a bitrate estimate shorter than the real audio.
            stated = max(int(round(self._total_seconds * sr)) - self.start, 0)
            remaining = stated if remaining is None else min(remaining, stated)
        self._stderr = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr
            )
        except FileNotFoundError as err:
            raise AudioError(self.path, FFMPEG_MISSING) from err
        except OSError as err:
            raise AudioError(self.path, f"cannot run ffmpeg ({err.strerror})") from err
        frame_bytes = 4 * channels
        leftover = b""
        while remaining is None or remaining > 0:
            chunk = self._proc.stdout.read(frames * frame_bytes)
            if not chunk:
                break
            chunk = leftover + chunk
            usable = len(chunk) // frame_bytes * frame_bytes
            leftover = chunk[usable:]
            data = np.frombuffer(chunk[:usable], dtype="<f4").reshape(-1, channels)
            if skip:
                dropped = min(skip, data.shape[0])
                data, skip = data[dropped:], skip - dropped
            if remaining is not None:
                data = data[:remaining]
                remaining -= data.shape[0]
            if data.shape[0]:
                yield np.ascontiguousarray(data.T, dtype=np.float32)
        if remaining is None or remaining > 0:  # the decoder ended by itself: check it succeeded
            failed = self._proc.wait() != 0
            self._stderr.seek(0)
            stderr = self._stderr.read()
            if failed:
                raise AudioError(self.path, f"cannot decode this {container(self.path)} file "
                                 f"({tool_detail(stderr, self.path)})")
            if stderr.strip():  # it worked, but reported damage (e.g. corrupt frames)
                logger.warning("%s: ffmpeg reported problems (%s)", self.path, tool_detail(stderr, self.path))


def _minutes(seconds: float) -> str:
    """``"12.5 minutes"``, or ``"42.0 s"`` under a minute: a length for messages."""
    return f"{seconds / 60:.1f} minutes" if seconds >= 60 else f"{seconds:.1f} s"


# Output format -> (libsndfile major format, {bit depth: libsndfile subtype}).
OUTPUT_FORMATS: dict[str, tuple[str, dict[int, str]]] = {
    "wav": ("WAV", {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}),
    "flac": ("FLAC", {16: "PCM_16", 24: "PCM_24"}),
    "mp3": ("MP3", {16: "MPEG_LAYER_III", 24: "MPEG_LAYER_III", 32: "MPEG_LAYER_III"}),
}


MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)  # what MPEG-1/2/2.5 layer III holds, Hz
MP3_MAX_CHANNELS = 2


def format_problem(fmt: str, sample_rate: int, channels: int) -> str | None:
    """Why stems of ``sample_rate`` Hz and ``channels`` cannot be written as ``fmt``, in words; None when they can
    (wav and flac hold any; MP3 only its own rates, mono or stereo)."""
    if fmt != "mp3" or (sample_rate in MP3_RATES and channels <= MP3_MAX_CHANNELS):
        return None
    return (f"MP3 holds mono or stereo at up to {MP3_RATES[-1]} Hz, and this audio has {channels} channel"
            f"{'s' if channels != 1 else ''} at {sample_rate} Hz: choose WAV or FLAC")


def _no_space(err: BaseException, folder: Path) -> bool:
    """True when ``err`` is ENOSPC, or the filesystem of ``folder`` has no free block left (libsndfile reports a
    full disk as "System error.")."""
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return True
    try:
        return os.statvfs(folder).f_bavail == 0
    except OSError:
        return False


class AudioWriter:
    """Writes ``[channels, n]`` blocks to a temporary file next to ``path``; :meth:`commit` moves it there.

    ``fmt`` is ``"wav"``, ``"flac"`` or ``"mp3"``; ``bit_depth`` 16 or 24 (PCM) or 32 (float, wav only;
    ignored for mp3). Samples outside [-1, 1] are clipped (except for float wav) and counted in ``clipped``.
    """

    def __init__(
        self, path: str | os.PathLike, sample_rate: int, channels: int, fmt: str = "wav", bit_depth: int = 16
    ) -> None:
        if fmt not in OUTPUT_FORMATS:
            raise ValueError(f"format must be one of {tuple(OUTPUT_FORMATS)}, got {fmt!r}")
        major, subtypes = OUTPUT_FORMATS[fmt]
        if bit_depth not in subtypes:
            raise ValueError(f"{fmt} cannot store {bit_depth}-bit samples (use one of {sorted(subtypes)})")
        self.path = Path(path)
        problem = format_problem(fmt, int(sample_rate), int(channels))
        if problem is not None:
            raise AudioError(self.path, problem)
        self.clip = subtypes[bit_depth] != "FLOAT"
        self._pcm16 = subtypes[bit_depth] == "PCM_16"
        self.clipped = 0
        self._pending = AtomicFile(self.path)
        try:
            self._file = sf.SoundFile(
                self._pending.path,
                "w",
                samplerate=int(sample_rate),
                channels=int(channels),
                subtype=subtypes[bit_depth],
                format=major,
            )
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as err:
            self._pending.abort()
            if _no_space(err, self._pending.path.parent):  # libsndfile says "System error." when the header fails
                raise AudioWriteError(self.path, f"cannot write audio ({os.strerror(errno.ENOSPC)})") from err
            raise AudioError(
                self.path,
                f"cannot write {fmt} at {sample_rate} Hz, {channels} channels "
                f"({getattr(err, 'error_string', None) or err})",
            ) from err

    def write(self, block: np.ndarray) -> None:
        """Append ``[channels, n]`` float samples."""
        data = np.asarray(block, dtype=np.float32).T  # [n, channels]
        if self._pcm16:
            # Quantised here as libsndfile 1.2 does (floor(x * 32768), clipped), at a fraction of its cost.
            scaled = np.asarray(block, dtype=np.float32) * np.float32(32768)  # [channels, n]
            count = int(np.count_nonzero(scaled > 32768)) + int(np.count_nonzero(scaled < -32768))
            np.floor(scaled, out=scaled)
            np.clip(scaled, -32768, 32767, out=scaled)
            data = np.empty(data.shape, dtype=np.int16)
            for channel, samples in enumerate(scaled):  # interleave channel by channel: faster than .T copies
                data[:, channel] = samples
        else:
            count = int(np.count_nonzero(np.abs(data) > 1.0)) if self.clip else 0
            data = np.ascontiguousarray(np.clip(data, -1.0, 1.0) if count else data)
        self.clipped += count
        try:
            self._file.write(data)
        except (sf.LibsndfileError, RuntimeError, OSError) as err:
            raise self._write_error(err) from err

    def commit(self) -> None:
        """Close the file, flush it to disk and move it onto ``path`` (the temporary file is removed on failure)."""
        try:
            self._file.close()
            self._pending.commit()  # fsync: where the disk allocates late, a full disk shows here
        except (sf.LibsndfileError, RuntimeError, OSError) as err:
            self._pending.abort()
            raise self._write_error(err) from err
        except BaseException:
            self._pending.abort()
            raise
        if self.clipped:
            logger.warning("%s: clipped %d samples to [-1, 1]", self.path, self.clipped)

    def _write_error(self, err: BaseException) -> AudioWriteError:
        """One line for a failed write, ``No space left on device`` when the disk is full."""
        reason = os.strerror(errno.ENOSPC) if _no_space(err, self._pending.path.parent) else err
        return AudioWriteError(self.path, f"cannot write audio ({reason})")

    def abort(self) -> None:
        """Close and delete the temporary file."""
        try:
            self._file.close()
        finally:
            self._pending.abort()
