"""tf.data input pipelines: random excerpts for supervised (paired) and adversarial (unpaired) training,
whole-track magnitudes for validation, and the frequency padding/cropping helpers shared with the training
step and inference.

Split of the work. ``paired_waves``/``unpaired_waves`` only cut raw waveform excerpts from the cache's memory
maps (float16 by default, one Python call per batch); ``paired_features``/``unpaired_features`` turn them into
spectrograms with TF ops. Training runs the features inside its compiled step, on the device that trains (the
host's tf.data threads then never compete with the step for the CPU, and a GPU receives half-size float16
waveforms); ``make_paired_dataset``/``make_unpaired_dataset`` apply them in the pipeline instead.

Frame alignment. The STFT is centred (``Input.spectrogram.stft``): frame ``t`` of a track is centred on sample
``t * num_hop`` and samples outside the track count as zeros. A waveform excerpt starting at sample
``k * num_hop`` therefore reproduces the whole-track frames ``k + j`` exactly for every excerpt frame ``j``
whose window lies inside the excerpt, i.e. ``edge <= j`` with ``edge = ceil(num_fft / 2 / num_hop)`` frames
(1 for 512/256). To get ``n`` exact frames, the excerpt is ``(n - 1 + 2 * edge) * num_hop`` samples long and
frames ``edge .. edge + n - 1`` are kept. Excerpts may start before or end after the track; the missing part is
zeros. A track has exactly ``1 + samples // num_hop`` frames (as in :func:`whole_track_magnitudes`); frames
outside ``[0, that)`` are set to zero magnitude, which is what the sliding-window separator (padding the
whole-track spectrogram with silence) sees at inference. (Without this, the one frame after the last could
still overlap the track's final samples.)

Sampling. A track is chosen uniformly, then the first *target* frame ``t0`` uniformly among all positions where
the ``output_time`` target frames fit in the track's ``1 + samples // num_hop`` frames (``t0 = 0`` for tracks
shorter than that: zero-padded). So every frame of a track is equally likely to be trained on, including the
first and last ones, whose mixture context then partly lies outside the track (zeros). The mixture input covers
frames ``t0 - context_frames .. t0 - context_frames + input_time - 1``.

Spectrogram layout: log-normalised magnitudes ``norm(mag) = log1p(mag)``; the 257 STFT bins are padded with
``freq_pad_lo`` zero bins below and ``freq_pad_hi`` above for the network input, and sit at bins 0..256 of the
``output_freq`` output bins (the rest zero); critics see bins 0..255.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from Input.audio_cache import AudioCache
from Input.spectrogram import norm, stft

if TYPE_CHECKING:
    from Models.factory import ModelShapes
    from Sample import Sample

logger = logging.getLogger(__name__)

Triple = tuple["Sample", "Sample", "Sample"]


# --------------------------------------------------------------------------------------------------------------
# Frequency/time helpers (tensors or arrays; freq is axis -2, time axis -1; any leading dims)


def _stft_bins(shapes: ModelShapes) -> int:
    """Number of STFT bins, ``num_fft // 2 + 1``."""
    return int(shapes.num_bins)


def _pad_freq(x: tf.Tensor | np.ndarray, bins: int, lo: int, hi: int, name: str) -> tf.Tensor:
    """Zero-pad axis -2 of ``x`` (which must have ``bins`` entries) with ``lo`` below and ``hi`` above."""
    x = tf.convert_to_tensor(x)
    if x.shape.rank is None or x.shape.rank < 2:
        raise ValueError(f"{name}: expected [..., freq, time], got shape {x.shape}")
    if x.shape[-2] is not None and x.shape[-2] != bins:
        raise ValueError(f"{name}: expected {bins} frequency bins on axis -2, got shape {x.shape}")
    return tf.pad(x, [[0, 0]] * (x.shape.rank - 2) + [[lo, hi], [0, 0]])


def pad_to_input(mag_norm: tf.Tensor | np.ndarray, shapes: ModelShapes) -> tf.Tensor:
    """``[..., 257, T]`` -> ``[..., input_freq, T]``: zero bins added below (``freq_pad_lo``) and above."""
    return _pad_freq(mag_norm, _stft_bins(shapes), shapes.freq_pad_lo, shapes.freq_pad_hi, "pad_to_input")


