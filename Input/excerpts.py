"""Waveform excerpts for training, as tf.data pipelines: aligned (mixture, accompaniment, voice) excerpts for
the supervised loss and independent unpaired excerpts for the adversarial one.

This module cuts raw waveforms from the :class:`Input.audio.cache.AudioCache` memory maps (float16 by default,
one Python call per batch) and knows nothing of spectrograms or of the model: where and how long each excerpt
is comes as an :class:`ExcerptPlan`, which ``Models.training.features.excerpt_plan`` derives from the separator's
shapes. ``Models.training.features`` turns the excerpts into spectrograms with TF ops inside the training step.

Frame arithmetic (the plan's units). Frame ``t`` of a track's centred STFT is centred on sample ``t * num_hop``.
An excerpt meant to give ``n`` exact STFT frames is ``(n - 1 + 2 * edge_frames) * num_hop`` samples long
(:meth:`ExcerptPlan.samples`); its first ``edge_frames`` frames see samples before it. A track has exactly
``1 + samples // num_hop`` frames.

Sampling. A track is chosen uniformly, then the first *target* frame ``t0`` uniformly among all positions where
the ``target_frames`` frames fit in the track (``t0 = 0`` for shorter tracks: zero-padded). So every frame of a
track is equally likely to be trained on, including the first and last ones, whose mixture context then partly
lies outside the track (zeros). The mixture input covers frames ``t0 - context_frames`` onwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from Input.audio.cache import AudioCache
from Sample import Sample

logger = logging.getLogger(__name__)

Triple = tuple[Sample, Sample, Sample]
Seed = int | Sequence[int]


@dataclass(frozen=True)
class ExcerptPlan:
    """Lengths and offsets of training excerpts, in STFT frames (see the module docstring)."""

    num_hop: int  # STFT hop, samples per frame
    edge_frames: int  # frames at each end of an excerpt's centred STFT whose window reaches past the excerpt
    input_frames: int  # mixture frames per example (the separator's input width)
    target_frames: int  # target frames per example (the separator's output width), sampled within the track
    context_frames: int  # mixture frames before the first target frame
    real_frames: int  # frames of an unpaired solo excerpt (the critic's width)

    def samples(self, frames: int) -> int:
        """Waveform length (samples) whose centred STFT has ``frames`` exact interior frames."""
        return (frames - 1 + 2 * self.edge_frames) * self.num_hop


# --------------------------------------------------------------------------------------------------------------
# Waveform excerpts (numpy, from the cache's memory maps)


def _cut(out: np.ndarray, audio: np.ndarray, channel: int, start: int, limit: int | None = None) -> None:
    """Fill ``out`` ``[length]`` with ``audio[channel, start:start + length]``, zeros outside the track.

    ``audio`` is ``[channels, samples]``; samples at or after ``limit`` (default: its length) count as outside.
    """
    length = out.shape[0]
    out[:] = 0
    end = audio.shape[1] if limit is None else min(limit, audio.shape[1])
    lo, hi = max(start, 0), min(start + length, end)
    if hi > lo:
        out[lo - start : hi - start] = audio[channel % audio.shape[0], lo:hi]


def _first_frame(rng: np.random.Generator, num_samples: int, num_frames: int, num_hop: int) -> int:
    """Uniform first frame of ``num_frames`` consecutive frames within a track of ``num_samples`` samples."""
    total = 1 + num_samples // num_hop
    return int(rng.integers(0, max(total - num_frames, 0) + 1))


def _channel(rng: np.random.Generator, arrays: Sequence[np.ndarray]) -> int:
    """Channel used for one example: 0 for mono caches, else uniform over the channels all arrays share."""
    channels = min(a.shape[0] for a in arrays)
    return int(rng.integers(channels)) if channels > 1 else 0


def _sharded(generator: Callable[[int, int], Iterator], signature: object, num_workers: int,
             skip: int = 0) -> tf.data.Dataset:
    """Infinite dataset of whole batches drawn from ``num_workers`` independent generator shards in turn.

    Each shard is a Python generator ``generator(shard, skip)`` (own RNG, seeded by the shard index) yielding one
    batch per call, so the GIL-bound Python work is one call per batch, not per example. ``interleave`` with
    ``num_parallel_calls`` runs the shards in parallel threads (the numpy copies release the GIL, and parallel
    shards overlap waiting for memmap pages). ``deterministic=True`` with ``block_length=1`` takes one batch from
    each shard in a fixed round-robin, so batch ``i`` of the sequence comes from shard ``i % shards`` and the
    sequence depends on the seed and ``num_workers`` only.

    ``skip``: start at batch ``skip`` of that sequence (exact resume): each shard fast-forwards its RNG past its
    share of the skipped batches without cutting audio, and the round-robin starts at shard ``skip % shards``.
    """
    shards = max(1, int(num_workers))
    skip = int(skip)

    def shard_dataset(shard: tf.Tensor) -> tf.data.Dataset:
        own_skip = (skip - shard + shards - 1) // shards  # batches i < skip with i % shards == shard
        return tf.data.Dataset.from_generator(generator, output_signature=signature, args=(shard, own_skip))

    if shards == 1:
        return shard_dataset(tf.constant(0, tf.int64)).prefetch(2)
    order = tf.constant([(skip + j) % shards for j in range(shards)], tf.int64)
    return tf.data.Dataset.from_tensor_slices(order).interleave(
        shard_dataset, cycle_length=shards, block_length=1, num_parallel_calls=shards, deterministic=True
    ).prefetch(2)


def _entropy(seed: Seed) -> list[int]:
    """The seed as a non-empty list of ints >= 0 (the RNG entropy)."""
    entropy = [int(s) for s in (seed if isinstance(seed, Sequence) else [seed])]
    if not entropy or min(entropy) < 0:
        raise ValueError(f"seed must be >= 0 (or a non-empty sequence of such), got {seed}")
    return entropy


def _check_batch(batch_size: int) -> int:
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return int(batch_size)


def paired_waves(triples: Sequence[Triple], plan: ExcerptPlan, cache: AudioCache, *, batch_size: int,
                 seed: Seed, num_workers: int = 1, skip: int = 0) -> tf.data.Dataset:
    """Infinite dataset of aligned raw waveform excerpts for supervised batches
    (``Models.training.features.paired_features`` turns them into spectrograms).

    Args:
        triples: ``(mixture, accompaniment, voice)`` Samples of the same songs (sources summing to the mix).
        plan: excerpt geometry (``Models.training.features.excerpt_plan``).
        cache: audio cache (rate ``expected_sr``, downmix ``mono_downmix``); all tracks are cached up front.
        batch_size: examples per batch (a replica's share under tf.distribute).
        seed: RNG seed, an int or a sequence of ints (e.g. ``(seed, step, pipeline)``); the same seed gives the
            same batches.
        num_workers: parallel generator shards (the sequence depends on it).
        skip: batches of the sequence to skip (a run resumed after ``skip`` batches continues it exactly).

    Returns:
        Dataset of ``(waves [B, 3, L], meta [B, 2] int32)``: mixture, accompaniment and voice excerpts of
        ``L = plan.samples(input_frames)`` samples in the cache dtype (float16 by default), and per example the
        track frame of the mixture input's first frame and the track's frame count.

    Raises:
        ValueError: no triples. AudioError: a track cannot be decoded.
    """
    triples = [tuple(t) for t in triples]
    if not triples:
        raise ValueError("paired_waves: no (mixture, accompaniment, voice) triples given")
    batch_size, entropy, num_hop = _check_batch(batch_size), _entropy(seed), plan.num_hop
    cache.prepare([s for t in triples for s in t], num_workers=num_workers)
    lead = plan.context_frames + plan.edge_frames  # frames before the first target frame
    length = plan.samples(plan.input_frames)

    def draw(rng: np.random.Generator, fill: bool) -> tuple[np.ndarray, np.ndarray]:
        """One batch; ``fill=False`` makes the same random draws without cutting audio (fast-forward)."""
        waves = np.empty((batch_size, 3, length), cache.dtype) if fill else np.empty(0)
        meta = np.empty((batch_size, 2), np.int32)
        for b in range(batch_size):
            arrays = [cache.get(s) for s in triples[int(rng.integers(len(triples)))]]
            samples = arrays[0].shape[1]  # the mixture's length defines the song (whole_track_magnitudes)
            first = _first_frame(rng, samples, plan.target_frames, num_hop)
            channel = _channel(rng, arrays)
            for k, array in enumerate(arrays if fill else ()):  # one offset and length for all three: aligned
                _cut(waves[b, k], array, channel, (first - lead) * num_hop, samples)
            meta[b] = first - plan.context_frames, 1 + samples // num_hop
        return waves, meta

    def generator(shard: int, skip: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        rng = np.random.default_rng([*entropy, int(shard)])
        for _ in range(skip):
            draw(rng, fill=False)
        while True:
            yield draw(rng, fill=True)

    dtype = tf.as_dtype(cache.dtype)
    signature = (tf.TensorSpec([batch_size, 3, length], dtype), tf.TensorSpec([batch_size, 2], tf.int32))
    return _sharded(generator, signature, num_workers, skip)


def unpaired_waves(unpaired: Sequence[Sequence[Sample]], plan: ExcerptPlan, cache: AudioCache, *,
                   batch_size: int, seed: Seed, num_workers: int = 1, skip: int = 0) -> tf.data.Dataset:
    """Infinite dataset of unpaired raw excerpts for adversarial training: three independent draws per example.

    Each list gets its own random track, offset (and, without ``mono_downmix``, channel), so the mixture and
    the real source examples are unrelated; each list has its own RNG stream.

    Args:
        unpaired: ``[mixtures, accompaniments, voices]``, Samples of each kind (any number each, at least one).
        plan, cache, batch_size, seed, num_workers: as for :func:`paired_waves`.

    Returns:
        Dataset of ``((mix [B, Lm], acc [B, Lr], voice [B, Lr]), (meta_mix, meta_acc, meta_voice))`` with
        ``Lm = plan.samples(input_frames)``, ``Lr = plan.samples(real_frames)`` samples in the cache dtype and
        ``[B, 2]`` int32 metadata (first frame, track frames); see ``Models.training.features.unpaired_features``.

    Raises:
        ValueError: one of the lists is empty. AudioError: a track cannot be decoded.
    """
    lists = [list(items) for items in unpaired]
    for name, items in zip(("mixtures", "accompaniments", "voices"), lists, strict=True):
        if not items:
            raise ValueError(f"unpaired_waves: no {name} given")
    batch_size, entropy, num_hop, edge = _check_batch(batch_size), _entropy(seed), plan.num_hop, plan.edge_frames
    cache.prepare([s for items in lists for s in items], num_workers=num_workers)
    lengths = (plan.samples(plan.input_frames),) + (plan.samples(plan.real_frames),) * 2
    frames = (plan.target_frames, plan.real_frames, plan.real_frames)
    contexts = (plan.context_frames, 0, 0)

    def draw(rngs: list[np.random.Generator], fill: bool) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """One batch; ``fill=False`` makes the same random draws without cutting audio (fast-forward)."""
        waves = tuple(np.empty((batch_size, n) if fill else 0, cache.dtype) for n in lengths)
        metas = tuple(np.empty((batch_size, 2), np.int32) for _ in range(3))
        for kind in range(3):
            rng, items, context = rngs[kind], lists[kind], contexts[kind]
            for b in range(batch_size):
                audio = cache.get(items[int(rng.integers(len(items)))])
                first = _first_frame(rng, audio.shape[1], frames[kind], num_hop)
                channel = _channel(rng, [audio])
                if fill:
                    _cut(waves[kind][b], audio, channel, (first - context - edge) * num_hop)
                metas[kind][b] = first - context, 1 + audio.shape[1] // num_hop
        return waves, metas

    def generator(shard: int, skip: int) -> Iterator[tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]]:
        # One RNG stream per list: each list's draws do not depend on the other lists.
        rngs = [np.random.default_rng([*entropy, int(shard), kind]) for kind in range(3)]
        for _ in range(skip):
            draw(rngs, fill=False)
        while True:
            yield draw(rngs, fill=True)

    dtype = tf.as_dtype(cache.dtype)
    meta_spec = tf.TensorSpec([batch_size, 2], tf.int32)
    signature = (tuple(tf.TensorSpec([batch_size, n], dtype) for n in lengths), (meta_spec,) * 3)
    return _sharded(generator, signature, num_workers, skip)


