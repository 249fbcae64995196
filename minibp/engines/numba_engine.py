"""The compiled engine: packs a model into flat buffers and runs minibp.kernels on them.

numba is imported on first use, never at ``import minibp``. Callers have already checked
that the model can run here (minibp.engines.choose_engine); the kernels then trust it.
"""

from __future__ import annotations

import time

import numpy as np

from minibp.engines.flat import FlatModel
from minibp.errors import TrainingDivergedError, divergence_message
from minibp.training import History, report_epoch

LOSS_CODES = {"SquaredError": 0, "MSE": 1, "SoftmaxCrossEntropy": 2}
PREDICT_ROWS = 256  # rows per chunk when predicting


def _kernels():
    from minibp import kernels  # imports numba: only when a compiled path runs

    return kernels


def fit(model, X, Y, *, loss, optimizer, epochs, batch_size, shuffle, seed,
        verbose) -> History:
    """Minibatch SGD, every epoch and step compiled; same contract as Sequential.fit."""
    flat = FlatModel(model.layers, rows=min(batch_size, len(X)), optimizer=optimizer)
    n = len(X)
    X, T = _as_training_arrays(flat, X, Y, loss)
    rng = np.random.default_rng(seed)
    order = np.arange(n)
    losses = np.zeros(epochs)
    report = np.zeros(3)
    history = History()
    chunks = _ChunkPlanner(verbose)
    done = 0
    try:
        while done < epochs:
            chunk = chunks.next_size(epochs - done)
            started = time.perf_counter()
            steps_before = done * _steps_per_epoch(n, batch_size)
            finished = _kernels().train_epochs(
                X, T, order, rng, shuffle, batch_size, chunk, steps_before,
                flat.params, flat.grads, flat.velocity, flat.trainable, flat.layout, flat.acts,
                flat.x_buf, flat.y_buf, flat.deltas, LOSS_CODES[type(loss).__name__],
                optimizer.lr, optimizer.momentum, losses[done:done + chunk], report)
            _record(history, losses, done, done + finished, epochs, verbose)
            done += finished
            if report[0]:
                raise _diverged(report, done, optimizer, history)
            chunks.took(time.perf_counter() - started)
    finally:
        flat.push(optimizer)
    return history


def train_step(model, X, Y, loss, optimizer) -> float:
    """One compiled forward, backward and update on the batch X, Y; returns its loss."""
    history = fit(model, X, Y, loss=loss, optimizer=optimizer, epochs=1,
                  batch_size=len(X), shuffle=False, seed=None, verbose=0)
    return history.history["loss"][0]


def gradients(model, X, Y, loss) -> dict[str, np.ndarray]:
    """One batch's gradients from the compiled kernels, named like model.parameters()."""
    flat = FlatModel(model.layers, rows=len(X))
    X, T = _as_training_arrays(flat, X, Y, loss)
    _kernels().batch_loss_and_gradients(X, 0, T, 0, len(Y), flat.params, flat.grads,
                                        flat.layout, flat.acts, flat.deltas,
                                        LOSS_CODES[type(loss).__name__])
    named = {}
    for i, (_layer, w, b) in enumerate(flat.blocks()):
        named[f"model[{i}].W"] = flat.grads[w].reshape(model[i].W.shape).copy()
        named[f"model[{i}].b"] = flat.grads[b].copy()
    return named


def predict(model, X) -> np.ndarray:
    """The model's output for X (n, in), compiled, PREDICT_ROWS rows at a time."""
    flat = FlatModel(model.layers, rows=max(1, min(PREDICT_ROWS, len(X))))
    out = np.empty((len(X), flat.n_outputs), flat.dtype)
    X = np.ascontiguousarray(X, dtype=flat.dtype).ravel()
    _kernels().predict_rows(X, flat.params, flat.layout, flat.acts, flat.rows, out)
    return out


def _as_training_arrays(flat, X, Y, loss):
    """X (n, in) and the targets as dense rows (n, out), both flattened, in the model dtype."""
    X = np.ascontiguousarray(X, dtype=flat.dtype)
    T = loss.target_rows(Y, (len(X), flat.n_outputs), flat.dtype)
    return X.ravel(), np.ascontiguousarray(T).ravel()


def _steps_per_epoch(n: int, batch_size: int) -> int:
    return -(-n // batch_size)


class _ChunkPlanner:
    """Sizes of the compiled calls: all epochs at once when silent; with a display, chunks
    grown so that each call takes about a quarter of a second."""

    SECONDS = 0.25

    def __init__(self, verbose: int):
        self.verbose = verbose
        self.size = 1

    def next_size(self, remaining: int) -> int:
        return remaining if not self.verbose else min(self.size, remaining)

    def took(self, seconds: float) -> None:
        grown = self.size * self.SECONDS / seconds if seconds > 0 else 2 * self.size
        self.size = max(1, min(int(grown), 4 * self.size))


def _record(history, losses, start, stop, epochs, verbose) -> None:
    """Append epochs start..stop-1 to history in bulk (no per-epoch Python when silent)."""
    history.extend(range(start, stop), loss=losses[start:stop])
    if verbose:
        for epoch in range(start, stop):
            report_epoch(verbose, epoch, epochs, float(losses[epoch]))


def _diverged(report, epoch, optimizer, history) -> TrainingDivergedError:
    step, value = int(report[1]) + 1, float(report[2])
    error = TrainingDivergedError(divergence_message(step, epoch + 1, value, optimizer.lr),
                                  step=step, loss=value, lr=optimizer.lr)
    error.history = history
    return error


def warmup(dtypes=(np.float64, np.float32)) -> dict[str, float]:
    """Compile every kernel ahead (or load it from numba's on-disk cache), per dtype.

    Runs fit, gradients and predict of a tiny model through the compiled engine, so the
    kernels are built for exactly the argument types real calls use. Returns seconds per
    entry point and dtype, e.g. ``{"train_epochs[float64]": 0.4, ...}``.
    """
    from minibp.builders import mlp
    from minibp.losses import SquaredError
    from minibp.optim import SGD

    seconds = {}
    X, Y = np.zeros((3, 2)), np.zeros((3, 2))
    for dtype in map(np.dtype, dtypes):
        model = mlp([2, 3, 2], "sigmoid", seed=0, dtype=dtype)
        runs = {
            "train_epochs": lambda m=model: fit(m, X, Y, loss=SquaredError(),
                                                optimizer=SGD(0.1), epochs=1, batch_size=2,
                                                shuffle=True, seed=0, verbose=0),
            "batch_loss_and_gradients": lambda m=model: gradients(m, X, Y, SquaredError()),
            "predict_rows": lambda m=model: predict(m, X),
        }
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            seconds[f"{name}[{dtype.name}]"] = time.perf_counter() - started
    return seconds