def pad_to_output(mag_norm: tf.Tensor | np.ndarray, shapes: ModelShapes) -> tf.Tensor:
    """``[..., 257, T]`` -> ``[..., output_freq, T]``: STFT bin ``k`` at output bin ``k``, zero bins above."""
    bins = _stft_bins(shapes)
    if shapes.output_freq < bins:
        raise ValueError(f"pad_to_output: output_freq {shapes.output_freq} < {bins} STFT bins")
    return _pad_freq(mag_norm, bins, 0, shapes.output_freq - bins, "pad_to_output")


def crop_output_to_stft(x: tf.Tensor | np.ndarray, shapes: ModelShapes) -> tf.Tensor:
    """``[..., output_freq, T]`` -> ``[..., 257, T]``: keeps output bins 0..256 (inverse of pad_to_output)."""
    x = tf.convert_to_tensor(x)
    return x[..., : _stft_bins(shapes), :]


def to_disc(x: tf.Tensor | np.ndarray, shapes: ModelShapes) -> tf.Tensor:
    """``[..., F >= 256, T >= disc_time]`` -> ``[..., disc_freq=256, disc_time]``: critic input.

    Keeps frequency bins ``0 .. disc_freq - 1`` (drops the Nyquist bin and any padding) and the centred
    ``disc_time`` frames (start ``(T - disc_time) // 2``).
    """
    x = tf.convert_to_tensor(x)
    time = x.shape[-1] if x.shape[-1] is not None else tf.shape(x)[-1]
    start = (time - shapes.disc_time) // 2
    return x[..., : shapes.disc_freq, start : start + shapes.disc_time]


