"""The compiled engine: packs the layers into flat buffers and runs kernels.loop on them.

numba is imported on first use, never at ``import minibp``. Callers have already checked
that the layers can run here (minibp.engines.resolve); the kernels then trust them.
"""

from __future__ import annotations

import time

import numpy as np

from minibp.engines.capabilities import loss_code
from minibp.engines.epochs import ChunkPlanner, record_epochs, steps_per_epoch
from minibp.engines.flat import FlatModel, training_arrays
from minibp.engines.kernels import loop  # numba: this module is imported only when it runs
from minibp.errors import TrainingDivergedError
from minibp.history import History

PREDICT_ROWS = 256  # rows per chunk when predicting
_NEVER_DRAWN = np.random.default_rng(0)  # typed Generator argument for unshuffled runs


def fit(layers, X, Y, *, loss, optimizer, epochs, batch_size, shuffle, seed,
        verbose) -> History:
    """Minibatch SGD, every epoch and step compiled; same contract as Sequential.fit."""
    flat = FlatModel(layers, rows=min(batch_size, len(X)), optimizer=optimizer)
    n = len(X)
    X, T = (a.ravel() for a in training_arrays(layers, X, Y, loss))
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
            finished = loop.train_epochs(
                X, T, order, rng, shuffle, batch_size, chunk,
                done * steps_per_epoch(n, batch_size),
                flat.params, flat.grads, flat.velocity, flat.trainable, flat.layout, flat.acts,
                flat.x_buf, flat.y_buf, flat.deltas, loss_code(loss),
                optimizer.lr, optimizer.momentum, losses[done:done + chunk], report)
            record_epochs(history, losses, done, done + finished, epochs, verbose)
            done += finished
            if report[0]:
                raise _diverged(report, done, optimizer, history)
            chunks.took(time.perf_counter() - started)
    finally:
        flat.push(optimizer)
    return history


def train_step(layers, X, Y, loss, optimizer) -> float:
    """One compiled forward, backward and update on the batch X, Y; returns its loss
    (before the update): a one-epoch, one-batch, unshuffled fit."""
    history = fit(layers, X, Y, loss=loss, optimizer=optimizer, epochs=1, batch_size=len(X),
                  shuffle=False, seed=None, verbose=0)
    return history.history["loss"][0]


def gradients(layers, X, Y, loss) -> None:
    """One batch's gradients from the compiled kernels, written into the layers' dW and db."""
    flat = FlatModel(layers, rows=len(X))
    X, T = (a.ravel() for a in training_arrays(layers, X, Y, loss))
    loop.batch_loss_and_gradients(X, 0, T, 0, len(Y), flat.params, flat.grads, flat.layout,
                                  flat.acts, flat.deltas, loss_code(loss))
    flat.push()


def predict(layers, X) -> np.ndarray:
    """The layers' output for X (n, in), compiled, PREDICT_ROWS rows at a time."""
    flat = FlatModel(layers, rows=max(1, min(PREDICT_ROWS, len(X))))
    out = np.empty((len(X), flat.n_outputs), flat.dtype)
    X = np.ascontiguousarray(X, dtype=flat.dtype).ravel()
    loop.predict_rows(X, flat.params, flat.layout, flat.acts, flat.rows, out)
    return out


def _diverged(report, epoch, optimizer, history) -> TrainingDivergedError:
    step, value = int(report[1]) + 1, float(report[2])
    error = TrainingDivergedError(step=step, epoch=epoch + 1, loss=value, lr=optimizer.lr)
    error.history = history
    return error
