"""What the compiled engines share: loss codes, data preparation, epoch chunks, records."""

from __future__ import annotations

import numpy as np

from minibp.training import History, report_epoch

# Codes of the compiled losses, as minibp.kernels and minibp.kernels_fused number them.
LOSS_CODES = {"SquaredError": 0, "MSE": 1, "SoftmaxCrossEntropy": 2}


def training_arrays(model, X, Y, loss) -> tuple[np.ndarray, np.ndarray]:
    """X (n, in) and the targets as dense rows (n, out), C-contiguous, in the model dtype
    (labels become one-hot rows), checked as the loss checks them."""
    dtype = model.layers[0].W.dtype
    X = np.ascontiguousarray(X, dtype=dtype)
    T = loss.target_rows(Y, (len(X), model.layers[-1].out_features), dtype)
    return X, np.ascontiguousarray(T)


class ChunkPlanner:
    """Epochs per call between progress updates: all at once when silent; with a display,
    chunks grown so that each takes about a quarter of a second."""

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


def train_step_through_fit(engine, model, X, Y, loss, optimizer) -> float:
    """One update on the batch X, Y as a one-epoch, one-batch, unshuffled fit."""
    history = engine.fit(model, X, Y, loss=loss, optimizer=optimizer, epochs=1,
                         batch_size=len(X), shuffle=False, seed=None, verbose=0)
    return history.history["loss"][0]
