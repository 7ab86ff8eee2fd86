"""Small helpers shared by the command-line programs and the Input/Models packages: the errors a user can cause,
their exit statuses and the programs' error boundary (:data:`EXIT_STATUS`, :func:`run_cli`), logging set-up,
atomic file writes (:class:`AtomicFile`, :func:`atomic_path`, :func:`atomic_open`), versioned pickle caches, JSON
files, and TensorFlow's quiet start. Checkpoint folders are described in ``Models.nets.checkpoint_files`` and
``Models.training.checkpoints``; :data:`BEST_FILE` names the best checkpoint there.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import pickle
import re
import signal
import socket
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import IO, Any

logger = logging.getLogger(__name__)

BEST_FILE = "best.json"


# The exit status of each kind of error a user can cause, for every command-line program (README,
# "Troubleshooting"). Any other exception is a bug: Python prints its traceback and exits with 1.
EXIT_STATUS: dict[str, int] = {
    "config": 2,  # bad option, config key or value, unknown named config, an output folder that is a file,
    # a data set path that points at nothing (MUSDB18 not found)
    "dataset": 3,  # data set unreadable or with no usable track in a partition; a bad dataset_loader
    "audio": 4,  # an audio file could not be read (separate.py: at least one input failed)
    "checkpoint": 5,  # checkpoint missing, damaged or not fitting its model spec; a run folder in use
    "write": 6,  # an output could not be written (disk full, no permission): outputs, checkpoints, results
    "diverged": 7,  # training stopped on a non-finite loss (the last good checkpoint is kept)
    "interrupted": 130,  # Ctrl-C (143 for SIGTERM during training)
}


SIGNAL_STATUS = {signal.SIGINT: EXIT_STATUS["interrupted"], signal.SIGTERM: 128 + signal.SIGTERM}  # as shells report


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's ``KeyboardInterrupt`` (no message), with exit status 143."""

    exit_status = SIGNAL_STATUS[signal.SIGTERM]


def _terminate(signum: int, frame: object) -> None:  # noqa: ARG001
    raise Terminated


@contextmanager
def interrupts_raise() -> Iterator[None]:
    """Inside the block SIGINT raises ``KeyboardInterrupt`` (also when the shell started us with SIGINT ignored)
    and SIGTERM a :class:`Terminated` (status 143), so that a command line program stops the same way on both;
    the previous handlers are restored after. Main thread only (Python's signal rule)."""
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
                signal.SIGTERM: signal.signal(signal.SIGTERM, _terminate)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class ProjectError(Exception):
    """An error the user can fix: the message is one line naming the file or key and the reason; ``kind`` (a key
    of :data:`EXIT_STATUS`) chooses the exit status. :func:`run_cli` reports it without a traceback."""

    kind = "config"

    @property
    def exit_status(self) -> int:
        """The command-line exit status of this kind of error (:data:`EXIT_STATUS`)."""
        return EXIT_STATUS[self.kind]


class ConfigError(ProjectError):
    """A bad command-line option or configuration value; the message names the option or key."""


class CheckpointError(ProjectError):
    """A checkpoint path that cannot be used; the message names it and the reason."""

    kind = "checkpoint"


