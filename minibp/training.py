"""The NumPy training loop: the reference every faster engine is checked against."""

from __future__ import annotations

import numpy as np


class History:
    """What fit records, Keras-style: ``history["loss"][e]`` is epoch e's mean loss."""

    def __init__(self):
        self.history: dict[str, list[float]] = {"loss": []}
        self.epoch: list[int] = []

    def record(self, epoch: int, **values: float) -> None:
        self.epoch.append(epoch)
        for name, value in values.items():
            self.history.setdefault(name, []).append(float(value))

    def __repr__(self) -> str:
        last = {k: v[-1] for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last})"


def train_step_numpy(model, X, Y, loss, optimizer) -> float:
    """One forward, backward and update; returns the loss of that forward (before the update)."""
    pred = model.forward(X)
    value = loss.forward(pred, Y)
    model.backward(loss.backward())
    optimizer.step(model.parameters())
    return value


def check_training_data(X, Y) -> tuple[np.ndarray, np.ndarray]:
    """X as a 2-D float array and Y with as many rows, or a clear error."""
    X = np.asarray(X)
    Y = np.asarray(Y)
    if X.ndim != 2:
        hint = " (for one sample use X.reshape(1, -1))" if X.ndim == 1 else ""
        raise ValueError(f"fit: expected X of shape (samples, features), got {X.shape}{hint}")
    if X.shape[0] == 0:
        raise ValueError(f"fit: X has no samples (shape {X.shape})")
    if Y.ndim == 0 or Y.shape[0] != X.shape[0]:
        raise ValueError(f"fit: X has {X.shape[0]} samples but Y has shape {Y.shape}; "
                         "they need one row each")
    return X, Y


def check_schedule(epochs, batch_size) -> None:
    for name, value, least in (("epochs", epochs, 0), ("batch_size", batch_size, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"fit: {name} must be an int, got {type(value).__name__}")
        if value < least:
            raise ValueError(f"fit: {name} must be at least {least}, got {value}")


def check_mean_loss(loss) -> None:
    """fit weights batch losses by their size, which is right only for mean reductions."""
    reduction = getattr(loss, "reduction", "mean")
    if reduction != "mean":
        raise ValueError(f"fit: the loss must use reduction='mean', got {reduction!r}")


def epoch_batches(n: int, batch_size: int, order):
    """Index arrays (or slices, when order is None) of each batch of one epoch."""
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        yield slice(start, stop) if order is None else order[start:stop]


def fit_numpy(model, X, Y, *, loss, optimizer, epochs, batch_size, shuffle, seed,
              verbose) -> History:
    """Minibatch SGD epochs in plain NumPy; see Sequential.fit for the contract."""
    X, Y = check_training_data(X, Y)
    check_schedule(epochs, batch_size)
    check_mean_loss(loss)
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    history = History()
    for epoch in range(epochs):
        order = rng.permutation(n) if shuffle else None
        total = 0.0
        for rows in epoch_batches(n, batch_size, order):
            X_batch = X[rows]
            total += train_step_numpy(model, X_batch, Y[rows], loss, optimizer) * len(X_batch)
        history.record(epoch, loss=total / n)
        _report(verbose, epoch, epochs, history)
    return history


def _report(verbose: int, epoch: int, epochs: int, history: History) -> None:
    """With verbose >= 1, print about twenty evenly spaced epoch lines (every one with >= 2)."""
    if not verbose:
        return
    every = 1 if verbose >= 2 else max(1, epochs // 20)
    if (epoch + 1) % every == 0 or epoch + 1 == epochs:
        print(f"epoch {epoch + 1}/{epochs} - loss: {history.history['loss'][-1]:.6g}")
