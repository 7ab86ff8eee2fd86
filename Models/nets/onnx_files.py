"""The separator as an ONNX file: what ``Models.nets.onnx_export`` writes and ``Models.separation.onnx_engine`` reads.
No TensorFlow and no onnxruntime here.

The file holds the U-Net alone (the STFT, masks, Wiener filter and resampling stay in Python, one implementation
for both engines):

* input :data:`INPUT_NAME` ``[batch, input_freq, time, 1]`` float32, log1p mixture magnitudes (STFT bins zero-padded
  to ``input_freq`` rows, see ``Models.nets.shapes``), with ``batch`` free and ``time`` free among the widths
  ``Models.nets.padding.get_padding`` gives;
* outputs :data:`OUTPUT_NAMES` (accompaniment, voice), each ``[batch, output_freq, time_out, 1]`` float32;
* ``metadata_props``: :data:`SPEC_KEY` the model spec as JSON (``Models.config.ModelSpec.to_dict``), and
  :data:`FORMAT_KEY`, :data:`CHECKPOINT_KEY` (the checkpoint the weights came from).

A run folder keeps the export of a checkpoint beside it, named after it: ``<id>_<phase>-<step>.onnx`` beside
``<id>_<phase>-<step>.index`` (:func:`onnx_file_of`), so a file can never be taken for the export of another
checkpoint of the same run.
"""

from __future__ import annotations

import os
from pathlib import Path

INPUT_NAME = "mixture"
OUTPUT_NAMES = ("accompaniment", "voice")
SPEC_KEY = "model_spec"
FORMAT_KEY = "format"
FORMAT = "adversarial-voice-separation/unet-1"  # the layout above; a new layout gets a new value
CHECKPOINT_KEY = "checkpoint"
OPSET = 17


def is_onnx_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` names an ONNX file (by its suffix)."""
    return Path(path).suffix.lower() == ".onnx"


def onnx_file_of(prefix: str | os.PathLike) -> Path:
    """The ONNX export of the checkpoint ``prefix`` (``.../<id>_<phase>-<step>``): ``<prefix>.onnx`` (which may not
    exist)."""
    return Path(f"{prefix}.onnx")
