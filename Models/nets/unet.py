"""U-Net separator of Stoller et al. (2017): mixture magnitude in, accompaniment and voice magnitudes out.

The network uses only valid convolutions, so it predicts the centre part of its input and only certain input
and output sizes work; :func:`get_padding` finds them. All tensors are channels-last
``[batch, freq, time, channels]`` and hold log-normalised magnitudes (``log1p(|STFT|)``, see
``Models.nets.spectrogram.norm``).

Frequency alignment (the convention ``Models.nets.factory`` implements): the STFT's ``num_fft // 2 + 1`` real bins
(257 for ``num_fft = 512``) are zero-padded to ``freq_in`` rows, with ``pad_lo = (freq_in - freq_out) // 2``
zero rows below bin 0 and the rest above the Nyquist bin. The network trims equally from both sides, so
output row ``k`` sits over input row ``k + pad_lo`` (exactly for the final skip connection from the
centre-cropped input; the receptive field's centre wobbles by up to ``2**L / 2`` rows with the pooling phase)
and therefore estimates STFT bin ``k``. Output rows ``k >= 257`` lie over the zero padding above Nyquist and
carry no signal. Time works the same way: output frame ``t`` sits over input frame
``t + (time_in - time_out) // 2``, so the input carries that many frames of context on either side.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import tensorflow as tf
import tf_keras as keras

from Models.nets.padding import get_output_shape, get_padding

logger = logging.getLogger(__name__)


def _centre_crop(x: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Crops ``x`` ``[batch, h, w, c]`` to the spatial size of ``target`` ``[batch, h', w', c']``, centred."""
    offsets, sizes = [], []
    for axis in (1, 2):
        have, want = x.shape[axis], target.shape[axis]
        if have is None or want is None:
            have, want = tf.shape(x)[axis], tf.shape(target)[axis]
        offsets.append((have - want) // 2)
        sizes.append(want)
    return x[:, offsets[0] : offsets[0] + sizes[0], offsets[1] : offsets[1] + sizes[1], :]


@keras.utils.register_keras_serializable(package="AdversarialSeparation")
class Unet(keras.Model):
    """The paper's U-Net separator, predicting source magnitudes directly (not a mask).

    Architecture, with ``F = num_initial_filters`` and ``L = num_layers``:

    * 3x3 valid conv, ``F`` filters, ReLU;
    * ``L`` down-steps: 2x2 max-pool, then 3x3 valid conv with ``F * 2**i`` filters (``i = 1..L``), ReLU;
    * ``L`` up-steps: 2x2 stride-2 transposed conv with ``F * 2**(L-i)`` filters (``i = 1..L``), ReLU;
      centre crop of the matching encoder map and concatenation; 3x3 valid conv, same filters, ReLU;
    * concatenation with the centre-cropped input, then two 1x1 convs (one filter each) with
      ``output_activation``: accompaniment and voice.

    Call: ``model(x)`` with ``x`` ``[batch, freq_in, time_in, 1]`` log-normalised mixture magnitude returns
    the tuple ``(accompaniment, voice)``, each ``[batch, freq_out, time_out, 1]`` log-normalised magnitude.
    Any input size valid for :func:`get_output_shape` works; with ``desired_output_shape`` the model is built
    for the input :func:`get_padding` gives (see the module docstring for how bins and frames line up).
    """

    def __init__(
        self,
        num_layers: int = 4,
        num_initial_filters: int = 16,
        output_activation: str | None = "relu",
        desired_output_shape: Sequence[int] | None = None,
        **kwargs,
    ) -> None:
        """Creates the layers; builds the model when ``desired_output_shape`` ``(freq, time)`` is given."""
        super().__init__(**kwargs)
        if num_layers < 1:
            raise ValueError(f"Unet: num_layers must be >= 1, got {num_layers}")
        if num_initial_filters < 1:
            raise ValueError(f"Unet: num_initial_filters must be >= 1, got {num_initial_filters}")
        self.num_layers = int(num_layers)
        self.num_initial_filters = int(num_initial_filters)
        self.output_activation = output_activation
        self.desired_output_shape = (
            None if desired_output_shape is None else tuple(map(int, desired_output_shape))
        )

        filters = self.num_initial_filters
        conv = keras.layers.Conv2D
        self.first_conv = conv(filters, 3, padding="valid", activation="relu", name="enc_conv_0")
        self.pools = [
            keras.layers.MaxPool2D(2, strides=2, padding="valid", name=f"pool_{i + 1}")
            for i in range(self.num_layers)
        ]
        self.down_convs = [
            conv(filters * 2 ** (i + 1), 3, padding="valid", activation="relu", name=f"enc_conv_{i + 1}")
            for i in range(self.num_layers)
        ]
        self.up_convs = [
            keras.layers.Conv2DTranspose(
                filters * 2 ** (self.num_layers - i - 1),
                2,
                strides=2,
                padding="valid",
                activation="relu",
                name=f"upconv_{i + 1}",
            )
            for i in range(self.num_layers)
        ]
        self.dec_convs = [
            conv(
                filters * 2 ** (self.num_layers - i - 1),
                3,
                padding="valid",
                activation="relu",
                name=f"dec_conv_{i + 1}",
            )
            for i in range(self.num_layers)
        ]
        self.concat = keras.layers.Concatenate(axis=-1)
        self.acc_conv = conv(1, 1, padding="valid", activation=output_activation, name="accompaniment")
        self.voice_conv = conv(1, 1, padding="valid", activation=output_activation, name="voice")

        self.model_input_shape: tuple[int, int] | None = None
        self.model_output_shape: tuple[int, int] | None = None
        if self.desired_output_shape is not None:
            self.model_input_shape, self.model_output_shape = get_padding(
                self.desired_output_shape, self.num_layers
            )
            self.build((None, *self.model_input_shape, 1))
            logger.debug("Built Unet: input %s -> output %s", self.model_input_shape, self.model_output_shape)

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tuple[tf.Tensor, tf.Tensor]:
        """``[batch, freq_in, time_in, 1]`` -> ``(acc, voice)``, each ``[batch, freq_out, time_out, 1]``.

        ``training`` is unused (no dropout or normalisation layers).
        """
        if inputs.shape.rank != 4:
            raise ValueError(f"Unet: expected input [batch, freq, time, channels], got shape {inputs.shape}")
        if inputs.shape[1] is not None and inputs.shape[2] is not None:
            get_output_shape((inputs.shape[1], inputs.shape[2]), self.num_layers)  # raises if invalid
        x = self.first_conv(inputs)
        skips = [x]
        for pool, down in zip(self.pools, self.down_convs, strict=True):
            x = down(pool(x))
            skips.append(x)
        skips.pop()  # the bottleneck itself is not a skip connection
        for up, dec in zip(self.up_convs, self.dec_convs, strict=True):
            x = up(x)
            x = dec(self.concat([_centre_crop(skips.pop(), x), x]))
        x = self.concat([_centre_crop(inputs, x), x])
        return self.acc_conv(x), self.voice_conv(x)

    def get_config(self) -> dict:
        """Constructor arguments (JSON-serialisable); ``Unet.from_config(cfg)`` rebuilds the architecture."""
        return {
            "name": self.name,
            "num_layers": self.num_layers,
            "num_initial_filters": self.num_initial_filters,
            "output_activation": self.output_activation,
            "desired_output_shape": None
            if self.desired_output_shape is None
            else list(self.desired_output_shape),
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Unet:
        """Rebuilds a (freshly initialised) model from :meth:`get_config`'s output."""
        return cls(**config)

    # Staticmethod aliases so callers holding the class need no second import.
    get_padding = staticmethod(get_padding)
    get_output_shape = staticmethod(get_output_shape)
