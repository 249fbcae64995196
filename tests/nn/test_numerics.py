"""Numerical edge cases of the NumPy activations and losses, and of the public paths through
every engine. (The compiled kernels' own are in tests/engines/kernels/test_kernel_numerics.py.)

- NaN propagates through every activation, as a layer and as Dense's fused activation, so
  the divergence guard sees it: the public API refuses NaN data, but a NaN made inside a
  step must not turn into a number.
- sigmoid, tanh, softmax and both cross-entropies on logits, value and gradient, are finite
  and raise nothing under np.errstate(all="raise") for |z| up to 1e4, float32 and float64:
  exp(-1e4) reaching 0 (or a subnormal) is the answer, not an error.
- hypothesis properties (the "ci" profile of tests/conftest.py) against references in long
  double, and gradients against central differences where the function is smooth.
- predict, gradients, fit and evaluate on every engine under np.errstate(all="raise"), with
  inputs up to 1e4 that saturate units.
"""

from __future__ import annotations

import numpy as np
import pytest
from finite_diff import numeric_gradient, weighted_sum
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minibp
from minibp.nn import BinaryCrossEntropy, Dense, SoftmaxCrossEntropy, stable_sigmoid
from minibp.nn.activations import ACTIVATIONS
from minibp.nn.cross_entropy import softmax

DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]
NAMES = ["identity", "sigmoid", "tanh", "relu"]
BIG = 1e4
EXTREMES = [-1e4, -1e3, -745.0, -720.0, -104.0, -95.0, -88.0, -20.0, -1e-30, -1e-300, 0.0,
            1e-300, 1e-30, 1e-3, 20.0, 88.0, 95.0, 104.0, 720.0, 745.0, 1e3, 1e4]
LONG = np.longdouble  # 80-bit on x86-64: exp(1e4) is finite there


def raising():
    return np.errstate(all="raise")


def assert_matches(got, want, dtype, ulps: float = 4.0, scale=0.0) -> None:
    """got (dtype) within a few ulps of the long double want, or of ``scale`` (the size of
    the inputs it was computed from, where rounding them shows); below the smallest normal
    number only absolutely (subnormals carry fewer digits)."""
    assert got.dtype == dtype
    info = np.finfo(dtype)
    want = np.asarray(want, np.float64)
    allowed = ulps * float(info.eps) * (np.abs(want) + np.abs(scale)) + float(info.tiny)
    error = np.abs(got.astype(np.float64) - want)
    assert np.all(error <= allowed), (f"off by up to {np.max(error / allowed):.3g} times "
                                      f"the allowed; got {got}, want {want}")


def long_sigmoid(z):
    with np.errstate(all="ignore"):
        return 1 / (1 + np.exp(-np.asarray(z, LONG)))


def long_softmax(z):
    z = np.asarray(z, LONG)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def long_log_softmax(z):
    z = np.asarray(z, LONG)
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def long_bce_terms(z, t):
    z, t = np.asarray(z, LONG), np.asarray(t, LONG)
    return np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))


# -- NaN propagates ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_nan_propagates_through_every_activation(name, dtype):
    Z = np.array([[np.nan, -BIG, 0.5], [BIG, np.nan, -0.0]], dtype)
    cls = ACTIVATIONS[name]
    dense = Dense(3, 3, name, dtype=dtype)
    dense.W[...] = np.eye(3)
    dense.b[...] = [np.nan, 0.0, 0.0]
    with raising():  # NaN is quiet: it only propagates
        results = {"layer": cls().forward(Z), "function": cls.function(Z),
                   "Dense's function": dense.activation_class.function(Z)}
        fused = dense.forward(np.array([[1.0, -BIG, BIG], [0.0, 2.0, -3.0]], dtype))
    for where, A in results.items():
        np.testing.assert_array_equal(np.isnan(A), np.isnan(Z), err_msg=where)
    np.testing.assert_array_equal(np.isnan(fused), [[True, False, False]] * 2)


