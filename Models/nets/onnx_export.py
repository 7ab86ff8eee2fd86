"""Exporting a trained separator to ONNX (the layout of ``Models.nets.onnx_files``) with tf2onnx.

tf2onnx's ``from_keras`` breaks on TensorFlow >= 2.16, so the U-Net's call is converted as a ``tf.function`` with an
explicit input signature whose batch and time axes are free (``from_function``).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import tensorflow as tf

from Models.config import ModelSpec
from Models.nets.checkpoint_files import resolve_checkpoint, restore_checkpoint
from Models.nets.factory import build_separator, dtype_policy, get_shapes
from Models.nets.onnx_files import (
    CHECKPOINT_KEY,
    FORMAT,
    FORMAT_KEY,
    INPUT_NAME,
    OPSET,
    OUTPUT_NAMES,
    SPEC_KEY,
    onnx_file_of,
)
from Utils import CheckpointError, WriteError, atomic_path

logger = logging.getLogger(__name__)


def onnx_bytes(model: tf.keras.Model, spec: ModelSpec, checkpoint: str = "") -> bytes:
    """The serialised ONNX model of the U-Net ``model`` (float32) of ``spec``, with the spec as metadata.

    Raises:
        ImportError: tf2onnx is not installed.
    """
    import tf2onnx  # lazily: training runs without it (the export is then skipped, see export_checkpoint)

    shapes = get_shapes(spec)
    signature = [tf.TensorSpec([None, shapes.input_freq, None, 1], tf.float32, name=INPUT_NAME)]

    def forward(mixture: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        acc, voice = model(mixture, training=False)
        return (tf.identity(tf.cast(acc, tf.float32), name=OUTPUT_NAMES[0]),
                tf.identity(tf.cast(voice, tf.float32), name=OUTPUT_NAMES[1]))

    function = tf.function(forward, input_signature=signature, autograph=False)
    proto, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=OPSET)
    # tf2onnx names the outputs after the graph's tensors; give them the layout's names.
    renames = dict(zip([out.name for out in proto.graph.output], OUTPUT_NAMES, strict=True))
    for node in proto.graph.node:
        node.output[:] = [renames.get(name, name) for name in node.output]
        node.input[:] = [renames.get(name, name) for name in node.input]
    for out in proto.graph.output:
        out.name = renames[out.name]
    for value, axes in ((proto.graph.input[0], ("batch", "time")),
                        *((out, ("batch", "time_out")) for out in proto.graph.output)):
        dims = value.type.tensor_type.shape.dim
        dims[0].dim_param, dims[2].dim_param = axes  # the free axes, named
    metadata = {SPEC_KEY: json.dumps(spec.to_dict(), sort_keys=True), FORMAT_KEY: FORMAT, CHECKPOINT_KEY: checkpoint}
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = "U-Net singing-voice separator (Stoller et al. 2017): log1p magnitudes in, accompaniment and " \
                       "voice out"
    return proto.SerializeToString()


def export_checkpoint(checkpoint: str | os.PathLike, output: str | os.PathLike | None = None) -> Path:
    """Write the ONNX model of a checkpoint prefix or run folder (its best checkpoint) atomically.

    Args:
        checkpoint: a checkpoint prefix or run folder, any layout ``resolve_checkpoint`` reads.
        output: the file to write (default: ``<checkpoint prefix>.onnx``, beside the checkpoint).

    Returns:
        The path written.

    Raises:
        CheckpointError: (one line) the checkpoint cannot be resolved or restored.
        WriteError: the file cannot be written.
        ImportError: tf2onnx is not installed.
    """
    prefix, spec = resolve_checkpoint(checkpoint)
    with dtype_policy("float32"):
        try:
            model = build_separator(spec)
        except (ValueError, KeyError, TypeError) as err:
            raise CheckpointError(f"{prefix}: cannot build the model of its model spec ({err})") from err
    restore_checkpoint(tf.train.Checkpoint(model=model), prefix, "weights do not match the model of its model spec")
    data = onnx_bytes(model, spec, Path(prefix).name)
    target = Path(output) if output is not None else onnx_file_of(prefix)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
    except OSError as err:
        raise WriteError(f"{target}: cannot write the ONNX model ({err.strerror or err})") from err
    logger.info("wrote %s (%.1f MB) from %s", target, len(data) / 1e6, prefix)
    return target
