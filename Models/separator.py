"""Whole-track separation with the U-Net at the model's rate: slide the model over a spectrogram so that every
output frame is predicted exactly once, and turn the estimates back into audio, chunk by chunk.

Sliding window. The mixture's log-normalised magnitude ``[257, frames]`` is padded with the model's time
context at both ends (zeros, i.e. silence, as the original code did) and cut into patches of ``input_time``
frames whose outputs (``output_time`` frames each) tile the track without overlap. Patches are batched so a
long track costs a few large model calls.

Streaming (:class:`StreamingSeparator`). Audio at ``expected_sr`` is fed in pieces of any size; it is
processed in chunks of ``chunk_frames`` output frames (a multiple of ``output_time``), so memory stays bounded
for any track length. Each chunk also predicts ``margin`` frames on both sides (on the same patch grid) and
reads ``context_frames`` more frames of input around those, so that every frame's estimate, and every
overlap-added output sample, is computed from exactly the same numbers as in a single pass over the whole
track: chunk borders are seamless (equal up to float rounding of differently sized batches).

Estimates (``mode``):

* ``"direct"`` (the paper): the magnitude estimate ``expm1(output)`` (clipped at 0) with the mixture's phase;
* ``"mask"``: soft (Wiener-like) masks ``m_v = v^2 / (v^2 + a^2 + eps)``, ``m_a = a^2 / (v^2 + a^2 + eps)``
  built from the estimated magnitudes ``v`` (voice), ``a`` (accompaniment), applied to the mixture's complex
  STFT. The masks sum to (almost) 1, so the two estimates add up to the mixture.

Both are inverted by overlap-add with the analysis window, normalised by the summed squared window, exactly as
``Input.spectrogram.istft`` does, and the output has as many samples as the input.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
import tf_keras as keras

from Input.pipeline import crop_output_to_stft, pad_to_input
from Models.factory import ModelShapes, get_shapes

logger = logging.getLogger(__name__)

SOURCES: tuple[str, ...] = ("accompaniment", "voice")
MODES: tuple[str, ...] = ("direct", "mask")
MASK_EPS = 1e-10  # added to v^2 + a^2 in the soft masks (linear magnitudes squared)


def patch_starts(num_frames: int, shapes: ModelShapes) -> np.ndarray:
    """Start frames (in the context-padded spectrogram) of the patches covering ``num_frames`` output frames.

    Patch ``i`` reads padded frames ``[starts[i], starts[i] + input_time)`` and predicts track frames
    ``[starts[i], starts[i] + output_time)``: outputs tile ``[0, n * output_time)`` exactly once.
    """
    num_patches = max(1, -(-num_frames // shapes.output_time))
    return np.arange(num_patches, dtype=np.int64) * shapes.output_time


def predict_frames(
    model: keras.Model, mix_norm_ctx: np.ndarray, shapes: ModelShapes, batch_size: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate the central frames of a spectrogram that carries its own time context.

    Args:
        model: separator from ``Models.factory.build_separator``.
        mix_norm_ctx: ``[257, context + n + context]`` log1p mixture magnitude, with
            ``context = shapes.context_frames``; the first and last ``context`` frames are context only.
            Missing frames past the end (the last patch may reach beyond it) are zeros.
        shapes: the model's shapes.
        batch_size: patches per model call.

    Returns:
        ``(acc_norm, voice_norm)``, each ``[257, n]`` float32 log1p magnitudes; patches start at frame 0 of
        the ``n`` frames and step by ``output_time``.
    """
    mix_norm_ctx = np.asarray(mix_norm_ctx, dtype=np.float32)
    ctx = shapes.context_frames
    num_frames = mix_norm_ctx.shape[-1] - 2 * ctx
    if num_frames <= 0:
        empty = np.zeros((mix_norm_ctx.shape[0], 0), dtype=np.float32)
        return empty, empty.copy()
    starts = patch_starts(num_frames, shapes)
    total = int(starts[-1]) + shapes.input_time
    padded = np.zeros((mix_norm_ctx.shape[0], total), dtype=np.float32)
    width = min(total, mix_norm_ctx.shape[-1])
    padded[:, :width] = mix_norm_ctx[:, :width]
    padded = np.asarray(pad_to_input(padded, shapes))  # [input_freq, total]
    index = starts[:, None] + np.arange(shapes.input_time)[None, :]  # [patches, input_time]
    acc_parts, voice_parts = [], []
    for begin in range(0, len(starts), max(1, int(batch_size))):
        patches = padded[:, index[begin : begin + batch_size]]  # [freq, n, time]
        patches = np.transpose(patches, (1, 0, 2))[..., None]  # [n, freq, time, 1]
        acc, voice = model(patches, training=False)
        acc_parts.append(_tile(acc, shapes))
        voice_parts.append(_tile(voice, shapes))
    acc_norm = np.concatenate(acc_parts, axis=-1)[:, :num_frames]
    voice_norm = np.concatenate(voice_parts, axis=-1)[:, :num_frames]
    return acc_norm, voice_norm


