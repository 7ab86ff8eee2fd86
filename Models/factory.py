"""The factory and checkpoint loading: builds the separator and critics from a ``Models.config.ModelSpec`` (shapes
from ``Models.shapes``), sets the Keras precision policy they are built with, and restores a trained separator
(:func:`load_separator`). Training, evaluation, and separation all build their models here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import tensorflow as tf
import tf_keras as keras

from Input.audio import one_line
from Models.checkpoint_files import resolve_checkpoint, restore_checkpoint
from Models.config import ModelSpec
from Models.inference_options import PRECISIONS
from Models.precision import choose_precision
from Models.shapes import ModelShapes, get_shapes
from Models.Unet import Unet
from Models.WGAN_Critic import WGANCritic
from Utils import CheckpointError

__all__ = ["POLICIES", "ModelShapes", "build_critic", "build_separator", "dtype_policy", "get_shapes",
           "load_separator"]

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


def load_separator(
    checkpoint: str | os.PathLike, precision: str = "float32"
) -> tuple[keras.Model, ModelSpec, str]:
    """Rebuild and restore a trained separator from its checkpoint and model spec.

    Args:
        checkpoint: a checkpoint prefix (``checkpoints/542621_sup/542621_sup-1001``) or a run folder (its best
            checkpoint, else its latest).
        precision: compute precision: ``"auto"`` (chosen from the hardware and logged,
            ``Models.precision.choose_precision``; ``separate.py``'s default) or a key of ``PRECISIONS``:
            ``"float32"`` (the default, whatever the model was trained with), or ``"bfloat16"`` /
            ``"float16"``: float32 weights, 16-bit arithmetic. bfloat16 is about 1.7x faster on CPUs with
            AVX512_BF16 or AMX (slower without them); float16 suits GPUs. The log-magnitude estimates then
            differ from float32 by about 0.5% of their range.

    Returns:
        ``(model, spec, prefix)``: the restored :func:`build_separator` model, the model spec of the run
        (``Models.checkpoint_files.read_model_spec``), and the checkpoint prefix used.

    Raises:
        CheckpointError: (one line, naming the checkpoint) nothing there, no spec, or weights that do not
            fit the model the spec describes.
    """
    precision, reason = choose_precision(precision)
    logger.info("inference precision %s (%s)", precision, reason)
    prefix, spec = resolve_checkpoint(checkpoint)
    try:
        with dtype_policy(PRECISIONS[precision]):
            model = build_separator(spec)
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"{prefix}: cannot build the model of its model spec ({one_line(err)})") from err
    restore_checkpoint(tf.train.Checkpoint(model=model), prefix, "weights do not match the model of its model spec")
    logger.info("loaded separator from %s", prefix)
    return model, spec, prefix
