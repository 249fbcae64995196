"""What a hostile or careless user does to a model, and what minibp answers: the same layer
twice, training from two threads, predicting from many, pickling mid-training, arguments
that only look right, a frozen model, a machine where numba cannot write its cache.

References: the same work done alone, in one thread, without the round trip; a plain
NumPy forward written here.
"""

from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

import minibp

ENGINES = ["numpy", "numba", "blas"]
ROOT = Path(__file__).resolve().parent.parent


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] * X[:, 1] > 0).astype(int)


def plain_forward(model, X):
    """sigmoid hidden layers and identity output, from the model's arrays: no minibp code."""
    for i, layer in enumerate(model.layers):
        X = X @ layer.W.T + layer.b
        if i < len(model.layers) - 1:
            X = 1.0 / (1.0 + np.exp(-X))
    return X


def test_the_same_layer_twice_is_refused_naming_both_positions():
    shared = minibp.Dense(3, 3, "tanh")
    with pytest.raises(ValueError, match=r"model\[0\] and model\[2\] are the same layer "
                                         r".*copy=False"):
        minibp.Sequential(shared, minibp.Dense(3, 3), shared)
    twin = minibp.Dense(3, 3, "tanh", W=shared.W, b=shared.b, copy=False)  # what it says
    model = minibp.Sequential(shared, twin)
    assert model[1].W is shared.W


