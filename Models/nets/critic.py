"""Wasserstein critic of Stoller et al. (2017) (an adapted DCGAN discriminator) and its WGAN-GP losses.

The critic scores a log-normalised source magnitude ``[batch, freq, time, 1]`` (``freq = num_fft // 2``: STFT
bins 1 .. num_fft // 2, without the DC bin, as the original code; ``time = num_frames``) with one unbounded real
number per example.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import tensorflow as tf
import tf_keras as keras

logger = logging.getLogger(__name__)

LEAKY_SLOPE = 0.2


@keras.utils.register_keras_serializable(package="AdversarialSeparation")
class MaxLeakyReLU(keras.layers.Layer):
    """Leaky ReLU computed as ``max(x, alpha * x)`` (``alpha`` in [0, 1]), any shape, elementwise.

    Same values as ``keras.layers.LeakyReLU`` (gradient too, except 1 instead of alpha at exactly 0), but
    not the fused ``LeakyRelu`` op: TF's grappler remapper fuses Conv2D + BiasAdd + LeakyRelu and then fails
    on the second-order gradient the gradient penalty needs ("remapper failed: ... LeakyReluGrad exist for
    missing node ... BiasAdd"), which disables that optimiser for the whole training step. This form avoids
    that (a critic step with penalty ran ~40% faster on CPU).
    """

    def __init__(self, alpha: float = LEAKY_SLOPE, **kwargs) -> None:
        """``alpha``: slope for negative inputs."""
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        """Elementwise ``max(x, alpha * x)``."""
        return tf.maximum(inputs, self.alpha * inputs)

    def get_config(self) -> dict:
        """Layer config including ``alpha``."""
        return {**super().get_config(), "alpha": self.alpha}


@keras.utils.register_keras_serializable(package="AdversarialSeparation")
class WGANCritic(keras.Model):
    """DCGAN-style critic for a fixed input size ``(freq, time)``.

    Layers: a 4x4 stride-2 "same" conv with ``initial_filters`` filters and LeakyReLU(0.2); further such
    convs, doubling the filters each time, while both axes are longer than 4; then 4x2-kernel convs with
    stride ``(2, 1)`` (same filters) while the frequency axis is longer than 4; flatten; dense 32 with
    LeakyReLU(0.2); dense 1 without activation or bias (as in the original code; a bias cancels in every
    WGAN loss).
    For 256 x 64 inputs the conv maps are 128x32x32, 64x16x64, 32x8x128, 16x4x256, 8x4x256, 4x4x256.

    Call: ``critic(x)`` with ``x`` ``[batch, freq, time, 1]`` returns ``[batch, 1]`` scores.
    """

    def __init__(self, input_size: Sequence[int] = (256, 64), initial_filters: int = 32, **kwargs) -> None:
        """Creates and builds the layers for inputs ``[batch, input_size[0], input_size[1], 1]``."""
        super().__init__(**kwargs)
        freq, time = (int(s) for s in input_size)
        if freq < 1 or time < 1 or initial_filters < 1:
            raise ValueError(
                f"WGANCritic: invalid input_size {tuple(input_size)} or filters {initial_filters}"
            )
        self.input_size = (freq, time)
        self.initial_filters = int(initial_filters)

        filters = self.initial_filters
        self.convs: list[keras.layers.Layer] = []

        def add_conv(kernel: tuple[int, int], strides: tuple[int, int]) -> None:
            index = len(self.convs) // 2 + 1
            self.convs.append(
                keras.layers.Conv2D(filters, kernel, strides=strides, padding="same", name=f"conv_{index}")
            )
            self.convs.append(MaxLeakyReLU(LEAKY_SLOPE, name=f"lrelu_{index}"))

        add_conv((4, 4), (2, 2))
        freq, time = -(-freq // 2), -(-time // 2)
        while freq > 4 and time > 4:
            filters *= 2
            add_conv((4, 4), (2, 2))
            freq, time = -(-freq // 2), -(-time // 2)
        while freq > 4:
            add_conv((4, 2), (2, 1))
            freq = -(-freq // 2)
        self.final_map_shape = (freq, time, filters)
        self.flatten = keras.layers.Flatten()
        self.hidden = keras.layers.Dense(32, name="hidden")
        self.hidden_act = MaxLeakyReLU(LEAKY_SLOPE, name="hidden_lrelu")
        self.score = keras.layers.Dense(1, use_bias=False, name="score")
        self.build((None, *self.input_size, 1))

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        """``[batch, freq, time, 1]`` log-normalised magnitude -> ``[batch, 1]`` critic scores."""
        if inputs.shape.rank != 4 or tuple(inputs.shape[1:3]) != self.input_size:
            raise ValueError(
                f"WGANCritic: expected input [batch, {self.input_size[0]}, {self.input_size[1]}, "
                f"channels], got shape {inputs.shape}"
            )
        x = inputs
        for layer in self.convs:
            x = layer(x)
        return self.score(self.hidden_act(self.hidden(self.flatten(x))))

    def get_config(self) -> dict:
        """Constructor arguments; ``WGANCritic.from_config(cfg)`` rebuilds the same architecture."""
        return {
            "name": self.name,
            "input_size": list(self.input_size),
            "initial_filters": self.initial_filters,
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> WGANCritic:
        """Rebuilds a (freshly initialised) critic from :meth:`get_config`'s output."""
        return cls(**config)


def gradient_penalty(
    critic: Callable[[tf.Tensor], tf.Tensor],
    real: tf.Tensor,
    fake: tf.Tensor,
    one_sided: bool = True,
    eps: float = 1e-8,
    *,
    permutation: tf.Tensor | None = None,
    weights: tf.Tensor | None = None,
) -> tf.Tensor:
    """WGAN-GP gradient penalty, as in the original code.

    Interpolates ``x = r + u * (fake - r)`` between each fake example and an example of the *shuffled* real
    batch ``r = tf.random.shuffle(real)``, with one ``u ~ U[0, 1)`` per example, and penalises the critic's
    input-gradient norm ``n = sqrt(sum(grad**2 over all non-batch axes) + eps)``: ``max(n - 1, 0)**2``
    (one-sided) or ``(n - 1)**2`` (two-sided), averaged over the batch. ``eps`` keeps the derivative of the
    square root finite when the gradient is zero. Differentiable with respect to the critic's weights when
    called under an outer ``tf.GradientTape``; works inside ``tf.function``.

    Args:
        critic: maps ``[batch, ...]`` to ``[batch, 1]`` (or ``[batch]``) scores.
        real: ``[batch, ...]`` real examples (e.g. ``[batch, freq, time, 1]``).
        fake: same shape as ``real``, generated examples.
        one_sided: penalise only norms above 1 (the paper's choice).
        eps: added under the square root.
        permutation: ``[batch]`` indices; if given, ``r = tf.gather(real, permutation)`` instead of a random
            shuffle (for tests).
        weights: ``[batch]`` interpolation weights ``u``; if given, used instead of random draws (for tests).

    Returns:
        Scalar penalty (float32).
    """
    real = tf.convert_to_tensor(real)
    fake = tf.cast(fake, real.dtype)
    rank = real.shape.rank
    if rank is None or rank < 2:
        raise ValueError(f"gradient_penalty: expected [batch, ...] inputs, got shape {real.shape}")
    real_shuffled = tf.random.shuffle(real) if permutation is None else tf.gather(real, permutation)
    mix_shape = tf.concat([tf.shape(real)[:1], tf.ones([rank - 1], dtype=tf.int32)], axis=0)
    if weights is None:
        mix = tf.random.uniform(mix_shape, 0.0, 1.0, dtype=real.dtype)
    else:
        mix = tf.reshape(tf.cast(weights, real.dtype), mix_shape)
    interp = real_shuffled + mix * (fake - real_shuffled)
    with tf.GradientTape() as tape:
        tape.watch(interp)
        scores = critic(interp)
    grad = tape.gradient(scores, interp)
    grad_norm = tf.sqrt(tf.reduce_sum(tf.square(grad), axis=list(range(1, rank))) + eps)
    excess = grad_norm - 1.0
    if one_sided:
        excess = tf.maximum(excess, 0.0)
    return tf.reduce_mean(tf.square(excess))


def critic_loss(d_real: tf.Tensor, d_fake: tf.Tensor, gp: tf.Tensor, lam: float = 10.0) -> tf.Tensor:
    """WGAN-GP critic loss ``-(mean(d_real) - mean(d_fake)) + lam * gp`` (to minimise).

    Args:
        d_real: ``[batch, 1]`` critic scores of real examples.
        d_fake: ``[batch, 1]`` critic scores of separator outputs.
        gp: scalar from :func:`gradient_penalty`.
        lam: penalty weight (10 in the paper).

    Returns:
        Scalar loss; ``mean(d_real) - mean(d_fake)`` is the Wasserstein distance estimate.
    """
    return -(tf.reduce_mean(d_real) - tf.reduce_mean(d_fake)) + lam * gp
