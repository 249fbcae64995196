"""What an engine made for one model and batch size, kept for its next call of the same:
the numba engine's FlatModels (flat.IDLE) and the BLAS engine's predict buffers
(blas_predict.IDLE) are IdleTables.

A call takes its item out (``_pop``) and puts it back when done (``_keep``), so two threads
never share one. At most MAX are kept, the oldest dropped first. Pure Python: no numba.
"""

from __future__ import annotations

import os
import threading


class IdleTable:
    """A few items by key, behind a lock, each taken out while in use."""

    MAX = 4

    def __init__(self):
        self._kept: dict = {}
        self._lock = threading.Lock()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._renew_lock)

    def _renew_lock(self) -> None:
        """A forked child's: the lock as the parent left it may be held by a thread the
        child does not have, which would keep its first take waiting for ever."""
        self._lock = threading.Lock()

    def _pop(self, key):
        """The item kept under ``key``, taken out; None when there is none."""
        with self._lock:
            return self._kept.pop(key, None)

    def _keep(self, key, item) -> None:
        """Keep ``item`` under ``key``, dropping the oldest beyond MAX."""
        with self._lock:
            self._kept[key] = item
            while len(self._kept) > self.MAX:
                del self._kept[next(iter(self._kept))]
