"""Numerical edge cases of the compiled kernels, called directly: the public API refuses NaN
data, so only here can a NaN be handed to them. (The NumPy layers' own are in
tests/nn/test_numerics.py.)

- NaN propagates through ``activate`` of loop.py and of fused.py for every activation:
  called from Python, inlined into a small compiled loop (as the kernels use it, where LLVM
  may vectorize it), and through fused.bias_activation and the BLAS engine's three-pass
  sigmoid. (ReLU is ``0.0 if z <= 0.0 else z``: ``z > 0.0`` would turn NaN into 0.)
- activate, activation_derivative and the loss kernels (softmax cross-entropy and BCE on
  logits) are finite for |z| up to 1e4 in float32 and float64 and agree with the NumPy
  layers and losses, at chosen extremes and as hypothesis properties.
- Sums accumulate in float64: 2e7 float32 values whose float32 running sum is visibly wrong
  come out of updates.sum_of_squares exactly, and so does an MSE over a large float32 batch.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numba import njit

from minibp.engines.kernels import fused, loop, updates
from minibp.nn import BinaryCrossEntropy, SoftmaxCrossEntropy
from minibp.nn.activations import ACTIVATIONS

MODULES = [pytest.param(loop, id="loop"), pytest.param(fused, id="fused")]
DTYPES = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]
CODES = {"identity": loop.IDENTITY, "sigmoid": loop.SIGMOID, "tanh": loop.TANH,
         "relu": loop.RELU}
BIG = 1e4
EXTREMES = [-1e4, -1e3, -745.0, -720.0, -104.0, -95.0, -88.0, -20.0, -1e-30, -1e-300, 0.0,
            1e-300, 1e-30, 1e-3, 20.0, 88.0, 95.0, 104.0, 720.0, 745.0, 1e3, 1e4]
NO_WEIGHTS = np.empty(0)


@njit
def loop_activate(Z, act, A, D):
    """A = activate(Z), D = activation_derivative(A) of loop.py, inlined here; Z, A, D (n,)."""
    for i in range(Z.shape[0]):
        A[i] = loop.activate(Z[i], act)
        D[i] = loop.activation_derivative(A[i], act)


@njit
def fused_activate(Z, act, A, D):
    """As loop_activate, with fused.py's copies."""
    for i in range(Z.shape[0]):
        A[i] = fused.activate(Z[i], act)
        D[i] = fused.activation_derivative(A[i], act)


INLINED = {loop: loop_activate, fused: fused_activate}


def compiled(module, Z):
    """{name: (A, dA/dZ)} through the module's inlined scalar functions, in Z's dtype."""
    out = {}
    for name, code in CODES.items():
        A, D = np.empty_like(Z), np.empty_like(Z)
        INLINED[module](Z, code, A, D)
        out[name] = (A, D)
    return out


# -- NaN propagates ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("module", MODULES)
def test_nan_propagates_through_activate(module, dtype):
    Z = np.array([np.nan, -BIG, -0.0, 0.0, 0.5, BIG, np.nan], dtype)
    nan = np.isnan(Z)
    for name, code in CODES.items():
        one_by_one = np.array([module.activate(z, code) for z in Z])
        np.testing.assert_array_equal(np.isnan(one_by_one), nan, err_msg=f"{name}, called")
        A, _ = compiled(module, Z)[name]
        np.testing.assert_array_equal(np.isnan(A), nan, err_msg=f"{name}, inlined")
        assert np.all(np.isnan(A[nan]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CODES))
def test_nan_propagates_through_the_blas_engines_activation_kernels(name, dtype):
    Z = np.array([[np.nan, -BIG, 1.0], [BIG, np.nan, -0.0]], dtype)
    b = np.zeros(3, dtype)
    nan = np.isnan(Z)
    A = Z.copy()
    fused.bias_activation(A, b, CODES[name], np.empty(3))
    np.testing.assert_array_equal(np.isnan(A), nan)
    if name == "sigmoid":  # the engine's own route: exp of -|z| in NumPy between two kernels
        S, E = Z.copy(), np.empty_like(Z)
        fused.bias_and_exp_argument(S, b, E)
        np.exp(E, out=E)
        fused.sigmoid_from_exp(S, E, S.dtype.type(1), np.empty(3))
        np.testing.assert_array_equal(np.isnan(S), nan)


