"""Early stopping on the validation loss, with its state in tf.Variables so that checkpoints carry it."""

from __future__ import annotations

import math

import tensorflow as tf


class EarlyStopping(tf.Module):
    """Counts epochs and epochs without improvement; stops after ``patience`` bad epochs or ``max_epochs``.

    Track it in the phase's ``tf.train.Checkpoint``: a restored run continues with the same best loss, the
    same count of bad epochs and the same epoch number.
    """

    def __init__(self, patience: int, max_epochs: int) -> None:
        super().__init__(name="early_stopping")
        if patience < 1 or max_epochs < 1:
            raise ValueError(f"model_config: patience and max_epochs must be >= 1, got {patience}, {max_epochs}")
        self.patience = int(patience)
        self.max_epochs = int(max_epochs)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")  # epochs completed
        self.best_loss = tf.Variable(math.inf, dtype=tf.float64, trainable=False, name="best_loss")
        self.bad_epochs = tf.Variable(0, dtype=tf.int64, trainable=False, name="bad_epochs")

    def stop_reason(self) -> str | None:
        """``"early_stopping"``, ``"max_epochs"`` or None (train another epoch). Patience wins a tie."""
        if int(self.bad_epochs) >= self.patience:
            return "early_stopping"
        if int(self.epoch) >= self.max_epochs:
            return "max_epochs"
        return None

    def end_epoch(self, val_loss: float) -> bool:
        """Record the validation loss of the epoch just completed; True when it is the best so far."""
        self.epoch.assign_add(1)
        improved = val_loss < float(self.best_loss)
        if improved:
            self.best_loss.assign(val_loss)
            self.bad_epochs.assign(0)
        else:
            self.bad_epochs.assign_add(1)
        return improved
