"""The BLAS engine's compiled steps (minibp/engines/blas_compiled.py, kernels/blas_steps.py)
against its Python steps, the same fit with MINIBP's compiled steps off; against NumPy's
sigmoid; and on one thread against two.

References: the Python steps (np.matmul and the step kernels, held to the NumPy engine by
test_engines.py); NumPy's exp; the same fit in a process with one numba thread."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from openblas_count import openblas_threads

import minibp
from minibp.engines import blas_compiled, blas_engine, blas_library, blas_predict, blas_threads

pytestmark = pytest.mark.skipif(blas_library.register() is not None,
                                reason="NumPy's BLAS cannot be called from compiled code")

CASES = {  # sizes, hidden activation, output activation, loss, optimizer, fit options
    "sigmoid-xent-sgd": ([7, 9, 6, 4], "sigmoid", None, "xent", lambda: minibp.SGD(0.3),
                         dict(batch_size=16, shuffle=True)),
    "tanh-mse-momentum": ([5, 8, 3], "tanh", None, "mse",
                          lambda: minibp.SGD(0.05, 0.9, nesterov=True, weight_decay=0.01),
                          dict(batch_size=7, shuffle=False)),
    "relu-bce-adam-weighted": ([6, 10, 1], "relu", None, "bce", lambda: minibp.Adam(0.01),
                               dict(batch_size=5, shuffle=True, weights=True)),
    "sigmoid-squared-adamw-schedule": ([3, 4, 2], "sigmoid", "sigmoid", "squared",
                                       lambda: minibp.AdamW(lambda step: 0.02 / (1 + step)),
                                       dict(batch_size=1, shuffle=True)),
    "wide-sigmoid-xent-sgd": ([40, 300, 10], "sigmoid", None, "xent",
                              lambda: minibp.SGD(0.1), dict(batch_size=64, shuffle=True)),
    "one-layer-xent-sgd": ([12, 3], "sigmoid", None, "xent", lambda: minibp.SGD(0.2),
                           dict(batch_size=8, shuffle=True)),
}


def problem(name, dtype="float64", n=103):
    sizes, hidden, output, loss, make_optimizer, options = CASES[name]
    options = dict(options)
    rng = np.random.default_rng(7)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    if loss == "xent":
        Y = rng.integers(0, sizes[-1], n)
    elif loss == "bce":
        Y = rng.integers(0, 2, (n, 1)).astype(dtype)
    else:
        Y = rng.normal(size=(n, sizes[-1])).astype(dtype)
    if options.pop("weights", False):
        options["sample_weight"] = rng.uniform(0.5, 2.0, n)
    model = minibp.mlp(sizes, hidden, output, seed=3, dtype=dtype)
    return model, X, Y, loss, make_optimizer, options


@pytest.fixture(autouse=True)
def two_threads_for_small_steps(monkeypatch):
    """These models are small enough to run on one thread (blas_threads.TWO_THREADS_MACS):
    the tests here hold the two threads' path too."""
    monkeypatch.setattr(blas_threads, "TWO_THREADS_MACS", 0)


def trained(name, compiled: bool, monkeypatch, dtype="float64"):
    monkeypatch.setattr(blas_compiled, "ENABLED", compiled)
    model, X, Y, loss, make_optimizer, options = problem(name, dtype)
    optimizer = make_optimizer()
    history = model.fit(X, Y, loss=loss, optimizer=optimizer, epochs=3, seed=1,
                        engine="blas", verbose=0, **options)
    return model, history, optimizer


@pytest.mark.parametrize("name", list(CASES))
def test_three_epochs_agree_with_the_python_steps(name, monkeypatch):
    (model, history, optimizer), (ref, ref_history, ref_optimizer) = (
        trained(name, compiled, monkeypatch) for compiled in (True, False))
    np.testing.assert_allclose(history.history["loss"], ref_history.history["loss"],
                               rtol=1e-12)
    for p, q in zip(model.parameters(), ref.parameters()):
        scale = np.abs(q.value).max()
        assert np.abs(p.value - q.value).max() <= 1e-12 * scale, p.name
        np.testing.assert_allclose(p.grad, q.grad, rtol=0, atol=1e-12 * np.abs(q.grad).max())
    assert optimizer.steps == ref_optimizer.steps


