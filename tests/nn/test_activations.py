"""minibp.nn.activations: stable_sigmoid, the activation registry and the activation layers.

References: the math module in a plain loop (forward), exact decimal arithmetic (sigmoid's
accuracy), hand-derived limits, and central differences in float64 (tests/finite_diff.py)
against a random upstream gradient (backward).
"""

from __future__ import annotations

import decimal
import math
import warnings

import numpy as np
import pytest
from finite_diff import numeric_gradient, weighted_sum

import minibp
from minibp.nn.activations import ACTIVATIONS, get_activation

FLOATS = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]
SHAPES = [
    pytest.param((1, 1), id="1x1"),
    pytest.param((1, 5), id="1xn"),
    pytest.param((6, 1), id="batchx1"),
    pytest.param((7, 13), id="7x13"),
]
LAYERS = [
    pytest.param(minibp.Sigmoid, id="Sigmoid"),
    pytest.param(minibp.Tanh, id="Tanh"),
    pytest.param(minibp.ReLU, id="ReLU"),
    pytest.param(minibp.Identity, id="Identity"),
]


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# name -> (f(z), f'(z)), scalar math written from the definitions
REFERENCE = {
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "tanh": (math.tanh, lambda z: 1.0 - math.tanh(z) ** 2),
    "relu": (lambda z: max(z, 0.0), lambda z: 1.0 if z > 0.0 else 0.0),
    "identity": (lambda z: z, lambda z: 1.0),
}


def loop_apply(f, Z: np.ndarray) -> np.ndarray:
    """f applied entry by entry in a plain Python loop."""
    out = np.empty(Z.shape, dtype=np.float64)
    for index in np.ndindex(Z.shape):
        out[index] = f(float(Z[index]))
    return out


def draw_inputs(rng, shape, name: str) -> np.ndarray:
    """Moderate random inputs; for relu at least 0.1 away from the kink at 0."""
    if name == "relu":
        return rng.uniform(0.1, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    return rng.uniform(-3.0, 3.0, shape)


def exact_sigmoid(z: float) -> float:
    """1 / (1 + exp(-z)) in 40-digit decimal arithmetic, rounded once to float64."""
    with decimal.localcontext() as context:
        context.prec = 40
        return float(1 / (1 + (-decimal.Decimal(float(z))).exp()))


# -- stable_sigmoid -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
def test_stable_sigmoid_no_overflow_warning_up_to_1e4(dtype):
    Z = np.array([-1e4, -1e3, -800.0, -100.0, 0.0, 100.0, 800.0, 1e3, 1e4], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        A = minibp.stable_sigmoid(Z)
    assert np.all(np.isfinite(A))


@pytest.mark.parametrize("dtype", FLOATS)
def test_stable_sigmoid_silent_under_errstate_all_raise(dtype):
    Z = np.array([-1e4, -1e3, 0.0, 1e3, 1e4], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        A = minibp.stable_sigmoid(Z)
    assert A.tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]


# z -> the exact limit: exp(-|z|) is below half an ulp of 1 (then 1/(1+E) == 1) or below the
# smallest subnormal (then E/(1+E) == 0) in that dtype.
EXACT_LIMITS = [
    pytest.param(np.float64, [-1e4, -800.0, 40.0, 1e4], [0.0, 0.0, 1.0, 1.0], id="float64"),
    pytest.param(np.float32, [-1e4, -120.0, 20.0, 1e4], [0.0, 0.0, 1.0, 1.0], id="float32"),
]


@pytest.mark.parametrize(("dtype", "z", "expected"), EXACT_LIMITS)
def test_stable_sigmoid_exact_limits(dtype, z, expected):
    A = minibp.stable_sigmoid(np.array(z, dtype=dtype))
    assert A.tolist() == expected


# z whose sigmoid is tiny but representable (normal, then subnormal): not flushed to 0.
TINY = [
    pytest.param(np.float64, -700.0, -740.0, id="float64"),
    pytest.param(np.float32, -80.0, -95.0, id="float32"),
]


@pytest.mark.parametrize(("dtype", "z_normal", "z_subnormal"), TINY)
def test_stable_sigmoid_keeps_tiny_representable_values(dtype, z_normal, z_subnormal):
    with np.errstate(under="ignore"):
        A = minibp.stable_sigmoid(np.array([z_normal, z_subnormal], dtype=dtype))
    eps = float(np.finfo(dtype).eps)
    assert A[0] == pytest.approx(math.exp(z_normal), rel=3 * eps)  # sigmoid(z) ~ exp(z)
    assert 0.0 < A[1] < np.finfo(dtype).tiny


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(), (5,), (3, 4)], ids=["0d", "1d", "2d"])
def test_stable_sigmoid_preserves_dtype_and_shape(dtype, shape):
    Z = np.linspace(-5.0, 5.0, int(np.prod(shape))).reshape(shape).astype(dtype)
    A = minibp.stable_sigmoid(Z)
    assert A.dtype == dtype
    assert A.shape == shape


@pytest.mark.parametrize("dtype", FLOATS)
def test_stable_sigmoid_matches_exact_value_to_a_few_ulps(dtype):
    """Each formula rounds about three times (exp, add, divide): a few ulps, no worse.

    Measured worst cases against the exact value: ~1.7 ulps (float64), ~2.3 (float32).
    """
    rng = np.random.default_rng(0)
    Z = np.concatenate([rng.uniform(-40.0, 40.0, 300), rng.uniform(-3.0, 3.0, 300)])
    Z = Z.astype(dtype)
    A = minibp.stable_sigmoid(Z)
    if dtype == np.float64:
        expected = np.array([exact_sigmoid(z) for z in Z])
    else:  # the float64 math formula is exact to far below a float32 ulp
        expected = loop_apply(_sigmoid, Z)
    np.testing.assert_allclose(A, expected, rtol=3 * np.finfo(dtype).eps, atol=0)


