"""A tiny separator config shared by the inference, evaluation and CLI tests (fast on a CPU): Training.py's
defaults with a one-layer, two-filter U-Net on 8-frame patches; two separators of it for the inference tests; the
training tests' tiny run; and the data tests' DataConfig (every source off unless named)."""

import dataclasses

import numpy as np
import tf_keras as keras

from Input.config import DataConfig
from Models.config import ExperimentConfig, resolved_model_config
from Models.nets.factory import build_separator, get_shapes

TINY_MODEL = resolved_model_config(num_frames=8, num_layers=1, num_initial_filters=2, critic_initial_filters=2,
                                   inference_batch_size=8)  # a whole run config (model_config), as run.json holds
TINY_CONFIG = ExperimentConfig.from_dict(TINY_MODEL)
TINY = dataclasses.replace(TINY_CONFIG.spec, inference_batch_size=4)  # the inference tests' model spec
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


def tiny_config(**updates: object) -> ExperimentConfig:
    """The typed run config of ``TINY_MODEL`` with ``model_config`` ``updates``."""
    return ExperimentConfig.from_dict({**TINY_MODEL, **updates})


def random_separator() -> keras.Model:
    """Tiny U-Net (``TINY``) with random weights and a linear output, so every estimate depends on its input
    context."""
    net = build_separator(dataclasses.replace(TINY, output_activation=None))
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


# The data tests' DataConfig: Training.py's data keys with every source and cache switched off (no MoisesDB, no
# unpaired folders, no dataset or probe cache, no silent voices) unless a test names it.
DATA_OFF = {**TINY_MODEL, "moisesdb_path": None, "dataset_cache": None, "audio_cache_dir": None,
            "include_silent_voices": False, "num_workers": 1}


def data_config(**keys: object) -> DataConfig:
    """``DATA_OFF`` with the ``model_config`` data ``keys`` given."""
    return DataConfig.from_dict({**DATA_OFF, **keys})
