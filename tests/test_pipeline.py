"""Tests for Input/excerpts.py and Models/training/features.py: batch shapes, exact frame alignment against whole-track
STFTs, uniform offsets, determinism and independence of the unpaired draws, exact skipping for resume. Tracks
are tiny noise signals written as float wavs."""

from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from Input.audio.cache import AudioCache
from Input.audio.probe import probe_sample
from Input.excerpts import paired_waves, unpaired_waves
from Models.config import ExperimentConfig, resolved_model_config
from Models.nets.geometry import crop_output_to_stft, pad_to_input, pad_to_output, to_disc
from Models.nets.shapes import get_shapes
from Models.nets.spectrogram import denorm
from Models.training.features import (
    excerpt_plan,
    make_paired_dataset,
    make_unpaired_dataset,
    paired_features,
    unpaired_features,
    whole_track_magnitudes,
)
from Sample import Sample

SR = 8192
BINS = 257


def _config(tmp_path: Path, **overrides) -> ExperimentConfig:
    config = {"num_fft": 512, "num_hop": 256, "expected_sr": SR, "num_frames": 16, "num_layers": 2,
              "mono_downmix": True, "batch_size": 4, "num_workers": 2, "seed": 7,
              "audio_cache_dir": str(tmp_path / "cache"), "cache_dtype": "float16"}
    return ExperimentConfig.from_dict(resolved_model_config(**{**config, **overrides}))


def _cache(config: ExperimentConfig) -> AudioCache:
    return AudioCache(config.data.audio_cache_dir, config.spec.expected_sr, config.spec.mono_downmix,
                      config.data.cache_dtype)


def _draws(config: ExperimentConfig, draws: dict) -> dict:
    """The pipelines' batch size, seed and workers: the config's, unless ``draws`` names them."""
    return {"batch_size": config.train.batch_size, "seed": config.train.seed, "num_workers": config.data.num_workers,
            **draws}


def _paired(triples: list, config: ExperimentConfig, cache: AudioCache, **draws) -> tf.data.Dataset:
    return make_paired_dataset(triples, config.spec, cache, **_draws(config, draws))


def _unpaired(lists: list, config: ExperimentConfig, cache: AudioCache, **draws) -> tf.data.Dataset:
    return make_unpaired_dataset(lists, config.spec, cache, **_draws(config, draws))


def _noise(rng: np.random.Generator, seconds: float, channels: int = 1) -> np.ndarray:
    """[samples, channels] band-limited-ish noise with a slowly varying envelope (every frame differs)."""
    n = int(seconds * SR)
    envelope = 0.2 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.3, 1.5) * np.arange(n) / SR)[:, None]
    return (envelope * rng.standard_normal((n, channels)) * 0.3).astype(np.float32)


def _write(path: Path, data: np.ndarray) -> Sample:
    sf.write(path, data, SR, subtype="FLOAT")
    return probe_sample(path)


def _song(folder: Path, name: str, seconds: float, seed: int, silent_acc: bool = False) -> tuple:
    """(mix, acc, voice) Samples with mix = acc + voice; acc is zero when ``silent_acc``."""
    rng = np.random.default_rng(seed)
    voice = _noise(rng, seconds)
    acc = np.zeros_like(voice) if silent_acc else _noise(rng, seconds)
    return (_write(folder / f"{name}_mix.wav", acc + voice), _write(folder / f"{name}_acc.wav", acc),
            _write(folder / f"{name}_voice.wav", voice))


def _take(dataset: tf.data.Dataset, batches: int) -> list[list[np.ndarray]]:
    return [[t.numpy() for t in batch] for batch in dataset.take(batches)]


def _locate(frames: np.ndarray, whole: np.ndarray) -> int:
    """Start t of ``frames`` [F <= 257, n] in ``whole`` [257, T] (best match of the first frame, bins < F)."""
    errors = np.abs(whole[: frames.shape[0]] - frames[:, :1]).max(axis=0)
    return int(np.argmin(errors))


def _with_context(whole: np.ndarray, context: int, span: int) -> np.ndarray:
    """Whole-track [257, T] padded with zero frames: ``context`` before, enough after for ``span`` frames."""
    return np.pad(whole, ((0, 0), (context, context + span)))


@pytest.fixture(scope="module")
def songs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("songs")
    return {"a": _song(d, "a", 2.0, 1), "b": _song(d, "b", 1.3, 2), "short": _song(d, "short", 0.05, 3),
            "silent": _song(d, "silent", 1.5, 4, silent_acc=True)}