@pytest.mark.parametrize("engine", ENGINES)
def test_a_second_fit_on_a_model_training_in_another_thread_is_refused(engine):
    X, Y = data(2000)
    model = minibp.mlp([3, 16, 2], seed=0)
    model.fit(X[:8], Y[:8], loss="xent", optimizer="sgd", engine=engine)  # compiled now
    started, tried, errors = threading.Event(), threading.Event(), []

    class HoldTheFitOpen(minibp.Callback):  # mid-fit until the main thread has tried
        def on_epoch_end(self, epoch, logs=None):
            started.set()
            tried.wait(60)

    worker = threading.Thread(target=lambda: model.fit(
        X, Y, loss="xent", optimizer="sgd", epochs=3, engine=engine,
        callbacks=[HoldTheFitOpen()], verbose=0))
    worker.start()
    started.wait(60)
    for call in (lambda: model.fit(X, Y, loss="xent", optimizer="sgd", engine=engine),
                 lambda: model.train_step(X[:4], Y[:4], "xent", "sgd", engine=engine)):
        try:
            call()
        except RuntimeError as error:
            errors.append(str(error))
    tried.set()
    worker.join()
    assert len(errors) == 2 and all("already training" in e for e in errors), errors
    model.fit(X[:8], Y[:8], loss="xent", optimizer="sgd", engine=engine)  # free again
    clone = copy.deepcopy(model)  # the guard is not part of a copy
    clone.fit(X[:8], Y[:8], loss="xent", optimizer="sgd", engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_callback_that_fits_its_own_model_again_is_refused(engine):
    X, Y = data(40)
    model = minibp.mlp([3, 8, 2], seed=0)
    errors = []

    class FitAgain(minibp.Callback):  # in the training thread, mid-fit
        def on_epoch_end(self, epoch, logs=None):
            try:
                model.fit(X, Y, loss="xent", optimizer="sgd", engine=engine)
            except RuntimeError as error:
                errors.append(str(error))

    model.fit(X, Y, loss="xent", optimizer="sgd", epochs=2, engine=engine,
              callbacks=[FitAgain()], verbose=0)
    assert len(errors) == 2 and all("already training" in e for e in errors), errors
    model.fit(X, Y, loss="xent", optimizer="sgd", engine=engine)  # and free once it ends


@pytest.mark.parametrize("engine", ENGINES)
def test_two_models_in_two_threads_train_as_they_would_alone(engine):
    X, Y = data(400)
    alone = [minibp.mlp([3, 8, 2], seed=s) for s in (1, 2)]
    for m in alone:
        m.fit(X, Y, loss="xent", optimizer="adam", epochs=3, seed=4, engine=engine)
    together = [minibp.mlp([3, 8, 2], seed=s) for s in (1, 2)]
    threads = [threading.Thread(target=m.fit, args=(X, Y), kwargs=dict(
        loss="xent", optimizer="adam", epochs=3, seed=4, engine=engine, verbose=0))
        for m in together]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(alone, together):
        assert all(np.array_equal(p.value, q.value) for p, q in zip(a.parameters(),
                                                                    b.parameters()))


@pytest.mark.parametrize("engine", ENGINES)
def test_concurrent_predicts_from_many_threads_are_all_correct(engine):
    model = minibp.mlp([3, 32, 4], seed=0)
    inputs = [np.random.default_rng(s).normal(size=(50 + 7 * s, 3)) for s in range(8)]
    results = [None] * len(inputs)

    def serve(i):
        for _ in range(20):
            results[i] = model.predict(inputs[i], engine=engine)

    threads = [threading.Thread(target=serve, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for X, out in zip(inputs, results):
        np.testing.assert_allclose(out, plain_forward(model, X), rtol=1e-12, atol=1e-14)


def test_predict_keeps_nothing_in_the_layers():
    model = minibp.mlp([3, 64, 2], seed=0)
    empty = len(pickle.dumps(model))
    model.predict(np.zeros((30_000, 3)), engine="numpy")
    assert all(getattr(layer, "X", None) is None for layer in model.layers)
    assert len(pickle.dumps(model)) == empty


def test_a_layer_keeps_its_own_copy_of_the_input_it_differentiates():
    layer = minibp.Dense(3, 2, seed=0)
    X = np.arange(6.0).reshape(2, 3)
    layer.forward(X)
    X[:] = 100.0  # the caller reuses its buffer between forward and backward
    layer.backward(np.ones((2, 2)))
    np.testing.assert_array_equal(layer.dW, np.ones((2, 2)).T @ np.arange(6.0).reshape(2, 3))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_optimizer_state_survives_a_round_trip_with_its_model(engine, how):
    X, Y = data()
    for make in (lambda: minibp.SGD(0.05, momentum=0.9), lambda: minibp.Adam(0.01)):
        straight, opt = minibp.mlp([3, 8, 2], seed=0), make()
        straight.fit(X, Y, loss="xent", optimizer=opt, epochs=2, seed=1, engine=engine)
        paused, opt2 = minibp.mlp([3, 8, 2], seed=0), make()
        paused.fit(X, Y, loss="xent", optimizer=opt2, epochs=1, seed=1, engine=engine)
        if how == "pickle":
            paused, opt2 = pickle.loads(pickle.dumps((paused, opt2)))
        else:
            paused, opt2 = copy.deepcopy((paused, opt2))
        assert any(np.any(s) for p in paused.parameters() for s in opt2.state(p).values())
        # epoch 2 of the straight fit shuffles with the generator's second draw: seed it so
        rng = np.random.default_rng(1)
        rng.permutation(len(X))
        straight_again, opt3 = minibp.mlp([3, 8, 2], seed=0), make()
        straight_again.fit(X, Y, loss="xent", optimizer=opt3, epochs=1, seed=1,
                           engine=engine)
        straight_again.fit(X, Y, loss="xent", optimizer=opt3, epochs=1, seed=2,
                           engine=engine)
        paused.fit(X, Y, loss="xent", optimizer=opt2, epochs=1, seed=2, engine=engine)
        for p, q in zip(paused.parameters(), straight_again.parameters()):
            assert np.array_equal(p.value, q.value), (how, p.name)


@pytest.mark.parametrize("kwargs, error, says", [
    (dict(optimizer=None), TypeError, "optimizer must be an Optimizer or one of"),
    (dict(verbose="yes"), ValueError, "verbose"),
    (dict(shuffle=1), TypeError, "shuffle must be True or False, got 1"),
    (dict(shuffle="no"), TypeError, "shuffle must be True or False, got 'no'"),
])
def test_arguments_that_only_look_right_are_refused_before_any_epoch(kwargs, error, says):
    X, Y = data()
    model = minibp.mlp([3, 4, 2], seed=0)
    before = model[0].W.copy()
    arguments = dict(loss="xent", optimizer="sgd", epochs=2)
    arguments.update(kwargs)
    with pytest.raises(error, match=says):
        model.fit(X, Y, **arguments)
    assert np.array_equal(model[0].W, before)


def test_fitting_a_model_whose_every_parameter_is_frozen_warns():
    X, Y = data()
    model = minibp.mlp([3, 4, 2], seed=0)
    for layer in model:
        layer.freeze()
    with pytest.warns(UserWarning, match="every parameter of this model is frozen"):
        model.fit(X, Y, loss="xent", optimizer="sgd")
    model[1].unfreeze("b")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, Y, loss="xent", optimizer="sgd")


class FrozenRecords:
    """A layer of another kind (no freezing of its own): one parameter, frozen or not."""

    def __init__(self, frozen: bool):
        self.W, self.dW, self.frozen = np.eye(2), np.zeros((2, 2)), frozen

    def forward(self, X):
        self.X = X
        return X @ self.W.T

    def backward(self, dA):
        self.dW[...] = dA.T @ self.X
        return dA @ self.W

    def parameters(self):
        return [minibp.nn.layer.Parameter("W", self.W, self.dW, self.frozen)]


@pytest.mark.parametrize("layers, warns", [
    (lambda: [minibp.Sigmoid()], False),                                  # nothing to train
    (lambda: [minibp.Dense(2, 2).freeze(), minibp.Sigmoid()], True),
    (lambda: [minibp.Dense(2, 2).freeze(), FrozenRecords(True)], True),
    (lambda: [minibp.Dense(2, 2).freeze(), FrozenRecords(False)], False),
    (lambda: [FrozenRecords(True), minibp.Dense(2, 2).freeze("W")], False),
])
def test_the_frozen_warning_reads_every_kind_of_layer(layers, warns):
    model = minibp.Sequential(*layers())
    X, Y = np.ones((3, 2)), np.full((3, 2), 0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, Y, loss="mse", optimizer="sgd", epochs=1)
    said = [w for w in caught if "every parameter of this model is frozen" in str(w.message)]
    assert len(said) == warns and all(w.filename == __file__ for w in said)


def test_a_read_only_parameter_of_another_kind_of_layer_is_named():
    """A layer with a W but no b (not a Dense) is asked through its records."""
    odd = FrozenRecords(False)
    odd.W.flags.writeable = False
    model = minibp.Sequential(minibp.Dense(2, 2), odd)
    with pytest.raises(ValueError, match=r"fit: model\[1\]\.W is read-only"):
        model.fit(np.ones((3, 2)), np.zeros((3, 2)), loss="mse", optimizer="sgd")


def test_without_a_writable_numba_cache_the_compiled_engines_still_run(tmp_path):
    """numba finds no place of its own (every locator declines, as on a read-only install
    with no writable home): minibp points it at a folder of the temporary directory, warns
    once, and trains."""
    script = """
import warnings
import numba.core.caching as caching
def every(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from every(sub)
for locator in set(every(caching._CacheLocator)):
    if "UserProvided" not in locator.__name__:  # the one NUMBA_CACHE_DIR drives
        locator.from_function = classmethod(lambda cls, f, p: None)
import numpy as np
import minibp
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    X = np.array([[0.0, 1.0], [1.0, 0.0]]); Y = np.array([[1.0], [0.0]])
    for engine in ("numba", "blas"):
        minibp.mlp([2, 3, 1], seed=0).fit(X, Y, loss="mse", optimizer="sgd", epochs=3,
                                          engine=engine)
from minibp.engines import cache_location
print(sum("numba cannot write its cache" in str(w.message) for w in caught))
print(cache_location.CHOSEN)
"""
    env = dict(os.environ, TMPDIR=str(tmp_path))
    env.pop("NUMBA_CACHE_DIR", None)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    count, folder = done.stdout.split()[-2:]  # after the fits' own lines
    assert count == "1" and folder.startswith(str(tmp_path))
    assert any(Path(folder).rglob("*.nbi"))  # the kernels were cached there
