"""The separation API: a trained separator, loaded once, that separates arrays and files.

    from Models.api import Separator
    separator = Separator.load("checkpoints/542621_sup")             # a run folder or a checkpoint prefix
    stems = separator.separate(audio, 44100)                           # [channels, samples] -> same shape
    separator.separate_file("song.mp3", {"vocals": "v.wav", "accompaniment": "a.wav"})

``separate.py``, the evaluation (``Models.evaluation.bss_eval.bss_evaluate``, ``Evaluate.py``), the benchmarks and the
web worker all apply a checkpoint through this object; :class:`Models.separation.options.SeparationOptions` says how
(its defaults are ``separate.py``'s).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from Models.config import ModelSpec
from Models.separation.options import SeparationOptions

logger = logging.getLogger(__name__)


class Separator:
    """A restored separator with its model spec (rates, FFT size, sizes: ``Models.config.ModelSpec``).

    Attributes:
        model: the Keras U-Net (``Models.nets.factory.build_separator``).
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
        """Rebuild and restore the separator of ``checkpoint`` and its model spec: the one place that loads a
        trained separator (training's validation, evaluation, ``separate.py``, the benchmarks, the web worker).

        Args:
            checkpoint: a checkpoint prefix (``checkpoints/542621_sup/542621_sup-1001``) or a run folder (its best
                checkpoint, else its latest).
            precision: compute precision: ``"auto"`` (chosen from the hardware and logged,
                ``Models.separation.precision.choose_precision``; ``separate.py``'s default) or a key of
                ``Models.separation.options.PRECISIONS``: ``"float32"`` (the default, whatever the model was trained
                with), or ``"bfloat16"`` / ``"float16"``: float32 weights, 16-bit arithmetic. bfloat16 is about
                1.7x faster on CPUs with AVX512_BF16 or AMX (slower without them); float16 suits GPUs. The
                log-magnitude estimates then differ from float32 by about 0.5% of their range.

        Raises:
            CheckpointError: one line naming the checkpoint: nothing there, no model spec, or weights that do not
                fit the model the spec describes.
            ValueError: an unknown ``precision``.
        """
        import tensorflow as tf

        from Input.audio.files import one_line
        from Models.nets.checkpoint_files import resolve_checkpoint, restore_checkpoint
        from Models.nets.factory import build_separator, dtype_policy
        from Models.separation.options import PRECISIONS
        from Models.separation.precision import choose_precision
        from Utils import CheckpointError

        precision, reason = choose_precision(precision)
        logger.info("inference precision %s (%s)", precision, reason)
        prefix, spec = resolve_checkpoint(checkpoint)
        try:
            with dtype_policy(PRECISIONS[precision]):
                model = build_separator(spec)
        except (ValueError, KeyError, TypeError) as err:
            raise CheckpointError(f"{prefix}: cannot build the model of its model spec ({one_line(err)})") from err
        restore_checkpoint(tf.train.Checkpoint(model=model), prefix,
                           "weights do not match the model of its model spec")
        logger.info("loaded separator from %s", prefix)
        return cls(model, spec, prefix, str(model.compute_dtype))  # what "auto" chose

    @property
    def sample_rate(self) -> int:
        """The model's own rate (``expected_sr``), Hz; inputs at any rate are resampled to it and back."""
        return self.spec.expected_sr

    def separate(
        self, audio: np.ndarray, sample_rate: int, options: SeparationOptions | None = None
    ) -> dict[str, np.ndarray]:
        """Separate an in-memory mixture (``Models.separation.input_rate.separate``).

        Args:
            audio: ``[channels, samples]`` float (a 1-D array is one channel), nominally in [-1, 1].
            sample_rate: its rate, Hz (any).
            options: how (default ``SeparationOptions()``); the file fields (``fmt``, ``offset``, ...) are unused.

        Returns:
            ``{"vocals": [channels, samples], "accompaniment": [channels, samples]}`` float32 at ``sample_rate``.
        """
        from Models.separation.input_rate import separate

        return separate(audio, sample_rate, self.model, self.spec, options)

    def separate_file(
        self,
        path: str | os.PathLike,
        outputs: Mapping[str, str | os.PathLike],
        options: SeparationOptions | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> dict:
        """Separate an audio file into output files, streaming in bounded memory
        (``Models.separation.files.separate_file``: the outputs are written atomically, at the input's rate, channel
        count and length; ``progress`` gets the input seconds done after each block and may raise to cancel).

        Returns:
            ``{"sample_rate": Hz, "channels": int, "samples": int, "clipped": {source: samples}}``.

        Raises:
            AudioError: the input cannot be read (or decodes past ``options.max_seconds``), or an output cannot
                be written (``AudioWriteError``).
        """
        from Models.separation.files import separate_file

        return separate_file(path, outputs, self.model, self.spec, options, progress)

    def model_rate_stream(self, channels: int, chunk_seconds: float | None, mode: str = "mask") -> Any:
        """A ``Models.separation.model_rate.ModelRateStream`` of this separator: audio already at :attr:`sample_rate`
        in, the model's own estimates out (the evaluation's view, without the input-rate resampling)."""
        from Models.separation.model_rate import ModelRateStream

        return ModelRateStream(self.model, self.spec, channels, chunk_seconds, None, mode)
