"""What a listener gets from Models.separation.input_rate: full-band vocals, the multichannel Wiener filter, exact
sums and seamless chunks in every mode."""

from __future__ import annotations

import norbert
import numpy as np
import pytest
import tf_keras as keras

from Input.synth.song import generate_song
from Models.nets.factory import get_shapes
from Models.separation.input_rate import separate
from Models.separation.masks import MASK_EPS, wiener
from Models.separation.model_rate import (
    ModelRateStream,
    hann_window,
    overlap_add,
    overlap_add_windowed,
    predict_magnitudes,
)
from Models.separation.options import SeparationOptions
from tests.tiny import TINY, identity_separator, random_separator

SR = 22050  # the demo songs' rate: 4096-11025 Hz lies above the model's band
MODES = [  # (vocals_band, extension, wiener)
    ("model", "average", 0),
    ("full", "average", 0),
    ("full", "top", 0),
    ("full", "average", 1),
    ("model", "average", 2),
]


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return random_separator()


@pytest.fixture(scope="module")
def song() -> dict[str, np.ndarray]:
    """5 s of a generated song at 22050 Hz stereo; its vocal has harmonics and consonants above 4 kHz."""
    return generate_song(7, 5.0, SR)


def high_band_energy(audio: np.ndarray, low: float = 5000.0, high: float = SR) -> np.ndarray:
    """Energy between ``low`` and ``high`` Hz per 1024-sample frame, summed over channels: ``[frames]``."""
    frames = audio[:, : audio.shape[1] // 1024 * 1024].reshape(audio.shape[0], -1, 1024)
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(1024), axis=-1)) ** 2
    freqs = np.fft.rfftfreq(1024, 1 / SR)
    return spectrum[..., (freqs > low) & (freqs < high)].sum(axis=(0, 2))


def test_full_band_vocals_keep_the_high_band_where_the_vocals_have_it(song: dict) -> None:
    vocal_high = high_band_energy(song["vocals"])
    voiced = vocal_high > 1e-3 * vocal_high.max()
    assert voiced.sum() >= 10  # the generated vocal does have energy above 5 kHz
    identity = identity_separator()  # estimates = mixture: every mask, and so the extension's gain, is 1/2
    full = separate(song["mixture"], SR, identity, TINY, SeparationOptions(vocals_band="full"))
    model_band = separate(song["mixture"], SR, identity, TINY, SeparationOptions(vocals_band="model"))
    mix_high = high_band_energy(song["mixture"])[voiced]
    np.testing.assert_allclose(high_band_energy(full["vocals"])[voiced], mix_high / 4, rtol=0.02)  # (1/2)^2
    assert np.all(high_band_energy(model_band["vocals"])[voiced] < 1e-6 * mix_high)  # band-limited today
    np.testing.assert_allclose(high_band_energy(model_band["accompaniment"])[voiced], mix_high, rtol=1e-3)
    # below the crossover the full band's vocals are the model's estimate (the mask is not applied twice)
    low = {name: high_band_energy(out["vocals"], 100.0, 3500.0).sum() for name, out in (("full", full),
                                                                                     ("model", model_band))}
    np.testing.assert_allclose(low["full"], low["model"], rtol=0.01)


def test_extensions_follow_the_vocal_mask(model: keras.Model, song: dict) -> None:
    outputs = {
        ext: separate(song["mixture"], SR, model, TINY, SeparationOptions(vocals_band="full", extension=ext))["vocals"]
        for ext in ("average", "top")
    }
    vocal_high = {ext: high_band_energy(out).sum() for ext, out in outputs.items()}
    mix_high = high_band_energy(song["mixture"]).sum()
    assert all(0 < v < mix_high for v in vocal_high.values())  # a gain in (0, 1) of the input's high band
    assert abs(vocal_high["average"] - vocal_high["top"]) > 1e-3 * mix_high  # two different readings of the mask


def test_the_band_gain_is_what_a_flat_mask_row_per_frame_does() -> None:
    gains = np.random.default_rng(3).random((2, 40)).astype(np.float32)  # [channels, frames]
    window = hann_window(512)
    flat_rows = gains[:, None, :] * np.fft.rfft(window)[:, None].astype(np.complex64)  # [channels, 257, frames]
    expected = overlap_add(flat_rows, window, 256, 5, 5 * 256, 40 * 256)
    windowed = gains[:, :, None] * window.astype(np.float32) ** 2  # [channels, frames, 512]
    np.testing.assert_allclose(overlap_add_windowed(windowed, window, 256, 5, 5 * 256, 40 * 256), expected,
                               atol=1e-6, rtol=0)
    assert np.ptp(expected) > 0.1  # the gain does vary over time


