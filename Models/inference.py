"""Separation of audio at any sample rate and channel count, in memory (:func:`separate`) or streamed from
file to file (:func:`separate_file`), and the one way to load a trained separator (:func:`load_separator`).

The model works on mono audio at ``expected_sr``. Each input channel is resampled to ``expected_sr`` (soxr HQ,
streaming, identical to a one-shot resample), separated on its own with soft masks
(:class:`Models.separator.StreamingSeparator` in ``"mask"`` mode: ``m_v = v^2 / (v^2 + a^2 + eps)`` from
the estimated magnitudes, applied to the channel's STFT with its phase), inverted, and resampled back to the
input rate. The vocals estimate is therefore band-limited to ``expected_sr / 2``. The accompaniment is, by
default (``accompaniment="residual"``), ``mixture - vocals`` at the input's full band, so it keeps the
mixture's high frequencies and the two outputs add up to the input exactly; ``accompaniment="model"`` uses the
model's own estimate (masked and resampled like the vocals). Outputs have the input's rate, channel count and
length. Long input is processed in chunks of ``chunk_seconds`` (see ``Models.separator``) with bounded memory.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import soxr
import tensorflow as tf
import tf_keras as keras

from Input.audio import AudioError, one_line
from Input.audio_stream import AudioReader, AudioWriter
from Models.distribute import precision_policy
from Models.factory import build_separator
from Models.separator import Chunk, StreamingSeparator
from Utils import CheckpointError, resolve_checkpoint

logger = logging.getLogger(__name__)

ACCOMPANIMENT_MODES: tuple[str, ...] = ("residual", "model")
OUTPUT_SOURCES: tuple[str, ...] = ("vocals", "accompaniment")
DEFAULT_CHUNK_SECONDS = 30.0
# Inference compute precision -> the Keras mixed-precision policy the separator is built with.
PRECISIONS: dict[str, str] = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
PREPARED_BLOCKS = 4  # input blocks (of up to 10 s) that separate_file's producer may prepare ahead of the model
WRITE_QUEUE = 2  # blocks of estimates that may wait for the writer


def load_separator(checkpoint: str | os.PathLike, precision: str = "float32") -> tuple[keras.Model, dict, str]:
    """Rebuild and restore a trained separator.

    Args:
        checkpoint: a checkpoint prefix (``checkpoints/542621_sup/542621_sup-1001``) or a run folder (its best
            checkpoint, else its latest).
        precision: compute precision (a key of :data:`PRECISIONS`): ``"float32"`` (default, whatever the
            model was trained with), or ``"bfloat16"`` / ``"float16"``: float32 weights, 16-bit arithmetic.
            bfloat16 is about 1.7x faster on CPUs with AVX512_BF16 or AMX (slower without them); float16 suits
            GPUs. The log-magnitude estimates then differ from float32 by about 0.5% of their range.

    Returns:
        ``(model, model_config, prefix)``: the restored ``Models.factory.build_separator`` model, the
        configuration read from the run's ``model_config.json``, and the checkpoint prefix used.

    Raises:
        CheckpointError: (one line, naming the checkpoint) nothing there, no config, or weights that do not
            fit the model the config describes.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {tuple(PRECISIONS)}, got {precision!r}")
    prefix, model_config = resolve_checkpoint(checkpoint)
    try:
        with precision_policy({"mixed_precision": PRECISIONS[precision]}):
            model = build_separator(model_config)
    except (ValueError, KeyError, TypeError) as err:
        raise CheckpointError(
            f"{prefix}: cannot build the model of its model_config.json ({one_line(err)})"
        ) from err
    try:
        status = tf.train.Checkpoint(model=model).read(prefix)
        status.expect_partial()
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as err:
        raise CheckpointError(
            f"{prefix}: weights do not match the model of its model_config.json ({one_line(err, 200)})"
        ) from err
    logger.info("loaded separator from %s", prefix)
    return model, model_config, prefix