def test_paired_shapes_and_exact_alignment(tmp_path, songs):
    config = _config(tmp_path)
    shapes = get_shapes(config.spec)
    cache = _cache(config)
    triples = [songs["a"], songs["b"]]
    dataset = _paired(triples, config, cache, seed=11)
    assert dataset.element_spec[0].shape == (4, shapes.input_freq, shapes.input_time, 1)
    wholes = [whole_track_magnitudes(t, cache, config.spec) for t in triples]
    lo = shapes.freq_pad_lo
    for mix, acc, voice in _take(dataset, 5):
        assert mix.shape == (4, shapes.input_freq, shapes.input_time, 1) and mix.dtype == np.float32
        assert acc.shape == voice.shape == (4, shapes.output_freq, shapes.output_time, 1)
        assert not mix[:, :lo].any() and not mix[:, lo + BINS:].any()  # zero frequency padding
        assert not acc[:, BINS:].any() and not voice[:, BINS:].any()
        for b in range(4):
            v = denorm(voice[b, :BINS, :, 0]).numpy()
            a = denorm(acc[b, :BINS, :, 0]).numpy()
            m = denorm(mix[b, lo : lo + BINS, :, 0]).numpy()
            # Which song and where: locate the voice target in each song's whole-track STFT.
            fits = []
            for mix_w, acc_w, voice_w in wholes:
                t0 = _locate(v, voice_w)
                padded = _with_context(voice_w, 0, shapes.output_time)
                fits.append((np.abs(padded[:, t0 : t0 + shapes.output_time] - v).max(), t0, mix_w, acc_w))
            err, t0, mix_w, acc_w = min(fits, key=lambda f: f[0])
            assert err < 1e-4  # voice target == whole-track frames t0 .. t0 + output_time - 1
            acc_pad = _with_context(acc_w, 0, shapes.output_time)
            np.testing.assert_allclose(a, acc_pad[:, t0 : t0 + shapes.output_time], atol=1e-4)
            # The mixture covers frames t0 - context .. (zeros outside the track), same offset as the targets.
            mix_pad = _with_context(mix_w, shapes.context_frames, shapes.input_time)
            np.testing.assert_allclose(m, mix_pad[:, t0 : t0 + shapes.input_time], atol=1e-4)


def test_targets_are_centre_frames_of_mixture(tmp_path, songs):
    # Silent accompaniment: the voice target must equal the mixture input's centre frames, unpadded bins.
    config = _config(tmp_path, num_layers=1, num_frames=8)
    shapes = get_shapes(config.spec)
    assert shapes.context_frames > 0
    dataset = _paired([songs["silent"]], config, _cache(config))
    for mix, acc, voice in _take(dataset, 3):
        centre = mix[:, shapes.freq_pad_lo : shapes.freq_pad_lo + BINS,
                     shapes.context_frames : shapes.context_frames + shapes.output_time]
        np.testing.assert_allclose(voice[:, :BINS], centre, atol=1e-6)
        assert voice[:, :BINS].max() > 0.01
        assert not acc.any()


def test_offsets_cover_whole_track_uniformly(tmp_path, songs):
    config = _config(tmp_path, num_layers=1, num_frames=8, batch_size=8)
    shapes = get_shapes(config.spec)
    cache = _cache(config)
    _, _, voice_w = whole_track_magnitudes(songs["a"], cache, config.spec)
    positions = voice_w.shape[1] - shapes.output_time + 1  # 65 frames - 8 + 1 = 58 possible starts
    starts = [_locate(denorm(v[:BINS, :, 0]).numpy(), voice_w)
              for _, _, voices in _take(_paired([songs["a"]], config, cache), 30)
              for v in voices]
    assert len(starts) == 240
    assert min(starts) <= 2 and max(starts) >= positions - 3  # beginning and end both drawn
    assert max(starts) <= positions - 1
    counts = np.histogram(starts, bins=4, range=(0, positions))[0]
    assert counts.min() >= 35  # ~60 expected per quarter


