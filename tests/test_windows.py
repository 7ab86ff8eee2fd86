"""Inference windows: wide windows give the training patches' numbers, nothing retraces, XLA, tails."""

from __future__ import annotations

import numpy as np
import pytest
import tf_keras as keras

from Models.config import ModelSpec
from Models.nets.factory import build_separator, get_shapes
from Models.separation.input_rate import separate
from Models.separation.model_rate import ModelRateStream, predict_frames, predict_magnitudes
from Models.separation.options import SeparationOptions
from Models.separation.windows import get_predictor, plan_windows, trace_count, window_step

SMALL = ModelSpec.from_dict({
    "num_fft": 512,
    "num_hop": 256,
    "expected_sr": 8192,
    "num_frames": 8,
    "num_layers": 2,  # grid of 4 frames: pooling phases matter
    "num_initial_filters": 2,
    "output_activation": None,  # linear output: every estimate depends on its input
    "inference_batch_size": 4,
    "mono_downmix": True,
    "jit_compile": False,
})


def make_model(seed: int = 0) -> keras.Model:
    """Default initialisation; output biases of 1 so that both estimates are mostly positive, of order 1."""
    keras.utils.set_random_seed(seed)
    net = build_separator(SMALL)
    for head in (net.acc_conv, net.voice_conv):
        head.bias.assign(np.ones(head.bias.shape, np.float32))
    return net


def spectrogram(frames: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """``[channels, 257, frames]`` log1p magnitudes."""
    rng = np.random.default_rng(seed)
    return np.log1p(np.abs(rng.standard_normal((channels, 257, frames)))).astype(np.float32)


def test_window_step_tiles_chunks_with_fewest_windows() -> None:
    assert window_step(992, 16) == 496  # 30 s chunk + margins of the paper's model: two windows
    assert window_step(1952, 16) == 496  # 60 s: four windows
    assert window_step(500, 16) == 512 and window_step(6, 2) == 6 and window_step(1, 16) == 16


def test_plan_windows() -> None:
    shapes = get_shapes(SMALL)
    wide = plan_windows(make_model(), shapes, step=30, batch_size=4)
    assert (wide.step, wide.grid) == (32, 4)  # rounded up to the grid
    assert wide.input_time - wide.output_time == 2 * shapes.context_frames and wide.output_time >= wide.step
    assert wide.per_call == 1  # 4 patches of 8 frames = one window of 32
    inputs = keras.Input((shapes.input_freq, shapes.input_time, 1))
    other = keras.Model(inputs, [inputs, inputs])  # not a U-Net: training-size patches
    fixed = plan_windows(other, shapes, step=30, batch_size=4)
    assert (fixed.step, fixed.input_time, fixed.grid, fixed.per_call) == (
        shapes.output_time,
        shapes.input_time,
        shapes.output_time,
        4,
    )


def test_wide_windows_give_the_numbers_of_training_size_patches() -> None:
    model, shapes = make_model(), get_shapes(SMALL)
    mix = spectrogram(301, channels=2)
    ctx = shapes.context_frames
    padded = np.pad(mix, ((0, 0), (0, 0), (ctx, ctx)))
    patches = predict_frames(model, padded, shapes, batch_size=3, step=8)  # the training patch: 8 frames
    assert get_predictor(model, shapes, 8, 3).windows.input_time == shapes.input_time
    for step in (64, 200, 512):
        wide = predict_frames(model, padded, shapes, batch_size=3, step=step)
        for a, b in zip(wide, patches, strict=True):
            assert a.shape == b.shape == mix.shape
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-5 * np.abs(b).max())
    scale = np.abs(patches[1]).max()
    assert scale > 1e-3
    shifted = predict_frames(model, padded[..., 2:], shapes, batch_size=3, step=64)[1]  # off the grid by 2
    assert np.abs(shifted - patches[1][..., 2:]).max() > 1e-3 * scale  # so the grid is what makes them equal


