"""benchmarks/thread_scaling.py: each kind of work on one thread and on two.

No threshold on time: the two versions of each numba kernel compute the same values (the
work is cut by rows, each row by one thread), the speedup is one's time over two's, and the
BLAS limit is lifted again afterwards."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("threadpoolctl")

from benchmarks import thread_scaling  # noqa: E402


def test_the_two_threads_compute_what_one_does():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(37, 256)).astype(np.float32)
    b, expected = a.copy(), a.copy()
    for _ in range(20):  # the kernel's arithmetic, in NumPy's float32
        expected = expected * np.float32(0.999) + np.float32(0.001)
    thread_scaling.compute_serial(a)
    thread_scaling.compute_parallel(b)
    np.testing.assert_array_equal(a, expected)
    np.testing.assert_array_equal(b, expected)
    W, dW = rng.normal(size=(2, 33, 784)).astype(np.float32)
    expected = W - np.float32(0.1) * dW  # SGD's step, in NumPy
    V = W.copy()
    thread_scaling.update_serial(W, dW, np.float32(0.1))
    thread_scaling.update_parallel(V, dW, np.float32(0.1))
    np.testing.assert_array_equal(W, expected)
    np.testing.assert_array_equal(V, expected)


def test_each_kind_has_both_times_and_their_ratio():
    from threadpoolctl import threadpool_info

    before = [pool["num_threads"] for pool in threadpool_info()]
    found = thread_scaling.measure(repeats=2, rows=8)
    assert set(found) == {"compute", "memory", "blas"}
    for times in found.values():
        assert times["one"] > 0 and times["two"] > 0
        assert times["speedup"] == pytest.approx(times["one"] / times["two"], rel=1e-12)
    assert [pool["num_threads"] for pool in threadpool_info()] == before
