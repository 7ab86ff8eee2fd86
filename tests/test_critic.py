"""Tests for the WGAN critic and its gradient-penalty loss (Models/nets/critic.py)."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from Models.nets.critic import MaxLeakyReLU, WGANCritic, critic_loss, gradient_penalty


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


SHAPE = (8, 4, 1)


class SquareCritic(tf.Module):
    """Non-linear critic ``f(x) = sum(w * x**2)`` per example: input gradient ``2 w x`` depends on where it is taken."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.w = tf.Variable(rng.uniform(0.05, 0.3, size=SHAPE).astype(np.float32))

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(self.w * tf.square(x), axis=[1, 2, 3])[:, None]


def _real_fake(batch: int = 5, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Real and fake batches whose examples differ in scale, so input-gradient norms land on both sides of 1."""
    rng = np.random.default_rng(seed)
    scales = np.linspace(0.1, 1.8, batch, dtype=np.float32)[:, None, None, None]
    real = rng.uniform(0.0, 1.0, size=(batch, *SHAPE)).astype(np.float32) * scales[::-1]
    fake = rng.uniform(0.0, 1.0, size=(batch, *SHAPE)).astype(np.float32) * scales
    return real, fake


def _expected_penalty(w, real, fake, permutation, u, one_sided, eps=1e-8):
    """Hand computation (float64): interpolate fake with the permuted real batch, gradient 2 w x, its norm."""
    w, real, fake = (np.asarray(a, np.float64) for a in (w, real, fake))
    r = real[np.asarray(permutation)]
    x = r + np.asarray(u, np.float64).reshape(-1, 1, 1, 1) * (fake - r)
    norms = np.sqrt(np.sum((2.0 * w * x) ** 2, axis=(1, 2, 3)) + eps)
    excess = np.maximum(norms - 1.0, 0.0) if one_sided else norms - 1.0
    return float(np.mean(excess**2)), norms, x


def test_gradient_penalty_matches_hand_computation_with_given_permutation_and_weights():
    critic = SquareCritic()
    real, fake = _real_fake()
    permutation = np.array([3, 0, 4, 1, 2])
    u = np.array([0.1, 0.9, 0.35, 0.6, 0.0], np.float32)
    for one_sided in (True, False):
        expected, norms, _ = _expected_penalty(critic.w.numpy(), real, fake, permutation, u, one_sided)
        assert norms.min() < 0.9 and norms.max() > 1.1  # the one-sided clamp matters for some examples
        got = gradient_penalty(critic, tf.constant(real), tf.constant(fake), one_sided=one_sided,
                               permutation=tf.constant(permutation), weights=tf.constant(u))
        assert float(got) == pytest.approx(expected, rel=1e-5)
    one = _expected_penalty(critic.w.numpy(), real, fake, permutation, u, True)[0]
    two = _expected_penalty(critic.w.numpy(), real, fake, permutation, u, False)[0]
    assert two > one * 1.01  # the two cases are told apart


@pytest.mark.parametrize("one_sided", [True, False])
def test_gradient_penalty_default_draws_shuffle_real_and_one_weight_per_example(one_sided):
    critic = SquareCritic(seed=2)
    real, fake = _real_fake(seed=3)
    tf.random.set_seed(11)
    got = float(gradient_penalty(critic, tf.constant(real), tf.constant(fake), one_sided=one_sided))
    # Same global seed, same sequence of random ops: the shuffle of the real batch, then U[0, 1) per example.
    tf.random.set_seed(11)
    shuffled = tf.random.shuffle(tf.constant(real)).numpy()
    u = tf.random.uniform((real.shape[0], 1, 1, 1), 0.0, 1.0).numpy()
    permutation = [int(np.flatnonzero((real == row).all(axis=(1, 2, 3)))[0]) for row in shuffled]
    assert sorted(permutation) == list(range(real.shape[0])) and permutation != sorted(permutation)
    expected, _, _ = _expected_penalty(critic.w.numpy(), real, fake, permutation, u, one_sided)
    assert got == pytest.approx(expected, rel=1e-5)
    unshuffled, _, _ = _expected_penalty(critic.w.numpy(), real, fake, range(real.shape[0]), u, one_sided)
    assert abs(unshuffled - expected) > 1e-3 * expected  # pairing with the unshuffled batch would be caught


def test_gradient_penalty_weight_gradient_is_second_order_correct():
    critic = SquareCritic(seed=4)
    real, fake = _real_fake(seed=5)
    permutation, u = np.array([1, 2, 3, 4, 0]), np.array([0.2, 0.4, 0.5, 0.7, 0.95], np.float32)
    with tf.GradientTape() as tape:
        penalty = gradient_penalty(critic, real, fake, one_sided=False, permutation=permutation, weights=u)
    grad = tape.gradient(penalty, critic.w).numpy()
    w = critic.w.numpy().astype(np.float64)
    _, norms, x = _expected_penalty(w, real, fake, permutation, u, one_sided=False)
    # P = mean_b (n_b - 1)^2 with n_b = sqrt(sum 4 w^2 x_b^2): dP/dw = mean_b 2 (n_b - 1) 4 w x_b^2 / n_b
    expected = np.mean(2.0 * (norms - 1.0)[:, None, None, None] * 4.0 * w * x**2 / norms[:, None, None, None], 0)
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-7)


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
    critic = SquareCritic(seed=6)
    real, fake = _real_fake(seed=7)
    permutation, u = np.array([4, 3, 2, 1, 0]), np.array([0.3, 0.5, 0.1, 0.8, 0.6], np.float32)

    @tf.function
    def penalty(real, fake):
        return gradient_penalty(critic, real, fake, permutation=permutation, weights=u)

    expected, _, _ = _expected_penalty(critic.w.numpy(), real, fake, permutation, u, one_sided=True)
    assert float(penalty(tf.constant(real), tf.constant(fake))) == pytest.approx(expected, rel=1e-5)
    assert float(gradient_penalty(critic, real, fake)) > 0.0  # random draws inside a graph work too
    assert float(tf.function(lambda r, f: gradient_penalty(critic, r, f))(real, fake)) > 0.0


def test_critic_loss():
    d_real = tf.constant([[1.0], [3.0]])
    d_fake = tf.constant([[-1.0], [0.0]])
    # Wasserstein estimate 2 - (-0.5) = 2.5; loss = -2.5 + 10 * 0.1
    assert float(critic_loss(d_real, d_fake, tf.constant(0.1))) == pytest.approx(-1.5)
    assert float(critic_loss(d_real, d_fake, tf.constant(0.1), lam=0.0)) == pytest.approx(-2.5)
