"""History: what fit records, epoch by epoch."""

from __future__ import annotations

import itertools

import numpy as np

STOP_REASONS = (None, "early_stopping", "diverged", "callback", "interrupted")


class History:
    """What fit records, Keras-style.

    ``history.history`` is a dict of per-epoch lists: "loss", then "val_loss" and each metric
    with its "val_" twin when fit computed them; ``history["loss"]`` reads the same list.
    ``history.epoch[e]`` is epoch e's number (from 0), ``history.seconds[e]`` its wall time
    (an even share of its chunk's time when a compiled engine ran several epochs in one call;
    a first fit's compiling of the engine's kernels is not included), and ``stopped_reason``
    is None when every epoch ran, else "early_stopping", "diverged", "callback" or
    "interrupted".

    The lists are built when first read: the compiled engine hands over whole arrays of
    epochs, and turning 10,000 of them into Python floats would cost more than training the
    chapter's network.
    """

    def __init__(self):
        self._epochs: list = []                        # ranges or lists of epoch numbers
        self._columns: dict[str, list] = {"loss": []}  # arrays or lists, one per chunk
        self._seconds: list = []
        self._cache = None
        self.stopped_reason: str | None = None

    def record(self, epoch: int, seconds: float = 0.0, **values: float) -> None:
        """Record one epoch's values."""
        self.extend([epoch], seconds=[seconds], **{k: [float(v)] for k, v in values.items()})

    def extend(self, epochs, seconds=None, **values) -> None:
        """Record several epochs at once: ``values[name][i]`` belongs to ``epochs[i]``;
        ``seconds`` is a sequence, or one number every epoch took."""
        self._epochs.append(epochs)
        if seconds is None or isinstance(seconds, (int, float)):
            seconds = _Even(seconds or 0.0, len(epochs))  # expanded only when read
        self._seconds.append(seconds)
        for name, column in values.items():
            self._columns.setdefault(name, []).append(column)
        self._cache = None

    def add_to_last_epoch(self, **values) -> None:
        """Record more figures for the epoch recorded last, one value per name: what a
        callback measured at that epoch's end (minibp.explain.Diagnostics does)."""
        self.extend([], seconds=[], **{name: [value] for name, value in values.items()})

    @property
    def history(self) -> dict[str, list[float]]:
        return self._materialized()[0]

    @property
    def epoch(self) -> list[int]:
        return self._materialized()[1]

    @property
    def seconds(self) -> list[float]:
        return self._materialized()[2]

    def __getitem__(self, name: str) -> list[float]:
        try:
            return self.history[name]
        except KeyError:
            raise KeyError(f"History has no {name!r}; it has {list(self.history)}") from None

    def __len__(self) -> int:
        return len(self.epoch)

    def plot(self, path=None):
        """Draw every recorded curve against the epoch, each metric beside its val_ twin, with
        matplotlib (the ``plot`` extra); save a PNG when given a path. Returns the figure."""
        from minibp.history_plot import plot_history

        return plot_history(self, path)

    def plot_diagnostics(self, path=None):
        """Draw what minibp.explain.Diagnostics recorded (gradient norms, update ratios,
        saturated and dead units), one panel per figure with a line per layer; save it at
        ``path`` when given, SVG for a .svg suffix, else PNG. Returns the figure."""
        from minibp.history_plot import plot_diagnostics

        return plot_diagnostics(self, path)

    def _materialized(self):
        if self._cache is None:
            columns = {name: [float(v) for chunk in chunks for v in _as_list(chunk)]
                       for name, chunks in self._columns.items()}
            epochs = [int(e) for chunk in self._epochs for e in chunk]
            seconds = [float(s) for chunk in self._seconds for s in _as_list(chunk)]
            self._cache = (columns, epochs, seconds)
        return self._cache

    def __repr__(self) -> str:
        last = {k: v[-1] for k, v in self.history.items() if v}
        stopped = f", stopped_reason={self.stopped_reason!r}" if self.stopped_reason else ""
        return f"History(epochs={len(self.epoch)}, last={last}{stopped})"


class _Even:
    """``count`` epochs of ``each`` seconds, as a chunk of History's seconds."""

    def __init__(self, each: float, count: int):
        self.each, self.count = each, count

    def __iter__(self):
        return itertools.repeat(self.each, self.count)


def _as_list(chunk) -> list:
    return chunk.tolist() if isinstance(chunk, np.ndarray) else list(chunk)
