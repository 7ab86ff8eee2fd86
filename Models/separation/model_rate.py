"""Whole-track separation with the U-Net at the model's rate: slide the model over a spectrogram so that every
output frame is predicted exactly once, and turn the estimates back into audio, chunk by chunk.

Sliding windows (:mod:`Models.separation.windows`). The mixture's log-normalised magnitude ``[257, frames]`` is padded
with the model's time context at both ends (zeros, i.e. silence, as the original code did) and cut into
windows whose outputs tile the track without overlap: wide windows on a grid of ``2**num_layers`` frames, where
a frame's estimate does not depend on which window computes it, run in batches through one
network call per window shape (a traced ``tf.function``, or onnxruntime: the engines).

Streaming (:class:`ModelRateStream`). Audio at ``expected_sr`` is fed in pieces of any size; it is
processed in chunks of ``chunk_frames`` output frames (a multiple of the grid), so memory stays bounded for any
track length. Each chunk also predicts ``margin`` frames on both sides (on the grid) and reads
``context_frames`` more frames of input around those, so that every frame's estimate, and every overlap-added
output sample, is computed from exactly the same numbers as in a single pass over the whole track: chunk
borders are seamless (equal up to float rounding of differently shaped model calls). All channels of a chunk
share the model calls.

Estimates (``mode``):

* ``"direct"`` (the paper): the magnitude estimate ``expm1(output)`` (clipped to ``[0, expm1(40)]``) with the
  mixture's phase;
* ``"mask"``: soft (Wiener-like) masks ``m_v = v^2 / (v^2 + a^2 + eps)``, ``m_a = a^2 / (v^2 + a^2 + eps)``
  built from the estimated magnitudes ``v`` (voice), ``a`` (accompaniment), applied to the mixture's complex
  STFT. The masks sum to (almost) 1, so the two estimates add up to the mixture. With ``wiener`` EM iterations
  (> 0) the estimates are refined by norbert's multichannel Wiener filter (``Models.separation.masks``) over segments of
  ``wiener_frames`` frames on the track's frame grid: chunks then start on that grid and predict at least one
  segment more on each side, so the borders stay seamless.

With ``extension`` set (the full band, see ``Models.separation.input_rate``), each source's mask is lowered by its
share of the per-frame band gain ``g`` (``Models.separation.masks.band_gain``: ``g`` for the voice, ``1 - g`` for the
accompaniment), so the returned estimates are ``s - g_s * m`` (``m`` the model-rate mixture: the overlap-add of
an unmodified STFT gives it back); and the stream also returns ``"gain"``: ``g`` sampled at ``gain_rate`` (the
input's rate), the per-frame gains overlap-added with the squared window (what a frequency-flat mask row per
frame does to an STFT with these frame times and window) at the model's samples and linearly interpolated at
the input's. ``Models.separation.input_rate`` adds ``g_s * x`` at the input's rate.

Both are inverted by overlap-add with the analysis window, normalised by the summed squared window, exactly as
``Models.nets.spectrogram.istft`` does, and the output has as many samples as the input. Host-side arithmetic is
float32 (complex64), like the model and ``tf.signal``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from Models.config import ModelSpec
from Models.nets.shapes import ModelShapes, get_shapes
from Models.separation.masks import band_gain, soft_masks, wiener
from Models.separation.options import DEFAULT_CHUNK_SECONDS, MODES
from Models.separation.windows import WindowPredictor, get_predictor, plan_windows, trace_count, window_step
from Sample import SOURCES

if TYPE_CHECKING:
    import tensorflow as tf
    import tf_keras as keras

__all__ = [
    "Chunk", "MODES", "SOURCES", "ModelRateStream", "WindowPredictor", "get_predictor", "hann_window", "overlap_add",
    "overlap_add_windowed", "predict_frames", "predict_magnitudes", "trace_count",
]

logger = logging.getLogger(__name__)

WIENER_SECONDS = 4.0  # model-rate audio per Wiener covariance estimate (rounded up to the window grid), s
MAX_LOG_MAGNITUDE = 40.0  # estimates are capped here (|X| ~ 2e17, far above any audio) before expm1


def predict_frames(
    model: keras.Model,
    mix_norm_ctx: np.ndarray,
    shapes: ModelShapes,
    batch_size: int = 16,
    step: int | None = None,
    jit_compile: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate the central frames of a spectrogram that carries its own time context.

    Args:
        model: separator from ``Models.nets.factory.build_separator``.
        mix_norm_ctx: ``[..., 257, context + n + context]`` log1p mixture magnitude (any leading dimensions,
            e.g. channels), with ``context = shapes.context_frames``; the first and last ``context`` frames are
            context only. Missing frames past the end (the last window may reach beyond it) are zeros.
        shapes: the model's shapes.
        batch_size: model work per call in training-size patches (see :func:`plan_windows`).
        step: output frames per window (``None``: the default, see :func:`plan_windows`).
        jit_compile: compile the model call with XLA.

    Returns:
        ``(acc_norm, voice_norm)``, each ``[..., 257, n]`` float32 log1p magnitudes; windows start at frame 0
        of the ``n`` frames and step by the window step.
    """
    mix = np.asarray(mix_norm_ctx, dtype=np.float32)
    lead = mix.shape[:-2]
    predictor = get_predictor(model, shapes, step, batch_size, jit_compile)
    estimates = predictor.predict(mix.reshape(-1, *mix.shape[-2:]))
    estimates = estimates.reshape(2, *lead, *estimates.shape[-2:])
    return estimates[0], estimates[1]


