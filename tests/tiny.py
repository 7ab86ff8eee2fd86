"""A tiny separator config shared by the inference, evaluation and CLI tests (fast on a CPU): Training.py's
defaults with a one-layer, two-filter U-Net on 8-frame patches; two separators of it for the inference tests; and
the training tests' tiny run."""

import numpy as np
import tf_keras as keras

from Models.nets.factory import build_separator, get_shapes
from Training import resolved_model_config

TINY_MODEL = resolved_model_config(num_frames=8, num_layers=1, num_initial_filters=2, critic_initial_filters=2,
                                   inference_batch_size=8)
TINY = {**TINY_MODEL, "inference_batch_size": 4}  # the inference tests' model spec
# Training.py model_config updates for a smoke run of both phases in seconds (3 steps an epoch, 2 epochs at most).
TINY_TRAINING = {
    "num_layers": 1,
    "num_initial_filters": 2,
    "critic_initial_filters": 2,
    "num_frames": 8,
    "batch_size": 2,
    "epoch_it": 3,
    "max_epochs": 2,
    "patience": 1,
    "num_workers": 1,
    "log_every": 1,
    "summary_seconds": 1.0,
    "num_disc": 2,
    "init_sup_sep_lr": 1e-3,
    "init_unsup_sep_lr": 1e-3,
    "init_disc_lr": 1e-3,
}


def random_separator() -> keras.Model:
    """Tiny U-Net (``TINY``) with random weights and a linear output, so every estimate depends on its input
    context."""
    net = build_separator({**TINY, "output_activation": None})
    rng = np.random.default_rng(3)
    for weight in net.weights:
        weight.assign(rng.normal(0.1, 0.4, size=weight.shape).astype(np.float32))
    return net


def identity_separator() -> keras.Model:
    """A real keras model of ``TINY``'s shapes whose outputs are the centre crop of its input: estimates = mixture
    spectrogram, so every soft mask is 1/2."""
    shapes = get_shapes(TINY)
    inputs = keras.Input((shapes.input_freq, shapes.input_time, 1))
    above = shapes.input_freq - shapes.freq_pad_lo - shapes.output_freq
    crop = keras.layers.Cropping2D(((shapes.freq_pad_lo, above), (shapes.context_frames,) * 2))(inputs)
    return keras.Model(inputs, [crop, crop])
