"""The ONNX engine: the U-Net of an ONNX file (``Models.nets.onnx_files``) run by onnxruntime, without TensorFlow.

:class:`OnnxNetwork` stands where the TF engine has the Keras U-Net: ``Models.separation.windows`` asks it for one
window function per window shape (:meth:`OnnxNetwork.window_function`), and everything else (STFT, chunks, masks,
Wiener filter, bands, resampling, files) is the same code for both engines. onnxruntime's CUDA provider is used
first when it is available, then the CPU.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from Models.config import ModelSpec
from Models.nets.onnx_files import FORMAT, FORMAT_KEY, INPUT_NAME, OUTPUT_NAMES, SPEC_KEY
from Models.nets.shapes import ModelShapes, get_shapes
from Utils import CheckpointError, ConfigError, one_line

logger = logging.getLogger(__name__)

CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"


def providers(cpu_only: bool = False) -> list[str]:
    """The onnxruntime execution providers to use: CUDA first when this onnxruntime has it (and not ``cpu_only``),
    then the CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    return [p for p in (CUDA_PROVIDER,) if p in available and not cpu_only] + [CPU_PROVIDER]


class _OnnxWindowFunction:
    """One window shape: runs batches ``[n, input_freq, input_time, 1]`` through the session and returns
    ``[2, n, num_bins, step]`` float32 (accompaniment, voice), as the TF engine's window function."""

    def __init__(self, network: OnnxNetwork, shapes: ModelShapes, step: int) -> None:
        self.network = network
        self.shapes = shapes
        self.step = step
        self.traces = 0  # nothing is traced; kept for Models.separation.windows.trace_count

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        acc, voice = self.network.session.run(list(OUTPUT_NAMES), {INPUT_NAME: np.ascontiguousarray(batch)})
        estimates = np.stack([acc[..., 0], voice[..., 0]])  # [2, n, output_freq, output_time]
        return estimates[:, :, : self.shapes.num_bins, : self.step]


class OnnxNetwork:
    """An ONNX separator file loaded into an onnxruntime ``InferenceSession``.

    Attributes:
        path: the file.
        spec: its model spec (from the file's metadata).
        session: the onnxruntime session.
        num_layers: the U-Net's depth (its window grid is ``2**num_layers`` frames).
    """

    name = "onnx-separator"

    def __init__(self, path: Path, spec: ModelSpec, session: Any) -> None:
        self.path = path
        self.spec = spec
        self.session = session
        self.num_layers = spec.num_layers

    @classmethod
    def load(cls, path: str | os.PathLike, cpu_only: bool = False) -> OnnxNetwork:
        """Load an ONNX separator.

        Raises:
            CheckpointError: one line naming the file: missing, not an ONNX model, or without this project's
                metadata (or with a layout other than ``Models.nets.onnx_files.FORMAT``).
        """
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"{path}: no such ONNX file")
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only
        try:
            session = ort.InferenceSession(str(path), options, providers=providers(cpu_only))
        except Exception as err:  # onnxruntime raises its own exception types (Fail, InvalidGraph, ...)
            raise CheckpointError(f"{path}: not a readable ONNX model ({one_line(err)[:200]})") from err
        metadata = session.get_modelmeta().custom_metadata_map
        if metadata.get(FORMAT_KEY) != FORMAT or SPEC_KEY not in metadata:
            raise CheckpointError(f"{path}: not a separator exported by Models.export (no {FORMAT!r} metadata)")
        try:
            spec = ModelSpec.from_dict(json.loads(metadata[SPEC_KEY]))
        except (ValueError, TypeError, ConfigError) as err:
            raise CheckpointError(f"{path}: bad model spec in its metadata ({one_line(err)})") from err
        inputs = session.get_inputs()
        if [i.name for i in inputs] != [INPUT_NAME] or inputs[0].shape[1] != get_shapes(spec).input_freq:
            raise CheckpointError(f"{path}: its input does not fit its model spec")
        logger.info("loaded ONNX separator %s (providers %s)", path, ", ".join(session.get_providers()))
        return cls(path, spec, session)

    def window_function(self, shapes: ModelShapes, step: int, jit_compile: bool = False) -> _OnnxWindowFunction:
        """The network call of ``Models.separation.windows`` for windows that keep ``step`` output frames
        (``jit_compile`` is TensorFlow's and ignored here)."""
        return _OnnxWindowFunction(self, shapes, step)
