"""minibp.nn.layer: the Layer base class (checks, freezing, messages) and Parameter.

Also checks the test reference itself (tests/finite_diff.py): it recovers a hand-derived
gradient, restores what it perturbs, and catches a deliberately wrong layer.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from finite_diff import numeric_gradient, weighted_sum

from minibp.nn.layer import Layer, Parameter


class Scale(Layer):
    """A = X * w (w broadcast over rows). Shapes: X (batch, n) -> A (batch, n), w (n,).

    A small layer written for these tests; ``wrong=True`` gives a backward with a
    plausible-looking mistake (dw not summed over the batch: only the first row).
    """

    def __init__(self, n: int, wrong: bool = False):
        super().__init__()
        self.in_features = n
        self.out_features = n
        self.w = np.linspace(0.5, 1.5, n)
        self.dw = np.zeros(n)
        self.wrong = wrong
        self.X = None

    def forward(self, X):
        self.X = self.check_input(X)
        return self.X * self.w

    def backward(self, dA):
        X = self._saved("X")
        self._check_upstream(dA, X)
        self.dw[...] = (dA * X)[0] if self.wrong else np.sum(dA * X, axis=0)
        return dA * self.w

    def parameters(self):
        return [Parameter("w", self.w, self.dw, "w" in self._frozen)]

    def __repr__(self):
        return f"Scale({self.in_features})"


class TwoParameters(Scale):
    def __init__(self, n: int):
        super().__init__(n)
        self.c = np.zeros(n)
        self.dc = np.zeros(n)

    def parameters(self):
        return super().parameters() + [Parameter("c", self.c, self.dc, "c" in self._frozen)]


class Free(Layer):
    """A layer that accepts any width (in_features stays None)."""

    def forward(self, X):
        return self.check_input(X)


# -- the reference used by every gradient test ------------------------------------------------
def test_numeric_gradient_recovers_a_hand_derived_gradient():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    G = rng.normal(size=(3, 4))
    numeric = numeric_gradient(lambda: weighted_sum(np.sin(x), G), x)
    expected = np.array([[math.cos(x[i, j]) * G[i, j] for j in range(4)] for i in range(3)])
    np.testing.assert_allclose(numeric, expected, rtol=1e-8, atol=1e-9)


def test_numeric_gradient_restores_every_entry_bit_for_bit():
    x = np.random.default_rng(1).normal(size=(5, 3))
    before = x.copy()
    numeric_gradient(lambda: float(np.sum(x ** 3)), x)
    assert np.array_equal(x, before)


def test_numeric_gradient_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        numeric_gradient(lambda: 0.0, np.zeros(3, dtype=np.float32))


def test_weighted_sum_is_the_plain_sum_of_products():
    assert weighted_sum(np.array([[1.0, 2.0]]), np.array([[3.0, -4.0]])) == 1 * 3 - 2 * 4


@pytest.mark.parametrize("wrong", [False, True], ids=["correct", "wrong"])
def test_central_differences_catch_a_wrong_backward(wrong):
    rng = np.random.default_rng(2)
    layer = Scale(4, wrong=wrong)
    X = rng.normal(size=(3, 4))
    G = rng.normal(size=(3, 4))
    layer.forward(X)
    layer.backward(G)
    analytic = layer.dw.copy()
    numeric = numeric_gradient(lambda: weighted_sum(layer.forward(X), G), layer.w)
    agrees = np.allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
    assert agrees is (not wrong)


# -- Parameter ------------------------------------------------------------------------------
def test_parameter_holds_the_arrays_it_is_given_and_is_not_frozen_by_default():
    value, grad = np.zeros(2), np.ones(2)
    p = Parameter("W", value, grad)
    assert p.value is value and p.grad is grad
    assert p.frozen is False


# -- the protocol ---------------------------------------------------------------------------
def test_base_layer_protocol():
    layer = Layer()
    assert layer.parameters() == []
    with pytest.raises(NotImplementedError):
        layer.forward(np.zeros((1, 1)))
    with pytest.raises(NotImplementedError):
        layer.backward(np.zeros((1, 1)))


# -- freezing -------------------------------------------------------------------------------
def test_freeze_named_and_unfreeze():
    layer = TwoParameters(2)
    assert layer.freeze("c") is layer
    assert {p.name: p.frozen for p in layer.parameters()} == {"w": False, "c": True}
    assert layer.unfreeze("c") is layer
    assert {p.name: p.frozen for p in layer.parameters()} == {"w": False, "c": False}


def test_freeze_without_names_freezes_everything_and_unfreeze_undoes_it():
    layer = TwoParameters(2).freeze()
    assert all(p.frozen for p in layer.parameters())
    layer.unfreeze()
    assert not any(p.frozen for p in layer.parameters())


@pytest.mark.parametrize("method", ["freeze", "unfreeze"])
def test_unknown_parameter_name_is_value_error_listing_known_ones(method):
    layer = TwoParameters(2)
    with pytest.raises(ValueError, match=r"Scale\(2\): the parameter name must be one of 'w', 'c',"
                                   r" got 'W'"):
        getattr(layer, method)("W")


def test_unknown_name_leaves_frozen_set_unchanged():
    layer = TwoParameters(2)
    with pytest.raises(ValueError):
        layer.freeze("c", "nope")
    assert not any(p.frozen for p in layer.parameters())


# -- input checks and messages --------------------------------------------------------------
def test_check_input_converts_integers_to_float64():
    X = Free().forward(np.array([[1, 2, 3]]))
    assert X.dtype == np.float64
    assert X.tolist() == [[1.0, 2.0, 3.0]]


def test_any_width_layer_accepts_any_width():
    assert Free().forward(np.zeros((2, 7))).shape == (2, 7)


def test_any_width_layer_refuses_1d_with_hint():
    with pytest.raises(ValueError) as info:
        Free().forward(np.zeros(4))
    assert str(info.value).endswith(
        "X must have shape (batch, features), got (4,) (for one sample use X.reshape(1, -1))"
    )


def test_3d_input_is_refused_without_the_1d_hint():
    with pytest.raises(ValueError) as info:
        Scale(2).forward(np.zeros((1, 2, 2)))
    assert str(info.value) == "Scale(2): X must have shape (batch, 2), got (1, 2, 2)"


def test_wrong_width_message_names_layer_position_and_both_shapes():
    layer = Scale(3)
    layer._position = "model[4]"  # what Sequential sets
    with pytest.raises(ValueError) as info:
        layer.forward(np.zeros((4, 5)))
    assert str(info.value) == "Scale(3) at model[4]: X must have shape (batch, 3), got (4, 5)"


def test_backward_before_forward_is_runtime_error():
    with pytest.raises(RuntimeError) as info:
        Scale(2).backward(np.zeros((1, 2)))
    assert str(info.value) == (
        "Scale.backward called before forward: nothing saved to differentiate."
    )


def test_backward_wrong_upstream_shape_names_both_shapes():
    layer = Scale(2)
    layer.forward(np.zeros((3, 2)))
    with pytest.raises(ValueError) as info:
        layer.backward(np.zeros((2, 3)))
    assert str(info.value) == (
        "Scale(2).backward: dA must have shape (3, 2) (the shape forward returned), "
        "got (2, 3)"
    )
