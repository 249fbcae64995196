"""A function's result computed in a forked child process: for the tests that a fork leaves
the child no thread or lock of the parent's to wait for (test_blas_threads.py,
test_blas_predict.py)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import warnings

CAN_FORK = sys.platform != "win32" and hasattr(os, "fork")


def in_forked_child(function, *args, holding=None, timeout: float = 120):
    """(function(*args) as the forked child computed it, the child's exit code). The fork
    happens while ``holding`` (a lock, say) is held, when given. A child waiting for ever
    puts nothing: queue.Empty after ``timeout`` seconds, and the child is killed."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_put, args=(queue, function, args), daemon=True)
    with holding if holding is not None else contextlib.nullcontext(), \
            warnings.catch_warnings():
        # JAX warns at any fork once a test in this process has imported it (pytest-xdist
        # runs several test files per process); the child never touches JAX.
        warnings.filterwarnings("ignore", r"os\.fork\(\) was called", RuntimeWarning)
        child.start()
    try:
        result = queue.get(timeout=timeout)
    finally:
        child.join(timeout=60)
        if child.is_alive():
            child.kill()
    return result, child.exitcode


def _put(queue, function, args) -> None:
    queue.put(function(*args))
