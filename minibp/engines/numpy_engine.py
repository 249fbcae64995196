"""The NumPy engine: plain forward and backward through the layer objects.

It is the reference every faster engine is checked against, and it never imports numba.
"""

from __future__ import annotations

import numpy as np

from minibp.errors import TrainingDivergedError
from minibp.training import History, epoch_batches, report_epoch


def train_step(model, X, Y, loss, optimizer, *, step: int = 1, epoch: int = 1,
               parameters=None) -> float:
    """One forward, backward and update; returns the loss of that forward (before the update).

    The divergence guard refuses the update when the loss or the gradient norm is not
    finite, raising TrainingDivergedError; ``step`` and ``epoch`` only word its message.
    fit passes ``parameters`` (model.parameters(), the same records every step) once made.
    """
    parameters = model.parameters() if parameters is None else parameters
    with np.errstate(over="ignore", invalid="ignore"):  # the guard below reports these
        value = loss.forward(model.forward(X), Y)
        model.backward(loss.backward())
        norm2 = _sum_of_squares(parameters)
    if not (np.isfinite(value) and np.isfinite(norm2)):
        raise TrainingDivergedError(step=step, epoch=epoch, loss=value, lr=optimizer.lr)
    optimizer.step(parameters)
    return value


def fit(model, X, Y, *, loss, optimizer, epochs, batch_size, shuffle, seed,
        verbose) -> History:
    """Minibatch SGD epochs, one train_step per batch; see Sequential.fit for the contract."""
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    history = History()
    parameters = model.parameters()
    step = 0
    for epoch in range(epochs):
        order = rng.permutation(n) if shuffle else None
        total = 0.0
        for rows in epoch_batches(n, batch_size, order):
            X_batch = X[rows]
            step += 1
            try:
                value = train_step(model, X_batch, Y[rows], loss, optimizer,
                                   step=step, epoch=epoch + 1, parameters=parameters)
            except TrainingDivergedError as error:
                error.history = history
                raise
            total += value * len(X_batch)
        history.record(epoch, loss=total / n)
        report_epoch(verbose, epoch, epochs, total / n)
    return history


def gradients(model, X, Y, loss) -> dict[str, np.ndarray]:
    """One batch's loss gradients through the layer objects (copies), without an update."""
    loss.forward(model.forward(X), Y)
    model.backward(loss.backward())
    return {p.name: p.grad.copy() for p in model.parameters()}


def predict(model, X) -> np.ndarray:
    return model.forward(X)


def _sum_of_squares(parameters) -> float:
    """The squared gradient norm, summed in float64 whatever the dtype (as every engine)."""
    total = 0.0
    for p in parameters:
        g = p.grad if p.grad.dtype == np.float64 else p.grad.astype(np.float64)
        total += float(np.vdot(g, g))
    return total
