"""A fit compiles (or loads) what its engine will run before it times any epoch
(Session.to_compile), so History's seconds and verbose="auto" count training, not a first
fit's compiling, and a slow compile says so in one line.

References: the kernels' own dispatchers (the compiling calls must add exactly the
signatures the fit then runs: none after them), the same fit with nothing left to compile
(bit-identical results), and a compile made slow on purpose (a sleep) to watch the clock.
"""

from __future__ import annotations

import io
import time

import numpy as np
import pytest

import minibp
from minibp.engines import (
    blas_compiled,
    blas_engine,
    blas_predict,
    numba_engine,
    progress,
    specialize,
)
from minibp.engines.kernels import loop

NOTICE = ("minibp: compiling the numba engine's kernels for this model (once per machine, "
          "then cached) ...")


def problem(n=30):
    X = np.random.default_rng(0).normal(size=(n, 3))
    return X, (X[:, :1] * X[:, 1:2] > 0).astype(float)


def model():
    return minibp.mlp([3, 6, 1], "tanh", "sigmoid", seed=1)


def session_state(flat, session) -> list[np.ndarray]:
    return [a.copy() for a in (flat.params, flat.grads, flat.state, session.order,
                               session.report, session.resume)]


# The chapter's network in order and XOR shuffled, as W1 and W2 fit them (structures the
# suite compiles anyway: a new one costs seconds), specialized; the generic loop in both dtypes.
NUMBA_CASES = {
    "W1-specialized": ("chapter", np.float64, True),
    "W2-specialized": ("xor", np.float64, True),
    "W2-generic": ("xor", np.float64, False),
    "W1-generic-float32": ("chapter", np.float32, False),
}


def numba_session(name):
    data, dtype, _ = NUMBA_CASES[name]
    if data == "chapter":
        net, shuffle = minibp.examples.chapter_network(), False
        X, Y = minibp.examples.chapter_data()
    else:
        net, shuffle = minibp.mlp([2, 5, 1], "sigmoid", "sigmoid", init="uniform01", seed=0), True
        X, Y = minibp.examples.xor_data()
    net = net.astype(dtype)
    optimizer = minibp.SGD(0.5)
    session = numba_engine.Session(net.layers, X.astype(dtype), Y.astype(dtype),
                                   loss=minibp.SquaredError(), optimizer=optimizer,
                                   batch_size=1, shuffle=shuffle, seed=0)
    return net, X.astype(dtype), optimizer, session


@pytest.mark.parametrize("name", list(NUMBA_CASES))
def test_numba_compiles_the_signatures_its_fit_runs_and_changes_nothing(monkeypatch, name):
    specialized = NUMBA_CASES[name][2]
    monkeypatch.setattr(numba_engine, "_READY", set())  # as in a new process
    monkeypatch.setattr(specialize, "ENABLED", specialized)
    monkeypatch.setattr(specialize, "MAX_PER_PROCESS", 10**6)  # earlier tests used the 8
    net, X, optimizer, session = numba_session(name)
    try:
        pending = session.to_compile(evaluates=True)
        assert len(pending) == 2  # the loop, predict's kernel
        before = session_state(session.flat, session)
        for compile_ in pending:
            compile_()
        for old, new in zip(before, session_state(session.flat, session)):
            np.testing.assert_array_equal(new, old)
        assert session.epoch == 0 and session.to_compile(evaluates=True) == []
        _, kernels = session._choose()
        assert (kernels is not loop) == specialized
        counts = len(kernels.train_epochs.signatures), len(loop.predict_rows.signatures)
        session.run(2)
        numba_engine.predict(net.layers, X)
        assert (len(kernels.train_epochs.signatures),
                len(loop.predict_rows.signatures)) == counts  # nothing compiled in the fit
    finally:
        session.close()