def predict_magnitudes(
    model: keras.Model, mix_norm: np.ndarray | tf.Tensor, shapes: ModelShapes, batch_size: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate accompaniment and voice for a whole track, in the log-normalised domain.

    Args:
        model: separator from ``Models.nets.factory.build_separator``.
        mix_norm: ``[..., 257, frames]`` log1p mixture magnitude.
        shapes: the model's shapes.
        batch_size: model work per call in training-size patches (see :func:`plan_windows`).

    Returns:
        ``(acc_norm, voice_norm)``, each ``[..., 257, frames]`` float32 (log1p magnitudes).
    """
    mix_norm = np.asarray(mix_norm, dtype=np.float32)
    ctx = shapes.context_frames
    pad = [(0, 0)] * (mix_norm.ndim - 1) + [(ctx, ctx)]
    return predict_frames(model, np.pad(mix_norm, pad), shapes, batch_size)


def hann_window(num_fft: int) -> np.ndarray:
    """Periodic Hann window ``[num_fft]`` float64, the one ``tf.signal.hann_window`` (and librosa) use."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(num_fft) / num_fft)


def overlap_add(
    frames: np.ndarray, window: np.ndarray, num_hop: int, first_frame: int, start: int, stop: int
) -> np.ndarray:
    """Inverse STFT of some frames, returning samples ``[start, stop)`` of the track.

    Args:
        frames: ``[..., 257, k]`` complex spectrum of track frames ``first_frame .. first_frame + k - 1``
            (frame ``t`` is centred on sample ``t * num_hop``); complex64 is computed in float32, else float64.
        window: ``[num_fft]`` analysis/synthesis window.
        num_hop: hop in samples.
        first_frame: track index of ``frames[..., 0]``.
        start, stop: track sample range wanted. Every frame overlapping it must be among ``frames``.

    Returns:
        ``[..., stop - start]`` float32: windowed inverse FFTs overlap-added and divided by the summed squared
        window where that exceeds 1e-10 (as ``Models.nets.spectrogram.istft``).
    """
    dtype = np.float32 if frames.dtype == np.complex64 else np.float64
    window = np.asarray(window, dtype=dtype)
    signal = np.fft.irfft(np.moveaxis(frames, -1, -2), n=window.shape[0], axis=-1) * window  # [..., k, num_fft]
    return overlap_add_windowed(signal, window, num_hop, first_frame, start, stop)


def overlap_add_windowed(
    signal: np.ndarray, window: np.ndarray, num_hop: int, first_frame: int, start: int, stop: int
) -> np.ndarray:
    """:func:`overlap_add` of frames already in the time domain and multiplied by the synthesis window.

    Args:
        signal: ``[..., k, num_fft]`` float32 or float64 frames (as :func:`overlap_add`'s).
        window, num_hop, first_frame, start, stop: as :func:`overlap_add`.

    Returns:
        ``[..., stop - start]`` float32, normalised by the summed squared window as :func:`overlap_add`.
    """
    dtype = signal.dtype
    window = np.asarray(window, dtype=dtype)
    num_fft = window.shape[0]
    k = signal.shape[-2]
    pieces = -(-num_fft // num_hop)  # hop-sized pieces per frame
    if pieces * num_hop > num_fft:
        signal = np.concatenate(
            [signal, np.zeros((*signal.shape[:-1], pieces * num_hop - num_fft), dtype)], axis=-1
        )
    signal = signal.reshape(*signal.shape[:-1], pieces, num_hop)  # [..., k, pieces, hop]
    win_sq = np.concatenate([window**2, np.zeros(pieces * num_hop - num_fft, dtype)]).reshape(pieces, num_hop)
    out = np.zeros((*signal.shape[:-3], k + pieces - 1, num_hop), dtype)
    env = np.zeros((k + pieces - 1, num_hop), dtype)
    for r in range(pieces):
        out[..., r : r + k, :] += signal[..., :, r, :]
        env[r : r + k] += win_sq[r]
    out = out.reshape(*out.shape[:-2], -1)
    env = env.reshape(-1)
    origin = first_frame * num_hop - num_fft // 2  # track sample of out[..., 0]
    out, env = out[..., start - origin : stop - origin], env[start - origin : stop - origin]
    return np.where(env > 1e-10, out / np.where(env > 1e-10, env, 1), out).astype(np.float32, copy=False)


@dataclass(frozen=True)
class Chunk:
    """A piece of the stream ready for the model (see :meth:`ModelRateStream.prepare`).

    Attributes:
        features: ``[channels, 257, context + frames + context]`` log1p mixture magnitude, the model input.
        spectrum: ``[channels, 257, frames]`` complex64 mixture STFT of the predicted frames.
        first_frame: track index of the first predicted frame.
        start, stop: the track samples this chunk's audio covers.
    """

    features: np.ndarray
    spectrum: np.ndarray
    first_frame: int
    start: int
    stop: int


class ModelRateStream:
    """Separates audio at ``expected_sr`` as it arrives; output equals a single pass over the whole track.

    Args:
        model: separator from ``Models.nets.factory.build_separator``.
        spec: its model spec (``num_fft``, ``num_hop``, ``expected_sr``, the model's sizes,
            ``inference_batch_size`` and ``jit_compile``).
        channels: channels of the audio pushed; each is separated independently (mono model), in shared calls.
        chunk_seconds: output length processed per chunk, rounded to the window grid; ``None`` processes the
            whole track in :meth:`finish` (memory grows with the track).
        batch_size: model work per call in training-size patches (``None``: ``spec.inference_batch_size``;
            see :func:`plan_windows`).
        mode: ``"direct"`` or ``"mask"`` (see the module docstring).
        sources: which of ``("accompaniment", "voice")`` to return.
        wiener: EM iterations of the multichannel Wiener filter (``"mask"`` mode; 0: the soft masks alone).
        extension: the band extension (``Models.separation.masks.EXTENSIONS``; ``None``: none), see the module
        docstring. gain_rate: the rate ``"gain"`` is sampled at, Hz (``None``: ``expected_sr``).

    Use: ``out = sep.push(audio)`` any number of times with ``[channels, n]`` float audio, then
    ``sep.finish()``; each returns ``{source: [channels, m]}`` float32 with the next ``m`` samples of each
    estimate (``m`` may be 0). All returned pieces together have exactly as many samples as were pushed.
    """

    def __init__(
        self,
        model: keras.Model,
        spec: ModelSpec,
        channels: int = 1,
        chunk_seconds: float | None = DEFAULT_CHUNK_SECONDS,
        batch_size: int | None = None,
        mode: str = "direct",
        sources: Sequence[str] = SOURCES,
        wiener: int = 0,
        extension: str | None = None,
        gain_rate: int | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if wiener < 0 or (wiener and mode != "mask"):
            raise ValueError(f"wiener must be >= 0, and 0 unless mode is 'mask'; got {wiener} with {mode!r}")
        unknown = set(sources) - set(SOURCES)
        if unknown or not sources:
            raise ValueError(f"sources must be a non-empty subset of {SOURCES}, got {tuple(sources)}")
        self.model = model
        self.shapes = get_shapes(spec)
        self.num_fft = spec.num_fft
        self.num_hop = spec.num_hop
        self.channels = int(channels)
        self.mode = mode
        self.sources = tuple(sources)
        self.wiener = int(wiener)
        self.extension = extension
        self.outputs = self.sources + (("gain",) if extension else ())
        self.rate = spec.expected_sr
        self.gain_rate = int(gain_rate or self.rate)
        self.batch_size = int(batch_size or spec.inference_batch_size)
        self.window = hann_window(self.num_fft)
        self._stft_window = self.window.astype(np.float32)  # float32 STFT, like tf.signal.stft
        self._window_squared = self._stft_window**2
        grid = window_grid = plan_windows(model, self.shapes).grid
        self.edge = math.ceil(self.num_fft / 2 / self.num_hop)  # frames reaching a sample on either side
        self.wiener_frames = None
        if self.wiener:  # chunks and margins on the Wiener segments' grid (see the module docstring)
            rate_frames = WIENER_SECONDS * spec.expected_sr / self.num_hop
            grid = self.wiener_frames = grid * math.ceil(rate_frames / grid)
        self.margin = grid * math.ceil(self.edge / grid)  # extra predicted frames per side, on the grid
        step = None
        if chunk_seconds is None:
            self.chunk_frames = None
        else:
            if not chunk_seconds > 0:
                raise ValueError(f"chunk_seconds must be > 0 or None, got {chunk_seconds}")
            frames = chunk_seconds * spec.expected_sr / self.num_hop
            self.chunk_frames = grid * max(1, round(frames / grid))
            step = window_step(self.chunk_frames + 2 * self.margin, window_grid)  # windows that tile a chunk
        jit = spec.jit_compile
        self.predictor = get_predictor(model, self.shapes, step, self.batch_size, jit)
        self._buffer = np.zeros((self.channels, 0), dtype=np.float32)
        self._buffer_start = 0  # track sample index of self._buffer[:, 0]
        self._received = 0
        self._next_frame = 0  # first output frame of the next chunk
        self._finished = False

    def push(self, audio: np.ndarray) -> dict[str, np.ndarray]:
        """Add ``[channels, n]`` samples; returns the estimates that are final (see the class docstring)."""
        return self.finalize([(chunk, self.predict(chunk)) for chunk in self.prepare(audio)])

    def finish(self) -> dict[str, np.ndarray]:
        """Process what is left, treating the samples pushed so far as the whole track."""
        return self.finalize([(chunk, self.predict(chunk)) for chunk in self.prepare_finish()])

    # push() and finish() in three stages, for callers that run them in different threads (as
    # Models.separation.files.separate_file does): prepare (STFT) -> predict (the model) -> finalize (masks, inverse
    # STFT). prepare keeps the stream's state; predict and finalize only read the chunk they are given.

    def prepare(self, audio: np.ndarray) -> list[Chunk]:
        """Add ``[channels, n]`` samples; returns the chunks that can now be estimated."""
        if self._finished:
            raise RuntimeError("ModelRateStream: push() after finish()")
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim != 2 or audio.shape[0] != self.channels:
            raise ValueError(f"expected audio [{self.channels}, samples], got shape {audio.shape}")
        self._buffer = np.concatenate([self._buffer, audio], axis=1)
        self._received += audio.shape[1]
        chunks = []
        while self.chunk_frames is not None:
            f1 = self._next_frame + self.chunk_frames
            needed = (f1 + self.margin + self.shapes.context_frames - 1) * self.num_hop + self.num_fft // 2
            if needed > self._received:
                break
            chunks.append(self._prepare_chunk(f1, total=None))
        return chunks

    def prepare_finish(self) -> list[Chunk]:
        """The remaining chunks, treating the samples pushed so far as the whole track."""
        self._finished = True
        total = self._received
        chunks = []
        while self._next_frame * self.num_hop < total:
            num_frames = 1 + total // self.num_hop
            f1 = num_frames if self.chunk_frames is None else self._next_frame + self.chunk_frames
            chunks.append(self._prepare_chunk(f1, total=total))
        return chunks

    def predict(self, chunk: Chunk) -> np.ndarray:
        """The model's log1p estimates ``[2, channels, 257, frames]`` (accompaniment, voice) for ``chunk``."""
        return self.predictor.predict(chunk.features)

    def finalize(self, estimated: Sequence[tuple[Chunk, np.ndarray]]) -> dict[str, np.ndarray]:
        """Audio of consecutive chunks from their :meth:`predict` estimates: ``{source: [channels, m]}``."""
        parts = [self._finalize_chunk(chunk, estimates) for chunk, estimates in estimated]
        if not parts:
            return {s: np.zeros((self.channels, 0), dtype=np.float32) for s in self.outputs}
        return {s: np.concatenate([p[s] for p in parts], axis=1) for s in self.outputs}

    def _frames(self, f0: int, f1: int, num_frames: int | None) -> np.ndarray:
        """Complex STFT ``[channels, 257, f1 - f0]`` of track frames ``[f0, f1)``; 0 outside the track."""
        half, hop = self.num_fft // 2, self.num_hop
        lo, hi = max(f0, 0), f1 if num_frames is None else min(f1, num_frames)
        spec = np.zeros((self.channels, self.num_fft // 2 + 1, f1 - f0), dtype=np.complex64)
        if hi <= lo:
            return spec
        s0, s1 = lo * hop - half, (hi - 1) * hop + half  # track samples the frames read
        segment = np.zeros((self.channels, s1 - s0), dtype=np.float32)
        a, b = max(s0, self._buffer_start), min(s1, self._received)
        if b > a:
            segment[:, a - s0 : b - s0] = self._buffer[:, a - self._buffer_start : b - self._buffer_start]
        frames = np.lib.stride_tricks.sliding_window_view(segment, self.num_fft, axis=1)[:, ::hop]
        spec[:, :, lo - f0 : hi - f0] = np.fft.rfft(frames * self._stft_window, axis=-1).transpose(0, 2, 1)
        return spec

    def _prepare_chunk(self, f1: int, total: int | None) -> Chunk:
        """The model input for output frames ``[next_frame, f1)`` and what turning its estimates into audio
        needs; advances the stream. ``total``: the track length in samples, once known."""
        f0, ctx, hop = self._next_frame, self.shapes.context_frames, self.num_hop
        num_frames = None if total is None else 1 + total // hop
        g0 = max(0, f0 - self.margin)
        g1 = f1 + self.margin if num_frames is None else min(f1 + self.margin, num_frames)
        mix = self._frames(g0 - ctx, g1 + ctx, num_frames)  # [channels, 257, ctx + (g1 - g0) + ctx]
        stop = f1 * hop if total is None else min(f1 * hop, total)
        chunk = Chunk(np.log1p(np.abs(mix)), mix[..., ctx : ctx + (g1 - g0)], g0, f0 * hop, stop)
        self._next_frame = f1
        keep = max(self._buffer_start, (f1 - self.margin - ctx) * hop - self.num_fft // 2)
        self._buffer = self._buffer[:, keep - self._buffer_start :]
        self._buffer_start = keep
        return chunk

    def _finalize_chunk(self, chunk: Chunk, estimates: np.ndarray) -> dict[str, np.ndarray]:
        """Samples ``[chunk.start, chunk.stop)`` of each source from the chunk's estimates."""
        # float32 from here on; log-magnitudes are capped so that squared magnitudes cannot overflow.
        estimates = np.clip(estimates, None, MAX_LOG_MAGNITUDE)
        mags = dict(zip(SOURCES, np.maximum(np.expm1(estimates), 0.0), strict=True))
        mix = chunk.spectrum
        masks = {}
        if self.extension or (self.mode == "mask" and not self.wiener):
            masks = dict(zip(("voice", "accompaniment"), soft_masks(mags["voice"], mags["accompaniment"]), strict=True))
        if self.mode == "direct":
            size = np.abs(mix)
            phase = np.divide(mix, size, out=np.ones_like(mix), where=size > 0)  # exp(i angle), 1 at 0
            spectra = {s: mags[s] * phase for s in self.sources}
        elif self.wiener:
            filtered = wiener(mags["voice"], mags["accompaniment"], mix, self.wiener, self.wiener_frames)
            spectra = dict(zip(("voice", "accompaniment"), filtered, strict=True))
        else:
            spectra = {s: masks[s] * mix for s in self.sources}
        gain = None
        if self.extension:  # see the module docstring; the overlap-add of g_t * mix is g * m
            gain = band_gain(masks["voice"], self.extension)  # [channels, frames]
            shares = {"voice": gain, "accompaniment": 1.0 - gain}
            spectra = {s: spectra[s] - shares[s][:, None, :] * mix for s in self.sources}
        out = {s: overlap_add(spectra[s], self.window, self.num_hop, chunk.first_frame, chunk.start, chunk.stop)
               for s in self.sources}
        if gain is not None:
            out["gain"] = self._gain_at_output_rate(gain, chunk)
        return out

    def _gain_at_output_rate(self, gain: np.ndarray, chunk: Chunk) -> np.ndarray:
        """The band gain ``[channels, m]`` at the ``gain_rate`` samples ``i`` with ``i / gain_rate`` in
        ``[start, stop) / expected_sr``: the per-frame gains ``[channels, frames]`` overlap-added with the squared
        window at the model's samples ``start .. stop`` (what :func:`overlap_add` makes of the spectra
        ``g_t * rfft(window)``), linearly interpolated at those times."""
        at_model_rate = overlap_add_windowed(
            gain[:, :, None] * self._window_squared, self._stft_window, self.num_hop, chunk.first_frame,
            chunk.start, chunk.stop + 1,
        )  # frames reach one sample past stop: the chunk's margin, or the track's last frame
        first, end = (-(-n * self.gain_rate // self.rate) for n in (chunk.start, chunk.stop))
        step = self.rate / self.gain_rate
        times = np.arange(end - first, dtype=np.float64)
        times *= step
        times += first * step - chunk.start  # model samples after the chunk's start
        samples = np.arange(at_model_rate.shape[-1], dtype=np.float64)
        out = np.empty((at_model_rate.shape[0], end - first), dtype=np.float32)
        for channel, gain_of_channel in enumerate(at_model_rate):
            out[channel] = np.interp(times, samples, gain_of_channel)
        return out