# -- finite and quiet at |z| up to 1e4 ------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_activations_are_finite_and_quiet_at_extremes(name, dtype):
    Z = np.array(EXTREMES, dtype).reshape(2, -1)
    tiny = np.finfo(dtype).tiny
    dA = np.resize(np.array([1.0, -0.5, 1e-30, tiny, -tiny], dtype), Z.shape)
    cls = ACTIVATIONS[name]
    layer = cls()
    with raising():
        A = layer.forward(Z)
        dZ = layer.backward(dA)
        slope = cls.derivative(A)
    assert np.all(np.isfinite(A)) and np.all(np.isfinite(dZ)) and np.all(np.isfinite(slope))
    assert A.dtype == dZ.dtype == dtype
    if name == "sigmoid":
        assert_matches(A, long_sigmoid(Z), dtype)
        assert np.all((slope >= 0) & (slope <= 0.25))
    elif name == "tanh":
        assert_matches(A, np.tanh(Z.astype(LONG)), dtype)
        assert np.all((slope >= 0) & (slope <= 1))
    else:
        np.testing.assert_array_equal(A, np.maximum(Z, 0) if name == "relu" else Z)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_and_cross_entropies_are_finite_and_quiet_at_extremes(dtype):
    Z = np.array([[BIG, -BIG, 0.0], [-BIG, -BIG, -BIG], [-720.0, 0.0, 720.0],
                  [-95.0, 100.0, -104.0], [BIG, BIG, -BIG]], dtype)
    labels = np.array([1, 2, 0, 2, 2])
    soft = np.resize(np.array([0.25, 0.5, 0.25], dtype), Z.shape)
    bits = (np.arange(Z.size).reshape(Z.shape) % 2).astype(dtype)
    weight = np.array([1.0, 1e-300, 2.0, 1e-30, 0.5])
    with raising():
        P = softmax(Z)
        terms = {}
        for name, loss, target in (("labels", SoftmaxCrossEntropy("none"), labels),
                                   ("soft", SoftmaxCrossEntropy("none"), soft),
                                   ("bce", BinaryCrossEntropy(reduction="none"), bits)):
            terms[name] = (loss.forward(Z, target), loss.backward(), target)
            for reduction in ("mean", "sum"):
                check = type(loss)(reduction=reduction)
                for w in (None, weight):
                    assert np.isfinite(check.forward(Z, target, sample_weight=w)), name
                    assert np.all(np.isfinite(check.backward())), name
    assert_matches(P, long_softmax(Z), dtype)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=4 * np.finfo(dtype).eps)
    log_p = long_log_softmax(Z)
    onehot = np.eye(3)[labels]
    for name, (value, grad, target) in terms.items():
        assert np.all(np.isfinite(value)) and np.all(value >= 0), name
        if name == "bce":
            want, want_grad = long_bce_terms(Z, target), long_sigmoid(Z) - target
        else:
            rows = onehot if name == "labels" else target
            want, want_grad = -(rows * log_p).sum(axis=1), long_softmax(Z) - rows
        scale = Z if name == "bce" else 1 + np.abs(Z).max(axis=1)  # log(sum) of ~1: eps
        assert_matches(value, want, dtype, scale=scale)
        np.testing.assert_allclose(grad, want_grad.astype(np.float64),
                                   atol=4 * np.finfo(dtype).eps, err_msg=name)


