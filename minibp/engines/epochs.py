"""Epochs, batches and progress: what every engine's fit loop shares."""

from __future__ import annotations

import numpy as np

from minibp.history import History


def steps_per_epoch(n: int, batch_size: int) -> int:
    return -(-n // batch_size)


def epoch_batches(n: int, batch_size: int, order):
    """Index arrays (or slices, when order is None) of each batch of one epoch."""
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        yield slice(start, stop) if order is None else order[start:stop]


def report_epoch(verbose: int, epoch: int, epochs: int, loss: float) -> None:
    """With verbose >= 1, print about twenty evenly spaced epoch lines (every one with >= 2)."""
    if not verbose:
        return
    every = 1 if verbose >= 2 else max(1, epochs // 20)
    if (epoch + 1) % every == 0 or epoch + 1 == epochs:
        print(f"epoch {epoch + 1}/{epochs} - loss: {loss:.6g}")


class ChunkPlanner:
    """Epochs per compiled call between progress updates: all at once when silent; with a
    display, chunks grown so that each takes about a quarter of a second."""

    SECONDS = 0.25

    def __init__(self, verbose: int):
        self.verbose = verbose
        self.size = 1

    def next_size(self, remaining: int) -> int:
        return remaining if not self.verbose else min(self.size, remaining)

    def took(self, seconds: float) -> None:
        grown = self.size * self.SECONDS / seconds if seconds > 0 else 2 * self.size
        self.size = max(1, min(int(grown), 4 * self.size))


def record_epochs(history: History, losses: np.ndarray, start: int, stop: int, epochs: int,
                  verbose: int) -> None:
    """Append epochs start..stop-1 to history in bulk (no per-epoch Python when silent)."""
    history.extend(range(start, stop), loss=losses[start:stop])
    if verbose:
        for epoch in range(start, stop):
            report_epoch(verbose, epoch, epochs, float(losses[epoch]))