@pytest.mark.parametrize("engine", ["numba", "blas"])
def test_a_fit_that_compiles_first_trains_exactly_as_one_that_does_not(monkeypatch, engine):
    X, Y = problem()
    Xv, Yv = problem(n=9)
    runs = []
    for fresh in (True, False):  # as in a new process, then with everything compiled
        if fresh:
            monkeypatch.setattr(numba_engine, "_READY", set())
            monkeypatch.setattr(blas_compiled, "_READY", set())
            monkeypatch.setattr(blas_predict, "_READY", set())
        net = model()
        history = net.fit(X, Y, loss="mse", optimizer=minibp.Adam(0.01), epochs=3,
                          batch_size=8, seed=5, validation_data=(Xv, Yv), engine=engine,
                          verbose=0)
        runs.append(([p.copy() for layer in net.layers for p in (layer.W, layer.b)],
                     history.history))
    for first, second in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(first, second)
    assert runs[0][1] == runs[1][1]


def blas_session(net, X, Y, **options):
    return blas_engine.Session(net.layers, X, Y, loss=minibp.SoftmaxCrossEntropy(),
                               optimizer=minibp.SGD(0.1), batch_size=16, shuffle=True, seed=0,
                               **options)


@pytest.mark.skipif(not blas_compiled.can_predict(), reason="NumPy's BLAS cannot be bound")
@pytest.mark.parametrize("sizes, dtype", [([12, 10, 8, 3], np.float64),
                                          ([12, 10, 3], np.float32)])  # as compiled elsewhere
def test_blas_compiles_the_steps_and_predict_its_fit_runs(monkeypatch, sizes, dtype):
    monkeypatch.setattr(blas_compiled, "_READY", set())
    monkeypatch.setattr(blas_predict, "_READY", set())
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(40, 12)).astype(dtype), np.arange(40) % 3
    net = minibp.mlp(sizes, "sigmoid", None, seed=0).astype(dtype)
    session = blas_session(net, X, Y)
    try:
        pending = session.to_compile(evaluates=True)
        assert len(pending) == 2  # the compiled steps, the compiled predict
        weights = [layer.W.copy() for layer in net.layers]
        for compile_ in pending:
            compile_()
        for layer, W in zip(net.layers, weights):
            np.testing.assert_array_equal(layer.W, W)
        kernels = blas_compiled.kernels()
        counts = len(kernels.train_steps.signatures), len(kernels.forward_rows.signatures)
        session.run(2)
        blas_engine.predict(net.layers, X)
        assert (len(kernels.train_steps.signatures),
                len(kernels.forward_rows.signatures)) == counts
        assert session.to_compile(evaluates=True) == []
    finally:
        session.close()


def kernel_signatures(*modules) -> int:
    """Signatures compiled so far of every numba dispatcher in the modules."""
    return sum(len(obj.signatures) for module in modules for obj in vars(module).values()
               if hasattr(obj, "signatures") and hasattr(obj, "py_func"))


@pytest.mark.parametrize("options", [{"clip_norm": 1.0}, {"sample_weight": np.arange(40.0)}],
                         ids=["clipping", "sample-weights"])
def test_blas_python_steps_compile_by_one_step_of_a_copy(monkeypatch, options):
    from minibp.engines.kernels import fused, step, updates

    monkeypatch.setattr(blas_compiled, "_READY", set())
    monkeypatch.setattr(blas_compiled, "ENABLED", False)  # the Python steps, whatever else
    rng = np.random.default_rng(0)
    net = minibp.mlp([12, 10, 3], "sigmoid", None, seed=0)
    optimizer = minibp.Adam(0.01, l2=1e-3)
    session = blas_engine.Session(net.layers, rng.normal(size=(40, 12)), np.arange(40) % 3,
                                  loss=minibp.SoftmaxCrossEntropy(), optimizer=optimizer,
                                  batch_size=16, shuffle=True, seed=0, **options)
    try:
        pending = session.to_compile(evaluates=False)
        assert len(pending) == 1
        before = [a.copy() for layer in net.layers for a in (layer.W, layer.b, layer.dW)]
        pending[0]()
        after = [a for layer in net.layers for a in (layer.W, layer.b, layer.dW)]
        for old, new in zip(before, after):
            np.testing.assert_array_equal(new, old)  # the copy stepped, not the model
        assert optimizer.steps == 0 and session.to_compile(evaluates=False) == []
        counts = kernel_signatures(fused, step, updates)
        session.run(2)
        assert kernel_signatures(fused, step, updates) == counts  # all compiled before
        assert optimizer.steps == 6
    finally:
        session.close()