def test_float32_agrees_with_the_python_steps(monkeypatch):
    (model, _, _), (ref, _, _) = (trained("sigmoid-xent-sgd", compiled, monkeypatch,
                                          "float32") for compiled in (True, False))
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.value, q.value, rtol=2e-5, atol=2e-6)


def test_the_status_codes_and_symbols_agree_with_the_generated_file():
    """train_steps' statuses, the symbols it calls and its threads' meeting slots are named
    in its templates, which nothing imports, and in blas_compiled, blas_library and
    blas_threads: they must say the same."""
    module = blas_compiled.kernels()
    for name in ("STEPS_DONE", "NOT_FINITE", "OVERFLOW", "WEIGHTLESS", "STOPPED"):
        assert getattr(module, name) == getattr(blas_compiled, name), name
    for symbol in (*blas_library.SYMBOLS.values(), blas_library.YIELD):  # what it binds
        assert f'"{symbol}"' in blas_compiled.source()
    assert module.ABORT == blas_threads.ABORT
    assert module.FINISHED + 2 == blas_threads.SYNC_SLOTS  # a verdict slot per thread


def test_the_compiled_steps_ran(monkeypatch):
    """The cases above compare two paths only if the first one is the compiled one."""
    calls = []
    module = blas_compiled.kernels()
    real = module.train_steps
    monkeypatch.setattr(module, "train_steps", lambda *a: calls.append(1) or real(*a))
    trained("sigmoid-xent-sgd", True, monkeypatch)
    assert calls


@pytest.mark.parametrize("options, reason", [
    (dict(clip_norm=1.0), "clipping"), (dict(l2=1e-3), "l2"), (dict(freeze=True), "frozen")])
def test_clipping_l2_and_frozen_parameters_keep_the_python_steps(options, reason):
    model, X, Y, loss, _, _ = problem("sigmoid-xent-sgd")
    if options.pop("freeze", False):
        model[0].freeze("b")
    optimizer = minibp.SGD(0.1, l2=options.pop("l2", 0.0))
    session = blas_engine.Session(model.layers, X, Y, loss=minibp.SoftmaxCrossEntropy(),
                                  optimizer=optimizer, batch_size=8, shuffle=False, seed=0,
                                  **options)
    session.run(1)
    assert session.compiled is None
    assert reason in blas_compiled.why_not(session)


def test_numpys_blas_thread_count_is_put_back():
    before = openblas_threads()
    model, X, Y, loss, make_optimizer, options = problem("wide-sigmoid-xent-sgd")
    model.fit(X, Y, loss=loss, optimizer=make_optimizer(), epochs=1, engine="blas",
              verbose=0, **options)
    assert openblas_threads() == before


def predicted(model, X, compiled: bool, monkeypatch, rows=None):
    monkeypatch.setattr(blas_compiled, "ENABLED", compiled)
    if rows is not None:
        monkeypatch.setattr(blas_engine, "PREDICT_ROWS", rows)
    return model.predict(X, engine="blas")


@pytest.mark.parametrize("name", list(CASES))
def test_predict_agrees_with_numpys_products(name, monkeypatch):
    """The compiled forward (two halves of each batch of rows) against the Python path's
    np.matmul and fused kernels: batches that do not divide the rows, one row, a
    Fortran-ordered and a read-only X."""
    model, X, _, _, _, _ = problem(name)
    fortran, frozen = np.asfortranarray(X), X.copy()
    frozen.flags.writeable = False
    for data, rows in ((X, 10), (X[:1], None), (fortran, 64), (frozen, None)):
        got, want = (predicted(model, data, compiled, monkeypatch, rows)
                     for compiled in (True, False))
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("slab_bytes, slabs", [(1, [40, 40, 23]), (1 << 22, [103])])
def test_float32_predict_agrees_and_runs_compiled(slab_bytes, slabs, monkeypatch):
    """Predict copies X into slabs of whole batches (here one batch, or all 103 rows) and
    runs each slab on every thread blas_threads.call uses, each thread its own."""
    model, X, _, _, _, _ = problem("wide-sigmoid-xent-sgd", "float32")
    calls = []
    module = blas_compiled.kernels()
    real = module.forward_rows
    monkeypatch.setattr(module, "forward_rows",
                        lambda *a: calls.append((a[1], threading.get_ident())) or real(*a))
    monkeypatch.setattr(blas_predict, "SLAB_BYTES", slab_bytes)
    before = openblas_threads()
    got = predicted(model, X, True, monkeypatch, rows=40)
    threads = blas_threads.thread_count()
    assert sorted(rows for rows, _ in calls) == sorted(slabs * threads)
    assert len({thread for _, thread in calls}) == threads
    assert openblas_threads() == before
    want = predicted(model, X, False, monkeypatch)
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6 * np.abs(want).max())


