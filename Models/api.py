"""The separation API: a trained separator, loaded once, that separates arrays and files.

    from Models.api import Separator
    separator = Separator.load("checkpoints/542621_sup")             # a run folder or a checkpoint prefix
    stems = separator.separate(audio, 44100)                           # [channels, samples] -> same shape
    separator.separate_file("song.mp3", {"vocals": "v.wav", "accompaniment": "a.wav"})
    Separator.load("checkpoints/542621_sup/542621_sup-1001.onnx")       # the ONNX engine: no TensorFlow at all

Two engines run the network (``engine``): ``"tf"``, the Keras U-Net restored from a TensorFlow checkpoint, and
``"onnx"``, its ONNX export (``python -m Models.export``; every training phase writes ``<best checkpoint>.onnx``
beside its best checkpoint) run by onnxruntime (``Models.separation.onnx_engine``). They differ only in that call
(``Models.separation.windows``); the STFT, chunks, masks, Wiener filter, bands and files are the same code.

``separate.py``, the evaluation (``Models.evaluation.bss_eval.bss_evaluate``, ``Evaluate.py``), the benchmarks and the
web worker all apply a checkpoint through this object; :class:`Models.separation.options.SeparationOptions` says how
(its defaults are ``separate.py``'s).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from Models.config import ModelSpec
from Models.nets.checkpoint_files import resolve_checkpoint
from Models.nets.onnx_files import is_onnx_path, onnx_file_of
from Models.separation.options import SeparationOptions

logger = logging.getLogger(__name__)

ENGINES: tuple[str, ...] = ("auto", "tf", "onnx")


def tensorflow_installed() -> bool:
    """Whether TensorFlow can be imported here (checked without importing it)."""
    import importlib.util

    return importlib.util.find_spec("tensorflow") is not None


def choose_engine(checkpoint: str | os.PathLike, engine: str = "auto", precision: str = "float32") -> str:
    """The engine (``"tf"`` or ``"onnx"``) that runs ``checkpoint``; without TensorFlow.

    ``"auto"`` takes ``"onnx"`` when ``checkpoint`` is an ``.onnx`` file or TensorFlow is not installed, and when
    the checkpoint that ``checkpoint`` resolves to (a run folder's best) has its export beside it
    (``<prefix>.onnx``) and ``precision`` is float32 (or ``"auto"``); else ``"tf"``. An export of another
    checkpoint of the same run is never taken for it.

    Raises:
        ConfigError: an unknown ``engine``, or ``"tf"`` asked for an ``.onnx`` file.
        CheckpointError: ``"auto"`` with TensorFlow, for a checkpoint that does not resolve.
    """
    from Utils import ConfigError

    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if is_onnx_path(checkpoint):
        if engine == "tf":
            raise ConfigError(f"{checkpoint}: an ONNX file needs the onnx engine, not tf")
        return "onnx"
    if engine != "auto":
        return engine
    if not tensorflow_installed():
        return "onnx"
    if precision not in ("auto", "float32"):
        return "tf"  # 16-bit arithmetic is the TF engine's
    prefix, _ = resolve_checkpoint(checkpoint)
    return "onnx" if onnx_file_of(prefix).is_file() else "tf"


class Separator:
    """A restored separator with its model spec (rates, FFT size, sizes: ``Models.config.ModelSpec``).

    Attributes:
        model: the network: the Keras U-Net (``Models.nets.factory.build_separator``, engine ``"tf"``) or an
            ``Models.separation.onnx_engine.OnnxNetwork`` (engine ``"onnx"``).
        spec: its model spec (``expected_sr``: the model's rate in Hz, ``num_fft``, ``num_hop``, ...).
        checkpoint: the checkpoint prefix the weights came from (with the onnx engine: the ONNX file's path
            without ``.onnx``).
        precision: the compute precision in use (``"float32"``, ``"bfloat16"`` or ``"float16"``).
        engine: ``"tf"`` or ``"onnx"``.
    """

    def __init__(self, model: Any, spec: ModelSpec, checkpoint: str, precision: str, engine: str = "tf") -> None:
        self.model = model
        self.spec = spec
        self.checkpoint = checkpoint
        self.precision = precision
        self.engine = engine

    @classmethod
    def load(cls, checkpoint: str | os.PathLike, precision: str = "float32", engine: str = "auto",
             cpu_only: bool = False) -> Separator:
        """Rebuild and restore the separator of ``checkpoint`` and its model spec: the one place that loads a
        trained separator (training's validation, evaluation, ``separate.py``, the benchmarks, the web worker).

        Args:
            checkpoint: a checkpoint prefix (``checkpoints/542621_sup/542621_sup-1001``), a run folder (its best
                checkpoint, else its latest; with the onnx engine, that checkpoint's ``.onnx`` export) or an ``.onnx``
                file.
            precision: compute precision: ``"auto"`` (chosen from the hardware and logged,
                ``Models.separation.precision.choose_precision``; ``separate.py``'s default) or a key of
                ``Models.separation.options.PRECISIONS``: ``"float32"`` (the default, whatever the model was trained
                with), or ``"bfloat16"`` / ``"float16"``: float32 weights, 16-bit arithmetic. bfloat16 is about
                1.7x faster on CPUs with AVX512_BF16 or AMX (slower without them); float16 suits GPUs. The
                log-magnitude estimates then differ from float32 by about 0.5% of their range. The onnx engine
                computes in float32 (``"auto"`` means float32 there).
            engine: ``"auto"`` (see :func:`choose_engine`), ``"tf"`` or ``"onnx"``. The onnx engine imports no
                TensorFlow.
            cpu_only: the onnx engine uses the CPU even when onnxruntime's CUDA provider is there (the TF engine's
                devices are TensorFlow's to set).

        Raises:
            CheckpointError: one line naming the checkpoint: nothing there, no model spec, or weights that do not
                fit the model the spec describes; a missing or unreadable ONNX file.
            ConfigError: an unknown ``engine``; a 16-bit ``precision`` with the onnx engine.
            ValueError: an unknown ``precision``.
        """
        if choose_engine(checkpoint, engine, precision) == "onnx":
            return cls._load_onnx(checkpoint, precision, cpu_only)
        import tensorflow as tf

        from Input.audio.files import one_line
        from Models.nets.checkpoint_files import restore_checkpoint
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
        return cls(model, spec, prefix, str(model.compute_dtype), "tf")  # what "auto" chose

    @classmethod
    def _load_onnx(cls, checkpoint: str | os.PathLike, precision: str, cpu_only: bool) -> Separator:
        """:meth:`load` with the onnx engine."""
        from Models.separation.onnx_engine import OnnxNetwork
        from Models.separation.options import PRECISION_CHOICES
        from Utils import CheckpointError, ConfigError

        if precision not in PRECISION_CHOICES:
            raise ValueError(f"precision must be one of {PRECISION_CHOICES}, got {precision!r}")
        if precision not in ("auto", "float32"):
            raise ConfigError(f"precision {precision} needs the tf engine; the onnx engine computes in float32")
        if is_onnx_path(checkpoint):
            path = Path(checkpoint)
        else:
            prefix, _ = resolve_checkpoint(checkpoint)
            path = onnx_file_of(prefix)
            if not path.is_file():
                raise CheckpointError(f"{prefix}: has no ONNX export ({path.name}); write it with python -m "
                                      f"Models.export --checkpoint {prefix}")
        network = OnnxNetwork.load(path, cpu_only)
        # the checkpoint's prefix (the file's name without .onnx): results are named after it, as with tf
        return cls(network, network.spec, str(path.with_suffix("")), "float32", "onnx")

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
