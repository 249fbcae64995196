"""The compiled engine: packs a model into flat buffers and runs minibp.kernels on them.

numba is imported on first use, never at ``import minibp``. Callers have already checked
that the model can run here (minibp.engines.choose_engine); the kernels then trust it.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from minibp import kernels  # numba: this module is imported only when the engine runs
from minibp.engines.common import (
    LOSS_CODES,
    ChunkPlanner,
    record_epochs,
    train_step_through_fit,
    training_arrays,
)
from minibp.engines.flat import FlatModel
from minibp.errors import TrainingDivergedError
from minibp.training import History

PREDICT_ROWS = 256  # rows per chunk when predicting
_NEVER_DRAWN = np.random.default_rng(0)  # typed Generator argument for unshuffled runs


def fit(model, X, Y, *, loss, optimizer, epochs, batch_size, shuffle, seed,
        verbose) -> History:
    """Minibatch SGD, every epoch and step compiled; same contract as Sequential.fit."""
    flat = FlatModel(model.layers, rows=min(batch_size, len(X)), optimizer=optimizer)
    n = len(X)
    X, T = (a.ravel() for a in training_arrays(model, X, Y, loss))
    # Unshuffled, nothing is drawn: skip making a generator (seed=None reads OS entropy,
    # about 20 us, a fifth of a fit's fixed cost) and hand the kernel a standing one.
    rng = np.random.default_rng(seed) if shuffle else _NEVER_DRAWN
    order = np.arange(n)
    losses = np.zeros(epochs)
    report = np.zeros(3)
    history = History()
    chunks = ChunkPlanner(verbose)
    done = 0
    try:
        while done < epochs:
            chunk = chunks.next_size(epochs - done)
            started = time.perf_counter()
            steps_before = done * _steps_per_epoch(n, batch_size)
            finished = kernels.train_epochs(
                X, T, order, rng, shuffle, batch_size, chunk, steps_before,
                flat.params, flat.grads, flat.velocity, flat.trainable, flat.layout, flat.acts,
                flat.x_buf, flat.y_buf, flat.deltas, LOSS_CODES[type(loss).__name__],
                optimizer.lr, optimizer.momentum, losses[done:done + chunk], report)
            record_epochs(history, losses, done, done + finished, epochs, verbose)
            done += finished
            if report[0]:
                raise _diverged(report, done, optimizer, history)
            chunks.took(time.perf_counter() - started)
    finally:
        flat.push(optimizer)
    return history


def train_step(model, X, Y, loss, optimizer) -> float:
    """One compiled forward, backward and update on the batch X, Y; returns its loss."""
    return train_step_through_fit(sys.modules[__name__], model, X, Y, loss, optimizer)


def gradients(model, X, Y, loss) -> dict[str, np.ndarray]:
    """One batch's gradients from the compiled kernels, named like model.parameters()."""
    flat = FlatModel(model.layers, rows=len(X))
    X, T = (a.ravel() for a in training_arrays(model, X, Y, loss))
    kernels.batch_loss_and_gradients(X, 0, T, 0, len(Y), flat.params, flat.grads,
                                        flat.layout, flat.acts, flat.deltas,
                                        LOSS_CODES[type(loss).__name__])
    flat.push()  # the layers' dW and db hold them too, as with the other engines
    return {p.name: p.grad.copy() for p in model.parameters()}


def predict(model, X) -> np.ndarray:
    """The model's output for X (n, in), compiled, PREDICT_ROWS rows at a time."""
    flat = FlatModel(model.layers, rows=max(1, min(PREDICT_ROWS, len(X))))
    out = np.empty((len(X), flat.n_outputs), flat.dtype)
    X = np.ascontiguousarray(X, dtype=flat.dtype).ravel()
    kernels.predict_rows(X, flat.params, flat.layout, flat.acts, flat.rows, out)
    return out


def _steps_per_epoch(n: int, batch_size: int) -> int:
    return -(-n // batch_size)


def _diverged(report, epoch, optimizer, history) -> TrainingDivergedError:
    step, value = int(report[1]) + 1, float(report[2])
    error = TrainingDivergedError(step=step, epoch=epoch + 1, loss=value, lr=optimizer.lr)
    error.history = history
    return error