def test_predict_with_a_short_last_batch_is_the_same_every_time(monkeypatch):
    """Between batches the two threads do not meet, but for a shorter last batch, whose
    halves cut A's rows elsewhere: one thread could otherwise still be writing rows the
    other's last half takes (seen as about 1 predict in 6 off by up to 0.5). 1,000 predicts
    of 10 batches of 10 rows and one of 3, each against the Python path's."""
    model, X, _, _, _, _ = problem("wide-sigmoid-xent-sgd")
    want = predicted(model, X, False, monkeypatch)
    for _ in range(1000):
        got = predicted(model, X, True, monkeypatch, rows=10)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())


class ThreadCounts:
    """A callback: NumPy's OpenBLAS thread count at each epoch's end."""

    def __init__(self):
        self.seen = []

    def on_epoch_end(self, epoch, logs):
        self.seen.append(openblas_threads())


@pytest.mark.parametrize("compiled", [True, False])
def test_openblas_stays_at_one_thread_between_compiled_epochs(compiled, monkeypatch):
    """What runs between the compiled steps' epochs (the validation data's predictions,
    callbacks) runs with OpenBLAS at one thread, so that it leaves no OpenBLAS thread
    spinning for the next epoch; fit puts the count back. The Python steps leave it be."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    monkeypatch.setattr(blas_compiled, "ENABLED", compiled)
    model, X, Y, loss, make_optimizer, options = problem("wide-sigmoid-xent-sgd")
    counts = ThreadCounts()
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = openblas_threads()
        if before != [2]:
            pytest.skip(f"NumPy's OpenBLAS cannot run two threads here ({before})")
        model.fit(X, Y, loss=loss, optimizer=make_optimizer(), epochs=2, engine="blas",
                  verbose=0, callbacks=[counts], validation_data=(X[:20], Y[:20]), **options)
        after = openblas_threads()
    assert counts.seen == ([[1], [1]] if compiled else [[2], [2]])
    assert after == [2]


SIGMOID = 1  # capabilities.ACTIVATION_CODES[Sigmoid]


@pytest.mark.parametrize("dtype, ulps", [(np.float64, 2), (np.float32, 2)])
def test_the_compiled_sigmoid_is_within_two_ulps_of_numpys(dtype, ulps):
    z = np.concatenate([np.linspace(-800, 800, 4001), [0.0, -0.0, 1e-300, -1e-300, 36.7,
                                                        -36.7, -745.1, -745.2, -103.9, -104]])
    z = z.astype(dtype)
    Z = np.tile(z, (2, 1))
    width = Z.shape[1]
    P = np.empty((width,), dtype)
    S = np.empty(2 * width, np.int32 if dtype == np.float32 else np.int64)
    blas_compiled.kernels().activate_rows(Z, np.zeros(width, dtype), 2, SIGMOID, P, S)
    wide = z.astype(np.float64)
    expected = np.where(wide >= 0, 1 / (1 + np.exp(-np.abs(wide))),
                        np.exp(-np.abs(wide)) / (1 + np.exp(-np.abs(wide)))).astype(dtype)
    tiny = np.finfo(dtype).smallest_subnormal
    assert np.all(np.abs(Z[1] - expected) <= ulps * np.maximum(np.spacing(expected), tiny))
    specials = np.array([[np.nan, np.inf, -np.inf]], dtype)
    blas_compiled.kernels().activate_rows(specials, np.zeros(3, dtype), 1, SIGMOID, P, S)
    assert np.isnan(specials[0, 0]) and specials[0, 1] == 1.0 and specials[0, 2] == 0.0


PROBE = """
import json, sys
import numpy as np
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests/support"]  # as pytest's pythonpath
from tests.engines.test_blas_compiled import problem
from minibp.engines import blas_threads
blas_threads.TWO_THREADS_MACS = 0  # this model's steps would run on one thread
model, X, Y, loss, make_optimizer, options = problem("wide-sigmoid-xent-sgd")
model.fit(X, Y, loss=loss, optimizer=make_optimizer(), epochs=2, seed=1, engine="blas",
          verbose=0, **options)
