"""The factory: builds the separator and critics from a ``Models.config.ModelSpec`` (shapes from
``Models.nets.shapes``) and sets the Keras precision policy they are built with. Training builds its models here;
a trained separator is restored by ``Models.api.Separator.load``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import tf_keras as keras

from Models.config import ModelSpec
from Models.nets.critic import WGANCritic
from Models.nets.shapes import ModelShapes, get_shapes
from Models.nets.unet import Unet

__all__ = ["POLICIES", "ModelShapes", "build_critic", "build_separator", "dtype_policy", "get_shapes",
           ]

logger = logging.getLogger(__name__)

# Values of the run config's ``mixed_precision``: False/None/"float32" (float32) or a Keras mixed policy.
POLICIES: tuple[str | bool | None, ...] = (False, None, "float32", "mixed_float16", "mixed_bfloat16")


def build_separator(spec: ModelSpec) -> Unet:
    """The U-Net, built for inputs ``[batch, input_freq, input_time, 1]`` (see :func:`get_shapes`).

    Calling it gives ``(accompaniment, voice)``, each ``[batch, output_freq, output_time, 1]``.
    """
    shapes = get_shapes(spec)
    model = Unet(
        num_layers=spec.num_layers,
        num_initial_filters=spec.num_initial_filters,
        output_activation=spec.output_activation,
        desired_output_shape=(shapes.num_bins, spec.num_frames),
        name="separator",
    )
    logger.info(
        "Separator: input %dx%d -> output %dx%d, %d parameters",
        shapes.input_freq,
        shapes.input_time,
        shapes.output_freq,
        shapes.output_time,
        model.count_params(),
    )
    return model


def build_critic(spec: ModelSpec, name: str = "critic") -> WGANCritic:
    """A critic for inputs ``[batch, disc_freq, disc_time, 1]`` returning ``[batch, 1]`` scores."""
    shapes = get_shapes(spec)
    return WGANCritic(input_size=(shapes.disc_freq, shapes.disc_time), initial_filters=spec.critic_initial_filters,
                      name=name)


@contextmanager
def dtype_policy(policy: str | bool | None) -> Iterator[None]:
    """Build models inside this: the Keras dtype policy ``policy`` (a value of :data:`POLICIES`: a checkpoint's
    inference precision, or a run's ``mixed_precision``) is in force.

    ``False``/``None``/``"float32"``: float32. ``"mixed_float16"``/``"mixed_bfloat16"``: float32 variables, 16-bit
    compute; the models then return 16-bit tensors (the training steps cast them to float32). The previous global
    policy is restored afterwards (layers keep the policy they were built with).
    """
    if policy not in POLICIES:
        raise ValueError(f"mixed_precision must be one of {POLICIES}, got {policy!r}")
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy if policy and policy != "float32" else "float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


