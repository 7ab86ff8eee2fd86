"""Separation of audio at any sample rate and channel count, in memory (:func:`separate`); streamed from file to
file in ``Models.separation.files``.

Glossary: the *separator* is the U-Net (``Models.nets.factory.build_separator``, restored by
``Models.api.Separator.load``); :class:`Models.separation.model_rate.ModelRateStream` slides it over a stream
of audio at the model's rate (``expected_sr``); :class:`InputRateStream` wraps that with resampling from and to the
input's rate and the residual accompaniment; :class:`Models.separation.options.SeparationOptions` says how.

The model works on mono audio at ``expected_sr``. Each input channel is resampled to ``expected_sr`` (soxr HQ,
streaming, identical to a one-shot resample) and separated on its own, in shared model calls
(``ModelRateStream`` in ``"mask"`` mode: soft masks ``m_v = v^2 / (v^2 + a^2 + eps)`` from the estimated
magnitudes, applied to the channel's STFT with its phase, or norbert's multichannel Wiener filter over the
channels jointly when ``options.wiener > 0``), inverted, and resampled back to the input rate.

Vocal band (``options.vocals_band``). ``"model"`` (the default): the vocals are that estimate alone, band-limited to
``expected_sr / 2``. ``"full"`` (when the input's rate is above ``expected_sr``): the model's mask is mapped onto
the input's native-rate spectrum up to ``expected_sr / 2`` and extended above it by a per-frame vocal gain ``g``
(``options.extension``, ``Models.separation.masks.band_gain``). A frequency-flat mask row ``g_t`` per frame, applied
to an STFT with the model's frame times and window at any rate, multiplies the signal by ``g``: the per-frame gains
overlap-added with the squared window (``Models.separation.model_rate.ModelRateStream``). So the vocals are
``up(v - g m) + g x``: ``g x`` is the vocal share of the input over its whole band, and its model band, ``up(g m)``
(``m`` the model-rate mixture, ``up`` the soxr resampling back), is replaced by the model's estimate ``up(v)``.
``v - g m`` comes out of the model-rate stream in one inverse STFT (its mask lowered by ``g``), and ``g`` is
evaluated at the input's sample times, so the full band costs no extra inverse STFT or resampling.

The accompaniment is, by default (``accompaniment="residual"``), ``mixture - vocals`` at the input's full band, so
the two outputs add up to the input exactly; ``accompaniment="model"`` uses the model's own estimate (in the full
band ``up(a - (1 - g) m) + (1 - g) x``). Outputs have the input's rate, channel count and length. Long input is
processed in chunks of ``chunk_seconds`` (see ``Models.separation.model_rate``) with bounded memory.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import soxr

from Models.config import ModelSpec
from Models.separation.model_rate import Chunk, ModelRateStream
from Models.separation.options import OUTPUT_SOURCES, SeparationOptions

if TYPE_CHECKING:
    import tf_keras as keras

logger = logging.getLogger(__name__)


class InputRateStream:
    """Streaming separation at the input's rate (see the module docstring).

    Args:
        model, spec: the separator and its model spec (``Models.api.Separator.load``).
        sample_rate: rate of the audio pushed, Hz.
        channels: its channel count.
        options: ``accompaniment``, ``chunk_seconds``, ``batch_size``, ``mode``, ``vocals_band``,
            ``extension`` and ``wiener`` are used (default ``SeparationOptions()``).

    ``push([channels, n])`` and ``finish()`` return
    ``{"vocals": [channels, m], "accompaniment": [channels, m]}`` float32; all pieces together are exactly
    as long as the input.
    """

    def __init__(
        self,
        model: keras.Model,
        spec: ModelSpec,
        sample_rate: int,
        channels: int,
        options: SeparationOptions | None = None,
    ) -> None:
        options = options or SeparationOptions()
        if sample_rate <= 0 or channels <= 0:
            raise ValueError(f"need a positive sample rate and channel count, got {sample_rate}, {channels}")
        self.residual = options.accompaniment == "residual"
        self.channels = int(channels)
        model_rate = spec.expected_sr
        sources = ("voice",) if self.residual else ("voice", "accompaniment")
        self._names = {"voice": "vocals", "accompaniment": "accompaniment"}
        # the full band differs from the model's only above expected_sr / 2
        self.full_band = options.vocals_band == "full" and int(sample_rate) > model_rate
        extension = options.extension if self.full_band else None
        self.core = ModelRateStream(
            model, spec, channels, options.chunk_seconds, options.batch_size, options.mode, sources,
            options.wiener, extension, int(sample_rate),
        )
        resample = int(sample_rate) != model_rate

        def stream(a: int, b: int) -> soxr.ResampleStream | None:
            return (
                soxr.ResampleStream(a, b, self.channels, dtype="float32", quality="HQ") if resample else None
            )

        self._down = stream(int(sample_rate), model_rate)
        # the core's sources, resampled to the input rate; its "gain" (full band) is sampled at the input rate
        self._up = {s: stream(model_rate, int(sample_rate)) if s in sources else None for s in self.core.outputs}
        self._mix = np.zeros((self.channels, 0), dtype=np.float32)  # input not yet matched by estimates
        self._pending = {s: np.zeros((self.channels, 0), dtype=np.float32) for s in self.core.outputs}

    def push(self, audio: np.ndarray) -> dict[str, np.ndarray]:
        """Add ``[channels, n]`` input samples; returns the output samples that are ready."""
        audio = np.asarray(audio, dtype=np.float32)
        chunks = self.prepare(audio)
        return self.deliver([(c, self.core.predict(c)) for c in chunks], audio)

    def finish(self) -> dict[str, np.ndarray]:
        """Flush the resamplers and the separator; returns the remaining output samples."""
        chunks = self.prepare(np.zeros((self.channels, 0), dtype=np.float32), last=True)
        return self.deliver([(c, self.core.predict(c)) for c in chunks], np.zeros((self.channels, 0)), last=True)

    # push() and finish() in three stages, for callers that run them in different threads (see separate_file):
    # prepare (resample, STFT) -> self.core.predict (the model) -> deliver (masks, inverse STFT, resample back).
    # Each stage's calls must keep the input's order; different stages may run at the same time.

    def prepare(self, audio: np.ndarray, last: bool = False) -> list[Chunk]:
        """Stage 1: ``[channels, n]`` input-rate samples (``last``: the input has ended) -> model-rate chunks."""
        if audio.ndim != 2 or audio.shape[0] != self.channels:
            raise ValueError(f"expected audio [{self.channels}, samples], got shape {audio.shape}")
        low = audio
        if self._down is not None:
            low = self._down.resample_chunk(np.ascontiguousarray(audio.T, dtype=np.float32), last=last).T
        chunks = self.core.prepare(low)
        return chunks + self.core.prepare_finish() if last else chunks

    def deliver(self, estimated: Sequence[tuple[Chunk, np.ndarray]], audio: np.ndarray, last: bool = False
                ) -> dict[str, np.ndarray]:
        """Stage 3: chunks with their estimates, and the input block that came with them -> the input-rate
        output samples that are ready (``last``: all the rest)."""
        # (Memory: the signals here are up to a chunk long at the input's rate, so no more copies are made than
        # needed, and blocks are released as soon as they have been used: see test_long_input_memory_stays_bounded.)
        self._mix = _append(self._mix, np.asarray(audio, dtype=np.float32))
        for source, low in self.core.finalize(estimated).items():
            up = self._up[source]
            self._pending[source] = _append(
                self._pending[source], low if up is None else up.resample_chunk(np.ascontiguousarray(low.T), last).T
            )
        n = self._mix.shape[1] if last else min([self._mix.shape[1], *(p.shape[1] for p in self._pending.values())])
        ready = {}
        for source, pending in self._pending.items():
            if pending.shape[1] < n:  # the resampled estimate may end a sample or two early
                mode = "edge" if source == "gain" and pending.shape[1] else "constant"
                pending = np.pad(pending, ((0, 0), (0, n - pending.shape[1])), mode=mode)
            ready[source] = pending[:, :n]
            self._pending[source] = pending[:, n:].copy()  # a few samples
        mix, self._mix = self._mix[:, :n], self._mix[:, n:].copy()
        out = {self._names[s]: ready[s] for s in self.core.sources}
        if self.full_band:  # (see the module docstring)
            share = ready["gain"] * mix
            if not self.residual:
                out["accompaniment"] = out["accompaniment"] + (mix - share)
            out["vocals"] = np.add(out["vocals"], share, out=share)
        if self.residual:
            out["accompaniment"] = mix - out["vocals"]
        return out


def _append(pending: np.ndarray, block: np.ndarray) -> np.ndarray:
    """``[channels, a]`` then ``[channels, b]`` -> ``[channels, a + b]`` (``block`` itself when ``a == 0``)."""
    return np.concatenate([pending, block], axis=1) if pending.shape[1] else block


def separate(
    audio: np.ndarray,
    sr: int,
    model: keras.Model,
    spec: ModelSpec,
    options: SeparationOptions | None = None,
) -> dict[str, np.ndarray]:
    """Separate vocals and accompaniment of an in-memory signal.

    Args:
        audio: ``[channels, samples]`` float mixture (nominally in [-1, 1]); a 1-D array is one channel.
        sr: its sample rate in Hz (any; resampled to the model's rate and back).
        model, spec: from ``Models.api.Separator.load``.
        options: ``accompaniment``, ``chunk_seconds``, ``batch_size``, ``mode``, ``vocals_band``,
            ``extension`` and ``wiener`` are used (default ``SeparationOptions()``).

    Returns:
        ``{"vocals": [channels, samples], "accompaniment": [channels, samples]}`` float32, same shape as
        ``audio`` and at rate ``sr``.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None, :]
    if audio.ndim != 2 or audio.shape[0] == 0 or audio.shape[1] == 0:
        raise ValueError(f"audio must be [channels, samples] with samples > 0, got shape {audio.shape}")
    if not np.all(np.isfinite(audio)):
        raise ValueError("audio contains NaN or infinite samples")
    options = options or SeparationOptions()
    sep = InputRateStream(model, spec, int(sr), audio.shape[0], options)
    chunk_seconds = options.chunk_seconds
    block = audio.shape[1] if chunk_seconds is None else max(1, int(chunk_seconds * sr))
    parts = [sep.push(audio[:, i : i + block]) for i in range(0, audio.shape[1], block)]
    parts.append(sep.finish())
    return {name: np.concatenate([p[name] for p in parts], axis=1) for name in OUTPUT_SOURCES}