class TrackSeparator:
    """Streaming separation at the input's rate (see the module docstring).

    Args:
        model, model_config: the separator and its configuration.
        sample_rate: rate of the audio pushed, Hz.
        channels: its channel count.
        accompaniment: ``"residual"`` (mixture - vocals, full band) or ``"model"``.
        chunk_seconds: model-rate chunk length (``None``: whole track at once).
        batch_size: patches per model call.
        mode: ``"mask"`` (default, soft masks) or ``"direct"`` (estimated magnitude with the mixture phase).

    ``push([channels, n])`` and ``finish()`` return
    ``{"vocals": [channels, m], "accompaniment": [channels, m]}`` float32; all pieces together are exactly
    as long as the input.
    """

    def __init__(
        self,
        model: keras.Model,
        model_config: dict,
        sample_rate: int,
        channels: int,
        accompaniment: str = "residual",
        chunk_seconds: float | None = DEFAULT_CHUNK_SECONDS,
        batch_size: int | None = None,
        mode: str = "mask",
    ) -> None:
        if accompaniment not in ACCOMPANIMENT_MODES:
            raise ValueError(f"accompaniment must be one of {ACCOMPANIMENT_MODES}, got {accompaniment!r}")
        if sample_rate <= 0 or channels <= 0:
            raise ValueError(f"need a positive sample rate and channel count, got {sample_rate}, {channels}")
        self.residual = accompaniment == "residual"
        self.channels = int(channels)
        model_rate = int(model_config["expected_sr"])
        sources = ("voice",) if self.residual else ("voice", "accompaniment")
        self._names = {"voice": "vocals", "accompaniment": "accompaniment"}
        self.core = StreamingSeparator(
            model, model_config, channels, chunk_seconds, batch_size, mode, sources
        )
        resample = int(sample_rate) != model_rate

        def stream(a: int, b: int) -> soxr.ResampleStream | None:
            return (
                soxr.ResampleStream(a, b, self.channels, dtype="float32", quality="HQ") if resample else None
            )

        self._down = stream(int(sample_rate), model_rate)
        self._up = {s: stream(model_rate, int(sample_rate)) for s in sources}
        self._mix = np.zeros((self.channels, 0), dtype=np.float32)  # input not yet matched by estimates
        self._pending = {s: np.zeros((self.channels, 0), dtype=np.float32) for s in sources}

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
        self._mix = np.concatenate([self._mix, np.asarray(audio, dtype=np.float32)], axis=1)
        for source, low in self.core.finalize(estimated).items():
            up = self._up[source]
            full = low if up is None else up.resample_chunk(np.ascontiguousarray(low.T), last=last).T
            self._pending[source] = np.concatenate([self._pending[source], full], axis=1)
        n = self._mix.shape[1] if last else min([self._mix.shape[1], *(p.shape[1] for p in self._pending.values())])
        out = {}
        for source, pending in self._pending.items():
            if pending.shape[1] < n:  # the resampled estimate may end a sample or two early
                pending = np.pad(pending, ((0, 0), (0, n - pending.shape[1])))
            out[self._names[source]] = pending[:, :n]
            self._pending[source] = pending[:, n:]
        if self.residual:
            out["accompaniment"] = self._mix[:, :n] - out["vocals"]
        self._mix = self._mix[:, n:]
        return out


