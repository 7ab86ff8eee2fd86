"""Tests for the WGAN critic and its gradient-penalty loss (Models/WGAN_Critic.py)."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from Models.WGAN_Critic import MaxLeakyReLU, WGANCritic, critic_loss, gradient_penalty


@pytest.mark.parametrize(
    ("size", "filters", "final_map"),
    [
        ((256, 64), 32, (4, 4, 256)),  # 128x32, 64x16, 32x8, 16x4, then 8x4, 4x4
        ((256, 32), 4, (4, 4, 16)),  # 128x16, 64x8, 32x4, then 16x4, 8x4, 4x4
        ((128, 16), 4, (4, 4, 8)),  # 64x8, 32x4, then 16x4, 8x4, 4x4
        ((100, 20), 4, (4, 3, 16)),  # "same" padding rounds up: 50x10, 25x5, 13x3, then 7x3, 4x3
    ],
)
def test_critic_output_shape_and_layout(size, filters, final_map):
    critic = WGANCritic(input_size=size, initial_filters=filters)
    assert critic(tf.random.uniform((3, *size, 1))).shape == (3, 1)
    assert critic.final_map_shape == final_map
    x = tf.random.uniform((3, *size, 1))
    for layer in critic.convs:
        x = layer(x)
    assert tuple(x.shape[1:]) == final_map


def test_critic_paper_layer_sequence():
    critic = WGANCritic(input_size=(256, 64), initial_filters=32)
    convs = [layer for layer in critic.convs if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [32, 64, 128, 256, 256, 256]
    assert [tuple(c.kernel_size) for c in convs] == [(4, 4)] * 4 + [(4, 2)] * 2
    assert [tuple(c.strides) for c in convs] == [(2, 2)] * 4 + [(2, 1)] * 2
    assert (
        critic.hidden.units == 32 and critic.score.units == 1 and critic.score.activation.__name__ == "linear"
    )
    lrelus = [layer for layer in critic.convs if isinstance(layer, MaxLeakyReLU)]
    assert len(lrelus) == 6 and all(layer.alpha == 0.2 for layer in lrelus) and critic.hidden_act.alpha == 0.2


def test_max_leaky_relu_matches_keras():
    x = tf.constant([[-3.0, -0.5, 0.0, 0.25, 4.0]])
    expected = keras.layers.LeakyReLU(0.2)(x).numpy()
    np.testing.assert_allclose(MaxLeakyReLU(0.2)(x).numpy(), expected, rtol=1e-6)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(MaxLeakyReLU(0.2)(x))
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [[0.2, 0.2, 1.0, 1.0, 1.0]])


def test_critic_rejects_wrong_input_size_and_rebuilds_from_config():
    critic = WGANCritic(input_size=(32, 16), initial_filters=2)
    with pytest.raises(ValueError, match="expected input"):
        critic(tf.zeros((1, 32, 8, 1)))
    clone = WGANCritic.from_config(critic.get_config())
    clone.set_weights(critic.get_weights())
    x = tf.random.uniform((2, 32, 16, 1))
    np.testing.assert_array_equal(critic(x).numpy(), clone(x).numpy())


def _linear_critic(shape, weight_norm):
    """Dense(1) on the flattened input with weight vector of norm ``weight_norm``: input gradient == w."""
    model = keras.Sequential([keras.layers.Flatten(input_shape=shape), keras.layers.Dense(1)])
    size = int(np.prod(shape))
    w = np.random.default_rng(0).normal(size=(size, 1)).astype(np.float32)
    model.layers[1].kernel.assign(w * weight_norm / np.linalg.norm(w))
    return model


@pytest.mark.parametrize("weight_norm", [0.5, 1.0, 2.0, 3.5])
def test_gradient_penalty_linear_critic(weight_norm):
    shape = (8, 4, 1)
    critic = _linear_critic(shape, weight_norm)
    real = tf.random.uniform((5, *shape), seed=1)
    fake = tf.random.uniform((5, *shape), seed=2)
    one_sided = float(gradient_penalty(critic, real, fake, one_sided=True))
    two_sided = float(gradient_penalty(critic, real, fake, one_sided=False))
    assert one_sided == pytest.approx(max(weight_norm - 1.0, 0.0) ** 2, abs=1e-5)
    assert two_sided == pytest.approx((weight_norm - 1.0) ** 2, abs=1e-5)


def test_gradient_penalty_weight_gradient_is_second_order_correct():
    shape = (6, 3, 1)
    critic = _linear_critic(shape, 2.0)
    real, fake = tf.random.uniform((4, *shape)), tf.random.uniform((4, *shape))
    with tf.GradientTape() as tape:
        penalty = gradient_penalty(critic, real, fake)
    grad = tape.gradient(penalty, critic.layers[1].kernel).numpy()
    w = critic.layers[1].kernel.numpy()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    np.testing.assert_allclose(grad, 2.0 * (2.0 - 1.0) * w / 2.0, atol=1e-5)


def test_gradient_penalty_finite_when_real_equals_fake():
    critic = WGANCritic(input_size=(16, 8), initial_filters=2)
    real = tf.random.uniform((4, 16, 8, 1))
    with tf.GradientTape() as tape:
        penalty = gradient_penalty(critic, real, real)
    grads = tape.gradient(penalty, critic.trainable_variables)
    assert np.isfinite(float(penalty))
    assert all(np.all(np.isfinite(g.numpy())) for g in grads if g is not None)
    # Zero input gradient (constant critic): the eps keeps sqrt differentiable.
    zero_critic = keras.Sequential([keras.layers.Flatten(input_shape=(16, 8, 1)), keras.layers.Dense(1)])
    zero_critic.layers[1].kernel.assign(tf.zeros_like(zero_critic.layers[1].kernel))
    with tf.GradientTape() as tape:
        penalty = gradient_penalty(zero_critic, real, real, one_sided=False)
    grads = tape.gradient(penalty, zero_critic.trainable_variables)
    assert float(penalty) == pytest.approx((np.sqrt(1e-8) - 1.0) ** 2, abs=1e-6)  # norm = sqrt(0 + eps)
    assert all(np.all(np.isfinite(g.numpy())) for g in grads if g is not None)


def test_gradient_penalty_inside_tf_function():
    critic = _linear_critic((8, 4, 1), 3.0)

    @tf.function
    def penalty(real, fake):
        return gradient_penalty(critic, real, fake)

    value = penalty(tf.random.uniform((3, 8, 4, 1)), tf.random.uniform((3, 8, 4, 1)))
    assert float(value) == pytest.approx(4.0, abs=1e-4)


def test_critic_loss():
    d_real = tf.constant([[1.0], [3.0]])
    d_fake = tf.constant([[-1.0], [0.0]])
    # Wasserstein estimate 2 - (-0.5) = 2.5; loss = -2.5 + 10 * 0.1
    assert float(critic_loss(d_real, d_fake, tf.constant(0.1))) == pytest.approx(-1.5)
    assert float(critic_loss(d_real, d_fake, tf.constant(0.1), lam=0.0)) == pytest.approx(-2.5)
