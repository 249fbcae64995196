"""ModelCheckpoint: save the model from fit, every epoch or when it improves."""

from __future__ import annotations

import math
import os

from minibp.callbacks import _Monitor


class ModelCheckpoint(_Monitor):
    """Save the model (``model.save``) at the end of an epoch: with save_best_only=True only
    when ``monitor`` improved by more than ``min_delta`` on the best so far, else every epoch.

    ``path`` may hold ``{epoch}`` and the names of logged quantities, formatted as in Keras
    (``"model-{epoch:03d}-{val_loss:.3f}.npz"``, epoch counted from 1); without them each
    save replaces the last, atomically, so the file at path is always a whole model. With
    save_optimizer=True the optimizer's state goes in too (``minibp.load_optimizer``).
    ``best``, ``best_epoch`` (0-based, as fit's callbacks count) and ``saved`` (the paths
    written, in order) say what happened.
    """

    def __init__(self, path, monitor: str = "val_loss", save_best_only: bool = True,
                 mode: str = "auto", min_delta: float = 0.0, save_optimizer: bool = False):
        super().__init__("ModelCheckpoint", monitor, mode, min_delta)
        self.path = os.fspath(path)
        self.save_best_only = bool(save_best_only)
        self.save_optimizer = bool(save_optimizer)
        self.saved = []
        self.on_train_begin()

    def on_train_begin(self, logs=None) -> None:
        self.best, self.best_epoch = math.inf * self.sign, None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = dict(logs or {})
        if self.save_best_only:
            current = self.value(logs)
            if math.isnan(current):
                return
            if self.best_epoch is not None and not self.improved(current, self.best):
                return
            self.best, self.best_epoch = current, epoch
        path = self.path.format(epoch=epoch + 1, **logs)
        optimizer = self.model.optimizer if self.save_optimizer else None
        self.model.save(path, optimizer=optimizer)
        self.saved.append(path)

    def __repr__(self) -> str:
        return (f"ModelCheckpoint({self.path!r}, monitor={self.monitor!r}, "
                f"save_best_only={self.save_best_only})")