def test_short_track_is_zero_padded(tmp_path, songs):
    config = _config(tmp_path, num_layers=1, num_frames=8, num_workers=1)  # also the single-shard path
    shapes = get_shapes(config.spec)
    cache = _cache(config)
    _, _, voice_w = whole_track_magnitudes(songs["short"], cache, config.spec)
    frames = voice_w.shape[1]
    assert frames < shapes.output_time
    _, _, voice = _take(_paired([songs["short"]], config, cache), 1)[0]
    for v in voice[..., 0]:
        np.testing.assert_allclose(denorm(v[:BINS, :frames]).numpy(), voice_w, atol=1e-4)
        assert not v[:, frames:].any()


def test_paired_is_deterministic_per_seed(tmp_path, songs):
    config = _config(tmp_path, num_layers=1, num_frames=8)
    cache = _cache(config)
    triples = [songs["a"], songs["b"]]
    first = _take(_paired(triples, config, cache, seed=5), 3)
    second = _take(_paired(triples, config, cache, seed=5), 3)
    other = _take(_paired(triples, config, cache, seed=6), 3)
    for x, y in zip(first, second, strict=True):
        for a, b in zip(x, y, strict=True):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0][0], other[0][0])
    with pytest.raises(ValueError, match="no"):
        _paired([], config, cache)


def test_unpaired_shapes_and_independent_draws(tmp_path, songs):
    config = _config(tmp_path)
    shapes = get_shapes(config.spec)
    cache = _cache(config)
    mix_s, acc_s, voice_s = songs["a"]
    dataset = _unpaired([[mix_s], [acc_s], [voice_s]], config, cache, seed=3)
    batches = _take(dataset, 4)
    mix_w, acc_w, voice_w = whole_track_magnitudes(songs["a"], cache, config.spec)
    offsets = []
    for mix, acc, voice in batches:
        assert mix.shape == (4, shapes.input_freq, shapes.input_time, 1)
        assert acc.shape == voice.shape == (4, shapes.disc_freq, shapes.disc_time, 1)
        for b in range(4):
            # Each excerpt is exact whole-track frames of its own track, at its own offset.
            m = denorm(mix[b, shapes.freq_pad_lo : shapes.freq_pad_lo + BINS, :, 0]).numpy()
            t_mix = _locate(m[:, shapes.context_frames :], mix_w)
            mix_pad = _with_context(mix_w, shapes.context_frames, shapes.input_time)
            np.testing.assert_allclose(m, mix_pad[:, t_mix : t_mix + shapes.input_time], atol=1e-4)
            found = []
            for real, whole in ((acc[b, :, :, 0], acc_w), (voice[b, :, :, 0], voice_w)):
                r = denorm(real).numpy()
                t = _locate(r, whole[1:])  # the critic's view starts at bin 1
                np.testing.assert_allclose(r, whole[1 : 1 + shapes.disc_freq, t : t + shapes.disc_time], atol=1e-4)
                found.append(t)
            offsets.append((t_mix, *found))
    offsets = np.array(offsets)
    assert len({tuple(o) for o in offsets}) == len(offsets)
    assert np.mean(offsets[:, 0] == offsets[:, 1]) < 0.3 and np.mean(offsets[:, 1] == offsets[:, 2]) < 0.3

    # Each list has its own random stream: adding voices changes neither the mixtures nor the accompaniments.
    more = _unpaired([[mix_s], [acc_s], [voice_s, songs["b"][2]]], config, cache, seed=3)
    for (m1, a1, _), (m2, a2, _) in zip(batches, _take(more, 4), strict=True):
        np.testing.assert_array_equal(m1, m2)
        np.testing.assert_array_equal(a1, a2)
    with pytest.raises(ValueError, match="voices"):
        _unpaired([[mix_s], [acc_s], []], config, cache)


def test_stereo_without_downmix_uses_single_channels(tmp_path):
    rng = np.random.default_rng(9)
    stereo = np.concatenate([_noise(rng, 1.0), _noise(rng, 1.0)], axis=1)
    sample = _write(tmp_path / "stereo.wav", stereo)
    config = _config(tmp_path, num_layers=1, num_frames=8, mono_downmix=False, batch_size=8)
    cache = _cache(config)
    assert cache.get(sample).shape[0] == 2
    per_channel = [np.abs(librosa.stft(cache.get(sample)[c].astype(np.float32), n_fft=512, hop_length=256,
                                       center=True, pad_mode="constant")) for c in range(2)]
    used = set()
    for _, _, voice in _take(_paired([(sample, sample, sample)], config, cache), 2):
        for v in voice[..., 0]:
            v = denorm(v[:BINS]).numpy()
            errors = [np.abs(_with_context(w, 0, 8)[:, t : t + 8] - v).max()
                      for w in per_channel for t in [_locate(v, w)]]
            assert min(errors) < 1e-3
            used.add(int(np.argmin(errors)))
    assert used == {0, 1}
    # Whole-track magnitudes average the channels.
    mix_w, _, _ = whole_track_magnitudes((sample, sample, sample), cache, config.spec)
    mean = cache.get(sample).astype(np.float32).mean(axis=0)
    expected = np.abs(librosa.stft(mean, n_fft=512, hop_length=256, center=True, pad_mode="constant"))
    np.testing.assert_allclose(mix_w, expected, atol=1e-3)


