"""A training phase's checkpoint folder: saving, pruning, strict restoring, and the best and final records.

Layout of ``<model_base_dir>/<id>_<phase>/``:

* ``<id>_<phase>-<step>.index`` / ``.data-*``: TensorFlow checkpoints of everything the phase trains (the
  separator, critics, every optimiser), the step counter and the early-stopping state;
* ``best.json``: the checkpoint with the lowest validation loss so far, with its loss, step and epoch;
* ``result.json``: written once the phase has finished (:class:`PhaseResult`); a resumed run skips such a phase;
* the model spec and run record of ``Models.nets.checkpoint_files``.

The newest ``keep`` checkpoints and the best one are kept; older ones are deleted.
"""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import tensorflow as tf

from Models.nets.checkpoint_files import restore_checkpoint
from Utils import BEST_FILE, CheckpointError, WriteError, one_line, read_json, write_json_atomic

logger = logging.getLogger(__name__)

RESULT_FILE = "result.json"
LOCK_FILE = ".lock"  # held by the training run that writes the folder


@dataclass(frozen=True)
class PhaseResult:
    """What a finished phase leaves behind."""

    best_checkpoint: str  # checkpoint prefix with the lowest validation loss
    best_val_loss: float  # its validation loss (MSE of log-normalised magnitudes)
    steps: int  # optimiser steps taken in total (across resumes)
    epochs: int  # epochs completed
    stop_reason: str  # "early_stopping" or "max_epochs"


class CheckpointKeeper:
    """Saves and restores one phase's ``tf.train.Checkpoint`` of ``trackables`` in ``folder``.

    Args:
        folder: the phase's run folder, ``<model_base_dir>/<id>_<phase>``.
        trackables: everything to checkpoint, by name (models, optimisers, counters).
        keep: how many of the newest checkpoints to keep (the best one is always kept as well).
        scratch: where this process saves instead of ``folder`` (non-chief tf.distribute workers, which must
            save too); deleted by :meth:`close`. None for the chief.
    """

    def __init__(self, folder: Path, trackables: dict[str, tf.Module], keep: int, scratch: Path | None = None
                 ) -> None:
        self.folder = Path(folder)
        self.name = self.folder.name
        self.scratch = scratch
        self.keep = max(1, int(keep))
        self.checkpoint = tf.train.Checkpoint(**trackables)
        self._manager = tf.train.CheckpointManager(self.checkpoint, str(scratch or self.folder), max_to_keep=None,
                                                   checkpoint_name=self.name)
        self._lock = _lock(self.folder) if self.chief else None

    @property
    def chief(self) -> bool:
        """Whether this process writes the folder's files."""
        return self.scratch is None

    def restore(self, prefix: str) -> None:
        """Restore every trackable from ``prefix``, strictly: each one must be in the checkpoint.

        Raises:
            CheckpointError: (one line) the checkpoint is missing or lacks part of this phase's state (e.g. a
                supervised checkpoint has no critics).
        """
        restore_checkpoint(self.checkpoint, prefix, f"does not hold the state of phase {self.name}")

    def save(self, step: int, best: tuple[float, int] | None = None) -> str:
        """Save at ``step``; returns the checkpoint prefix inside ``folder``. ``best`` (validation loss, epoch): this
        checkpoint is the new best, recorded in ``best.json`` before old checkpoints are pruned. Prunes old
        checkpoints."""
        try:
            saved = self._manager.save(checkpoint_number=int(step))
        except (tf.errors.OpError, OSError) as err:  # e.g. the disk is full: no half-written checkpoint stays
            for temp in (self.scratch or self.folder).glob(f"{self.name}-{int(step)}_temp*"):
                if temp.is_dir():
                    shutil.rmtree(temp, ignore_errors=True)
                else:
                    temp.unlink(missing_ok=True)
            raise CheckpointSaveError(self.folder, self.latest(), one_line(err, 160)) from err
        prefix = str(self.folder / Path(saved).name)
        if best is not None:
            self.record_best(prefix, best[0], step, best[1])
        self._prune(Path(saved).name)
        return prefix

    def latest(self) -> str | None:
        """The newest checkpoint prefix in ``folder``, or None."""
        return tf.train.latest_checkpoint(str(self.folder))

    def _prune(self, newest: str) -> None:
        """Delete all but the newest ``keep`` checkpoints and the best one."""
        best = self.best()
        protected = {Path(best).name} if best else set()
        names = sorted({p.name.split(".")[0] for p in (self.scratch or self.folder).glob(f"{self.name}-*.index")},
                       key=lambda n: int(n.rsplit("-", 1)[1]))
        protected |= set(names[-self.keep:]) | {newest}
        for name in names:
            if name not in protected:
                for path in (self.scratch or self.folder).glob(f"{name}.*"):
                    path.unlink(missing_ok=True)

    def record_best(self, prefix: str, val_loss: float, step: int, epoch: int) -> None:
        """Write ``best.json`` naming ``prefix`` (chief only)."""
        if self.chief:
            write_json_atomic(self.folder / BEST_FILE, {"checkpoint": Path(prefix).name, "val_loss": val_loss,
                                                        "step": int(step), "epoch": int(epoch)})

    def best(self) -> str | None:
        """The best checkpoint prefix recorded in ``best.json``, or None when there is none yet."""
        path = self.folder / BEST_FILE
        if not path.is_file():
            return None
        return str(self.folder / read_json(path)["checkpoint"])

    def finish(self, result: PhaseResult) -> None:
        """Mark the phase as finished by writing ``result.json`` (chief only)."""
        if self.chief:
            write_json_atomic(self.folder / RESULT_FILE, dataclasses.asdict(result))

    def close(self) -> None:
        """Release the folder's lock; remove this process's scratch folder (non-chief workers)."""
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


class CheckpointSaveError(WriteError):
    """A checkpoint could not be written (e.g. a full disk); the earlier ones and ``best.json`` are intact."""

    def __init__(self, folder: Path, latest: str | None, reason: str) -> None:
        super().__init__(f"cannot save a checkpoint in {folder} ({reason}); last good checkpoint: "
                         f"{latest or 'none yet'}")
        self.folder = folder


def _lock(folder: Path) -> IO:
    """An exclusive lock on ``folder/.lock`` for this process: a second training run of the same phase (two
    shells, or a resume started while the run still goes) is refused. The operating system releases it on any
    exit, so a lock left by a killed run is simply taken over."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / LOCK_FILE, "a+")  # noqa: SIM115 - held until close()
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        raise CheckpointError(f"{folder}: in use by another training run ({owner}); wait for it to end or "
                              f"stop it first") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle


def finished_result(folder: Path) -> PhaseResult | None:
    """The :class:`PhaseResult` of a finished phase's folder, or None when the phase has not finished."""
    path = Path(folder) / RESULT_FILE
    return PhaseResult(**read_json(path)) if path.is_file() else None
