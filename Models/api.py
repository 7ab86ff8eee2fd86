"""The separation API: a trained separator, loaded once, that separates arrays and files.

    from Models.api import Separator
    separator = Separator.load("checkpoints/542621_sup")             # a run folder or a checkpoint prefix
    stems = separator.separate(audio, 44100)                           # [channels, samples] -> same shape
    separator.separate_file("song.mp3", {"vocals": "v.wav", "accompaniment": "a.wav"})

``separate.py``, the evaluation (``Models.evaluation.bss_evaluate``, ``Evaluate.py``), the benchmarks and the web
worker all apply a checkpoint through this object; :class:`Models.inference_options.SeparationOptions` says how
(its defaults are ``separate.py``'s).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from Models.config import ModelSpec
from Models.inference_options import SeparationOptions


class Separator:
    """A restored separator with its model spec (rates, FFT size, sizes: ``Models.config.ModelSpec``).

    Attributes:
        model: the Keras U-Net (``Models.factory.build_separator``).
        spec: its model spec (``expected_sr``: the model's rate in Hz, ``num_fft``, ``num_hop``, ...).
        checkpoint: the checkpoint prefix the weights came from.
        precision: the compute precision in use (``"float32"``, ``"bfloat16"`` or ``"float16"``).
    """

    def __init__(self, model: Any, spec: ModelSpec, checkpoint: str, precision: str) -> None:
        self.model = model
        self.spec = spec
        self.checkpoint = checkpoint
        self.precision = precision

    @classmethod
    def load(cls, checkpoint: str | os.PathLike, precision: str = "float32") -> Separator:
        """Rebuild and restore the separator of ``checkpoint`` (a checkpoint prefix, or a run folder: its best
        checkpoint, else its latest), computing in ``precision`` (``"auto"`` or a key of
        ``Models.inference_options.PRECISIONS``; see ``Models.factory.load_separator``).

        Raises:
            CheckpointError: one line naming the checkpoint: nothing there, no model spec, or weights that do not
                fit the model the spec describes.
        """
        from Models.factory import load_separator

        model, spec, prefix = load_separator(checkpoint, precision)
        return cls(model, spec, prefix, str(model.compute_dtype))  # what "auto" chose

    @property
    def sample_rate(self) -> int:
        """The model's own rate (``expected_sr``), Hz; inputs at any rate are resampled to it and back."""
        return self.spec.expected_sr

    def separate(
        self, audio: np.ndarray, sample_rate: int, options: SeparationOptions | None = None
    ) -> dict[str, np.ndarray]:
        """Separate an in-memory mixture (``Models.inference.separate``).

        Args:
            audio: ``[channels, samples]`` float (a 1-D array is one channel), nominally in [-1, 1].
            sample_rate: its rate, Hz (any).
            options: how (default ``SeparationOptions()``); the file fields (``fmt``, ``offset``, ...) are unused.

        Returns:
            ``{"vocals": [channels, samples], "accompaniment": [channels, samples]}`` float32 at ``sample_rate``.
        """
        from Models.inference import separate

        return separate(audio, sample_rate, self.model, self.spec, options)

    def separate_file(
        self,
        path: str | os.PathLike,
        outputs: Mapping[str, str | os.PathLike],
        options: SeparationOptions | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> dict:
        """Separate an audio file into output files, streaming in bounded memory
        (``Models.streaming.separate_file``: the outputs are written atomically, at the input's rate, channel
        count and length; ``progress`` gets the input seconds done after each block and may raise to cancel).

        Returns:
            ``{"sample_rate": Hz, "channels": int, "samples": int, "clipped": {source: samples}}``.

        Raises:
            AudioError: the input cannot be read (or decodes past ``options.max_seconds``), or an output cannot
                be written (``AudioWriteError``).
        """
        from Models.streaming import separate_file

        return separate_file(path, outputs, self.model, self.spec, options, progress)

    def model_rate_stream(self, channels: int, chunk_seconds: float | None, mode: str = "mask") -> Any:
        """A ``Models.separator.ModelRateStream`` of this separator: audio already at :attr:`sample_rate` in,
        the model's own estimates out (the evaluation's view, without the input-rate resampling)."""
        from Models.separator import ModelRateStream

        return ModelRateStream(self.model, self.spec, channels, chunk_seconds, None, mode)
