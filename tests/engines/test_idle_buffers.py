"""The numba engine keeps the FlatModels of runs that ended (flat.IDLE) and hands them to the
next run of the same layers. Reuse must be invisible: every fit reads the layers as they
stand when it starts (weights set by hand, freezing, the optimizer's state), never what a
buffer kept from before, and two runs never share one buffer.

References: the same fits on fresh copies of the model (deepcopy, whose layers are new
objects, so nothing is reused), and the NumPy engine.
"""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest

import minibp
from minibp import NonFiniteInputError
from minibp.engines import flat as flat_module
from minibp.engines import numba_engine


def data(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), rng.normal(size=(n, 2))


def fresh_fit(model, X, Y, **kwargs):
    """The same fit on a deep copy: new layer objects, so no idle buffer matches."""
    twin = copy.deepcopy(model)
    twin.fit(X, Y, **kwargs)
    return twin


def weights(model):
    return [p.value.copy() for p in model.parameters()]


def assert_same_weights(a, b):
    for x, y in zip(weights(a), weights(b)):
        np.testing.assert_array_equal(x, y)


FIT = dict(loss="mse", epochs=3, batch_size=3, shuffle=False, verbose=0, engine="numba")


def test_a_second_fit_reuses_the_buffers_and_reads_the_layers_afresh():
    X, Y = data()
    model = minibp.mlp([3, 4, 2], "tanh", seed=0)
    model.fit(X, Y, optimizer=minibp.SGD(0.1), **FIT)
    key = flat_module.IdleFlatModels.key(model.layers, 3, minibp.SGD(0.1))
    kept = [flat_module.IDLE._kept[key]]  # the first fit left its buffers behind
    assert kept[0].layers == []  # holding no layer
    model.layers[0].W[0, 0] = 0.75  # set by hand between fits: the next fit must see it
    model.layers[1].freeze("b")
    frozen_b = model.layers[1].b.copy()
    expected = fresh_fit(model, X, Y, optimizer=minibp.SGD(0.1), **FIT)
    model.fit(X, Y, optimizer=minibp.SGD(0.1), **FIT)
    assert kept[0] in flat_module.IDLE._kept.values()  # the same buffers, given back again
    assert_same_weights(model, expected)
    np.testing.assert_array_equal(model.layers[1].b, frozen_b)


def test_unfreezing_between_fits_trains_the_parameter_again():
    X, Y = data()
    model = minibp.mlp([3, 4, 2], "sigmoid", seed=1)
    model.layers[0].freeze()
    model.fit(X, Y, optimizer=minibp.SGD(0.1), **FIT)
    model.layers[0].unfreeze("W")
    before = model.layers[0].W.copy()
    expected = fresh_fit(model, X, Y, optimizer=minibp.SGD(0.1), **FIT)
    model.fit(X, Y, optimizer=minibp.SGD(0.1), **FIT)
    assert not np.array_equal(model.layers[0].W, before)
    assert_same_weights(model, expected)


@pytest.mark.parametrize("optimizer", [lambda: minibp.SGD(0.1, momentum=0.9),
                                       lambda: minibp.Adam(0.01)])
def test_optimizer_state_carries_over_as_with_fresh_buffers(optimizer):
    """Two fits with one optimizer continue its state; the reference is the NumPy engine,
    which keeps that state in the optimizer itself."""
    X, Y = data()
    model, reference = minibp.mlp([3, 4, 2], "tanh", seed=2), minibp.mlp([3, 4, 2], "tanh",
                                                                         seed=2)
    opt, opt_reference = optimizer(), optimizer()
    for _ in range(2):
        model.fit(X, Y, optimizer=opt, **FIT)
        reference.fit(X, Y, optimizer=opt_reference, **{**FIT, "engine": "numpy"})
    for x, y in zip(weights(model), weights(reference)):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-12)