def slow_compile(monkeypatch, seconds):
    """The numba loop's compile made to take at least ``seconds``, as on a new machine."""
    monkeypatch.setattr(numba_engine, "_READY", set())
    real = numba_engine.Session._compile_loop

    def slow(self, *args):
        time.sleep(seconds)
        real(self, *args)

    monkeypatch.setattr(numba_engine.Session, "_compile_loop", slow)


def test_a_slow_first_compile_is_announced_and_not_counted_as_training(capsys, monkeypatch):
    slow_compile(monkeypatch, 0.3)
    monkeypatch.setattr(progress, "NOTICE_SECONDS", 0.05)
    monkeypatch.setattr(progress, "AUTO_SECONDS", 0.25)  # the compile alone would pass it
    X, Y = problem()
    history = model().fit(X, Y, loss="mse", optimizer=minibp.SGD(0.1), epochs=5,
                          batch_size=10, engine="numba")  # verbose="auto"
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == NOTICE
    assert lines[1].startswith("minibp: compiled in ") and lines[1].endswith(" s")
    assert len(lines) == 2  # no epoch lines: training took milliseconds
    assert sum(history.seconds) < 0.3


@pytest.mark.parametrize("verbose", [0, "auto"])
def test_a_quick_compile_or_verbose_0_says_nothing(capsys, monkeypatch, verbose):
    slow_compile(monkeypatch, 0.3 if verbose == 0 else 0.0)
    monkeypatch.setattr(progress, "NOTICE_SECONDS", 0.05 if verbose == 0 else 30.0)
    X, Y = problem()
    model().fit(X, Y, loss="mse", optimizer=minibp.SGD(0.1), epochs=5, batch_size=10,
                engine="numba", verbose=verbose)
    assert capsys.readouterr().out == ""


def test_the_notice_is_not_printed_for_a_compile_that_failed(monkeypatch):
    monkeypatch.setattr(progress, "NOTICE_SECONDS", 0.0)
    stream = io.StringIO()
    shown = progress.Progress(1, 10, stream=stream)
    with pytest.raises(RuntimeError, match="no compiler"):
        with shown.compiling("numba"):
            time.sleep(0.1)
            raise RuntimeError("no compiler")
    assert stream.getvalue() == NOTICE + "\n"  # the notice, and no "compiled in"


@pytest.mark.parametrize("engine", ["numba", "blas"])
def test_what_a_callback_changes_before_the_first_epoch_is_what_that_epoch_runs(engine):
    """to_compile reads the optimizer's settings for the first call; fit calls it after the
    first on_epoch_begin, so a learning rate set there is the one the first epoch uses."""

    class Warmup(minibp.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.optimizer.lr = 0.05 if epoch == 0 else 0.2

    X, Y = problem()
    fits = []
    for way in (engine, "numpy"):
        net = model()
        history = net.fit(X, Y, loss="mse", optimizer=minibp.SGD(0.9, momentum=0.5),
                          epochs=2, batch_size=8, seed=2, callbacks=[Warmup()], engine=way,
                          verbose=0)
        fits.append((net.layers[0].W.copy(), history.history["loss"]))
    np.testing.assert_allclose(fits[0][0], fits[1][0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(fits[0][1], fits[1][1], rtol=0, atol=1e-12)
