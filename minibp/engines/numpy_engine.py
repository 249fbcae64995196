"""The NumPy engine: plain forward and backward through the layer objects.

It is the reference every faster engine is checked against, and it never imports numba.
"""

from __future__ import annotations

import numpy as np

from minibp.engines.epochs import epoch_batches, report_epoch
from minibp.errors import TrainingDivergedError
from minibp.history import History


def forward(layers, X: np.ndarray) -> np.ndarray:
    """X (batch, in) -> the last layer's A (batch, out)."""
    for layer in layers:
        X = layer.forward(X)
    return X


def backward(layers, dA: np.ndarray) -> np.ndarray:
    """dA (batch, out) -> dX (batch, in); every layer overwrites its parameters' grads."""
    for layer in reversed(layers):
        dA = layer.backward(dA)
    return dA


def train_step(layers, X, Y, loss, optimizer, *, step: int = 1, epoch: int = 1,
               parameters=None) -> float:
    """One forward, backward and update; returns the loss of that forward (before the update).

    The divergence guard refuses the update when the loss or the gradient norm is not
    finite, raising TrainingDivergedError; ``step`` and ``epoch`` only word its message.
    fit passes ``parameters`` (the same records every step) once made.
    """
    parameters = _parameters(layers) if parameters is None else parameters
    with np.errstate(over="ignore", invalid="ignore"):  # the guard below reports these
        value = loss.forward(forward(layers, X), Y)
        backward(layers, loss.backward())
        norm2 = _sum_of_squares(parameters)
    if not (np.isfinite(value) and np.isfinite(norm2)):
        raise TrainingDivergedError(step=step, epoch=epoch, loss=value, lr=optimizer.lr)
    optimizer.step(parameters)
    return value


def fit(layers, X, Y, *, loss, optimizer, epochs, batch_size, shuffle, seed,
        verbose) -> History:
    """Minibatch SGD epochs, one train_step per batch; see Sequential.fit for the contract."""
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    history = History()
    parameters = _parameters(layers)
    step = 0
    for epoch in range(epochs):
        order = rng.permutation(n) if shuffle else None
        total = 0.0
        for rows in epoch_batches(n, batch_size, order):
            X_batch = X[rows]
            step += 1
            try:
                value = train_step(layers, X_batch, Y[rows], loss, optimizer,
                                   step=step, epoch=epoch + 1, parameters=parameters)
            except TrainingDivergedError as error:
                error.history = history
                raise
            total += value * len(X_batch)
        history.record(epoch, loss=total / n)
        report_epoch(verbose, epoch, epochs, total / n)
    return history


def gradients(layers, X, Y, loss) -> None:
    """One batch's loss gradients, written by each layer's backward; no update."""
    loss.forward(forward(layers, X), Y)
    backward(layers, loss.backward())


def predict(layers, X) -> np.ndarray:
    return forward(layers, X)


def _parameters(layers) -> list:
    return [p for layer in layers for p in layer.parameters()]


def _sum_of_squares(parameters) -> float:
    """The squared gradient norm, summed in float64 whatever the dtype (as every engine)."""
    total = 0.0
    for p in parameters:
        g = p.grad if p.grad.dtype == np.float64 else p.grad.astype(np.float64)
        total += float(np.vdot(g, g))
    return total
