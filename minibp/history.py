"""History: what fit records, epoch by epoch."""

from __future__ import annotations

import numpy as np


class History:
    """What fit records, Keras-style: ``history.history["loss"][e]`` is epoch e's mean loss,
    and ``history.epoch[e]`` is e (numbered from 0).

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
