"""Metadata of one audio track (path, sample rate, channels, duration; ``Input.audio.probe.probe_sample`` reads
it from a file) and the names of the separated sources (:data:`SOURCES`)."""

from __future__ import annotations

from dataclasses import dataclass

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