def test_a_nan_set_by_hand_between_fits_is_refused_naming_the_parameter():
    X, Y = data()
    model = minibp.mlp([3, 4, 2], "tanh", seed=0)
    model.fit(X, Y, optimizer="sgd", **FIT)
    model.layers[1].b[1] = np.inf
    with pytest.raises(NonFiniteInputError, match=r"^fit: model\[1\]\.b must be finite, got "
                                                  r"1 infinite value"):
        model.fit(X, Y, optimizer="sgd", **FIT)


def test_zero_epochs_leave_the_gradients_of_the_last_computation_alone():
    """A fit of 0 epochs computes no gradient, so it must not write one back (a reused
    buffer would hold the previous fit's)."""
    X, Y = data()
    model = minibp.mlp([3, 4, 2], "tanh", seed=0)
    model.fit(X, Y, optimizer="sgd", **FIT)
    grads = model.gradients(X[:2], Y[:2], "mse", engine="numba")
    model.fit(X, Y, optimizer="sgd", **{**FIT, "epochs": 0})
    for name, grad in grads.items():
        layer, which = name.split(".")
        index = int(layer[len("model["):-1])
        np.testing.assert_array_equal(getattr(model.layers[index], "d" + which), grad)


def test_runs_of_the_same_layers_at_once_never_share_buffers():
    """Two models holding the same layer objects (allowed, if unwise): a run that starts
    while another holds the idle buffers builds its own."""
    X, Y = data()
    layers = minibp.mlp([3, 4, 2], "tanh", seed=0).layers
    numba_engine.Session(layers, X, Y, loss=minibp.SquaredError(), optimizer=minibp.SGD(0.1),
                         batch_size=3, shuffle=False, seed=None).close()  # one left idle
    first = numba_engine.Session(layers, X, Y, loss=minibp.SquaredError(),
                                 optimizer=minibp.SGD(0.1), batch_size=3, shuffle=False,
                                 seed=None)
    second = numba_engine.Session(layers, X, Y, loss=minibp.SquaredError(),
                                  optimizer=minibp.SGD(0.1), batch_size=3, shuffle=False,
                                  seed=None)
    assert first.flat is not second.flat
    assert first.flat.params is not second.flat.params
    first.close()
    second.close()


def test_predicting_from_threads_at_once_gives_each_its_answer():
    model = minibp.mlp([3, 16, 2], "tanh", seed=0)
    inputs = [np.random.default_rng(k).normal(size=(5, 3)) for k in range(8)]
    expected = [model.predict(x, engine="numpy") for x in inputs]
    found = [None] * len(inputs)

    def work(k):
        for _ in range(200):
            found[k] = model.predict(inputs[k], engine="numba")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for got, want in zip(found, expected):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_a_new_model_of_the_same_structure_gets_the_buffers_and_its_own_weights():
    """A benchmark, or a sweep over seeds, builds a new model for each fit: the buffers
    of the last one serve it, and nothing of that model's weights or freezing leaks in."""
    X, Y = data()
    first = minibp.mlp([3, 4, 2], "tanh", seed=0)
    first.layers[0].freeze("b")
    first.fit(X, Y, optimizer=minibp.SGD(0.1), **FIT)
    key = flat_module.IdleFlatModels.key(first.layers, 3, minibp.SGD(0.1))
    kept = flat_module.IDLE._kept[key]
    second = minibp.mlp([3, 4, 2], "tanh", seed=1)
    expected = fresh_fit(second, X, Y, optimizer=minibp.SGD(0.1), **FIT)
    second.fit(X, Y, optimizer=minibp.SGD(0.1), **FIT)
    assert flat_module.IDLE._kept[key] is kept
    assert_same_weights(second, expected)


def test_at_most_max_idle_buffers_are_kept():
    X, Y = data()
    for seed in range(flat_module.IdleFlatModels.MAX + 3):
        minibp.mlp([3, 4, 2], "tanh", seed=seed).fit(X, Y, optimizer="sgd", **FIT)
    assert len(flat_module.IDLE._kept) <= flat_module.IdleFlatModels.MAX