def test_tail_is_covered_by_small_windows() -> None:
    model, shapes = make_model(), get_shapes(SMALL)
    predictor = get_predictor(model, shapes, 64, 4)
    assert predictor.tail.step == 8 and predictor.windows.step == 64
    mix = spectrogram(64 + 5)
    ctx = shapes.context_frames
    estimates = predictor.predict(np.pad(mix, ((0, 0), (0, 0), (ctx, ctx))))
    assert predictor.main.traces == 1 and predictor.small.traces == 1  # 1 wide window, 1 small one
    wide_only = get_predictor(model, shapes, 128, 4).predict(np.pad(mix, ((0, 0), (0, 0), (ctx, ctx))))
    np.testing.assert_allclose(estimates, wide_only, rtol=0, atol=1e-5 * np.abs(wide_only).max())
    get_predictor(model, shapes, 64, 4).predict(np.pad(spectrogram(64 + 60), ((0, 0), (0, 0), (ctx, ctx))))
    assert predictor.small.traces == 1  # 60 frames left: one more wide window is cheaper than 8 small ones


def test_nothing_retraces_across_tracks_and_lengths() -> None:
    model = make_model(1)
    rng = np.random.default_rng(0)
    counts = []
    for seconds in (0.3, 2.7, 1.1, 4.0, 0.05):
        audio = (0.1 * rng.standard_normal((2, int(22050 * seconds)))).astype(np.float32)
        out = separate(audio, 22050, model, SMALL, SeparationOptions(chunk_seconds=1.0))
        assert out["vocals"].shape == audio.shape
        counts.append(trace_count(model))
    assert counts[-1] <= 2 and counts[1:] == [counts[-1]] * 4  # one trace per window shape, all in track 2
    shapes = get_shapes(SMALL)
    for frames in (3, 50, 700, 1500):  # whole-track prediction, as in validation
        acc, voice = predict_magnitudes(model, spectrogram(frames)[0], shapes, 4)
        assert acc.shape == voice.shape == (257, frames)
    assert trace_count(model) <= counts[-1] + 2
    for predictor in (ModelRateStream(model, SMALL, 2, 1.0).predictor, get_predictor(model, shapes, None, 4)):
        assert predictor.main.function.experimental_get_tracing_count() == 1


def test_jit_compile_gives_the_same_estimates_with_one_trace_per_shape() -> None:
    model, shapes = make_model(2), get_shapes(SMALL)
    ctx = shapes.context_frames
    for frames in (70, 150, 9):
        padded = np.pad(spectrogram(frames, channels=2, seed=frames), ((0, 0), (0, 0), (ctx, ctx)))
        plain = predict_frames(model, padded, shapes, batch_size=4, step=32)
        fast = predict_frames(model, padded, shapes, batch_size=4, step=32, jit_compile=True)
        for a, b in zip(fast, plain, strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-4 * np.abs(b).max())
    predictor = get_predictor(model, shapes, 32, 4, jit_compile=True)
    assert predictor.main.traces == 1 and predictor.small.traces == 1  # batches are padded to a fixed size


@pytest.mark.parametrize("mode", ["direct", "mask"])
def test_chunk_borders_are_seamless_on_a_coarser_grid(mode: str) -> None:
    model = make_model(3)
    audio = (0.1 * np.random.default_rng(4).standard_normal((2, 5 * 8192 + 123))).astype(np.float32)

    def stream(chunk: float | None, pieces: int) -> dict[str, np.ndarray]:
        sep = ModelRateStream(model, SMALL, 2, chunk, 3, mode)
        parts = [sep.push(p) for p in np.array_split(audio, pieces, axis=1)] + [sep.finish()]
        return {s: np.concatenate([p[s] for p in parts], axis=1) for s in parts[0]}

    whole = stream(None, 1)
    for chunk, pieces in [(0.13, 7), (0.9, 2), (2.0, 13)]:
        chunked = stream(chunk, pieces)
        for source, expected in whole.items():
            assert chunked[source].shape == audio.shape
            scale = np.abs(expected).max()
            assert 1e-3 < scale < 1e3
            np.testing.assert_allclose(chunked[source], expected, rtol=0, atol=1e-5 * scale)
