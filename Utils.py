"""Small helpers shared by Training.py, Evaluate.py and separate.py: logging set-up, run-config files and
checkpoint discovery.

A checkpoint folder (``checkpoints/<id>_<phase>``) holds TensorFlow checkpoints named ``<id>_<phase>-<step>``,
a ``model_config.json`` with the configuration that built the model, and ``best.json`` naming the best
checkpoint by validation loss.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import IO, Any

logger = logging.getLogger(__name__)

CONFIG_FILE = "model_config.json"
BEST_FILE = "best.json"


class CheckpointError(Exception):
    """A checkpoint path that cannot be used; the message names it and the reason."""


def setup_logging(level: int = logging.INFO) -> None:
    """Configure concise root logging for the command-line programs (library code only logs)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    # Before TensorFlow is imported: no C++ start-up chatter, and tf.keras resolves to tf-keras (the Keras this
    # project uses) instead of loading Keras 3 as well (about 1 s and 90 MB less at start-up).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.WARNING)


# Native start-up lines of TensorFlow 2.21 that TF_CPP_MIN_LOG_LEVEL cannot silence (they are written before absl
# logging is initialised): INFO lines, the absl preamble, the CPU-feature note, and the CUDA probe's failure on
# machines without a GPU driver. import_tensorflow() drops these and passes every other line through.
_NATIVE_NOISE = re.compile(r"^(I\d{4} \d|WARNING: All log messages before absl::InitializeLog|To enable the following "
                           r"instructions:|E\d{4} .*failed call to cuInit)")


def import_tensorflow() -> ModuleType:
    """Import TensorFlow and find its devices, without its native start-up chatter on stderr (see
    ``_NATIVE_NOISE``); logs the TensorFlow version and the devices found. For the command-line programs."""
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        return tf
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode("utf-8", "replace").splitlines():
                if not _NATIVE_NOISE.match(line):
                    print(line, file=sys.stderr)
    logger.info("TensorFlow %s, running on %s", tf.__version__,
                f"{len(gpus)} GPU(s): {', '.join(g.name for g in gpus)}" if gpus else "the CPU (no GPU found)")
    return tf


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file next to ``path`` for writing and rename it onto ``path`` when the block succeeds.

    A crash or an exception inside the block leaves ``path`` as it was and removes the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    with atomic_open(path, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True, default=str)


def write_pickle_atomic(path: str | os.PathLike, data: Any) -> None:
    """Pickle ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        pickle.dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file, raising CheckpointError with the path on a missing or corrupt file."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError as err:
        raise CheckpointError(f"{path}: file not found") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path}: not valid JSON ({err})") from err


def checkpoint_exists(prefix: str | os.PathLike) -> bool:
    """True when a TensorFlow checkpoint with this prefix (``.../name-123``) exists."""
    return Path(f"{prefix}.index").is_file()

