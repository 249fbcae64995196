"""Epochs, batches and chunks: what every engine's fit loop shares.

A fit runs as chunks: each engine's Session.run(epochs) trains some epochs and returns a
Chunk (their mean losses, and why it stopped early, if it did). The trainer sizes chunks
so that a compiled call returns about every quarter second (progress, Ctrl-C) and runs one
epoch per chunk while callbacks, validation or metrics need each epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minibp.errors import TrainingDivergedError

INTERRUPTED = "interrupted"


@dataclass
class Divergence:
    """Where the guard refused an update: the 1-based step and epoch, and the loss."""

    step: int
    epoch: int
    loss: float
    overflow: bool = False  # the loss and gradients were finite, the update was not

    def error(self, lr: float) -> TrainingDivergedError:
        return TrainingDivergedError(step=self.step, epoch=self.epoch, loss=self.loss, lr=lr,
                                     overflow=self.overflow)


@dataclass
class Chunk:
    """What one Session.run did: the mean loss of each epoch it completed, and ``stop``:
    None, a Divergence, or INTERRUPTED (a Ctrl-C seen between steps)."""

    losses: np.ndarray
    stop: Divergence | str | None = None

    def raise_if_diverged(self, optimizer) -> None:
        if isinstance(self.stop, Divergence):
            raise self.stop.error(optimizer.current_lr() if hasattr(optimizer, "current_lr")
                                  else optimizer.lr)


def weightless_batch(loss) -> ValueError:
    """What the NumPy engine raises (from the loss's own check) at a batch whose sample
    weights sum to 0; the compiled engines raise the same at the same step."""
    return ValueError(f"{type(loss).__name__}: sample_weight must have a finite sum above 0, "
                      "got 0.0")


def run_epochs(one_epoch, epochs: int, interrupt) -> Chunk:
    """A Session.run of engines that step in Python: ``one_epoch(interrupt)`` returns (mean
    loss, None) or (None, why it stopped); the Chunk holds the completed epochs."""
    losses = []
    for _ in range(epochs):
        mean, stop = one_epoch(interrupt)
        if stop is not None:
            return Chunk(np.array(losses), stop)
        losses.append(mean)
    return Chunk(np.array(losses))


def one_step(session_class, layers, X, Y, loss, optimizer) -> float:
    """An engine's train_step: one forward, backward and update on the batch X, Y, as a
    one-epoch, one-batch, unshuffled run of its Session; the loss before the update."""
    session = session_class(layers, X, Y, loss=loss, optimizer=optimizer, batch_size=len(X),
                            shuffle=False, seed=None)
    try:
        chunk = session.run(1)
    finally:
        session.close()
    chunk.raise_if_diverged(optimizer)
    return float(chunk.losses[0])


def steps_per_epoch(n: int, batch_size: int) -> int:
    return -(-n // batch_size)


def epoch_batches(n: int, batch_size: int, order):
    """Index arrays (or slices, when order is None) of each batch of one epoch."""
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        yield slice(start, stop) if order is None else order[start:stop]


def weighted_loss(loss, pred, Y, sample_weight) -> float:
    """loss.forward, passing sample_weight only when there is one (any loss works without)."""
    if sample_weight is None:
        return loss.forward(pred, Y)
    return loss.forward(pred, Y, sample_weight=sample_weight)


class ChunkPlanner:
    """How many epochs the next Session.run gets.

    One while something needs every epoch (callbacks, validation, metrics). Otherwise the
    first chunk is what a cautious guess of the cost says takes FIRST_SECONDS (the whole of
    a small fit, such as the chapter's 10,000 epochs, in one call), and later chunks grow or
    shrink to about TARGET_SECONDS each, so that progress shows and Ctrl-C is seen within
    about that long.
    """

    FIRST_SECONDS = 0.05
    TARGET_SECONDS = 0.25

    def __init__(self, per_epoch: bool, guess_seconds_per_epoch: float):
        self.per_epoch = per_epoch
        self.size = 1 if per_epoch else max(1, int(self.FIRST_SECONDS
                                                   / max(guess_seconds_per_epoch, 1e-9)))

    def next_size(self, remaining: int) -> int:
        return min(self.size, remaining)

    def took(self, seconds: float, epochs: int) -> None:
        if self.per_epoch or epochs == 0:
            return
        per_epoch = seconds / epochs
        wanted = int(self.TARGET_SECONDS / per_epoch) if per_epoch > 0 else 4 * epochs
        self.size = max(1, min(wanted, 4 * epochs))


def guess_seconds_per_epoch(n: int, batch_size: int, macs_per_row: int,
                            step_seconds: float) -> float:
    """A cautious (high) guess of one epoch's time: the engine's fixed cost a step
    (its STEP_SECONDS), and forward plus backward at 1 GFLOP/s (three multiply-adds per
    weight a row)."""
    return steps_per_epoch(n, batch_size) * step_seconds + n * macs_per_row * 3e-9