print(json.dumps([p.value.tolist() for p in model.parameters()]))
"""


def test_one_thread_and_two_give_the_same_weights_bit_for_bit():
    """Every phase is cut in two halves whatever the thread count, so numba's threads only
    decide who computes each half."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    weights = []
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        out = subprocess.run([sys.executable, "-c", PROBE, root], env=env, check=True,
                             capture_output=True, text=True).stdout
        weights.append(json.loads(out.splitlines()[-1]))
    assert weights[0] == weights[1]


ONE_LAYER_FIRST = """
import sys
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests/support"]  # as pytest's pythonpath
from tests.engines.test_blas_compiled import problem
for name in sys.argv[2:]:
    model, X, Y, loss, make_optimizer, options = problem(name)
    model.fit(X, Y, loss=loss, optimizer=make_optimizer(), epochs=1, seed=1, engine="blas",
              verbose=0, **options)
    print(name, float(model.layers[0].W.sum()))
"""


def test_a_one_layer_model_first_in_a_process_loads_the_cached_steps():
    """The driver serves one to four layers and calls every kernel at any depth, so a
    process whose first BLAS fit has one layer must bind them all before loading the
    driver a deeper model compiled: a symbol left unbound made the load crash the process
    (a segmentation fault) and, on an empty cache, the compile fail."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    runs = [["sigmoid-xent-sgd"], ["one-layer-xent-sgd"], ["one-layer-xent-sgd"]]
    printed = [subprocess.run([sys.executable, "-c", ONE_LAYER_FIRST, root, *names],
                              capture_output=True, text=True) for names in runs]
    for names, run in zip(runs, printed):
        assert run.returncode == 0, (names, run.returncode, run.stderr[-2000:])
    assert printed[1].stdout == printed[2].stdout  # the second one loads from the cache


@pytest.mark.skipif(blas_threads.thread_count() < 2, reason="one thread only here")
def test_small_steps_run_on_one_thread_to_the_same_weights(monkeypatch):
    """Below TWO_THREADS_MACS a step runs on the calling thread alone (the meetings would
    cost more than a second thread gains): the same weights to the bit as on two."""
    module = blas_compiled.kernels()
    real, threads = module.train_steps, []

    def counted(*a):  # the thread count of calls that take steps (first < stop): not the
        if a[2] < a[3]:  # call for no step that compiles it, in a process's first fit
            threads.append(a[-1])
        return real(*a)

    monkeypatch.setattr(module, "train_steps", counted)
    weights = []
    for threshold, expected in ((0, 2), (10**12, 1)):
        monkeypatch.setattr(blas_threads, "TWO_THREADS_MACS", threshold)
        threads.clear()
        model, _, _ = trained("sigmoid-xent-sgd", True, monkeypatch)
        assert set(threads) == {expected}
        weights.append([p.value.copy() for p in model.parameters()])
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_fits_in_two_threads_at_once_put_the_thread_count_back():
    """The first fit in sets OpenBLAS to one thread, the last out puts the count back, in
    whatever order they end; each fit's weights are its own, as alone."""
    before = openblas_threads()
    problems = [problem("wide-sigmoid-xent-sgd", n=400 + 50 * k) for k in range(2)]
    results = [None, None]

    def fit(k, model, X, Y, loss, make_optimizer, options):
        model.fit(X, Y, loss=loss, optimizer=make_optimizer(), epochs=4, seed=k,
                  engine="blas", verbose=0, **options)
        results[k] = [p.value.copy() for p in model.parameters()]

    threads = [threading.Thread(target=fit, args=(k, *problems[k])) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert openblas_threads() == before
    for k in range(2):
        model, X, Y, loss, make_optimizer, options = problem("wide-sigmoid-xent-sgd",
                                                             n=400 + 50 * k)
        model.fit(X, Y, loss=loss, optimizer=make_optimizer(), epochs=4, seed=k,
                  engine="blas", verbose=0, **options)
        for got, alone in zip(results[k], model.parameters()):
            np.testing.assert_array_equal(got, alone.value)
