"""Silent voices: an instrumental track (no vocal stem) stands for a song whose voice is silent.

The original code adds such all-zero voice excerpts to the real voices the voice critic sees, and keeps
instrumental songs among the unlabelled mixtures (``model_config["include_silent_voices"]``). Here a silent
voice is a real file of zeros, so the pipeline and the audio cache treat it like any other track:
``<folder>/silence_<seconds>s.wav``, mono 16-bit at :data:`SILENCE_RATE` Hz (small on disk), its length the
track's duration rounded up to whole seconds. One file serves every track of that length.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from Input.audio.files import AudioError, save
from Input.audio.probe import probe_sample
from Input.datasets.partitions import DatasetError
from Sample import Sample

SILENCE_RATE = 8000  # Hz; the audio cache resamples it to expected_sr like any file


def silent_sample(folder: str | os.PathLike, seconds: float) -> Sample:
    """The silent voice for a track of ``seconds``, written into ``folder`` unless it is there already.

    Raises:
        DatasetError: (one line) the file cannot be written.
    """
    whole = max(1, math.ceil(seconds))
    path = Path(folder) / f"silence_{whole}s.wav"
    if not path.is_file():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save(path, np.zeros(whole * SILENCE_RATE, np.float32), SILENCE_RATE)
        except (OSError, AudioError) as e:
            raise DatasetError(f"{path}: cannot write a silent voice ({e})") from e
    return probe_sample(path)


def silent_voices(instrumentals: list[Sample], folder: str | os.PathLike) -> list[Sample]:
    """One silent voice per instrumental track (in its order, each as long as that track)."""
    return [silent_sample(folder, s.duration) for s in instrumentals]
