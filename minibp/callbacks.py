"""Callbacks: code that fit runs at the edges of training and of every epoch.

The protocol (Keras'): ``on_train_begin(logs)``, ``on_epoch_begin(epoch, logs)``,
``on_epoch_end(epoch, logs)``, ``on_train_end(logs)``. ``logs`` at an epoch's end holds that
epoch's "loss", "val_loss" and metrics; ``self.model`` is the model being fit (set before
on_train_begin), and ``self.model.optimizer`` its optimizer. Setting
``self.model.stop_training = True`` ends fit after the current epoch. Callbacks are
epoch-level on every engine: a compiled fit runs one epoch per call while a callback listens.
Any object with some of these methods is a callback; subclassing Callback fills in the rest.
"""

from __future__ import annotations

import math

import numpy as np

from minibp.errors import expect_choice, expect_int, expect_number

MODES = ("auto", "min", "max")


class Callback:
    """Base class: every hook does nothing."""

    model = None

    def set_model(self, model) -> None:
        self.model = model

    def on_train_begin(self, logs=None) -> None: ...

    def on_train_end(self, logs=None) -> None: ...

    def on_epoch_begin(self, epoch: int, logs=None) -> None: ...

    def on_epoch_end(self, epoch: int, logs=None) -> None: ...


class _Monitor(Callback):
    """Watches one logged quantity: min for losses and errors, max for accuracy ("auto")."""

    def __init__(self, who: str, monitor: str, mode: str, min_delta: float):
        self.monitor = monitor
        mode = expect_choice(mode, "mode", who, MODES)
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        self.sign = 1.0 if mode == "min" else -1.0
        self.min_delta = expect_number(min_delta, "min_delta", who, least=0.0)
        self.who = who

    def value(self, logs) -> float:
        if not logs or self.monitor not in logs:
            have = sorted(logs or {})
            raise ValueError(f"{self.who}: monitor must name a logged quantity, got "
                             f"{self.monitor!r}; this fit logs {have} (val_ ones need "
                             "validation_data or validation_split)")
        return float(logs[self.monitor])

    def improved(self, current: float, best: float) -> bool:
        """Better than best by more than min_delta (NaN never is)."""
        return self.sign * (best - current) > self.min_delta


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs in a row.

    With restore_best_weights=True the model ends with the weights of its best epoch, whether
    fit stopped early or ran out of epochs (Keras restores only when it stopped early, a
    surprise its users keep reporting). ``best``, ``best_epoch`` and ``stopped_epoch`` (None
    if it never stopped fit) say what happened.
    """

    stop_reason = "early_stopping"

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 restore_best_weights: bool = False, mode: str = "auto"):
        super().__init__("EarlyStopping", monitor, mode, min_delta)
        self.patience = expect_int(patience, "patience", "EarlyStopping", least=0)
        self.restore_best_weights = bool(restore_best_weights)

    def on_train_begin(self, logs=None) -> None:
        self.best, self.best_epoch, self.stopped_epoch = math.inf * self.sign, None, None
        self.wait, self._best_weights = 0, None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        current = self.value(logs)
        if self.best_epoch is None or self.improved(current, self.best):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                self._best_weights = [p.value.copy() for p in self.model.parameters()]
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None) -> None:
        if self._best_weights is not None:
            for p, best in zip(self.model.parameters(), self._best_weights):
                p.value[...] = best  # in place: an optimizer holding the arrays stays attached

    def __repr__(self) -> str:
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
                f"restore_best_weights={self.restore_best_weights})")


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved by more than
    ``min_delta`` for ``patience`` epochs, never below ``min_lr``; then wait ``cooldown``
    epochs before watching again.

    It scales the optimizer's ``lr_scale``, so it composes with a schedule: the lr used is
    the schedule's value times the scale.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 min_lr: float = 0.0, min_delta: float = 1e-4, cooldown: int = 0,
                 mode: str = "auto"):
        super().__init__("ReduceLROnPlateau", monitor, mode, min_delta)
        self.factor = expect_number(factor, "factor", "ReduceLROnPlateau", above=0.0,
                                    below=1.0)
        self.patience = expect_int(patience, "patience", "ReduceLROnPlateau", least=0)
        self.min_lr = expect_number(min_lr, "min_lr", "ReduceLROnPlateau", least=0.0)
        self.cooldown = expect_int(cooldown, "cooldown", "ReduceLROnPlateau", least=0)

    def on_train_begin(self, logs=None) -> None:
        self.best, self.wait, self.cooling = math.inf * self.sign, 0, 0
        self.reductions: list[tuple[int, float]] = []  # (epoch, new lr)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        current = self.value(logs)
        if self.cooling:
            self.cooling -= 1
            self.wait = 0
        if self.improved(current, self.best):
            self.best, self.wait = current, 0
            return
        if self.cooling:
            return
        self.wait += 1
        if self.wait >= self.patience:
            self._reduce(epoch)
            self.cooling, self.wait = self.cooldown, 0

    def _reduce(self, epoch: int) -> None:
        optimizer = self.model.optimizer
        lr = optimizer.current_lr()
        target = max(lr * self.factor, self.min_lr)
        if lr > 0 and target < lr:
            optimizer.lr_scale *= target / lr
            self.reductions.append((epoch, float(np.float64(target))))

    def __repr__(self) -> str:
        return (f"ReduceLROnPlateau(monitor={self.monitor!r}, factor={self.factor}, "
                f"patience={self.patience}, min_lr={self.min_lr})")
