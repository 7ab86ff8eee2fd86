"""Sliding the separator over a spectrogram in wide windows, with one network call per window shape.

The U-Net has only valid convolutions, so it accepts any input width of the form
:func:`Models.nets.unet.get_padding` gives. Inference uses windows far wider than the training patch (``step``
output frames kept per window, about 500 by default, instead of ``output_time`` = 66 for the paper's model),
which spends a smaller share of the work on the ``context_frames`` read on both sides (0.466 instead of 0.579
GFLOP per second of mono audio). Every window starts on a multiple of ``grid = 2**num_layers`` frames, where the
network's pooling grid lines up with that of any other window: a frame's estimate is the same whichever window
(or chunk) computes it. Whatever is left at the end of a spectrogram is covered by training-size windows when
that is cheaper than one more wide window.

The network call is the only part that differs between the engines: the TF engine
(``Models.separation.tf_engine``, for Keras models) has one ``tf.function`` per window shape with a fixed input
signature (the batch dimension is free unless
``jit_compile``, where batches are padded to ``per_call`` windows so XLA compiles once), so nothing retraces
across tracks, chunks or lengths (:func:`trace_count`); the ONNX engine (``Models.separation.onnx_engine``, for
networks with a ``window_function`` method) runs onnxruntime, whose axes are free. No TensorFlow is imported here.
Predictors are cached per model (weakly) and shape
(:func:`get_predictor`). Models that are not a ``Models.nets.unet.Unet`` are run on patches of their built size,
``input_time`` -> ``output_time``, on a grid of ``output_time`` frames.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from Models.nets.padding import get_padding
from Models.nets.shapes import ModelShapes

if TYPE_CHECKING:
    import tf_keras as keras

logger = logging.getLogger(__name__)

MAX_WINDOW_FRAMES = 512  # widest inference window, output frames (~40 MB of activations each, paper's model)


@dataclass(frozen=True)
class Windows:
    """How a model is slid over a spectrogram (all sizes in STFT frames)."""

    step: int  # output frames kept per window: window j predicts frames [j * step, (j + 1) * step)
    input_time: int  # frames each window reads (its first ``context_frames`` and last ones are context)
    output_time: int  # frames the model returns per window (>= step; those past ``step`` are dropped)
    grid: int  # window starts (and chunk borders) lie on multiples of this
    per_call: int  # windows per model call


def window_step(frames: int, grid: int, limit: int = MAX_WINDOW_FRAMES) -> int:
    """Window step (a multiple of ``grid``, at most about ``limit``) that tiles ``frames`` frames with the fewest
    windows and the least padding: ``frames = 992, grid = 16`` gives 496 (two windows)."""
    count = max(1, -(-int(frames) // max(grid, int(limit))))
    return grid * max(1, -(-int(frames) // (count * grid)))


def unet_layers(model: Any) -> int | None:
    """The depth of a U-Net separator (a ``Models.nets.unet.Unet``, or another engine's network that says it is one
    by its ``num_layers``, as ``Models.separation.onnx_engine.OnnxNetwork``); None for any other model."""
    if hasattr(model, "window_function"):
        return int(model.num_layers)
    from Models.nets.unet import Unet  # the model is a Keras one: TensorFlow is imported already

    return model.num_layers if isinstance(model, Unet) else None


def plan_windows(model: keras.Model, shapes: ModelShapes, step: int | None = None, batch_size: int = 16) -> Windows:
    """Window geometry for ``model``.

    Args:
        model: the separator. A ``Models.nets.unet.Unet`` gets windows of ``step`` output frames (rounded up to its
            grid ``2**num_layers``; ``None``: :data:`MAX_WINDOW_FRAMES`); any other model gets its built patch
            size (``shapes.input_time`` -> ``shapes.output_time``, grid ``output_time``).
        shapes: the model's shapes.
        step: output frames per window, see above.
        batch_size: model work per call in training-size patches (``output_time`` frames each): a window of
            ``step`` frames counts as ``step / output_time`` patches, and every call takes at least one window.
    """
    num_layers = unet_layers(model)
    if num_layers is not None:
        grid = 2**num_layers
        step = grid * max(1, -(-int(step or MAX_WINDOW_FRAMES) // grid))
        (in_freq, in_time), (_, out_time) = get_padding((shapes.num_bins, step), num_layers)
        if in_freq == shapes.input_freq and (in_time - out_time) // 2 == shapes.context_frames:
            per_call = max(1, int(batch_size) * shapes.output_time // step)
            return Windows(step, in_time, out_time, grid, per_call)
        logger.warning("U-Net does not match its config's shapes; using training-size patches")
    out = shapes.output_time
    return Windows(out, shapes.input_time, out, out, max(1, int(batch_size)))


class _WindowFunction:
    """One window shape: the engine's network call (see the module docstring), fed in batches of ``per_call``."""

    def __init__(self, model: weakref.ref, shapes: ModelShapes, windows: Windows, jit_compile: bool) -> None:
        self.shapes = shapes
        self.windows = windows
        self.jit_compile = jit_compile
        network = model()
        make = getattr(network, "window_function", None)  # engines other than Keras (Models.separation.onnx_engine)
        if make is None:
            from Models.separation.tf_engine import KerasWindowFunction

            self.run = KerasWindowFunction(model, shapes, windows.input_time, windows.step,
                                           windows.per_call if jit_compile else None, jit_compile)
        else:
            self.run = make(shapes, windows.step, jit_compile)

    @property
    def traces(self) -> int:
        """Traces of the network call (TF engine: at most one; other engines trace nothing)."""
        return self.run.traces

    @property
    def function(self) -> Any:
        """The TF engine's ``tf.function`` (None for other engines)."""
        return getattr(self.run, "function", None)

    def __call__(self, padded: np.ndarray, first: int, count: int) -> np.ndarray:
        """Estimates ``[2, channels, 257, count * step]`` of the ``count`` windows starting at frame ``first``
        of ``padded`` ``[channels, input_freq, frames]`` (context-padded; long enough for all of them)."""
        win = self.windows
        channels = padded.shape[0]
        region = padded[:, :, first : first + (count - 1) * win.step + win.input_time]
        views = np.lib.stride_tricks.sliding_window_view(region, win.input_time, axis=2)[:, :, :: win.step]
        parts = []
        for begin in range(0, channels * count, win.per_call):  # windows ordered by channel, then time
            channel, window = np.divmod(np.arange(begin, min(begin + win.per_call, channels * count)), count)
            part = views[channel, :, window][..., None]  # copies only this call's windows: [n, freq, time, 1]
            size = len(part)
            if self.jit_compile and size < win.per_call:
                part = np.concatenate([part, np.zeros((win.per_call - size, *part.shape[1:]), np.float32)])
            parts.append(self.run(part)[:, :size])
        estimates = np.concatenate(parts, axis=1).reshape(2, channels, count, -1, win.step)
        return estimates.transpose(0, 1, 3, 2, 4).reshape(2, channels, -1, count * win.step)


