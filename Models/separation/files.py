"""Separation of an audio file into output files, streamed (memory independent of the file's length): reading,
model-rate preparation, the model and writing overlap in three threads. See ``Models.separation.input_rate`` for what is
computed.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from Input.audio.files import AudioError
from Input.audio.stream import AudioReader, AudioWriter, format_problem
from Models.config import ModelSpec
from Models.separation.input_rate import InputRateStream
from Models.separation.options import OUTPUT_SOURCES, SeparationOptions

if TYPE_CHECKING:
    import tf_keras as keras

logger = logging.getLogger(__name__)

PREPARED_BLOCKS = 4  # input blocks (of up to 10 s) that separate_file's producer may prepare ahead of the model
WRITE_QUEUE = 2  # blocks of estimates that may wait for the writer


def separate_file(
    path: str | os.PathLike,
    outputs: Mapping[str, str | os.PathLike],
    model: keras.Model,
    spec: ModelSpec,
    options: SeparationOptions | None = None,
    progress: Callable[[float], None] | None = None,
) -> dict:
    """Separate an audio file into output files, streaming (memory independent of the file's length).

    Args:
        path: input audio (wav, flac, ogg, aiff, mp3, m4a, mp4: first audio stream).
        outputs: ``{"vocals": path, "accompaniment": path}`` (either may be left out); written atomically
            with the input's rate and channel count and the length of the excerpt read.
        model, spec: from ``Models.api.Separator.load``.
        options: all fields are used (default ``SeparationOptions()``); ``offset``/``duration`` select the
            excerpt of the input (seconds), ``max_seconds`` bounds the decoded audio, ``fmt``/``bit_depth`` the
            output format (see :class:`AudioWriter`); ``chunk_seconds`` must not be None.
        progress: called with the seconds of input just processed, after each block (up to 10 s of input;
            ``chunk_seconds`` if smaller). It is also the cancel hook: an exception it raises stops the
            separation between blocks, leaves no output (nothing is committed) and reaches the caller.

    Returns:
        ``{"sample_rate": Hz, "channels": int, "samples": int, "clipped": {source: samples clipped}}``.

    Raises:
        AudioError: the input is missing, unreadable, not audio or empty, or an output cannot be written.
    """
    options = options or SeparationOptions()
    unknown = set(outputs) - set(OUTPUT_SOURCES)
    if unknown:
        raise ValueError(f"outputs may only name {OUTPUT_SOURCES}, got {sorted(unknown)}")
    if options.chunk_seconds is None:
        raise ValueError("separate_file streams: options.chunk_seconds must be a number of seconds, not None")
    chunk_seconds, offset = options.chunk_seconds, options.offset
    with AudioReader(path, offset=offset, duration=options.duration, max_seconds=options.max_seconds,
                     max_channels=options.max_channels, max_sample_rate=options.max_sample_rate) as reader:
        problem = format_problem(options.fmt, reader.sample_rate, reader.channels)
        if problem is not None:  # before any work: the writers would refuse it at the first block
            raise AudioError(path, problem)
        sep = InputRateStream(model, spec, reader.sample_rate, reader.channels, options)
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
                writers[name] = AudioWriter(out, reader.sample_rate, reader.channels, options.fmt, options.bit_depth)
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