# -- properties ------------------------------------------------------------------------------
@st.composite
def logits(draw, bound: float = BIG, rows: int = 4, columns: int = 6):
    """A float32 or float64 array (rows, columns) of values in [-bound, bound]."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    shape = draw(st.tuples(st.integers(1, rows), st.integers(1, columns)))
    elements = st.floats(-bound, bound, width=np.finfo(dtype).bits)
    return draw(hnp.arrays(dtype, shape, elements=elements))


@given(logits())
def test_sigmoid_and_tanh_lie_in_range_and_match_long_double(Z):
    with raising():
        S, T = stable_sigmoid(Z), np.tanh(Z)
        layers = {"sigmoid": ACTIVATIONS["sigmoid"](), "tanh": ACTIVATIONS["tanh"]()}
        grads = {name: (layer.forward(Z), layer.backward(np.ones_like(Z)))
                 for name, layer in layers.items()}
    assert np.all((S >= 0) & (S <= 1)) and np.all((T >= -1) & (T <= 1))
    assert_matches(S, long_sigmoid(Z), Z.dtype)
    assert_matches(T, np.tanh(Z.astype(LONG)), Z.dtype)
    np.testing.assert_array_equal(grads["sigmoid"][0], S)
    assert np.all((grads["sigmoid"][1] >= 0) & (grads["sigmoid"][1] <= 0.25))
    assert np.all((grads["tanh"][1] >= 0) & (grads["tanh"][1] <= 1))


@given(logits())
def test_softmax_rows_are_probabilities_summing_to_one(Z):
    with raising():
        P = softmax(Z)
    eps = float(np.finfo(Z.dtype).eps)
    assert P.dtype == Z.dtype and np.all((P >= 0) & (P <= 1))
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=Z.shape[1] * eps)
    np.testing.assert_allclose(P, long_softmax(Z).astype(np.float64), rtol=0, atol=4 * eps)


@given(logits(), st.data())
def test_cross_entropies_are_nonnegative_and_match_long_double(Z, data):
    labels = data.draw(hnp.arrays(np.int64, Z.shape[0], elements=st.integers(0, Z.shape[1] - 1)))
    T = data.draw(hnp.arrays(Z.dtype, Z.shape, elements=st.floats(0, 1, width=32)))
    with raising():
        xent, bce = SoftmaxCrossEntropy("none"), BinaryCrossEntropy(reduction="none")
        xent_terms, xent_grad = xent.forward(Z, labels), xent.backward()
        bce_terms, bce_grad = bce.forward(Z, T), bce.backward()
    for terms in (xent_terms, bce_terms):
        assert np.all(np.isfinite(terms)) and np.all(terms >= 0)
    onehot = np.eye(Z.shape[1])[labels]
    assert_matches(xent_terms, -(onehot * long_log_softmax(Z)).sum(axis=1), Z.dtype,
                   scale=1 + np.abs(Z).max(axis=1))  # log(sum of exp) near 1 is off by eps
    assert_matches(bce_terms, long_bce_terms(Z, T), Z.dtype, scale=Z)
    eps = float(np.finfo(Z.dtype).eps)
    np.testing.assert_allclose(xent_grad.sum(axis=1), 0.0, atol=Z.shape[1] * eps)
    np.testing.assert_allclose(xent_grad, (long_softmax(Z) - onehot).astype(np.float64),
                               atol=4 * eps)
    np.testing.assert_allclose(bce_grad, (long_sigmoid(Z) - T).astype(np.float64),
                               atol=4 * eps)


SMOOTH = logits(bound=30.0, rows=3, columns=4).map(lambda Z: Z.astype(np.float64))


@given(SMOOTH, st.data())
def test_gradients_equal_central_differences(Z, data):
    labels = data.draw(hnp.arrays(np.int64, Z.shape[0], elements=st.integers(0, Z.shape[1] - 1)))
    T = data.draw(hnp.arrays(np.float64, Z.shape, elements=st.floats(0, 1)))
    G = np.linspace(-1.0, 1.0, Z.size).reshape(Z.shape)
    for loss, target in ((SoftmaxCrossEntropy(), labels), (BinaryCrossEntropy(), T)):
        with raising():
            loss.forward(Z, target)
            grad = loss.backward()
        expected = numeric_gradient(lambda loss=loss, target=target: loss.forward(Z, target), Z)
        np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7, err_msg=repr(loss))
    for name in ("sigmoid", "tanh"):
        layer = ACTIVATIONS[name]()
        with raising():
            layer.forward(Z)
            grad = layer.backward(G)
        expected = numeric_gradient(lambda layer=layer: weighted_sum(layer.forward(Z), G), Z)
        np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7, err_msg=name)


# -- the public paths, on every engine --------------------------------------------------------
ENGINES = ["numpy", "numba", "blas"]
CASES = [  # hidden activation, output activation, loss
    pytest.param(("sigmoid", "sigmoid", "mse"), id="sigmoid-mse"),
    pytest.param(("sigmoid", None, "xent"), id="sigmoid-xent"),
    pytest.param(("tanh", None, "bce"), id="tanh-bce"),
    pytest.param(("relu", None, "xent"), id="relu-xent"),
]
def saturating(activation, output, loss, dtype):
    """A model [3, 5, 2] whose first three hidden units see the inputs as they are, and data
    of magnitude up to 1e4 that saturate them, into sigmoid's subnormal range too."""
    rng = np.random.default_rng(0)
    model = minibp.mlp([3, 5, 2], activation, output, seed=1, dtype=dtype)
    model.layers[0].W[:3] = np.eye(3)
    model.layers[0].b[:] = 0
    crafted = [[-720.0, 740.0, -BIG], [-95.0, 100.0, 1e-30], [BIG, -BIG, 0.0],
               [-88.0, -104.0, 88.0], [-1e-300, 1e3, -1e3]]
    X = np.vstack([crafted, rng.normal(size=(19, 3)) * BIG]).astype(dtype)
    Y = (rng.integers(0, 2, len(X)) if loss == "xent"
         else rng.integers(0, 2, (len(X), 2)).astype(dtype))
    return model, X, Y


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("engine", ENGINES)
def test_predict_is_quiet_on_saturating_inputs(engine, dtype, case):
    model, X, _ = saturating(*case, dtype)
    with raising():
        out = model.predict(X, engine=engine)
    assert out.dtype == dtype and np.all(np.isfinite(out))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("engine", ENGINES)
def test_gradients_fit_and_evaluate_are_quiet_on_saturating_inputs(engine, dtype, case):
    model, X, Y = saturating(*case, dtype)
    loss = case[2]
    with raising():
        grads = model.gradients(X, Y, loss, engine=engine)
        history = model.fit(X, Y, loss=loss, optimizer=minibp.Adam(1e-3), epochs=2,
                            batch_size=8, engine=engine, verbose=0)
        scores = model.evaluate(X, Y, engine=engine)
    assert all(np.all(np.isfinite(g)) for g in grads.values())
    assert np.all(np.isfinite(history["loss"])) and np.isfinite(scores["loss"])


@pytest.mark.parametrize("dtype", DTYPES)
def test_predict_proba_is_quiet_on_far_apart_logits(dtype):
    model, X, Y = saturating("relu", None, "xent", dtype)
    model.loss = SoftmaxCrossEntropy()
    with raising():
        P = model.predict_proba(X, engine="numba")
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=4 * np.finfo(dtype).eps)
