"""Where a track's files live, safe display names, and removing a track with its files.

Layout: ``HARMONY_DATA_DIR/tracks/<track id>/`` holds ``upload.<ext>`` (the file as sent), the stems
``vocals.<fmt>`` and ``accompaniment.<fmt>`` once separated, and ``stems.zip`` once downloaded as a zip.
Nothing here is under a public URL.
"""

from __future__ import annotations

import math
import os
import shutil
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

from Input.audio.probe import AUDIO_EXTENSIONS

NAME_LIMIT = 120  # characters of a display name


def tracks_dir() -> Path:
    return Path(settings.HARMONY_DATA_DIR) / "tracks"


def track_dir(track_id: object) -> Path:
    return tracks_dir() / str(track_id)


def stem_path(track_id: object, stem: str, fmt: str) -> Path:
    return track_dir(track_id) / f"{stem}.{fmt}"


def upload_name(original: str) -> str:
    """The stored file name of an upload: ``upload`` plus the original's extension when it is an audio one
    (the probe decides by content; the extension only picks the decoder), else ``upload.bin``."""
    suffix = Path(safe_name(original)).suffix.lower()
    return f"upload{suffix}" if suffix in AUDIO_EXTENSIONS else "upload.bin"


def safe_name(original: str) -> str:
    """A display name from a client-supplied file name: no folders (``/``, ``\\``), no control characters (NUL
    included), Unicode normalised (NFC), at most :data:`NAME_LIMIT` characters with the extension kept;
    ``"track"`` when nothing is left."""
    name = str(original).replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".").strip()
    if len(name) > NAME_LIMIT:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and len(ext) <= 5 else ""
        name = name[: NAME_LIMIT - len(ext) - 1].rstrip() + (f".{ext}" if ext else "")
    return name or "track"


def download_name(name: str, suffix: str) -> str:
    """``"<name without extension>_<suffix>"``, e.g. ``download_name("song.mp3", "vocals.wav")``."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{stem or 'track'}_{suffix}"


MP3_MAX_KBPS = 320  # the highest MP3 bitrate: a stem in mp3 is at most this many kbit per second


def stems_bytes(duration: float, sample_rate: int, channels: int, fmt: str) -> int:
    """An upper estimate of the two stems' bytes for ``duration`` seconds of ``channels`` at ``sample_rate`` Hz
    in ``fmt``: 16-bit PCM for wav and flac (flac compresses below it), MP3's highest bitrate for mp3."""
    per_second = MP3_MAX_KBPS * 1000 / 8 if fmt == "mp3" else sample_rate * channels * 2
    return 2 * int(math.ceil(duration * per_second))


def pending_stems_bytes(tracks: Iterable[tuple[float | None, int | None, int | None, str]]) -> int:
    """:func:`stems_bytes` summed over ``(duration s, rate Hz, channels, format)`` of tracks whose stems are not
    written yet (unknown values count as nothing)."""
    return sum(stems_bytes(d, r, c, f) for d, r, c, f in tracks if d and r and c)


def folder_bytes(track_id: object) -> int:
    """Bytes of the files in a track's folder (upload, stems, zip, partial files; the folder is flat); 0 when it
    has no folder."""
    total = 0
    try:
        with os.scandir(track_dir(track_id)) as entries:
            for entry in entries:
                try:
                    total += entry.stat().st_size if entry.is_file() else 0
                except FileNotFoundError:  # removed meanwhile (a finished zip's temporary file)
                    continue
    except FileNotFoundError:  # no folder, or deleted meanwhile
        return 0
    return total


def remove_partial_files(track_id: object) -> None:
    """Remove temporary files (``.<name>.<hex>.tmp``, see ``Utils.AtomicFile``) that a killed writer left."""
    folder = track_dir(track_id)
    for leftover in folder.glob(".*.tmp") if folder.is_dir() else []:
        leftover.unlink(missing_ok=True)


def remove_track_files(track_id: object) -> None:
    """Remove a track's folder and everything in it (a no-op when it is already gone)."""
    shutil.rmtree(track_dir(track_id), ignore_errors=True)