def edge_frames(num_fft: int, num_hop: int) -> int:
    """Frames at each end of an excerpt's centred STFT whose window reaches past the excerpt."""
    return math.ceil((num_fft // 2) / num_hop)


def excerpt_samples(num_frames: int, num_fft: int, num_hop: int) -> int:
    """Waveform length (samples) whose centred STFT has ``num_frames`` exact interior frames."""
    return (num_frames - 1 + 2 * edge_frames(num_fft, num_hop)) * num_hop


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


def _frame_mask(mag: tf.Tensor, meta: tf.Tensor, shift: int) -> tf.Tensor:
    """Zero the frames of ``mag`` ``[B, ..., freq, T]`` that lie outside their track.

    ``meta`` ``[B, 2]`` int32 holds, per example, the track frame of the excerpt's first kept frame (before
    ``shift``) and the track's frame count; frame ``i`` of ``mag`` is track frame ``meta[:, 0] + shift + i``.
    """
    frames = meta[:, :1] + shift + tf.range(tf.shape(mag)[-1])[None, :]  # [B, T]
    inside = tf.cast((frames >= 0) & (frames < meta[:, 1:]), mag.dtype)
    return mag * tf.reshape(inside, tf.concat([tf.shape(inside)[:1], tf.ones([mag.shape.rank - 2], tf.int32),
                                               tf.shape(inside)[1:]], axis=0))


def _channel(rng: np.random.Generator, arrays: Sequence[np.ndarray]) -> int:
    """Channel used for one example: 0 for mono caches, else uniform over the channels all arrays share."""
    channels = min(a.shape[0] for a in arrays)
    return int(rng.integers(channels)) if channels > 1 else 0


def _sharded(generator: Callable[[int], Iterator], signature: object, num_workers: int) -> tf.data.Dataset:
    """Infinite dataset of whole batches drawn from ``num_workers`` independent generator shards in turn.

    Each shard is a Python generator (own RNG, seeded by the shard index) yielding one batch per call, so the
    GIL-bound Python work is one call per batch, not per example. ``interleave`` with ``num_parallel_calls``
    runs the shards in parallel threads (the numpy copies release the GIL, and parallel shards overlap waiting
    for memmap pages). ``deterministic=True`` with ``block_length=1`` takes one batch from each shard in a
    fixed round-robin, so the sequence depends on the seed and ``num_workers`` only.
    """
    shards = max(1, int(num_workers))

    def shard_dataset(shard: tf.Tensor) -> tf.data.Dataset:
        return tf.data.Dataset.from_generator(generator, output_signature=signature, args=(shard,))

    if shards == 1:
        return shard_dataset(tf.constant(0, tf.int64)).prefetch(2)
    return tf.data.Dataset.range(shards).interleave(
        shard_dataset, cycle_length=shards, block_length=1, num_parallel_calls=shards, deterministic=True
    ).prefetch(2)


Seed = int | Sequence[int]


def _config(model_config: dict, seed: Seed | None, batch_size: int | None) -> tuple[int, int, int, int, list[int]]:
    """(num_fft, num_hop, batch_size, num_workers, seed entropy) from the model config (arguments override)."""
    seed = model_config.get("seed", 0) if seed is None else seed
    entropy = [int(s) for s in (seed if isinstance(seed, Sequence) else [seed])]
    if not entropy or min(entropy) < 0:
        raise ValueError(f"seed must be >= 0 (or a non-empty sequence of such), got {seed}")
    batch_size = int(model_config["batch_size"] if batch_size is None else batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return (int(model_config["num_fft"]), int(model_config["num_hop"]), batch_size,
            int(model_config.get("num_workers", 1)), entropy)


# --------------------------------------------------------------------------------------------------------------
# Datasets: raw waveform batches (cheap, host) + spectrogram features (TF ops, run in the training step)


def paired_waves(triples: Sequence[Triple], model_config: dict, shapes: ModelShapes, cache: AudioCache,
                 seed: Seed | None = None, batch_size: int | None = None) -> tf.data.Dataset:
    """Infinite dataset of aligned raw waveform excerpts for supervised batches (see :func:`paired_features`).

    Args:
        triples: ``(mixture, accompaniment, voice)`` Samples of the same songs (sources summing to the mix).
        model_config: uses ``num_fft``, ``num_hop``, ``batch_size``, ``num_workers`` and ``seed``.
        shapes: the separator's shapes (``Models.factory.get_shapes``).
        cache: audio cache (rate ``expected_sr``, downmix ``mono_downmix``); all tracks are cached up front.
        seed: RNG seed, an int or a sequence of ints (e.g. ``(seed, step, pipeline)``); default
            ``model_config["seed"]``. The same seed gives the same batches.
        batch_size: examples per batch (default ``model_config["batch_size"]``; a replica's share under
            tf.distribute).

    Returns:
        Dataset of ``(waves [B, 3, L], meta [B, 2] int32)``: mixture, accompaniment and voice excerpts of
        ``L = excerpt_samples(input_time)`` samples in the cache dtype (float16 by default), and per example the
        track frame of the mixture input's first frame and the track's frame count.

    Raises:
        ValueError: no triples. AudioError: a track cannot be decoded.
    """
    triples = [tuple(t) for t in triples]
    if not triples:
        raise ValueError("make_paired_dataset: no (mixture, accompaniment, voice) triples given")
    num_fft, num_hop, batch_size, num_workers, entropy = _config(model_config, seed, batch_size)
    cache.prepare([s for t in triples for s in t], num_workers=num_workers)
    lead = shapes.context_frames + edge_frames(num_fft, num_hop)  # frames before the first target frame
    length = excerpt_samples(shapes.input_time, num_fft, num_hop)

    def generator(shard: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        rng = np.random.default_rng([*entropy, int(shard)])
        while True:
            waves = np.empty((batch_size, 3, length), cache.dtype)
            meta = np.empty((batch_size, 2), np.int32)
            for b in range(batch_size):
                arrays = [cache.get(s) for s in triples[int(rng.integers(len(triples)))]]
                samples = arrays[0].shape[1]  # the mixture's length defines the song (whole_track_magnitudes)
                first = _first_frame(rng, samples, shapes.output_time, num_hop)
                channel = _channel(rng, arrays)
                for k, array in enumerate(arrays):  # one offset and length for all three: aligned
                    _cut(waves[b, k], array, channel, (first - lead) * num_hop, samples)
                meta[b] = first - shapes.context_frames, 1 + samples // num_hop
            yield waves, meta

    dtype = tf.as_dtype(cache.dtype)
    signature = (tf.TensorSpec([batch_size, 3, length], dtype), tf.TensorSpec([batch_size, 2], tf.int32))
    return _sharded(generator, signature, num_workers)


def paired_features(model_config: dict, shapes: ModelShapes) -> Callable[..., tuple[tf.Tensor, ...]]:
    """The function turning a :func:`paired_waves` batch into network tensors (TF ops; in a step or a map).

    ``features(waves [B, 3, L], meta [B, 2])`` returns ``(mix [B, input_freq, input_time, 1],
    acc [B, output_freq, output_time, 1], voice [B, output_freq, output_time, 1])`` float32 log1p magnitudes;
    ``acc`` and ``voice`` are the centre ``output_time`` frames of the mixture's ``input_time`` frames.
    """
    num_fft, num_hop = int(model_config["num_fft"]), int(model_config["num_hop"])
    edge = edge_frames(num_fft, num_hop)
    target_length = excerpt_samples(shapes.output_time, num_fft, num_hop)
    target_start = shapes.context_frames * num_hop  # the targets' excerpt inside the mixture's one

    def features(waves: tf.Tensor, meta: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        waves = tf.cast(waves, tf.float32)  # [B, 3, length]
        mix_mag, _ = stft(waves[:, 0], num_fft, num_hop)  # [B, 257, input_time + 2 * edge]
        mix = norm(_frame_mask(mix_mag[..., edge : edge + shapes.input_time], meta, 0))
        # Targets: STFT only the sub-excerpt covering the output frames (same samples as in the mixture's).
        src = waves[:, 1:, target_start : target_start + target_length]  # [B, 2, target_length]
        src_mag, _ = stft(src, num_fft, num_hop)  # [B, 2, 257, output_time + 2 * edge]
        src = norm(_frame_mask(src_mag[..., edge : edge + shapes.output_time], meta, shapes.context_frames))
        out = pad_to_output(src, shapes)[..., None]  # [B, 2, output_freq, output_time, 1]
        return pad_to_input(mix, shapes)[..., None], out[:, 0], out[:, 1]

    return features


def make_paired_dataset(triples: Sequence[Triple], model_config: dict, shapes: ModelShapes, cache: AudioCache,
                        seed: Seed | None = None, batch_size: int | None = None) -> tf.data.Dataset:
    """Infinite dataset of supervised batches ``(mix, acc, voice)``: :func:`paired_waves` mapped through
    :func:`paired_features` in the input pipeline (training does the features in the step instead).

    Returns:
        Dataset of ``(mix [B, input_freq, input_time, 1], acc [B, output_freq, output_time, 1],
        voice [B, output_freq, output_time, 1])`` float32 log1p magnitudes, ``B = batch_size``.
    """
    waves = paired_waves(triples, model_config, shapes, cache, seed, batch_size)
    features = paired_features(model_config, shapes)
    return waves.map(features, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def unpaired_waves(mixtures: Sequence[Sample], accompaniments: Sequence[Sample], voices: Sequence[Sample],
                   model_config: dict, shapes: ModelShapes, cache: AudioCache, seed: Seed | None = None,
                   batch_size: int | None = None) -> tf.data.Dataset:
    """Infinite dataset of unpaired raw excerpts for adversarial training: three independent draws per example.

    Each list gets its own random track, offset (and, without ``mono_downmix``, channel), so the mixture and
    the real source examples are unrelated; each list has its own RNG stream.

    Args:
        mixtures, accompaniments, voices: Samples of each kind (any number each, at least one).
        model_config, shapes, cache, seed, batch_size: as for :func:`paired_waves`.

    Returns:
        Dataset of ``((mix [B, Lm], acc [B, Lr], voice [B, Lr]), (meta_mix, meta_acc, meta_voice))`` with
        ``Lm = excerpt_samples(input_time)``, ``Lr = excerpt_samples(disc_time)`` samples in the cache dtype and
        ``[B, 2]`` int32 metadata (first frame, track frames); see :func:`unpaired_features`.

    Raises:
        ValueError: one of the lists is empty. AudioError: a track cannot be decoded.
    """
    lists = [list(mixtures), list(accompaniments), list(voices)]
    for name, items in zip(("mixtures", "accompaniments", "voices"), lists, strict=True):
        if not items:
            raise ValueError(f"make_unpaired_dataset: no {name} given")
    num_fft, num_hop, batch_size, num_workers, entropy = _config(model_config, seed, batch_size)
    cache.prepare([s for items in lists for s in items], num_workers=num_workers)
    edge = edge_frames(num_fft, num_hop)
    lengths = (excerpt_samples(shapes.input_time, num_fft, num_hop),) + (
        excerpt_samples(shapes.disc_time, num_fft, num_hop),) * 2
    frames = (shapes.output_time, shapes.disc_time, shapes.disc_time)
    contexts = (shapes.context_frames, 0, 0)

    def generator(shard: int) -> Iterator[tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]]:
        # One RNG stream per list: each list's draws do not depend on the other lists.
        rngs = [np.random.default_rng([*entropy, int(shard), kind]) for kind in range(3)]
        while True:
            waves = tuple(np.empty((batch_size, n), cache.dtype) for n in lengths)
            metas = tuple(np.empty((batch_size, 2), np.int32) for _ in range(3))
            for kind in range(3):
                rng, items, context = rngs[kind], lists[kind], contexts[kind]
                for b in range(batch_size):
                    audio = cache.get(items[int(rng.integers(len(items)))])
                    first = _first_frame(rng, audio.shape[1], frames[kind], num_hop)
                    _cut(waves[kind][b], audio, _channel(rng, [audio]), (first - context - edge) * num_hop)
                    metas[kind][b] = first - context, 1 + audio.shape[1] // num_hop
            yield waves, metas

    dtype = tf.as_dtype(cache.dtype)
    meta_spec = tf.TensorSpec([batch_size, 2], tf.int32)
    signature = (tuple(tf.TensorSpec([batch_size, n], dtype) for n in lengths), (meta_spec,) * 3)
    return _sharded(generator, signature, num_workers)


def unpaired_features(model_config: dict, shapes: ModelShapes) -> Callable[..., tuple[tf.Tensor, ...]]:
    """The function turning an :func:`unpaired_waves` batch into network tensors (TF ops).

    ``features(waves, metas)`` returns ``(mix [B, input_freq, input_time, 1], acc_real [B, disc_freq,
    disc_time, 1], voice_real [B, disc_freq, disc_time, 1])`` float32 log1p magnitudes (``denorm`` of the
    mixture's unpadded bins is its linear magnitude).
    """
    num_fft, num_hop = int(model_config["num_fft"]), int(model_config["num_hop"])
    edge = edge_frames(num_fft, num_hop)

    def features(waves: tuple[tf.Tensor, ...], metas: tuple[tf.Tensor, ...]) -> tuple[tf.Tensor, ...]:
        mix, acc, voice = waves
        mix_mag, _ = stft(tf.cast(mix, tf.float32), num_fft, num_hop)  # [B, 257, input_time + 2 * edge]
        mix = norm(_frame_mask(mix_mag[..., edge : edge + shapes.input_time], metas[0], 0))
        reals = []
        for wave, meta in ((acc, metas[1]), (voice, metas[2])):
            mag, _ = stft(tf.cast(wave, tf.float32), num_fft, num_hop)  # [B, 257, disc_time + 2 * edge]
            mag = norm(_frame_mask(mag[..., edge : edge + shapes.disc_time], meta, 0))
            reals.append(to_disc(mag, shapes)[..., None])
        return pad_to_input(mix, shapes)[..., None], reals[0], reals[1]

    return features


def make_unpaired_dataset(mixtures: Sequence[Sample], accompaniments: Sequence[Sample], voices: Sequence[Sample],
                          model_config: dict, shapes: ModelShapes, cache: AudioCache, seed: Seed | None = None,
                          batch_size: int | None = None) -> tf.data.Dataset:
    """Infinite dataset of unpaired batches ``(mix, acc_real, voice_real)``: :func:`unpaired_waves` mapped
    through :func:`unpaired_features` in the input pipeline (shapes as documented there)."""
    waves = unpaired_waves(mixtures, accompaniments, voices, model_config, shapes, cache, seed, batch_size)
    features = unpaired_features(model_config, shapes)
    return waves.map(features, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def whole_track_magnitudes(triple: Triple, cache: AudioCache,
                           model_config: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear STFT magnitudes of a whole song, for validation/test losses.

    Multichannel caches (``mono_downmix`` off) are averaged over channels here. The sources are zero-padded or
    trimmed to the mixture's length so all three have the same frames.

    Returns:
        ``(mix_mag, acc_mag, voice_mag)``, each float32 ``[num_fft // 2 + 1, 1 + samples // num_hop]``.

    Raises:
        AudioError: a track cannot be decoded.
    """
    signals = [np.asarray(cache.get(s), dtype=np.float32).mean(axis=0) for s in triple]
    length = signals[0].shape[0]
    signals = [np.pad(s[:length], (0, length - min(length, s.shape[0]))) for s in signals]
    mag = _magnitude(np.stack(signals), int(model_config["num_fft"]), int(model_config["num_hop"])).numpy()
    return mag[0], mag[1], mag[2]


@tf.function(reduce_retracing=True)
def _magnitude(audio: tf.Tensor, num_fft: int, num_hop: int) -> tf.Tensor:
    """``stft`` magnitude ``[..., freq, time]`` of ``[..., samples]``; as a graph, the unused phase is pruned."""
    return stft(audio, num_fft, num_hop)[0]