def test_stable_sigmoid_integer_input_gives_float_probabilities():
    A = minibp.stable_sigmoid(np.array([-1, 0, 1]))
    np.testing.assert_allclose(A, [_sigmoid(-1.0), 0.5, _sigmoid(1.0)], rtol=1e-15)


# -- the Sigmoid layer at extremes --------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
def test_sigmoid_layer_extremes_are_exact_and_quiet(dtype):
    Z = np.array([[-1e4, -1e3, 0.0, 1e3, 1e4]], dtype=dtype)
    G = np.array([[0.3, -1.7, 0.8, 2.5, -0.4]], dtype=dtype)
    layer = minibp.Sigmoid()
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        A = layer.forward(Z)
        dZ = layer.backward(G)
    assert A.dtype == dtype and dZ.dtype == dtype
    assert A.tolist() == [[0.0, 0.0, 0.5, 1.0, 1.0]]
    # dZ = G * A * (1 - A): exactly 0 where saturated, G / 4 at 0
    assert dZ.tolist() == [[0.0, 0.0, float(G[0, 2]) / 4.0, 0.0, 0.0]]


# -- the registry -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(REFERENCE))
def test_registry_derivative_from_output_matches_analytic_derivative(name):
    activation = get_activation(name)
    Z = draw_inputs(np.random.default_rng(1), (4, 6), name)
    A = activation.function(Z)
    np.testing.assert_allclose(A, loop_apply(REFERENCE[name][0], Z), rtol=1e-15, atol=0)
    expected = loop_apply(REFERENCE[name][1], Z)
    np.testing.assert_allclose(activation.derivative(A), expected, rtol=1e-12, atol=1e-15)


def test_registry_holds_the_four_built_in_activation_classes():
    built_in = {"identity": minibp.Identity, "sigmoid": minibp.Sigmoid, "tanh": minibp.Tanh,
                "relu": minibp.ReLU}
    assert {name: ACTIVATIONS[name] for name in built_in} == built_in


def test_get_activation_none_is_identity_and_names_ignore_case():
    assert get_activation(None).name == "identity"
    assert get_activation("TanH").name == "tanh"


def test_get_activation_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match=r"Dense: activation must be one of .*'sigmoid'.*, got"
                                   r" 'swish'"):
        get_activation("swish")


def test_get_activation_non_string_is_type_error():
    with pytest.raises(TypeError, match=r"Dense: activation must be a string or None, got 3"
                                  r" \(int\)"):
        get_activation(3)


# -- activation layers: forward against a loop, backward against central differences ----------
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("layer_class", LAYERS)
def test_layer_forward_matches_loop(layer_class, shape):
    name = layer_class.name
    Z = draw_inputs(np.random.default_rng(2), shape, name)
    A = layer_class().forward(Z)
    assert A.shape == shape
    np.testing.assert_allclose(A, loop_apply(REFERENCE[name][0], Z), rtol=1e-15, atol=0)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("layer_class", LAYERS)
def test_layer_backward_matches_central_differences(layer_class, shape):
    rng = np.random.default_rng(3)
    Z = draw_inputs(rng, shape, layer_class.name)
    G = rng.normal(size=shape)  # random upstream gradient, never all ones
    layer = layer_class()
    layer.forward(Z)
    dZ = layer.backward(G)
    numeric = numeric_gradient(lambda: weighted_sum(layer.forward(Z), G), Z)
    np.testing.assert_allclose(dZ, numeric, rtol=1e-6, atol=1e-8)


def test_relu_derivative_at_exactly_zero_is_zero():
    layer = minibp.ReLU()
    layer.forward(np.array([[-1.0, 0.0, 2.0]]))
    assert layer.backward(np.array([[5.0, 7.0, 3.0]])).tolist() == [[0.0, 0.0, 3.0]]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layer_class", LAYERS)
def test_layer_keeps_float_dtype(layer_class, dtype):
    layer = layer_class()
    A = layer.forward(np.full((2, 3), 0.5, dtype=dtype))
    dZ = layer.backward(np.full((2, 3), 0.25, dtype=dtype))
    assert A.dtype == dtype and dZ.dtype == dtype


@pytest.mark.parametrize("layer_class", LAYERS)
def test_layer_integer_input_becomes_float64(layer_class):
    A = layer_class().forward(np.array([[1, 2]]))
    assert A.dtype == np.float64


@pytest.mark.parametrize("layer_class", LAYERS)
def test_layer_backward_before_forward_is_runtime_error(layer_class):
    name = layer_class.__name__
    expected = f"{name}.backward called before forward: nothing saved to differentiate."
    with pytest.raises(RuntimeError) as info:
        layer_class().backward(np.ones((1, 1)))
    assert str(info.value) == expected


@pytest.mark.parametrize("layer_class", LAYERS)
def test_layer_backward_wrong_shape_names_both_shapes(layer_class):
    layer = layer_class()
    layer.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        layer.backward(np.zeros((3, 2)))


@pytest.mark.parametrize("layer_class", LAYERS)
def test_layer_refuses_1d_input_with_reshape_hint(layer_class):
    with pytest.raises(ValueError, match=r"got \(3,\) \(for one sample use X.reshape\(1, -1\)\)"):
        layer_class().forward(np.zeros(3))


@pytest.mark.parametrize("layer_class", LAYERS)
def test_layer_repr(layer_class):
    assert repr(layer_class()) == f"{layer_class.__name__}()"


def test_activation_layers_have_no_parameters():
    for layer_class in (minibp.Sigmoid, minibp.Tanh, minibp.ReLU, minibp.Identity):
        assert layer_class().parameters() == []
