"""What every engine shares: History, the checks of fit's arguments, progress lines."""

from __future__ import annotations

import numpy as np


class History:
    """What fit records, Keras-style: ``history["loss"][e]`` is epoch e's mean loss.

    ``history`` (a dict of lists) and ``epoch`` (a list) are built when first read: the
    compiled engine hands over whole arrays of epochs, and turning 10,000 of them into
    Python floats would cost more than training the chapter's network.
    """

    def __init__(self):
        self._epochs: list = []                      # ranges or lists of epoch numbers
        self._columns: dict[str, list] = {"loss": []}  # arrays or lists, one per chunk
        self._cache = None

    def record(self, epoch: int, **values: float) -> None:
        """Record one epoch's values."""
        self.extend([epoch], **{name: [float(v)] for name, v in values.items()})

    def extend(self, epochs, **values) -> None:
        """Record several epochs at once: ``values[name][i]`` belongs to ``epochs[i]``."""
        self._epochs.append(epochs)
        for name, column in values.items():
            self._columns.setdefault(name, []).append(column)
        self._cache = None

    @property
    def history(self) -> dict[str, list[float]]:
        return self._materialized()[0]

    @property
    def epoch(self) -> list[int]:
        return self._materialized()[1]

    def _materialized(self):
        if self._cache is None:
            columns = {name: [float(v) for chunk in chunks for v in _as_list(chunk)]
                       for name, chunks in self._columns.items()}
            epochs = [int(e) for chunk in self._epochs for e in chunk]
            self._cache = (columns, epochs)
        return self._cache

    def __repr__(self) -> str:
        last = {k: v[-1] for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last})"


def _as_list(chunk) -> list:
    return chunk.tolist() if isinstance(chunk, np.ndarray) else list(chunk)


def check_training_data(X, Y, who: str = "fit") -> tuple[np.ndarray, np.ndarray]:
    """X as a 2-D array and Y with as many rows, both finite, or a clear error."""
    X = np.asarray(X)
    Y = np.asarray(Y)
    if X.ndim != 2:
        hint = " (for one sample use X.reshape(1, -1))" if X.ndim == 1 else ""
        raise ValueError(f"{who}: expected X of shape (samples, features), got {X.shape}{hint}")
    if X.shape[0] == 0:
        raise ValueError(f"{who}: X has no samples (shape {X.shape})")
    if Y.ndim == 0 or Y.shape[0] != X.shape[0]:
        raise ValueError(f"{who}: X has {X.shape[0]} samples but Y has shape {Y.shape}; "
                         "they need one row each")
    for name, values in (("X", X), ("Y", Y)):
        _check_finite(values, name, who)
    return X, Y


def _check_finite(values: np.ndarray, name: str, who: str) -> None:
    """Refuse NaN and infinity in data: training on them only looks like divergence."""
    if values.dtype.kind not in "fc":
        return
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(values)):
            return  # one pass, no temporaries; only a NaN, an infinity or an overflow fails
    bad = ~np.isfinite(values)
    if bad.any():  # else the sum only overflowed: the data is fine
        row = int(np.argwhere(bad)[0][0])
        nan, inf = int(np.isnan(values).sum()), int(np.isinf(values).sum())
        what = " and ".join(f"{count} {kind} values" for count, kind in
                            ((nan, "NaN"), (inf, "infinite")) if count)
        raise ValueError(f"{who}: {name} contains {what} (first at row {row}); "
                         "clean or impute them before training.")


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


def report_epoch(verbose: int, epoch: int, epochs: int, loss: float) -> None:
    """With verbose >= 1, print about twenty evenly spaced epoch lines (every one with >= 2)."""
    if not verbose:
        return
    every = 1 if verbose >= 2 else max(1, epochs // 20)
    if (epoch + 1) % every == 0 or epoch + 1 == epochs:
        print(f"epoch {epoch + 1}/{epochs} - loss: {loss:.6g}")