def predict_magnitudes(
    model: keras.Model, mix_norm: np.ndarray | tf.Tensor, shapes: ModelShapes, batch_size: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate accompaniment and voice for a whole track, in the log-normalised domain.

    Args:
        model: separator from ``Models.factory.build_separator``.
        mix_norm: ``[257, frames]`` log1p mixture magnitude.
        shapes: the model's shapes.
        batch_size: patches per model call.

    Returns:
        ``(acc_norm, voice_norm)``, each ``[257, frames]`` float32 (log1p magnitudes).
    """
    mix_norm = np.asarray(mix_norm, dtype=np.float32)
    ctx = shapes.context_frames
    return predict_frames(model, np.pad(mix_norm, ((0, 0), (ctx, ctx))), shapes, batch_size)


def _tile(estimate: tf.Tensor, shapes: ModelShapes) -> np.ndarray:
    """``[n, output_freq, output_time, 1]`` -> ``[257, n * output_time]`` with patches laid end to end."""
    est = crop_output_to_stft(estimate[..., 0], shapes)  # [n, 257, output_time]
    est = np.asarray(est)
    return np.transpose(est, (1, 0, 2)).reshape(est.shape[1], -1)


def hann_window(num_fft: int) -> np.ndarray:
    """Periodic Hann window ``[num_fft]`` float64, the one ``tf.signal.hann_window`` (and librosa) use."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(num_fft) / num_fft)


def overlap_add(
    frames: np.ndarray, window: np.ndarray, num_hop: int, first_frame: int, start: int, stop: int
) -> np.ndarray:
    """Inverse STFT of some frames, returning samples ``[start, stop)`` of the track.

    Args:
        frames: ``[..., 257, k]`` complex spectrum of track frames ``first_frame .. first_frame + k - 1``
            (frame ``t`` is centred on sample ``t * num_hop``).
        window: ``[num_fft]`` analysis/synthesis window.
        num_hop: hop in samples.
        first_frame: track index of ``frames[..., 0]``.
        start, stop: track sample range wanted. Every frame overlapping it must be among ``frames``.

    Returns:
        ``[..., stop - start]`` float32: windowed inverse FFTs overlap-added and divided by the summed squared
        window where that exceeds 1e-10 (as ``Input.spectrogram.istft``).
    """
    num_fft = window.shape[0]
    k = frames.shape[-1]
    pieces = -(-num_fft // num_hop)  # hop-sized pieces per frame
    signal = np.fft.irfft(np.moveaxis(frames, -1, -2), n=num_fft, axis=-1) * window  # [..., k, num_fft]
    signal = np.concatenate([signal, np.zeros((*signal.shape[:-1], pieces * num_hop - num_fft))], axis=-1)
    signal = signal.reshape(*signal.shape[:-1], pieces, num_hop)  # [..., k, pieces, hop]
    win_sq = np.concatenate([window**2, np.zeros(pieces * num_hop - num_fft)]).reshape(pieces, num_hop)
    out = np.zeros((*signal.shape[:-3], k + pieces - 1, num_hop))
    env = np.zeros((k + pieces - 1, num_hop))
    for r in range(pieces):
        out[..., r : r + k, :] += signal[..., :, r, :]
        env[r : r + k] += win_sq[r]
    out = out.reshape(*out.shape[:-2], -1)
    env = env.reshape(-1)
    out = np.where(env > 1e-10, out / np.where(env > 1e-10, env, 1.0), out)
    origin = first_frame * num_hop - num_fft // 2  # track sample of out[..., 0]
    return out[..., start - origin : stop - origin].astype(np.float32)


class StreamingSeparator:
    """Separates audio at ``expected_sr`` as it arrives; output equals a single pass over the whole track.

    Args:
        model: separator from ``Models.factory.build_separator``.
        model_config: its configuration (``num_fft``, ``num_hop``, ``expected_sr`` and the model's sizes).
        channels: channels of the audio pushed; each is separated independently (mono model).
        chunk_seconds: output length processed per chunk, rounded to whole patches; ``None`` processes the
            whole track in :meth:`finish` (memory grows with the track).
        batch_size: patches per model call (default ``model_config["inference_batch_size"]`` or 16).
        mode: ``"direct"`` or ``"mask"`` (see the module docstring).
        sources: which of ``("accompaniment", "voice")`` to return.

    Use: ``out = sep.push(audio)`` any number of times with ``[channels, n]`` float audio, then
    ``sep.finish()``; each returns ``{source: [channels, m]}`` float32 with the next ``m`` samples of each
    estimate (``m`` may be 0). All returned pieces together have exactly as many samples as were pushed.
    """

    def __init__(
        self,
        model: keras.Model,
        model_config: dict,
        channels: int = 1,
        chunk_seconds: float | None = 30.0,
        batch_size: int | None = None,
        mode: str = "direct",
        sources: Sequence[str] = SOURCES,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        unknown = set(sources) - set(SOURCES)
        if unknown or not sources:
            raise ValueError(f"sources must be a non-empty subset of {SOURCES}, got {tuple(sources)}")
        self.model = model
        self.shapes = get_shapes(model_config)
        self.num_fft = int(model_config["num_fft"])
        self.num_hop = int(model_config["num_hop"])
        self.channels = int(channels)
        self.mode = mode
        self.sources = tuple(sources)
        self.batch_size = int(batch_size or model_config.get("inference_batch_size", 16))
        self.window = hann_window(self.num_fft)
        out_t = self.shapes.output_time
        self.edge = math.ceil(self.num_fft / 2 / self.num_hop)  # frames reaching a sample on either side
        self.margin = out_t * math.ceil(self.edge / out_t)  # extra predicted frames per side, on the grid
        if chunk_seconds is None:
            self.chunk_frames = None
        else:
            if not chunk_seconds > 0:
                raise ValueError(f"chunk_seconds must be > 0 or None, got {chunk_seconds}")
            frames = chunk_seconds * int(model_config["expected_sr"]) / self.num_hop
            self.chunk_frames = out_t * max(1, round(frames / out_t))
        self._buffer = np.zeros((self.channels, 0), dtype=np.float32)
        self._buffer_start = 0  # track sample index of self._buffer[:, 0]
        self._received = 0
        self._next_frame = 0  # first output frame of the next chunk
        self._finished = False

    def push(self, audio: np.ndarray) -> dict[str, np.ndarray]:
        """Add ``[channels, n]`` samples; returns the estimates that are final (see the class docstring)."""
        if self._finished:
            raise RuntimeError("StreamingSeparator: push() after finish()")
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim != 2 or audio.shape[0] != self.channels:
            raise ValueError(f"expected audio [{self.channels}, samples], got shape {audio.shape}")
        self._buffer = np.concatenate([self._buffer, audio], axis=1)
        self._received += audio.shape[1]
        parts = []
        while self.chunk_frames is not None:
            f1 = self._next_frame + self.chunk_frames
            needed = (f1 + self.margin + self.shapes.context_frames - 1) * self.num_hop + self.num_fft // 2
            if needed > self._received:
                break
            parts.append(self._process(f1, total=None))
        return self._join(parts)

    def finish(self) -> dict[str, np.ndarray]:
        """Process what is left, treating the samples pushed so far as the whole track."""
        self._finished = True
        total = self._received
        parts = []
        while self._next_frame * self.num_hop < total:
            num_frames = 1 + total // self.num_hop
            f1 = num_frames if self.chunk_frames is None else self._next_frame + self.chunk_frames
            parts.append(self._process(f1, total=total))
        return self._join(parts)

    def _join(self, parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        if not parts:
            return {s: np.zeros((self.channels, 0), dtype=np.float32) for s in self.sources}
        return {s: np.concatenate([p[s] for p in parts], axis=1) for s in self.sources}

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
        stft = tf.signal.stft(
            segment,
            frame_length=self.num_fft,
            frame_step=hop,
            fft_length=self.num_fft,
            window_fn=tf.signal.hann_window,
            pad_end=False,
        )  # [channels, frames, bins]
        spec[:, :, lo - f0 : hi - f0] = np.transpose(stft.numpy(), (0, 2, 1))
        return spec

    def _process(self, f1: int, total: int | None) -> dict[str, np.ndarray]:
        """Estimate output frames ``[next_frame, f1)``; returns their samples. ``total``: set at the end."""
        f0, ctx, hop = self._next_frame, self.shapes.context_frames, self.num_hop
        num_frames = None if total is None else 1 + total // hop
        g0 = max(0, f0 - self.margin)
        g1 = f1 + self.margin if num_frames is None else min(f1 + self.margin, num_frames)
        mix = self._frames(g0 - ctx, g1 + ctx, num_frames)  # [channels, 257, ctx + (g1 - g0) + ctx]
        mix_norm = np.log1p(np.abs(mix))
        estimates: dict[str, list[np.ndarray]] = {"accompaniment": [], "voice": []}
        for channel in range(self.channels):
            acc_norm, voice_norm = predict_frames(self.model, mix_norm[channel], self.shapes, self.batch_size)
            estimates["accompaniment"].append(acc_norm)
            estimates["voice"].append(voice_norm)
        mags = {s: np.maximum(np.expm1(np.stack(v).astype(np.float64)), 0.0) for s, v in estimates.items()}
        mix = mix[..., ctx : ctx + (g1 - g0)].astype(np.complex128)
        if self.mode == "direct":
            spectra = {s: mags[s] * np.exp(1j * np.angle(mix)) for s in self.sources}
        else:
            power = mags["accompaniment"] ** 2 + mags["voice"] ** 2 + MASK_EPS
            spectra = {s: mags[s] ** 2 / power * mix for s in self.sources}
        start = f0 * hop
        stop = f1 * hop if total is None else min(f1 * hop, total)
        out = {s: overlap_add(spectra[s], self.window, hop, g0, start, stop) for s in self.sources}
        self._next_frame = f1
        keep = max(self._buffer_start, (f1 - self.margin - ctx) * hop - self.num_fft // 2)
        self._buffer = self._buffer[:, keep - self._buffer_start :]
        self._buffer_start = keep
        return out
