"""The factory and checkpoint loading: builds the separator and critics from ``model_config`` (a run config or a
model spec, ``Models.checkpoint_files``), sets the Keras precision policy they are built with, restores a trained
separator (:func:`load_separator`), and owns the spectrogram <-> model alignment. Training, evaluation and
separation all build their models here.

Alignment (see ``Models.Unet`` for why it holds):

* frequency: the STFT's ``num_bins = num_fft // 2 + 1`` bins (257) are zero-padded to ``input_freq`` rows,
  ``freq_pad_lo`` rows below bin 0 and ``freq_pad_hi`` above Nyquist (:func:`pad_freq`). Output row ``k``
  estimates STFT bin ``k`` for ``k < num_bins``; rows ``>= num_bins`` lie over padding and are discarded.
  The U-Net is sized for ``num_bins`` output rows, so every bin, Nyquist included, has an estimate.
* time: an input patch of ``input_time`` frames predicts its centre ``output_time`` frames; output frame ``t``
  is input frame ``t + context_frames``.
* critics see the first ``disc_freq = num_fft // 2`` bins (Nyquist dropped, as in the paper) and
  ``disc_time = num_frames`` frames: ``[batch, disc_freq, disc_time, 1]``.

``model_config`` keys used: ``num_fft``, ``num_frames``, ``num_layers``, ``num_initial_filters``,
``output_activation`` and, for critics, ``critic_initial_filters``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import tensorflow as tf
import tf_keras as keras

from Input.audio import one_line
from Models.checkpoint_files import resolve_checkpoint
from Models.inference_options import PRECISIONS
from Models.Unet import Unet, get_padding
from Models.WGAN_Critic import WGANCritic
from Utils import CheckpointError

logger = logging.getLogger(__name__)

# Values of the run config's ``mixed_precision``: False/None/"float32" (float32) or a Keras mixed policy.
POLICIES: tuple[str | bool | None, ...] = (False, None, "float32", "mixed_float16", "mixed_bfloat16")


@dataclass(frozen=True)
class ModelShapes:
    """Sizes shared by the data pipeline, the separator and the critics (all counts of bins or frames)."""

    num_bins: int  # STFT bins, num_fft // 2 + 1
    input_freq: int  # U-Net input rows (num_bins plus zero padding)
    input_time: int  # U-Net input frames (output_time plus 2 * context_frames)
    output_freq: int  # U-Net output rows, >= num_bins
    output_time: int  # U-Net output frames, >= num_frames
    context_frames: int  # (input_time - output_time) // 2: input frame t + context_frames <-> output frame t
    freq_pad_lo: int  # zero rows below STFT bin 0 in the input, (input_freq - output_freq) // 2
    freq_pad_hi: int  # zero rows above the Nyquist bin in the input
    disc_freq: int  # critic input rows, num_fft // 2
    disc_time: int  # critic input frames, num_frames


def _require(model_config: Mapping, key: str) -> object:
    """``model_config[key]``, or ValueError naming the missing key."""
    if key not in model_config:
        raise ValueError(f"model_config: missing key '{key}'")
    return model_config[key]


def get_shapes(model_config: Mapping) -> ModelShapes:
    """Computes :class:`ModelShapes` for ``model_config`` via ``Models.Unet.get_padding``.

    For ``num_fft=512, num_frames=64, num_layers=4``: input 350 x 158, output 258 x 66, context 46 frames,
    pads 46 below / 47 above, critic 256 x 64.
    """
    num_fft = int(_require(model_config, "num_fft"))
    num_frames = int(_require(model_config, "num_frames"))
    num_layers = int(_require(model_config, "num_layers"))
    if num_fft < 2 or num_fft % 2 or num_frames < 1:
        raise ValueError(
            f"model_config: need an even num_fft >= 2 and num_frames >= 1, got {num_fft}, {num_frames}"
        )
    num_bins = num_fft // 2 + 1
    (input_freq, input_time), (output_freq, output_time) = get_padding((num_bins, num_frames), num_layers)
    pad_lo = (input_freq - output_freq) // 2
    return ModelShapes(
        num_bins=num_bins,
        input_freq=input_freq,
        input_time=input_time,
        output_freq=output_freq,
        output_time=output_time,
        context_frames=(input_time - output_time) // 2,
        freq_pad_lo=pad_lo,
        freq_pad_hi=input_freq - num_bins - pad_lo,
        disc_freq=num_fft // 2,
        disc_time=num_frames,
    )


def build_separator(model_config: Mapping) -> Unet:
    """The U-Net, built for inputs ``[batch, input_freq, input_time, 1]`` (see :func:`get_shapes`).

    Calling it gives ``(accompaniment, voice)``, each ``[batch, output_freq, output_time, 1]``.
    """
    shapes = get_shapes(model_config)
    model = Unet(
        num_layers=int(_require(model_config, "num_layers")),
        num_initial_filters=int(_require(model_config, "num_initial_filters")),
        output_activation=_require(model_config, "output_activation"),
        desired_output_shape=(shapes.num_bins, int(_require(model_config, "num_frames"))),
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


def build_critic(model_config: Mapping, name: str = "critic") -> WGANCritic:
    """A critic for inputs ``[batch, disc_freq, disc_time, 1]`` returning ``[batch, 1]`` scores."""
    shapes = get_shapes(model_config)
    filters = int(_require(model_config, "critic_initial_filters"))
    return WGANCritic(input_size=(shapes.disc_freq, shapes.disc_time), initial_filters=filters, name=name)


def pad_freq(mag: tf.Tensor, target_bins: int, offset: int) -> tf.Tensor:
    """Zero-pads the frequency axis of ``mag`` ``[..., bins, time]`` to ``[..., target_bins, time]``.

    ``offset`` zero rows go below bin 0 and ``target_bins - bins - offset`` above the last bin, so bin ``k``
    lands on row ``k + offset``. For the U-Net input:
    ``pad_freq(x, shapes.input_freq, shapes.freq_pad_lo)``.
    Works on tensors or arrays, inside ``tf.function``; the rank must be static.
    """
    mag = tf.convert_to_tensor(mag)
    rank = mag.shape.rank
    bins = mag.shape[-2] if rank is not None and rank >= 2 else None
    if bins is None:
        raise ValueError(f"pad_freq: need a static [..., bins, time] shape, got {mag.shape}")
    above = target_bins - bins - offset
    if offset < 0 or above < 0:
        raise ValueError(f"pad_freq: cannot place {bins} bins at offset {offset} in {target_bins} rows")
    return tf.pad(mag, [[0, 0]] * (rank - 2) + [[offset, above], [0, 0]])


@contextmanager
def dtype_policy(policy: str | bool | None) -> Iterator[None]:
    """Build models inside this: the Keras dtype policy ``policy`` (a value of :data:`POLICIES`) is in force.

    ``False``/``None``/``"float32"``: float32. ``"mixed_float16"``/``"mixed_bfloat16"``: float32 variables, 16-bit
    compute; the models then return 16-bit tensors. The previous global policy is restored afterwards (layers keep
    the policy they were built with).
    """
    if policy not in POLICIES:
        raise ValueError(f"mixed_precision must be one of {POLICIES}, got {policy!r}")
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy if policy and policy != "float32" else "float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


@contextmanager
def precision_policy(model_config: Mapping) -> Iterator[None]:
    """:func:`dtype_policy` of a run config's ``mixed_precision`` (absent: float32), for the trainers; the
    training steps cast the 16-bit outputs to float32."""
    with dtype_policy(model_config.get("mixed_precision", False)):
        yield


def load_separator(
    checkpoint: str | os.PathLike, precision: str = "float32"
) -> tuple[keras.Model, dict[str, Any], str]:
    """Rebuild and restore a trained separator from its checkpoint and model spec.

    Args:
        checkpoint: a checkpoint prefix (``checkpoints/542621_sup/542621_sup-1001``) or a run folder (its best
            checkpoint, else its latest).
        precision: compute precision (a key of ``PRECISIONS``): ``"float32"`` (default, whatever the
            model was trained with), or ``"bfloat16"`` / ``"float16"``: float32 weights, 16-bit arithmetic.
            bfloat16 is about 1.7x faster on CPUs with AVX512_BF16 or AMX (slower without them); float16 suits
            GPUs. The log-magnitude estimates then differ from float32 by about 0.5% of their range.

    Returns:
        ``(model, spec, prefix)``: the restored :func:`build_separator` model, the model spec of the run
        (``Models.checkpoint_files.read_model_spec``), and the checkpoint prefix used.

    Raises:
        CheckpointError: (one line, naming the checkpoint) nothing there, no spec, or weights that do not
            fit the model the spec describes.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {tuple(PRECISIONS)}, got {precision!r}")
    prefix, spec = resolve_checkpoint(checkpoint)
    try:
        with dtype_policy(PRECISIONS[precision]):
            model = build_separator(spec)
    except (ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{prefix}: cannot build the model of its model spec ({one_line(err)})") from err
    try:
        status = tf.train.Checkpoint(model=model).read(prefix)
        status.expect_partial()
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as err:
        raise CheckpointError(
            f"{prefix}: weights do not match the model of its model spec ({one_line(err, 200)})"
        ) from err
    logger.info("loaded separator from %s", prefix)
    return model, spec, prefix
