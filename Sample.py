"""Metadata of one audio track (path, sample rate, channels, duration), read without decoding the audio, and the
names of the separated sources (:data:`SOURCES`)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from Input.audio_probe import probe

# The separated sources, in the order the U-Net outputs them (``(accompaniment, voice)``); the names used for
# them in the dataset dict, the MoisesDB exports and the unpaired data.
SOURCES: tuple[str, ...] = ("accompaniment", "voice")


@dataclass(frozen=True, order=True)
class Sample:
    """One audio track's metadata. Immutable, hashable, picklable; ordered by path, then the other fields.

    Attributes:
        path: file path, as given.
        sample_rate: sample rate in Hz.
        channels: number of audio channels.
        duration: length in seconds.
    """

    path: str
    sample_rate: int
    channels: int
    duration: float

    @classmethod
    def from_path(cls, path: str | os.PathLike) -> Sample:
        """Read a track's metadata from its header/container (no full decode) via :func:`Input.audio_probe.probe`.

        Raises:
            Input.audio_probe.AudioError: missing, empty, non-audio or corrupt file.
        """
        sample_rate, channels, duration = probe(path)
        return cls(path=os.fspath(path), sample_rate=sample_rate, channels=channels, duration=duration)
