"""The BLAS engine's two threads (minibp/engines/blas_threads.py) and where they meet
(kernels/blas_barrier.py): an exception on either side stops the other at its next meeting
and reaches the caller instead of leaving a thread waiting for ever; a forked child makes
helpers of its own.

References: the exception raised, the child's exit code and its weights against the same
fit in the parent."""

from __future__ import annotations

import numpy as np
import pytest
from forked import CAN_FORK, in_forked_child
from numba import njit

import minibp
from minibp.engines import blas_compiled, blas_library, blas_threads

pytestmark = [
    pytest.mark.skipif(blas_library.register() is not None,
                       reason="NumPy's BLAS cannot be called from compiled code"),
    pytest.mark.skipif(blas_threads.thread_count() < 2, reason="one thread: nothing meets"),
]


def waiting():
    """A compiled function that goes to one meeting without the GIL, as train_steps does."""
    meet = blas_compiled.kernels().meet

    @njit(nogil=True)
    def wait(sync, threads):
        return meet(sync, threads, 0)

    return wait


@pytest.mark.parametrize("failing", [0, 1], ids=["caller", "helper"])
def test_an_exception_on_one_thread_stops_the_other_and_is_raised(failing):
    wait = waiting()
    met = []

    def work(sync, me, threads):
        if me == failing:
            raise RuntimeError(f"thread {me} failed before its first meeting")
        met.append(wait(sync, threads))

    for _ in range(3):  # and the helper, given back, serves the next call
        with pytest.raises(RuntimeError, match=f"thread {failing} failed"):
            blas_threads.call(work, ())
    assert met == [-1, -1, -1]  # the other thread stopped at the meeting: aborted


def test_both_threads_meet_and_return():
    wait = waiting()
    seen = []

    def work(sync, me, threads):
        seen.append((me, threads, wait(sync, threads)))
        return me

    assert blas_threads.call(work, ()) == 0
    assert sorted(seen) == [(0, 2, 1), (1, 2, 1)]


def fitted(dtype="float32"):
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(300, 20)).astype(dtype), rng.integers(0, 4, 300)
    model = minibp.mlp([20, 32, 4], "sigmoid", None, seed=1, dtype=dtype)
    model.fit(X, y, loss="xent", optimizer=minibp.SGD(0.1), epochs=2, batch_size=64, seed=2,
              engine="blas", verbose=0)
    return [p.value.copy() for p in model.parameters()]


@pytest.mark.skipif(not CAN_FORK, reason="no fork")
def test_a_forked_child_fits_with_helpers_of_its_own():
    """The parent's helper threads do not survive a fork; the child must not wait for them
    (a child that did would never give its weights back)."""
    want = fitted()  # the parent has helpers now
    got, exitcode = in_forked_child(fitted)
    assert exitcode == 0
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