def test_whole_track_magnitudes_match_librosa_and_mixture_length(tmp_path, songs):
    config = _config(tmp_path)
    cache = _cache(config)
    mix, acc, voice = songs["a"]
    shorter_voice = _write(tmp_path / "short_voice.wav", sf.read(voice.path, dtype="float32")[0][: SR // 2])
    mags = whole_track_magnitudes((mix, acc, shorter_voice), cache, config.spec)
    n = cache.get(mix).shape[1]
    assert all(m.shape == (BINS, 1 + n // 256) and m.dtype == np.float32 for m in mags)
    ref = np.abs(librosa.stft(cache.get(mix)[0].astype(np.float32), n_fft=512, hop_length=256, center=True,
                              pad_mode="constant"))
    np.testing.assert_allclose(mags[0], ref, atol=1e-3)
    assert not mags[2][:, SR // 2 // 256 + 2 :].any()  # the shorter source is zero-padded


def test_padding_helpers_round_trip(tmp_path):
    shapes = get_shapes(_config(tmp_path).spec)
    x = np.random.default_rng(0).random((2, BINS, shapes.output_time)).astype(np.float32)
    inp = pad_to_input(x, shapes).numpy()
    assert inp.shape == (2, shapes.input_freq, shapes.output_time)
    np.testing.assert_array_equal(inp[:, shapes.freq_pad_lo : shapes.freq_pad_lo + BINS], x)
    out = pad_to_output(x, shapes).numpy()
    assert out.shape == (2, shapes.output_freq, shapes.output_time) and not out[:, BINS:].any()
    np.testing.assert_array_equal(crop_output_to_stft(out, shapes).numpy(), x)
    disc = to_disc(out, shapes).numpy()
    start = (shapes.output_time - shapes.disc_time) // 2
    assert start > 0 and disc.shape == (2, shapes.disc_freq, shapes.disc_time)
    np.testing.assert_array_equal(disc, x[:, 1:257, start : start + shapes.disc_time])
    with pytest.raises(ValueError, match="257"):
        pad_to_input(x[:, :256], shapes)


def test_waves_with_features_in_the_step_equal_the_spectrogram_pipeline(tmp_path, songs):
    config = _config(tmp_path, num_layers=1, num_frames=8)
    shapes = get_shapes(config.spec)
    cache = _cache(config)
    triples = [songs["a"], songs["b"]]
    features = paired_features(config.spec)
    waves = _take(paired_waves(triples, excerpt_plan(config.spec), cache, batch_size=4, seed=4, num_workers=2), 2)
    assert waves[0][0].shape == (4, 3, excerpt_plan(config.spec).samples(shapes.input_time))
    assert waves[0][0].dtype == np.float16 and waves[0][1].shape == (4, 2)  # cache dtype: half-size transfers
    for (w, meta), spec in zip(waves, _take(_paired(triples, config, cache, seed=4), 2),
                               strict=True):
        for a, b in zip(features(tf.constant(w), tf.constant(meta)), spec, strict=True):
            np.testing.assert_array_equal(a.numpy(), b)
    mix_s, acc_s, voice_s = songs["a"]
    unpaired = unpaired_features(config.spec)
    raw = [tf.nest.map_structure(lambda t: t.numpy(), batch) for batch in
           unpaired_waves([[mix_s], [acc_s], [voice_s]], excerpt_plan(config.spec), cache, batch_size=3, seed=2,
                          num_workers=2).take(1)][0]
    spec = _take(_unpaired([[mix_s], [acc_s], [voice_s]], config, cache, seed=2, batch_size=3), 1)
    assert spec[0][1].shape == (3, shapes.disc_freq, shapes.disc_time, 1)
    for a, b in zip(unpaired(*tf.nest.map_structure(tf.constant, raw)), spec[0], strict=True):
        np.testing.assert_array_equal(a.numpy(), b)


def test_sequence_seeds_and_errors(tmp_path, songs):
    config = _config(tmp_path, num_layers=1, num_frames=8)
    cache = _cache(config)
    triples = [songs["a"], songs["b"]]

    def first(seed):
        return _take(paired_waves(triples, excerpt_plan(config.spec), cache, batch_size=4, seed=seed), 1)[0][0]

    np.testing.assert_array_equal(first(7), first((7,)))  # an int seed is the one-element sequence
    np.testing.assert_array_equal(first((7, 0)), first((7, 0)))
    assert not np.array_equal(first((7, 0)), first((7, 3)))
    with pytest.raises(ValueError, match="seed"):
        paired_waves(triples, excerpt_plan(config.spec), cache, batch_size=4, seed=(7, -1))


@pytest.mark.parametrize("workers", [1, 3])
def test_skip_continues_the_sequence_exactly(tmp_path, songs, workers):
    """A resumed run skips the batches served before: batch k of a skip-s pipeline is batch s + k of the
    uninterrupted one, for paired and unpaired excerpts, whatever the shard of the first batch."""
    config = _config(tmp_path, num_layers=1, num_frames=8)
    cache = _cache(config)
    plan = excerpt_plan(config.spec)
    triples = [songs["a"], songs["b"]]
    unpaired = [[songs["a"][0], songs["b"][0]], [songs["a"][1]], [songs["a"][2], songs["b"][2]]]

    def paired(skip, count):
        return _take(paired_waves(triples, plan, cache, batch_size=2, seed=(5, 0), num_workers=workers,
                                  skip=skip), count)

    def unpaired_batches(skip, count):
        dataset = unpaired_waves(unpaired, plan, cache, batch_size=2, seed=(6, 0), num_workers=workers, skip=skip)
        return [tf.nest.map_structure(lambda t: t.numpy(), b) for b in dataset.take(count)]

    for take, make in ((paired, paired), (unpaired_batches, unpaired_batches)):
        whole = take(0, 7)
        for skip in (1, 4):
            for a, b in zip(tf.nest.flatten(whole[skip:]), tf.nest.flatten(make(skip, 7 - skip)), strict=True):
                np.testing.assert_array_equal(a, b)


def test_critic_sees_stft_bins_1_to_256_for_reals_and_fakes(tmp_path):
    """As the original's centre crop of 258 output rows to 256: the DC bin is dropped, the Nyquist bin kept,
    for the real excerpts (from the STFT) and for the separator's estimates alike."""
    from Models.nets.geometry import critic_input
    from Models.nets.spectrogram import norm, stft

    config = _config(tmp_path, num_layers=1, num_frames=8)
    shapes = get_shapes(config.spec)
    plan = excerpt_plan(config.spec)
    n = np.arange(plan.samples(shapes.disc_time))
    # DC plus a Nyquist tone: bin 0 and bin 256 hold most energy, so a window shifted by one bin shows.
    wave = (0.3 + 0.2 * np.cos(np.pi * n)).astype(np.float32)[None]  # [1, Lr]
    mix = np.zeros((1, plan.samples(shapes.input_time)), np.float32)
    meta = tf.constant([[0, 10_000]], tf.int32)
    _, acc_real, voice_real = unpaired_features(config.spec)((mix, wave, 0.5 * wave), (meta, meta, meta))
    edge = plan.edge_frames
    expected = norm(stft(tf.constant(wave), 512, 256)[0])[0, :, edge : edge + shapes.disc_time].numpy()
    np.testing.assert_allclose(acc_real.numpy()[0, ..., 0], expected[1:257], rtol=1e-6)
    assert acc_real.shape[1] == 256 and not np.allclose(acc_real.numpy()[0, ..., 0], expected[0:256])
    # Fakes: output row k estimates bin k; the critic gets rows 1..256 (value = row index here).
    rows = np.broadcast_to(np.arange(shapes.output_freq, dtype=np.float32)[None, :, None, None],
                           (1, shapes.output_freq, shapes.output_time, 1))
    fake = critic_input(tf.constant(rows), shapes).numpy()
    assert fake.shape == (1, 256, shapes.disc_time, 1)
    np.testing.assert_array_equal(fake[0, :, 0, 0], np.arange(1, 257))