# -- finite at |z| up to 1e4, and equal to the NumPy layers -----------------------------------
def assert_like_numpy(module, Z) -> None:
    """The module's activate and activation_derivative on Z (any shape, flattened) against the
    NumPy layers' function and derivative: finite, within a few ulps of Z's dtype."""
    flat = np.ascontiguousarray(Z).reshape(-1)
    eps = float(np.finfo(Z.dtype).eps)
    with np.errstate(all="raise"):
        results = compiled(module, flat)
        wanted = {}
        for name, (A, _) in results.items():
            np.multiply(A, 1.0)  # nothing the kernels left in the FPU flags reaches NumPy
            cls = ACTIVATIONS[name]
            wanted[name] = (cls.function(flat), cls.derivative(A))
    for name, (A, D) in results.items():
        want, want_slope = wanted[name]
        assert np.all(np.isfinite(A)) and np.all(np.isfinite(D)), name
        np.testing.assert_allclose(A, want, rtol=4 * eps, atol=float(np.finfo(Z.dtype).tiny),
                                   err_msg=name)
        np.testing.assert_allclose(D, want_slope, rtol=4 * eps, atol=4 * eps, err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("module", MODULES)
def test_activate_is_finite_at_extremes_and_equals_numpy(module, dtype):
    assert_like_numpy(module, np.array(EXTREMES, dtype))


def assert_loss_kernels_like_numpy(Z, labels, T, weight) -> None:
    """fused.loss_backward and loop.loss_forward_backward on logits Z against
    SoftmaxCrossEntropy (labels) and BinaryCrossEntropy (targets T): value and gradient."""
    rows, width = Z.shape
    eps = float(np.finfo(Z.dtype).eps)
    onehot = np.eye(width, dtype=Z.dtype)[labels]
    for loss, code, target in ((SoftmaxCrossEntropy(), fused.SOFTMAX_XENT, onehot),
                               (BinaryCrossEntropy(), fused.BCE_LOGITS, T)):
        w = NO_WEIGHTS if weight is None else weight
        with np.errstate(all="raise"):
            want = loss.forward(Z, target, sample_weight=weight)
            want_grad = loss.backward()
            dZ = np.empty_like(Z)
            value, _, _ = fused.loss_backward(Z, target, w, code, fused.IDENTITY, dZ,
                                              np.empty(width, Z.dtype), np.empty(width))
            flat = np.empty(Z.size, Z.dtype)
            looped, _ = loop.loss_forward_backward(Z.reshape(-1), 0, target.reshape(-1), 0,
                                                   w, 0, rows, width, code, flat)
        scale = 1 + float(np.abs(Z).max())  # the logits' rounding shows at their size
        for got, grad in ((value, dZ), (looped, flat.reshape(Z.shape))):
            assert np.isfinite(got) and np.all(np.isfinite(grad)), repr(loss)
            assert abs(got - want) <= 8 * eps * (abs(want) + scale), (repr(loss), got, want)
            np.testing.assert_allclose(grad, want_grad, rtol=8 * eps, atol=8 * eps,
                                       err_msg=repr(loss))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_loss_kernels_are_finite_at_extremes_and_equal_numpy(dtype, weighted):
    Z = np.array([[BIG, -BIG, 0.0], [-BIG, -BIG, -BIG], [-720.0, 0.0, 720.0],
                  [-95.0, 100.0, -104.0], [BIG, BIG, -BIG]], dtype)
    T = (np.arange(Z.size).reshape(Z.shape) % 2).astype(dtype)
    weight = np.array([1.0, 1e-300, 2.0, 1e-30, 0.5]) if weighted else None
    assert_loss_kernels_like_numpy(Z, np.array([1, 2, 0, 2, 2]), T, weight)


# -- properties ------------------------------------------------------------------------------
@st.composite
def logits(draw, bound: float = BIG):
    """A float32 or float64 array (rows, columns) of values in [-bound, bound]."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    shape = draw(st.tuples(st.integers(1, 4), st.integers(1, 6)))
    elements = st.floats(-bound, bound, width=np.finfo(dtype).bits)
    return draw(hnp.arrays(dtype, shape, elements=elements))


@given(logits())
def test_activate_equals_numpy_property(Z):
    for module in (loop, fused):
        assert_like_numpy(module, Z)


@given(logits(), st.data())
def test_loss_kernels_equal_numpy_property(Z, data):
    rows, width = Z.shape
    labels = data.draw(hnp.arrays(np.int64, rows, elements=st.integers(0, width - 1)))
    T = data.draw(hnp.arrays(Z.dtype, Z.shape, elements=st.floats(0, 1, width=32)))
    weight = data.draw(st.none() | hnp.arrays(np.float64, rows, elements=st.floats(0.5, 2)))
    assert_loss_kernels_like_numpy(Z, labels, T, weight)


# -- float64 accumulation ---------------------------------------------------------------------
@njit
def float32_sum_of_squares(values):
    """What a float32 accumulator would give: the running sum rounded to float32 each step."""
    total = np.float32(0.0)
    for v in values:
        total += v * v
    return total


def exact_values(n: int, seed: int):
    """n float32 values k / 1024, k in 1..1024 scattered by a multiplicative hash, and the
    exact float64 sum of their squares: every square is a multiple of 2**-20 below 1, so
    every partial sum below 2**25 is exact in float64 (45 bits), and so is the total."""
    k = np.arange(n, dtype=np.uint32)
    k *= np.uint32(2654435761)
    k += np.uint32(seed)
    k >>= np.uint32(22)  # the top 10 bits: 0..1023
    counts = np.bincount(k, minlength=1024)
    exact = sum(int(c) * (j + 1) ** 2 for j, c in enumerate(counts)) / 2.0**20
    values = k.astype(np.float32)
    values += 1
    values /= 1024
    return values, exact


def test_sum_of_squares_accumulates_in_float64():
    values, exact = exact_values(20_000_000, seed=1)
    assert updates.sum_of_squares(values) == exact  # each partial sum exact: no rounding
    in_float32 = float(float32_sum_of_squares(values))
    assert abs(in_float32 - exact) > 1e-3 * exact  # what float32 accumulation would show


@pytest.mark.parametrize("module", MODULES)
def test_a_loss_kernel_accumulates_a_large_float32_batch_in_float64(module):
    rows, width = 500_000, 8
    values, exact = exact_values(rows * width, seed=2)
    target = np.zeros(rows * width, np.float32)
    grad = np.empty(rows * width, np.float32)
    if module is fused:
        value, share, _ = fused.loss_backward(values.reshape(rows, width), target.reshape(
            rows, width), NO_WEIGHTS, fused.MSE, fused.IDENTITY, grad.reshape(rows, width),
            np.empty(width, np.float32), np.empty(width))
    else:
        value, share = loop.loss_forward_backward(values, 0, target, 0, NO_WEIGHTS, 0, rows,
                                                  width, loop.MSE, grad)
    assert share == rows
    assert value == exact / (rows * width)  # the exact sum, divided once
    in_float32 = float(float32_sum_of_squares(values)) / (rows * width)
    assert abs(in_float32 - value) > 1e-3 * value
