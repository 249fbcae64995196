"""The BLAS engine's compiled predict keeps what it makes for some layers (their buffers and
the padded arguments of forward_rows: blas_predict.IDLE) and hands it to the next predict of
the same layers. Reuse must be invisible: every predict reads the weights as they stand when
it starts (changed in place, or replaced by new arrays), two threads never share one set of
buffers, and at most IdleForwardings.MAX are kept. Read-only parameters predict too. A
forked child predicts even if the parent's idle table (this one, or the numba engine's
flat.IDLE) was locked at the fork.

Reference: the NumPy engine's predict of the same model at the same moment.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from forked import CAN_FORK, in_forked_child

import minibp
from minibp.engines import blas_compiled, blas_predict, flat

pytestmark = pytest.mark.skipif(not blas_compiled.can_predict(),
                                reason="the BLAS engine's predict is not compiled here")


def assert_predicts_as_numpy(model, X):
    want = model.predict(X, engine="numpy")
    got = model.predict(X, engine="blas")
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())


def test_predict_reads_the_weights_as_they_stand_each_call():
    model = minibp.mlp([6, 5, 4, 3], "tanh", "sigmoid", seed=0)
    X = np.random.default_rng(1).normal(size=(9, 6))
    assert_predicts_as_numpy(model, X)
    model.layers[0].W *= 3.0  # in place: the kept arguments see it
    model.layers[2].b[:] = -1.0
    assert_predicts_as_numpy(model, X)
    model.layers[1].W = model.layers[1].W * -0.5  # a new array: a new Forwarding
    model.layers[1].b = np.linspace(-1, 1, 4)
    assert_predicts_as_numpy(model, X)
    model.layers[0].W = np.asfortranarray(model.layers[0].W)  # as Dense takes it
    assert_predicts_as_numpy(model, X)


def test_read_only_parameters_predict_among_writable_ones():
    """One read-only bias among writable arrays once made a tuple numba could not type."""
    model = minibp.mlp([6, 5, 3], "sigmoid", None, seed=0)
    X = np.random.default_rng(2).normal(size=(7, 6))
    model.layers[1].b = np.full(3, 0.25)
    model.layers[1].b.setflags(write=False)
    assert_predicts_as_numpy(model, X)
    model.layers[0].W.setflags(write=False)
    assert_predicts_as_numpy(model, X)


def test_threads_predicting_at_once_each_get_their_own_answer():
    models = [minibp.mlp([8, 16, 4], "sigmoid", None, seed=seed) for seed in range(3)]
    X = np.random.default_rng(3).normal(size=(40, 8))
    want = [model.predict(X, engine="numpy") for model in models]
    failures = []

    def work(k):
        for _ in range(50):
            got = models[k % 3].predict(X, engine="blas")
            if np.abs(got - want[k % 3]).max() > 1e-12:
                failures.append(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures


def test_at_most_max_forwardings_are_kept():
    X = np.random.default_rng(4).normal(size=(5, 3))
    for seed in range(blas_predict.IdleForwardings.MAX + 3):
        minibp.mlp([3, 4, 2], seed=seed).predict(X, engine="blas")
    assert len(blas_predict.IDLE._kept) <= blas_predict.IdleForwardings.MAX


@pytest.mark.skipif(not CAN_FORK, reason="no fork")
@pytest.mark.parametrize("engine", ["blas", "numba"])
def test_a_child_forked_while_the_idle_table_was_locked_still_predicts(engine):
    """Another thread may hold an engine's idle table's lock at the moment of a fork; the
    child, which has no such thread, renews the lock instead of waiting for ever (and so
    never giving its answer back)."""
    model = minibp.mlp([4, 6, 2], seed=0)
    X = np.random.default_rng(5).normal(size=(6, 4))
    want = model.predict(X, engine=engine)
    table = blas_predict.IDLE if engine == "blas" else flat.IDLE
    got, exitcode = in_forked_child(lambda: model.predict(X, engine=engine),
                                    holding=table._lock)
    assert exitcode == 0
    np.testing.assert_array_equal(got, want)
