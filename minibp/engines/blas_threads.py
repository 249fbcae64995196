"""Two threads through one compiled call: the BLAS engine's compiled steps and predict.

``call(function, arguments, macs)`` runs ``function(*arguments, sync, me, threads)`` on the
calling thread (me 0) and, when numba may use two threads or more (NUMBA_NUM_THREADS, by
default the machine's CPUs) and a step is large enough (TWO_THREADS_MACS), at the same
time on a helper thread (me 1). The function
(kernels/blas_steps.py's ``train_steps`` or ``forward_rows``, compiled with ``nogil``) cuts
each phase of its work in two halves, thread k doing half k or one thread both, and its
threads meet between phases (kernels/blas_barrier.py). So the cut, and every result, is the
same on one thread or two.

Why not numba's ``prange``: each parallel loop is compiled as a function of its own, and
the steps' six loops took 3-4 s of a first fit's 11-12 s to compile; a meeting costs 0.3 us
where a ``prange(2)`` loop costs 1.5-1.8 us (docs/performance.md).

Helpers are daemon threads kept between calls (waking one costs tens of microseconds, a
call runs for up to blas_compiled.BLOCK_SECONDS); fits in several threads at once each take
their own.
"""

from __future__ import annotations

import os
import threading

import numba
import numpy as np

ABORT = 1  # sync's slot kernels/blas_barrier.py reads: set when a thread raised
SYNC_SLOTS = 4  # ARRIVED, ABORT, FINISHED + 0, FINISHED + 1
TWO_THREADS_MACS = 1_500_000  # smaller steps run on one thread (docs/performance.md)
_IDLE: list = []
_LOCK = threading.Lock()


def thread_count(macs: int | None = None) -> int:
    """How many threads a call runs on: two when numba may use two or more and its step (or
    batch) of ``macs`` multiply-adds (a layer's in x out per row) is TWO_THREADS_MACS or
    more, else one. Below that, the meetings cost more than the second thread gains."""
    if numba.config.NUMBA_NUM_THREADS < 2 or (macs is not None and macs < TWO_THREADS_MACS):
        return 1
    return 2


def call(function, arguments: tuple, macs: int | None = None):
    """``function(*arguments, sync, me, threads)`` on this thread and, with two threads
    (thread_count(macs)), a helper's; this thread's result. An exception in either is
    raised here, after both have returned (the one that did not raise stops at its next
    meeting)."""
    if thread_count(macs) == 1:
        return alone(function, arguments)
    sync = np.zeros(SYNC_SLOTS, np.int64)
    helper = _take()
    helper.start(function, arguments, sync)
    try:
        result = function(*arguments, sync, 0, 2)
    except BaseException:
        sync[ABORT] = 1
        helper.finish()
        raise
    error = helper.finish()
    if error is not None:
        raise error
    return result


def alone(function, arguments: tuple):
    """``function(*arguments, sync, 0, 1)``: the whole call on this thread (both halves of
    every phase, no meeting waits)."""
    return function(*arguments, np.zeros(SYNC_SLOTS, np.int64), 0, 1)


def _take() -> _Helper:
    with _LOCK:
        return _IDLE.pop() if _IDLE else _Helper()


def _forget_helpers() -> None:
    """In a forked child: the helpers' threads did not come along."""
    global _LOCK
    _IDLE.clear()
    _LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helpers)


class _Helper:
    """A daemon thread that runs one call at a time as thread 1."""

    def __init__(self):
        self._job: tuple = ()
        self._error: BaseException | None = None
        self._started, self._done = threading.Semaphore(0), threading.Semaphore(0)
        threading.Thread(target=self._serve, name="minibp-blas-helper", daemon=True).start()

    def start(self, function, arguments: tuple, sync: np.ndarray) -> None:
        self._job = (function, arguments, sync)
        self._started.release()

    def finish(self) -> BaseException | None:
        """Wait for the call to return, give the helper back; what it raised, if anything."""
        self._done.acquire()
        error, self._error, self._job = self._error, None, ()
        with _LOCK:
            _IDLE.append(self)
        return error

    def _serve(self) -> None:
        while True:
            self._started.acquire()
            function, arguments, sync = self._job
            try:
                function(*arguments, sync, 1, 2)
            except BaseException as error:  # handed to the caller by finish
                sync[ABORT] = 1
                self._error = error
            self._done.release()
