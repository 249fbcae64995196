"""minibp.builders: mlp.

References: the widths and activations asked for, the init bounds written by hand, and
reproducibility from the seed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from minibp import Dense, Sequential, mlp


@pytest.mark.parametrize(("sizes", "activation", "output_activation", "expected"), [
    pytest.param([2, 1], "tanh", None, [(2, 1, "identity")], id="single-layer"),
    pytest.param([2, 5, 1], "sigmoid", "sigmoid", [(2, 5, "sigmoid"), (5, 1, "sigmoid")],
                 id="chapter"),
    pytest.param((4, 3, 3, 2), "relu", None,
                 [(4, 3, "relu"), (3, 3, "relu"), (3, 2, "identity")], id="deep-tuple"),
    pytest.param([3, 6, 2], None, "tanh", [(3, 6, "identity"), (6, 2, "tanh")],
                 id="linear-hidden"),
])
def test_layers_shapes_and_activations(sizes, activation, output_activation, expected):
    model = mlp(sizes, activation, output_activation, seed=0)
    assert isinstance(model, Sequential)
    assert all(type(layer) is Dense for layer in model)
    got = [(layer.in_features, layer.out_features, layer.activation) for layer in model]
    assert got == expected
    assert [layer.W.shape for layer in model] == [(n_out, n_in) for n_in, n_out, _ in expected]
    assert [layer.b.shape for layer in model] == [(n_out,) for _, n_out, _ in expected]


def test_defaults_are_sigmoid_hidden_and_linear_output():
    model = mlp([2, 5, 1], seed=0)
    assert [layer.activation for layer in model] == ["sigmoid", "identity"]
    assert repr(model) == (
        "Sequential(\n  (0) Dense(2 -> 5, sigmoid)\n  (1) Dense(5 -> 1)\n)"
    )


def test_equal_shaped_layers_get_different_weights():
    model = mlp([4, 4, 4, 4], "tanh", seed=0)
    assert not np.array_equal(model[0].W, model[1].W)
    assert not np.array_equal(model[1].W, model[2].W)


def test_seed_is_reproducible():
    first, second = mlp([3, 4, 2], "tanh", seed=42), mlp([3, 4, 2], "tanh", seed=42)
    for a, b in zip(first, second):
        assert np.array_equal(a.W, b.W) and np.array_equal(a.b, b.b)
    other = mlp([3, 4, 2], "tanh", seed=43)
    assert not np.array_equal(first[0].W, other[0].W)


def test_default_init_bounds_per_layer():
    model = mlp([30, 20, 10], "relu", "sigmoid", seed=0)
    he, xavier = math.sqrt(6.0 / 30), math.sqrt(6.0 / (20 + 10))
    assert 0.9 * he < np.max(np.abs(model[0].W)) <= he  # relu hidden layer: He uniform
    assert 0.9 * xavier < np.max(np.abs(model[1].W)) <= xavier  # sigmoid output: Xavier
    assert all(layer.b.tolist() == [0.0] * layer.out_features for layer in model)


def test_init_and_dtype_reach_every_layer():
    model = mlp([3, 4, 2], "tanh", init="uniform01", seed=0, dtype=np.float32)
    for layer in model:
        assert layer.W.dtype == np.float32 and layer.b.dtype == np.float32
        assert np.all((layer.W >= 0) & (layer.W < 1)) and np.all((layer.b >= 0) & (layer.b < 1))
    assert np.any(model[0].b > 0)  # uniform01 draws biases too


def test_layers_are_positioned_in_the_model():
    model = mlp([3, 4, 2], seed=0)
    with pytest.raises(ValueError, match=r"Dense\(3 -> 4, sigmoid\) at model\[0\]"):
        model.forward(np.zeros((2, 5)))


@pytest.mark.parametrize("sizes", [[], [3]], ids=["empty", "one-width"])
def test_fewer_than_two_sizes_is_value_error(sizes):
    with pytest.raises(ValueError, match=r"mlp: sizes must hold at least an input and an output"
                                   r" width, got"):
        mlp(sizes)