def separate(
    audio: np.ndarray,
    sr: int,
    model: keras.Model,
    model_config: dict,
    *,
    accompaniment: str = "residual",
    chunk_seconds: float | None = DEFAULT_CHUNK_SECONDS,
    batch_size: int | None = None,
    mode: str = "mask",
) -> dict[str, np.ndarray]:
    """Separate vocals and accompaniment of an in-memory signal.

    Args:
        audio: ``[channels, samples]`` float mixture (nominally in [-1, 1]); a 1-D array is one channel.
        sr: its sample rate in Hz (any; resampled to the model's rate and back).
        model, model_config: from :func:`load_separator`.
        accompaniment: ``"residual"`` (mixture - vocals at full band, default) or ``"model"``.
        chunk_seconds: chunk length of the model-rate processing (``None``: one pass; same result).
        batch_size: patches per model call (default ``model_config["inference_batch_size"]``).
        mode: ``"mask"`` (soft masks, default) or ``"direct"`` (paper: estimate with the mixture phase).

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
    sep = TrackSeparator(
        model, model_config, int(sr), audio.shape[0], accompaniment, chunk_seconds, batch_size, mode
    )
    block = audio.shape[1] if chunk_seconds is None else max(1, int(chunk_seconds * sr))
    parts = [sep.push(audio[:, i : i + block]) for i in range(0, audio.shape[1], block)]
    parts.append(sep.finish())
    return {name: np.concatenate([p[name] for p in parts], axis=1) for name in OUTPUT_SOURCES}


def separate_file(
    path: str | os.PathLike,
    outputs: Mapping[str, str | os.PathLike],
    model: keras.Model,
    model_config: dict,
    *,
    offset: float = 0.0,
    duration: float | None = None,
    fmt: str = "wav",
    bit_depth: int = 16,
    accompaniment: str = "residual",
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
    batch_size: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> dict:
    """Separate an audio file into output files, streaming (memory independent of the file's length).

    Args:
        path: input audio (wav, flac, ogg, aiff, mp3, m4a, mp4: first audio stream).
        outputs: ``{"vocals": path, "accompaniment": path}`` (either may be left out); written atomically
            with the input's rate and channel count and the length of the excerpt read.
        model, model_config: from :func:`load_separator`.
        offset, duration: excerpt of the input to separate, seconds (``None``: to the end).
        fmt, bit_depth: output format (see :class:`AudioWriter`).
        accompaniment, chunk_seconds, batch_size: as for :func:`separate`.
        progress: called with the seconds of input just processed.

    Returns:
        ``{"sample_rate": Hz, "channels": int, "samples": int, "clipped": {source: samples clipped}}``.

    Raises:
        AudioError: the input is missing, unreadable, not audio or empty, or an output cannot be written.
    """
    unknown = set(outputs) - set(OUTPUT_SOURCES)
    if unknown:
        raise ValueError(f"outputs may only name {OUTPUT_SOURCES}, got {sorted(unknown)}")
    with AudioReader(path, offset=offset, duration=duration) as reader:
        sep = TrackSeparator(
            model, model_config, reader.sample_rate, reader.channels, accompaniment, chunk_seconds, batch_size
        )
        writers: dict[str, AudioWriter] = {}
        # Three threads overlap: reading, resampling and STFT (a producer that runs up to PREPARED_BLOCKS blocks
        # ahead), the model (this thread), and masks, inverse STFT, resampling back and writing (post).
        prepared: queue.Queue = queue.Queue(maxsize=PREPARED_BLOCKS)
        stop = threading.Event()
        samples = 0

        def hand_over(item: object) -> bool:  # False if the consumer has stopped
            while not stop.is_set():
                try:
                    prepared.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            nonlocal samples
            try:
                for block in reader.blocks(max(1, int(min(chunk_seconds, 10.0) * reader.sample_rate))):
                    samples += block.shape[1]
                    if not hand_over((sep.prepare(block), block, False)):
                        return
                if samples == 0:
                    raise AudioError(
                        path, "contains no audio samples" if not offset
                        else f"offset {offset:g} s is beyond the end of the audio")
                end = np.zeros((reader.channels, 0), dtype=np.float32)
                hand_over((sep.prepare(end, last=True), end, True))
            except BaseException as err:  # noqa: BLE001 -- re-raised in the consumer
                hand_over(err)

        producer = threading.Thread(target=produce, name="separate-pre", daemon=True)
        post = ThreadPoolExecutor(1, thread_name_prefix="separate-post")
        written: deque[Future] = deque()

        def deliver(estimated: list, block: np.ndarray, last: bool) -> None:
            _write(writers, sep.deliver(estimated, block, last))

        try:
            for name, out in outputs.items():
                writers[name] = AudioWriter(out, reader.sample_rate, reader.channels, fmt, bit_depth)
            producer.start()
            last = False
            while not last:
                item = prepared.get()
                if isinstance(item, BaseException):
                    raise item
                chunks, block, last = item
                estimated = [(chunk, sep.core.predict(chunk)) for chunk in chunks]
                written.append(post.submit(deliver, estimated, block, last))
                while len(written) > WRITE_QUEUE or (last and written):
                    written.popleft().result()
                if progress is not None and block.shape[1]:
                    progress(block.shape[1] / reader.sample_rate)
            for writer in writers.values():
                writer.commit()
        except BaseException:
            stop.set()
            try:  # let a running write end, drop the queued ones, and stop the producer before the reader closes
                _uninterrupted(lambda: post.shutdown(wait=True, cancel_futures=True))
                if producer.is_alive():
                    _uninterrupted(producer.join)
            finally:
                for writer in writers.values():
                    writer.abort()
            raise
        finally:
            post.shutdown()
    return {
        "sample_rate": reader.sample_rate,
        "channels": reader.channels,
        "samples": samples,
        "clipped": {name: w.clipped for name, w in writers.items()},
    }


def _uninterrupted(wait: Callable[[], object]) -> None:
    """Call ``wait`` until it returns, ignoring further Ctrl-C meanwhile (cleanup after the first one)."""
    while True:
        try:
            wait()
            return
        except KeyboardInterrupt:
            logger.warning("still cleaning up after the interruption; one moment")


def _write(writers: Mapping[str, AudioWriter], blocks: Mapping[str, np.ndarray]) -> None:
    for name, writer in writers.items():
        if blocks[name].shape[1]:
            writer.write(blocks[name])
