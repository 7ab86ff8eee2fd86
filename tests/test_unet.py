"""Tests for the U-Net separator (Models/nets/unet.py) and the shape/alignment helpers in Models/nets/factory.py."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from Models.config import ModelSpec, resolved_model_config
from Models.nets.factory import build_critic, build_separator, get_shapes
from Models.nets.unet import Unet, get_output_shape, get_padding
from Utils import ConfigError

# get_padding((256, 64), L) for L = 1..6, verified by building each model and reading its output shape
# (test_get_padding_table_matches_built_models) and by brute force (test_get_padding_is_smallest_valid).
PADDING_256_64 = {
    1: ((264, 72), (256, 64)),
    2: ((278, 86), (258, 66)),
    3: ((302, 110), (258, 66)),
    4: ((350, 158), (258, 66)),
    5: ((446, 254), (258, 66)),
    6: ((638, 446), (258, 66)),
}


def test_get_padding_paper_config():
    assert get_padding((256, 64), 4) == ((350, 158), (258, 66))
    assert Unet.get_padding((256, 64), 4) == ((350, 158), (258, 66))


@pytest.mark.parametrize("num_layers", sorted(PADDING_256_64))
def test_get_padding_table(num_layers):
    assert get_padding((256, 64), num_layers) == PADDING_256_64[num_layers]


def _forward_size(size_in: int, num_layers: int) -> int | None:
    """Independent forward shape arithmetic: None where pooling meets an odd or too small map."""
    size = size_in - 2
    for _ in range(num_layers):
        if size < 2 or size % 2:
            return None
        size = size // 2 - 2
    if size < 2:
        return None
    for _ in range(num_layers):
        size = 2 * size - 2
    return size


@pytest.mark.parametrize("num_layers", [1, 2, 3, 4])
def test_get_padding_is_smallest_valid(num_layers):
    valid = {}  # output size -> smallest input size producing it
    for size_in in range(1, 700):
        out = _forward_size(size_in, num_layers)
        if out is not None and out > 0:
            valid.setdefault(out, size_in)
    for desired in [1, 2, 7, 16, 63, 64, 65, 256, 257]:
        best_out = min(out for out in valid if out >= desired)
        (in_f, in_t), (out_f, out_t) = get_padding((desired, desired), num_layers)
        assert (out_f, in_f) == (best_out, valid[best_out]) == (out_t, in_t)


def test_get_output_shape_inverts_padding_and_rejects_invalid():
    assert get_output_shape((350, 158), 4) == (258, 66)
    with pytest.raises(ValueError, match="invalid"):
        get_output_shape((351, 158), 4)
    with pytest.raises(ValueError):
        get_padding((256, 64), 0)


@pytest.mark.parametrize("num_layers", sorted(PADDING_256_64))
def test_get_padding_table_matches_built_models(num_layers):
    model = Unet(num_layers=num_layers, num_initial_filters=2, desired_output_shape=(256, 64))
    (in_f, in_t), (out_f, out_t) = PADDING_256_64[num_layers]
    acc, voice = model(tf.zeros((1, in_f, in_t, 1)))
    assert acc.shape == voice.shape == (1, out_f, out_t, 1)


@pytest.mark.parametrize(
    ("num_layers", "filters", "desired"),
    [(1, 4, (16, 8)), (2, 4, (20, 12)), (2, 4, (33, 5)), (1, 3, (7, 30))],
)
def test_output_shapes(num_layers, filters, desired):
    model = Unet(num_layers=num_layers, num_initial_filters=filters, desired_output_shape=desired)
    (in_f, in_t), (out_f, out_t) = get_padding(desired, num_layers)
    assert model.model_input_shape == (in_f, in_t) and model.model_output_shape == (out_f, out_t)
    assert out_f >= desired[0] and out_t >= desired[1]
    acc, voice = model(tf.random.uniform((3, in_f, in_t, 1)))
    assert acc.shape == voice.shape == (3, out_f, out_t, 1)


def test_rejects_invalid_input_shape():
    model = Unet(num_layers=2, num_initial_filters=4, desired_output_shape=(16, 16))
    in_f, in_t = model.model_input_shape
    with pytest.raises(ValueError, match="invalid"):
        model(tf.zeros((1, in_f + 2, in_t, 1)))


def test_filters_double_and_halve():
    model = Unet(num_layers=2, num_initial_filters=4, desired_output_shape=(16, 16))
    assert [conv.filters for conv in model.down_convs] == [8, 16]
    assert [conv.filters for conv in model.up_convs] == [8, 4]
    assert [conv.filters for conv in model.dec_convs] == [8, 4]


def test_from_config_rebuild_gives_identical_outputs():
    model = Unet(
        num_layers=2, num_initial_filters=4, output_activation="softplus", desired_output_shape=(20, 10)
    )
    config = model.get_config()
    assert config["output_activation"] == "softplus" and config["num_layers"] == 2
    clone = Unet.from_config(config)
    x = tf.random.uniform((2, *model.model_input_shape, 1), seed=3)
    before = clone(x)[0].numpy()
    clone.set_weights(model.get_weights())
    for ours, theirs in zip(model(x), clone(x), strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert not np.array_equal(before, clone(x)[0].numpy())  # the copy, not chance, made them equal


def test_relu_outputs_non_negative_and_linear_can_be_negative():
    x = tf.random.normal((4, *get_padding((16, 16), 1)[0], 1), seed=5)
    relu_model = Unet(num_layers=1, num_initial_filters=4, desired_output_shape=(16, 16))
    for out in relu_model(x):
        assert np.all(out.numpy() >= 0.0)
    tf.random.set_seed(0)
    linear_model = Unet(
        num_layers=1, num_initial_filters=4, output_activation=None, desired_output_shape=(16, 16)
    )
    assert min(float(tf.reduce_min(out)) for out in linear_model(x)) < 0.0


def test_input_skip_aligns_output_row_with_centre_of_input():
    """All weights zero except the final 1x1 on the input channel: output == centre-cropped input."""
    model = Unet(num_layers=2, num_initial_filters=4, output_activation=None, desired_output_shape=(20, 12))
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    for conv in (model.acc_conv, model.voice_conv):
        kernel = np.zeros(conv.kernel.shape, dtype=np.float32)
        kernel[..., 0, 0] = 1.0  # input channel 0 of the final concat is the cropped mixture
        conv.kernel.assign(kernel)
    (in_f, in_t), (out_f, out_t) = model.model_input_shape, model.model_output_shape
    x = tf.random.uniform((1, in_f, in_t, 1), seed=7)
    lo_f, lo_t = (in_f - out_f) // 2, (in_t - out_t) // 2
    for out in model(x):
        np.testing.assert_array_equal(out.numpy(), x.numpy()[:, lo_f : lo_f + out_f, lo_t : lo_t + out_t])


PAPER = ModelSpec.from_dict(resolved_model_config())  # num_fft 512, 64 frames, 4 layers, 16 filters


def test_get_shapes_paper_config():
    shapes = get_shapes(PAPER)
    assert (shapes.input_freq, shapes.input_time, shapes.output_freq, shapes.output_time) == (
        350,
        158,
        258,
        66,
    )
    assert shapes.num_bins == 257 and shapes.context_frames == 46
    assert (shapes.freq_pad_lo, shapes.freq_pad_hi) == (46, 47)
    assert shapes.freq_pad_lo + shapes.num_bins + shapes.freq_pad_hi == shapes.input_freq
    assert (shapes.disc_freq, shapes.disc_time) == (256, 64)


@pytest.mark.parametrize("num_layers", [1, 2, 3, 4, 5, 6])
def test_get_shapes_cover_every_stft_bin(num_layers):
    shapes = get_shapes(dataclasses.replace(PAPER, num_layers=num_layers))
    assert shapes.output_freq >= shapes.num_bins and shapes.output_time >= 64
    assert shapes.freq_pad_hi >= shapes.freq_pad_lo >= 0


def test_build_small_separator_and_critic():
    spec = dataclasses.replace(PAPER, num_fft=64, num_frames=8, num_layers=1, num_initial_filters=2,
                               critic_initial_filters=4)
    shapes = get_shapes(spec)
    separator = build_separator(spec)
    acc, voice = separator(tf.zeros((2, shapes.input_freq, shapes.input_time, 1)))
    assert acc.shape == voice.shape == (2, shapes.output_freq, shapes.output_time, 1)
    critic = build_critic(spec)
    assert critic(tf.zeros((2, shapes.disc_freq, shapes.disc_time, 1))).shape == (2, 1)
    assert critic.initial_filters == 4
    with pytest.raises(ConfigError, match="missing key.*num_layers"):
        ModelSpec.from_dict({"num_fft": 512, "num_frames": 64})
    with pytest.raises(ValueError, match="even num_fft"):
        get_shapes(dataclasses.replace(PAPER, num_fft=511))
