"""The TF engine's network call: a Keras separator run through one ``tf.function`` per window shape (see
``Models.separation.windows``, which feeds it; ``Models.separation.onnx_engine`` is the other engine)."""

from __future__ import annotations

import weakref

import numpy as np
import tensorflow as tf

from Models.nets.geometry import crop_output_to_stft
from Models.nets.shapes import ModelShapes


class KerasWindowFunction:
    """``[n, input_freq, input_time, 1]`` float32 windows -> ``[2, n, 257, step]`` float32 estimates (accompaniment,
    voice) of a Keras separator, through a ``tf.function`` with a fixed input signature: the batch dimension is free
    (``batch`` None) or fixed (XLA, ``jit_compile``, compiles per shape); :attr:`traces` counts its traces."""

    def __init__(self, model: weakref.ref, shapes: ModelShapes, input_time: int, step: int, batch: int | None,
                 jit_compile: bool) -> None:
        self._model = model  # weak: the predictor cache is keyed by the model
        self.shapes = shapes
        self.step = step
        self.traces = 0
        spec = tf.TensorSpec([batch, shapes.input_freq, input_time, 1], tf.float32)
        # No autograph: the separator's call has no tensor-dependent Python control flow, and converting it
        # costs about 0.4 s of the first call (cold start) for the paper's model.
        self.function = tf.function(self._forward, input_signature=[spec], jit_compile=jit_compile, autograph=False)

    def _forward(self, windows: tf.Tensor) -> tf.Tensor:
        """``[batch, input_freq, input_time, 1]`` -> ``[2, batch, 257, step]`` (accompaniment, voice)."""
        self.traces += 1  # runs only while tracing
        acc, voice = self._model()(windows, training=False)
        estimates = tf.cast(tf.stack([acc[..., 0], voice[..., 0]]), tf.float32)  # [2, batch, out_freq, out_time]
        return crop_output_to_stft(estimates, self.shapes)[..., : self.step]

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.function(batch).numpy()
