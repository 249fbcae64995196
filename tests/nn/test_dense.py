"""minibp.nn.dense: the Dense layer.

References: a plain per-neuron loop with the math module (forward), central differences in
float64 against a random upstream gradient (backward: dW, db and dX), hand-derived bounds
and messages.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from finite_diff import numeric_gradient, weighted_sum

import minibp
from minibp import Dense


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# name -> (f(z), f'(z)), scalar math written from the definitions
REFERENCE = {
    "identity": (lambda z: z, lambda z: 1.0),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "tanh": (math.tanh, lambda z: 1.0 - math.tanh(z) ** 2),
    "relu": (lambda z: max(z, 0.0), lambda z: 1.0 if z > 0.0 else 0.0),
}
ACTIVATIONS = [None, "identity", "sigmoid", "tanh", "relu"]
# (batch, in_features, out_features): X (1, 1), (1, n), (batch, 1), an odd (7, 13), and an
# output of shape (batch, 1)
CASES = [
    pytest.param((1, 1, 1), id="1x1-to-1"),
    pytest.param((1, 5, 3), id="1x5-to-3"),
    pytest.param((6, 1, 2), id="6x1-to-2"),
    pytest.param((6, 3, 1), id="6x3-to-1"),
    pytest.param((7, 13, 5), id="7x13-to-5"),
]
FLOATS = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]


def loop_Z(X, W, b) -> np.ndarray:
    """Z[r, j] = b[j] + sum_k X[r, k] * W[j, k], neuron by neuron."""
    batch, n_in = X.shape
    n_out = W.shape[0]
    Z = np.empty((batch, n_out))
    for r in range(batch):
        for j in range(n_out):
            z = float(b[j])
            for k in range(n_in):
                z += float(X[r, k]) * float(W[j, k])
            Z[r, j] = z
    return Z


def loop_apply(f, Z) -> np.ndarray:
    out = np.empty(Z.shape)
    for index in np.ndindex(Z.shape):
        out[index] = f(float(Z[index]))
    return out


def draw_case(seed: int, batch: int, n_in: int, n_out: int, name: str):
    """Random X, W, b; for relu redrawn until every Z is at least 0.01 from the kink."""
    rng = np.random.default_rng(seed)
    for _ in range(100):
        X = rng.normal(size=(batch, n_in))
        W = rng.normal(size=(n_out, n_in)) / math.sqrt(n_in)
        b = rng.normal(size=n_out) * 0.5
        if name != "relu" or np.min(np.abs(loop_Z(X, W, b))) > 0.01:
            return X, W, b
    raise AssertionError("could not draw relu inputs away from 0")


def name_of(activation) -> str:
    return "identity" if activation is None else activation


# -- forward and backward against independent references ---------------------------------------
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_matches_loop(activation, case):
    name = name_of(activation)
    X, W, b = draw_case(0, *case, name)
    A = Dense(case[1], case[2], activation, W=W, b=b).forward(X)
    assert A.shape == (case[0], case[2])
    expected = loop_apply(REFERENCE[name][0], loop_Z(X, W, b))
    np.testing.assert_allclose(A, expected, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_backward_matches_central_differences(activation, case):
    X, W, b = draw_case(1, *case, name_of(activation))
    G = np.random.default_rng(2).normal(size=(case[0], case[2]))  # random upstream gradient
    layer = Dense(case[1], case[2], activation, W=W, b=b)
    layer.forward(X)
    dX = layer.backward(G)
    dW, db = layer.dW.copy(), layer.db.copy()

    def F():
        return weighted_sum(layer.forward(X), G)

    tol = {"rtol": 1e-6, "atol": 1e-8}
    np.testing.assert_allclose(dW, numeric_gradient(F, layer.W), **tol, err_msg="dW")
    np.testing.assert_allclose(db, numeric_gradient(F, layer.b), **tol, err_msg="db")
    np.testing.assert_allclose(dX, numeric_gradient(F, X), **tol, err_msg="dX")


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_derivative_matches_analytic_derivative(activation):
    name = name_of(activation)
    X, W, b = draw_case(3, 7, 13, 5, name)
    layer = Dense(13, 5, activation, W=W, b=b)
    layer.forward(X)
    expected = loop_apply(REFERENCE[name][1], loop_Z(X, W, b))
    np.testing.assert_allclose(layer.activation_derivative(), expected, rtol=1e-12, atol=1e-15)


def test_activation_derivative_before_forward_is_runtime_error():
    with pytest.raises(RuntimeError, match="before forward"):
        Dense(2, 2).activation_derivative()


def test_float32_forward_and_backward():
    X, W, b = draw_case(4, 7, 13, 5, "tanh")
    G = np.random.default_rng(5).normal(size=(7, 5))
    layer = Dense(13, 5, "tanh", W=W, b=b, dtype=np.float32)
    A = layer.forward(X)
    dX = layer.backward(G.astype(np.float32))
    arrays = (layer.W, layer.b, layer.dW, layer.db, A, dX)
    assert {a.dtype for a in arrays} == {np.dtype(np.float32)}
    W32, b32 = layer.W.astype(np.float64), layer.b.astype(np.float64)
    X32 = X.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(A, loop_apply(math.tanh, loop_Z(X32, W32, b32)), rtol=1e-5,
                               atol=1e-6)
    reference = Dense(13, 5, "tanh", W=W32, b=b32)  # float64 twin, checked by differences

    def F():
        return weighted_sum(reference.forward(X32), G)

    tol = {"rtol": 1e-4, "atol": 1e-5}
    np.testing.assert_allclose(layer.dW, numeric_gradient(F, reference.W), **tol)
    np.testing.assert_allclose(layer.db, numeric_gradient(F, reference.b), **tol)
    np.testing.assert_allclose(dX, numeric_gradient(F, X32), **tol)


def test_backward_overwrites_gradients_instead_of_accumulating():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(4, 3))
    G1, G2 = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    layer = Dense(3, 2, seed=0)
    dW_array, db_array = layer.dW, layer.db
    layer.forward(X)
    layer.backward(G1)
    layer.backward(G2)
    # identity activation: dW[j, k] = sum_r G2[r, j] * X[r, k], db[j] = sum_r G2[r, j]
    expected_dW = [[sum(G2[r, j] * X[r, k] for r in range(4)) for k in range(3)]
                   for j in range(2)]
    expected_db = [sum(G2[r, j] for r in range(4)) for j in range(2)]
    np.testing.assert_allclose(layer.dW, expected_dW, rtol=1e-13)
    np.testing.assert_allclose(layer.db, expected_db, rtol=1e-13)
    assert layer.dW is dW_array and layer.db is db_array  # written in place


# -- construction -----------------------------------------------------------------------------
def test_shapes_of_W_and_b():
    layer = Dense(3, 2)
    assert layer.W.shape == (2, 3) and layer.b.shape == (2,)
    assert layer.dW.shape == (2, 3) and layer.db.shape == (2,)
    assert (layer.in_features, layer.out_features) == (3, 2)


def test_explicit_W_and_b_are_copied():
    W = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = np.array([0.5, -0.5])
    layer = Dense(3, 2, W=W, b=b)
    W[0, 0] = 100.0
    b[0] = 100.0
    assert layer.W.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert layer.b.tolist() == [0.5, -0.5]


def test_explicit_nested_lists_are_accepted():
    layer = Dense(2, 2, W=[[1, 2], [3, 4]], b=[5, 6])
    assert layer.W.dtype == np.float64 and layer.W.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert layer.b.tolist() == [5.0, 6.0]


def test_scalar_b_is_broadcast_to_every_neuron():
    assert Dense(2, 3, b=0.35).b.tolist() == [0.35, 0.35, 0.35]


@pytest.mark.parametrize(("kwargs", "expected", "got"), [
    pytest.param({"W": np.zeros((3, 2))}, "(2, 3)", "(3, 2)", id="W-transposed"),
    pytest.param({"W": np.zeros(6)}, "(2, 3)", "(6,)", id="W-flat"),
    pytest.param({"b": np.zeros(3)}, "(2,)", "(3,)", id="b-too-long"),
    pytest.param({"b": np.zeros((2, 1))}, "(2,)", "(2, 1)", id="b-column"),
])
def test_wrong_W_or_b_shape_names_both_shapes(kwargs, expected, got):
    with pytest.raises(ValueError) as info:
        Dense(3, 2, **kwargs)
    message = str(info.value)
    (name,) = kwargs
    assert message.startswith(f"Dense(3 -> 2): {name} must have shape ")
    assert f"shape {expected}" in message and f"got {got}" in message


def test_default_init_is_xavier_uniform_with_zero_bias():
    n_in, n_out = 30, 20
    layer = Dense(n_in, n_out, "sigmoid", seed=0)
    bound = math.sqrt(6.0 / (n_in + n_out))
    assert np.max(np.abs(layer.W)) <= bound
    assert np.max(layer.W) > 0.9 * bound and np.min(layer.W) < -0.9 * bound
    assert layer.b.tolist() == [0.0] * n_out


def test_relu_default_init_is_he_uniform():
    n_in, n_out = 30, 20
    layer = Dense(n_in, n_out, "relu", seed=0)
    bound = math.sqrt(6.0 / n_in)
    assert np.max(np.abs(layer.W)) <= bound
    # beyond Xavier's bound sqrt(6/50): He's, not Xavier's
    assert np.max(layer.W) > 0.9 * bound and np.min(layer.W) < -0.9 * bound
    assert layer.b.tolist() == [0.0] * n_out


@pytest.mark.parametrize(("activation", "init", "fan"), [
    pytest.param("tanh", "he", 30, id="he-for-tanh"),
    pytest.param("relu", "xavier", 50, id="xavier-for-relu"),
])
def test_explicit_init_overrides_the_default(activation, init, fan):
    layer = Dense(30, 20, activation, init=init, seed=1)
    bound = math.sqrt(6.0 / fan)
    assert 0.9 * bound < np.max(np.abs(layer.W)) <= bound


def test_uniform01_draws_W_and_b_from_zero_to_one():
    layer = Dense(30, 20, init="uniform01", seed=2)
    for values in (layer.W, layer.b):
        assert np.all(values >= 0.0) and np.all(values < 1.0)
        assert values.min() < 0.1 and values.max() > 0.9


def test_uniform01_float32_stays_below_one():
    # seed 479 found by searching default_rng(seed).random((100, 1000)) for such a draw;
    # here it is 0.999999990518169, at W[5, 946]
    layer = Dense(1000, 100, init="uniform01", seed=479, dtype=np.float32)
    assert np.max(layer.W) < 1.0


def test_same_seed_same_weights_different_seed_different_weights():
    a, b = Dense(4, 3, "tanh", seed=7), Dense(4, 3, "tanh", seed=7)
    assert np.array_equal(a.W, b.W)
    assert not np.array_equal(a.W, Dense(4, 3, "tanh", seed=8).W)


def test_generator_seed_is_accepted_and_consumed():
    rng = np.random.default_rng(7)
    first, second = Dense(4, 3, seed=rng), Dense(4, 3, seed=rng)
    assert np.array_equal(first.W, Dense(4, 3, seed=7).W)  # default_rng(7) is the same stream
    assert not np.array_equal(first.W, second.W)


@pytest.mark.parametrize("dtype", FLOATS)
def test_dtype_of_every_array(dtype):
    layer = Dense(3, 2, "sigmoid", dtype=dtype, init="uniform01", seed=0)
    assert {a.dtype for a in (layer.W, layer.b, layer.dW, layer.db)} == {np.dtype(dtype)}


@pytest.mark.parametrize(("args", "kwargs", "error", "match"), [
    pytest.param((0, 2), {}, ValueError, "in_features must be at least 1, got 0", id="in-zero"),
    pytest.param((2, -1), {}, ValueError, "out_features must be at least 1", id="out-negative"),
    pytest.param((2.0, 2), {}, TypeError,
                 r"Dense: in_features must be an int, got 2.0 \(float\)", id="in-float"),
    pytest.param((True, 2), {}, TypeError,
                 r"Dense: in_features must be an int, got True \(bool\)", id="in-bool"),
    pytest.param((2, 2, "swish"), {}, ValueError,
                 "Dense: activation must be one of 'identity', 'sigmoid', 'tanh', 'relu', "
                 "got 'swish'", id="activation"),
    pytest.param((2, 2), {"init": "normal"}, ValueError,
                 "Dense: init must be one of 'xavier', 'xavier_uniform', 'xavier_normal', 'he', "
                 "'he_uniform', 'he_normal', 'lecun', 'lecun_normal', 'lecun_uniform', "
                 "'uniform01', got 'normal'", id="init"),
    pytest.param((2, 2), {"dtype": np.int64}, TypeError,
                 r"Dense: dtype must be float32 or float64, got int64",
                 id="dtype"),
])
def test_bad_constructor_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        Dense(*args, **kwargs)


# -- parameters and freezing --------------------------------------------------------------------
def test_parameters_are_the_layers_own_arrays():
    layer = Dense(2, 2, W=[[1.0, 0.0], [0.0, 1.0]], b=0.0)
    W_param, b_param = layer.parameters()
    assert (W_param.name, b_param.name) == ("W", "b")
    assert W_param.value is layer.W and W_param.grad is layer.dW
    assert b_param.value is layer.b and b_param.grad is layer.db
    W_param.value -= 1.0  # an optimizer's in-place update
    b_param.value += 2.0
    assert layer.W.tolist() == [[0.0, -1.0], [-1.0, 0.0]]
    assert layer.forward(np.array([[3.0, 5.0]])).tolist() == [[-3.0, -1.0]]


def test_freeze_b_then_unfreeze():
    layer = Dense(2, 2)
    assert layer.freeze("b") is layer
    assert [(p.name, p.frozen) for p in layer.parameters()] == [("W", False), ("b", True)]
    layer.unfreeze("b")
    assert [(p.name, p.frozen) for p in layer.parameters()] == [("W", False), ("b", False)]


def test_freeze_unknown_name_is_value_error():
    with pytest.raises(ValueError, match=r"Dense\(2 -> 2\): the parameter name must be one of 'W',"
                                   r" 'b', got 'bias'"):
        Dense(2, 2).freeze("bias")


def test_repr():
    assert repr(Dense(2, 2, "sigmoid")) == "Dense(2 -> 2, sigmoid)"
    assert repr(Dense(3, 1)) == "Dense(3 -> 1)"


# -- errors that teach -------------------------------------------------------------------------
@pytest.mark.parametrize(("n_in", "length"), [(3, 3), (1, 4)], ids=["one-sample", "column"])
def test_1d_input_is_refused_with_reshape_hint_and_never_broadcast(n_in, length):
    layer = Dense(n_in, 2)
    with pytest.raises(ValueError) as info:
        layer.forward(np.ones(length))
    assert str(info.value) == (
        f"Dense({n_in} -> 2): X must have shape (batch, {n_in}), got ({length},) "
        "(for one sample use X.reshape(1, -1))"
    )


def test_wrong_width_message():
    layer = Dense(3, 2)
    with pytest.raises(ValueError) as info:
        layer.forward(np.zeros((4, 5)))
    assert repr(layer) == "Dense(3 -> 2)"
    assert str(info.value) == f"{layer!r}: X must have shape (batch, 3), got (4, 5)"


def test_wrong_width_inside_sequential_names_the_position():
    model = minibp.Sequential(Dense(3, 2), Dense(2, 1))
    with pytest.raises(ValueError) as info:
        model.forward(np.zeros((4, 5)))
    assert str(info.value) == (
        "Dense(3 -> 2) at model[0]: X must have shape (batch, 3), got (4, 5)"
    )


def test_backward_before_forward_is_runtime_error():
    with pytest.raises(RuntimeError) as info:
        Dense(2, 2).backward(np.ones((1, 2)))
    assert str(info.value) == (
        "Dense.backward called before forward: nothing saved to differentiate."
    )


def test_backward_with_wrong_dA_shape_is_value_error():
    layer = Dense(3, 2)
    layer.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError) as info:
        layer.backward(np.zeros((4, 3)))
    assert str(info.value) == (
        "Dense(3 -> 2).backward: dA must have shape (4, 2) "
        "(the shape forward returned), got (4, 3)"
    )


def test_copy_false_adopts_arrays_of_the_layer_s_dtype_and_copy_true_does_not():
    W, b = np.ones((2, 3)), np.zeros(2)
    adopted = minibp.Dense(3, 2, W=W, b=b, copy=False)
    assert adopted.W is W and adopted.b is b
    copied = minibp.Dense(3, 2, W=W, b=b)
    assert copied.W is not W and copied.b is not b and np.array_equal(copied.W, W)
    cast = minibp.Dense(3, 2, W=W, b=b, dtype=np.float32, copy=False)  # needs a cast: a copy
    assert cast.W is not W and cast.W.dtype == np.float32