class WindowPredictor:
    """Runs a separator over a spectrogram in windows (see the module docstring).

    Wide windows (``windows``) cover the frames; what is left at the end is covered by training-size windows
    (``tail``) when that costs less than one more wide window. Each shape has one ``tf.function`` with a fixed
    input signature; ``traces`` counts how often they were traced. Get instances from :func:`get_predictor`.
    """

    def __init__(
        self, model: keras.Model, shapes: ModelShapes, windows: Windows, tail: Windows, jit_compile: bool = False
    ) -> None:
        ref = weakref.ref(model)
        self.shapes = shapes
        self.windows = windows
        self.tail = tail
        self.jit_compile = bool(jit_compile)
        self.main = _WindowFunction(ref, shapes, windows, self.jit_compile)
        self.small = self.main if tail == windows else _WindowFunction(ref, shapes, tail, self.jit_compile)

    @property
    def traces(self) -> int:
        """Traces of the window functions so far (at most one per window shape)."""
        return self.main.traces + (self.small.traces if self.small is not self.main else 0)

    def _split(self, num_frames: int) -> tuple[int, int]:
        """``(wide, small)`` window counts covering ``num_frames`` frames at the least estimated cost."""
        wide, rest = divmod(num_frames, self.windows.step)
        if rest == 0:
            return wide, 0
        small = -(-rest // self.tail.step)
        ctx = self.shapes.context_frames  # cost of a window ~ output_time + context_frames (FLOP count fit)
        if small * (self.tail.output_time + ctx) < self.windows.output_time + ctx:
            return wide, small
        return wide + 1, 0

    def predict(self, mix_norm_ctx: np.ndarray) -> np.ndarray:
        """Estimates for the central frames of spectrograms that carry their own time context.

        Args:
            mix_norm_ctx: ``[channels, 257, context + n + context]`` log1p mixture magnitudes, ``context =
                shapes.context_frames``; the first and last ``context`` frames are context only. Frames past
                the end that a window reads are zeros. Frame 0 of the ``n`` frames must lie on the grid.

        Returns:
            ``[2, channels, 257, n]`` float32 log1p magnitudes: accompaniment, then voice.
        """
        mix = np.asarray(mix_norm_ctx, dtype=np.float32)
        shapes = self.shapes
        channels, bins, width = mix.shape
        if bins != shapes.num_bins:
            raise ValueError(f"expected [channels, {shapes.num_bins}, frames], got shape {mix.shape}")
        num_frames = width - 2 * shapes.context_frames
        if num_frames <= 0:
            return np.zeros((2, channels, bins, 0), dtype=np.float32)
        wide, small = self._split(num_frames)
        split = wide * self.windows.step  # first frame of the small windows
        total = max(
            (wide - 1) * self.windows.step + self.windows.input_time if wide else 0,
            split + (small - 1) * self.tail.step + self.tail.input_time if small else 0,
        )
        padded = np.zeros((channels, shapes.input_freq, max(total, width)), dtype=np.float32)
        padded[:, shapes.input_rows, :width] = mix
        parts = []
        if wide:
            parts.append(self.main(padded, 0, wide))
        if small:
            parts.append(self.small(padded, split, small))
        return np.concatenate(parts, axis=-1)[..., :num_frames]


_PREDICTORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {(shapes, windows, jit): ...}


def get_predictor(
    model: keras.Model,
    shapes: ModelShapes,
    step: int | None = None,
    batch_size: int = 16,
    jit_compile: bool = False,
) -> WindowPredictor:
    """The cached :class:`WindowPredictor` of ``model`` for :func:`plan_windows` ``(step, batch_size)``; its
    tail windows keep ``output_time`` rounded down to the grid (the training patch for the paper's model)."""
    windows = plan_windows(model, shapes, step, batch_size)
    tail = plan_windows(model, shapes, max(windows.grid, shapes.output_time // windows.grid * windows.grid),
                        batch_size)
    if tail.step >= windows.step:
        tail = windows
    cache = _PREDICTORS.setdefault(model, {})
    key = (shapes, windows, tail, bool(jit_compile))
    if key not in cache:
        cache[key] = WindowPredictor(model, shapes, windows, tail, jit_compile)
        logger.debug("inference windows for %s: %s, tail %s, jit_compile=%s", model.name, windows, tail, jit_compile)
    return cache[key]


def trace_count(model: keras.Model) -> int:
    """How many times the inference functions of ``model`` have been traced (one per window shape if all is well)."""
    return sum(p.traces for p in _PREDICTORS.get(model, {}).values())