class WriteError(ProjectError, OSError):
    """An output could not be written (e.g. a full disk); the message names it and the reason."""

    kind = "write"


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` with whitespace runs (newlines included) collapsed into single spaces, cut to ``limit`` characters
    (with ``...``) when given."""
    text = " ".join(str(text).split())
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."


def run_cli(main: Callable[[], int]) -> int:
    """The error boundary of a command-line program: runs ``main`` and returns its exit status.

    A :class:`ProjectError` becomes ``error: <message>`` on stderr and its :data:`EXIT_STATUS`; Ctrl-C becomes one
    line and 130 (or the interrupt's own ``exit_status``); any other exception keeps its traceback (a bug).
    """
    try:
        return main()
    except ProjectError as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return err.exit_status
    except KeyboardInterrupt as err:
        print(one_line(err) or "interrupted", file=sys.stderr)
        return getattr(err, "exit_status", EXIT_STATUS["interrupted"])


def setup_logging(level: int = logging.INFO) -> None:
    """Configure concise root logging for the command-line programs (library code only logs)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    quiet_tensorflow()


def quiet_tensorflow() -> None:
    """Before TensorFlow is imported: no C++ start-up chatter, and tf.keras resolves to tf-keras (the Keras this
    project uses) instead of loading Keras 3 as well (about 1 s and 90 MB less at start-up). Settings the
    environment already has are kept. For every process that runs models (the CLIs, the web app's worker)."""
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
    ``_NATIVE_NOISE``, and :func:`quiet_tensorflow`); logs the TensorFlow version and the devices found. For the
    command-line programs and the web app's worker."""
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        return tf
    quiet_tensorflow()
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


class AtomicFile:
    """A pending write of ``target``: a writer fills :attr:`path`, then :meth:`commit` moves it onto ``target``.

    ``path`` is a unique hidden name in the target's folder (``.<name>.<host>.<pid>-<32 hex digits>.tmp``), so
    the rename is atomic and concurrent writers of the same target never share a temporary file. The file is not
    created here: any writer may create it (``open``, soundfile, numpy, an ffmpeg subprocess, ``shutil.copy2``).
    Readers see either the old ``target`` or the complete new one, never a partial file. The pending writes of
    the same target left by processes of this machine that no longer run (killed mid-write, e.g. by SIGKILL) are
    removed here; another machine's (a folder shared over NFS) are left alone, as their processes cannot be seen.
    """

    def __init__(self, target: str | os.PathLike) -> None:
        self.target = Path(target)
        self.path = self.target.parent / f".{self.target.name}.{HOST}.{os.getpid()}-{uuid.uuid4().hex}.tmp"
        _remove_orphans(self.target)

    def commit(self) -> None:
        """Flush the written file to disk (fsync) and rename it onto ``target``; on any failure remove it."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(self.path, self.target)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Remove the temporary file (if it was created); ``target`` stays as it was."""
        self.path.unlink(missing_ok=True)


# The end of AtomicFile.path's name, after ".<target name>."; names written before ``host`` was added lack it.
_PENDING = re.compile(r"((?P<host>[A-Za-z0-9-]+)\.)?(?P<pid>\d+)-[0-9a-f]{32}\.tmp")
HOST = re.sub(r"[^A-Za-z0-9-]", "", socket.gethostname())[:40] or "host"  # this machine, as pending names hold it


def _remove_orphans(target: Path) -> None:
    """Remove the pending writes of ``target`` whose writing process no longer runs."""
    try:
        pending = list(target.parent.glob(f".{glob.escape(target.name)}.*.tmp"))
    except OSError:
        return
    for path in pending:
        match = _PENDING.fullmatch(path.name[len(target.name) + 2:])
        if match and match["host"] in (HOST, None) and not _running(int(match["pid"])):
            path.unlink(missing_ok=True)
            logger.info("removed %s, left by an interrupted run", path)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``target`` for a writer to fill; it becomes ``target`` when the block ends.

    Any exception in the block (KeyboardInterrupt included) or in the final fsync/rename removes the temporary
    file and leaves ``target`` untouched. The folder of ``target`` must exist. See :class:`AtomicFile`.
    """
    pending = AtomicFile(target)
    try:
        yield pending.path
    except BaseException:
        pending.abort()
        raise
    pending.commit()


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a new temporary file next to ``path`` (``mode`` ``"w"``/``"wb"``, other ``open`` arguments in
    ``kwargs``) and move it onto ``path`` when the block succeeds; creates the folder of ``path`` if needed.

    A crash or an exception inside the block leaves ``path`` as it was and removes the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, mode.replace("w", "x"), **kwargs) as handle:
        yield handle


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    with atomic_open(path, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True, default=str)


def write_pickle_atomic(path: str | os.PathLike, data: Any) -> None:
    """Pickle ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        pickle.dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)


def write_versioned_pickle(path: str | os.PathLike, version: int, key: Any, data: Any) -> None:
    """Pickle ``data`` atomically to ``path`` as a cache that :func:`read_versioned_pickle` accepts only for the
    same format ``version`` and ``key`` (any picklable value compared with ``==``: what the data was made from).
    """
    write_pickle_atomic(path, {"version": version, "key": key, "data": data})


def read_versioned_pickle(path: str | os.PathLike, version: int, key: Any, what: str = "cache",
                          log: logging.Logger | None = None) -> Any | None:
    """The data of a cache written by :func:`write_versioned_pickle` with the same ``version`` and ``key``.

    Returns ``None`` when the cache is stale: missing (logged at debug level), unreadable, not such a cache, of
    another format version, or made for another key; each logged at info level as
    ``"<what> <path> ignored (<reason>); rebuilding it"`` on ``log`` (default: this module's logger).
    """
    log = log or logger
    try:
        with open(path, "rb") as handle:
            payload = pickle.load(handle)
    except FileNotFoundError:
        log.debug("no %s at %s yet", what, path)
        return None
    except Exception as e:  # noqa: BLE001 - unpickling garbage raises almost anything; it only means "rebuild"
        reason = f"unreadable: {type(e).__name__}: {e}"
    else:
        if not isinstance(payload, dict) or not {"version", "key", "data"} <= payload.keys():
            reason = f"not a {what}"
        elif payload["version"] != version:
            reason = f"format version {payload['version']!r}, expected {version!r}"
        elif payload["key"] != key:
            reason = f"made for {payload['key']}, not {key}"
        else:
            return payload["data"]
    log.info("%s %s ignored (%s); rebuilding it", what, path, reason)
    return None


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