@pytest.mark.parametrize(("band", "extension", "wiener"), MODES)
def test_every_mode_sums_to_the_input_and_is_seamless(
    model: keras.Model, band: str, extension: str, wiener: int
) -> None:
    audio = np.random.default_rng(4).standard_normal((2, int(44100 * 4.5))).astype(np.float32) * 0.1
    options = {"vocals_band": band, "extension": extension, "wiener": wiener}
    whole = separate(audio, 44100, model, TINY, SeparationOptions(chunk_seconds=None, **options))
    np.testing.assert_allclose(whole["vocals"] + whole["accompaniment"], audio, atol=1e-7, rtol=0)
    chunked = separate(audio, 44100, model, TINY, SeparationOptions(chunk_seconds=0.1, **options))
    for name in whole:
        scale = np.abs(whole[name]).max()
        assert scale > 1e-3
        # an output much quieter than the input (the random model leaves little accompaniment) is a difference of
        # input-scale float32 signals, so rounding shows at ~1e-7 of the input's scale rather than of its own
        atol = max(1e-5 * scale, 1e-6 * np.abs(audio).max())
        np.testing.assert_allclose(chunked[name], whole[name], atol=atol, rtol=0)


def test_the_batched_wiener_filter_is_norberts_per_segment() -> None:
    rng = np.random.default_rng(8)
    voice, acc = (rng.random((2, 257, 150)).astype(np.float32) * 3 for _ in range(2))
    mix = ((rng.standard_normal((2, 257, 150)) + 1j * rng.standard_normal((2, 257, 150))) * 5).astype(np.complex64)
    mix[..., 70:90] *= 30  # a loud segment: norbert scales each call by its own peak
    magnitudes = np.stack([voice, acc], axis=-1).transpose(2, 1, 0, 3)  # [frames, bins, channels, 2]
    for iterations in (1, 2):
        reference = np.concatenate([  # one norbert call per 64-frame segment, the last one shorter
            norbert.wiener(magnitudes[t : t + 64].copy(), np.array(mix[..., t : t + 64].transpose(2, 1, 0)),
                           iterations, use_softmask=False) for t in range(0, 150, 64)]).transpose(3, 2, 1, 0)
        batched = np.stack(wiener(voice, acc, mix, iterations, 64))
        np.testing.assert_allclose(batched, reference, atol=1e-5 * np.abs(reference).max(), rtol=0)


def _stream(audio: np.ndarray, model: keras.Model, wiener: int, chunk: float | None = 0.5) -> dict[str, np.ndarray]:
    stream = ModelRateStream(model, TINY, audio.shape[0], chunk, mode="mask", wiener=wiener)
    parts = [stream.push(audio), stream.finish()]
    return {s: np.concatenate([p[s] for p in parts], axis=1) for s in parts[0]}


def test_wiener_zero_is_the_soft_mask_and_more_iterations_use_the_channels_jointly(model: keras.Model) -> None:
    rng = np.random.default_rng(5)
    sources = rng.standard_normal((2, 8192 * 3)) * 0.1
    audio = (np.array([[1.0, 0.3], [0.5, 1.0]]) @ sources).astype(np.float32)  # correlated channels
    # reference: norbert's filter with no EM iteration (its soft mask of the estimated powers) on the whole track
    padded = np.pad(audio, ((0, 0), (256, 256)))
    frames = np.lib.stride_tricks.sliding_window_view(padded, 512, axis=1)[:, ::256]
    mix = np.fft.rfft(frames * hann_window(512), axis=-1).astype(np.complex64)  # [channels, frames, 257]
    estimates = predict_magnitudes(model, np.log1p(np.abs(mix)).transpose(0, 2, 1), get_shapes(TINY))
    acc, voice = (np.maximum(np.expm1(e), 0) for e in estimates)  # linear magnitudes, as the stream clips them
    power = np.stack([voice**2, acc**2], axis=-1).transpose(2, 1, 0, 3)
    masked = norbert.wiener(power, mix.transpose(1, 2, 0).copy(), iterations=0, eps=MASK_EPS)  # [frames, 257, ch, 2]
    reference = overlap_add(masked[..., 0].transpose(2, 1, 0), hann_window(512), 256, 0, 0, audio.shape[1])
    soft = _stream(audio, model, wiener=0)
    np.testing.assert_allclose(soft["voice"], reference, atol=1e-5 * np.abs(reference).max(), rtol=0)

    refined = _stream(audio, model, wiener=1)
    assert np.abs(refined["voice"] - soft["voice"]).max() > 1e-3 * np.abs(soft["voice"]).max()
    other = audio.copy()
    other[1] = 0.5 * sources[0] - sources[1]  # a different right channel
    moved = {w: _stream(other, model, wiener=w)["voice"][0] for w in (0, 1)}
    scale = np.abs(soft["voice"][0]).max()
    np.testing.assert_allclose(moved[0], soft["voice"][0], atol=1e-6 * scale, rtol=0)  # soft masks: per channel
    assert np.abs(moved[1] - refined["voice"][0]).max() > 1e-3 * np.abs(refined["voice"][0]).max()  # jointly
