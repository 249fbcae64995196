"""minibp.engines.kernels.fused against plain loops written here, compiled and as py_func, over the
shapes (1, 1), (1, n), (rows, 1) and an odd (7, 13)."""

import math

import numpy as np
import pytest

from minibp.engines.capabilities import ACTIVATION_CODES as CODES_BY_CLASS
from minibp.engines.kernels import fused as F  # noqa: N812 - F is short for the module under test

SHAPES = [(1, 1), (1, 6), (5, 1), (7, 13)]

ACTIVATION_CODES = {cls.name: code for cls, code in CODES_BY_CLASS.items()}  # by name


def variants(kernel):
    return [pytest.param(kernel, id="compiled"), pytest.param(kernel.py_func, id="py_func")]


def plain_activation(z, name):
    if name == "sigmoid":
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
    return {"tanh": math.tanh(z), "relu": max(z, 0.0)}.get(name, z)


def plain_derivative(a, name):
    return {"sigmoid": a * (1 - a), "tanh": 1 - a * a, "relu": float(a > 0)}.get(name, 1.0)


@pytest.mark.parametrize("name", list(ACTIVATION_CODES))
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kernel", variants(F.bias_activation))
def test_bias_activation(kernel, shape, name):
    rng = np.random.default_rng(1)
    Z, b = rng.normal(size=shape) * 3, rng.normal(size=shape[1])
    expected = [[plain_activation(Z[r, j] + b[j], name) for j in range(shape[1])]
                for r in range(shape[0])]
    a2 = kernel(Z, b, ACTIVATION_CODES[name], np.empty(shape[1]))
    np.testing.assert_allclose(Z, expected, rtol=1e-14, atol=1e-300)
    assert a2 == pytest.approx(sum(a * a for row in expected for a in row), rel=1e-13)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES)
def test_sigmoid_in_three_passes_equals_the_stable_formula(shape, dtype):
    rng = np.random.default_rng(2)
    Z, b = (rng.normal(size=shape) * 20).astype(dtype), rng.normal(size=shape[1]).astype(dtype)
    E = np.empty_like(Z)
    expected = [[plain_activation(float(Z[r, j] + b[j]), "sigmoid") for j in range(shape[1])]
                for r in range(shape[0])]
    F.bias_and_exp_argument(Z, b, E)
    np.exp(E, out=E)
    a2 = F.sigmoid_from_exp(Z, E, Z.dtype.type(1), np.empty(shape[1]))
    assert Z.dtype == dtype
    assert a2 == pytest.approx(sum(a * a for row in expected for a in row), rel=1e-6)
    np.testing.assert_allclose(Z, expected, rtol=1e-14 if dtype == np.float64 else 1e-6)


@pytest.mark.parametrize("name", list(ACTIVATION_CODES))
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kernel", variants(F.activation_backward))
def test_activation_backward_and_bias_gradient(kernel, shape, name):
    rng = np.random.default_rng(3)
    A, dA = rng.uniform(-0.9, 0.9, size=shape), rng.normal(size=shape)
    dZ = [[dA[r, j] * plain_derivative(A[r, j], name) for j in range(shape[1])]
          for r in range(shape[0])]
    db = np.full(shape[1], np.nan)
    dz2 = kernel(dA, A, ACTIVATION_CODES[name], db, np.empty(shape[1]))
    assert dz2 == pytest.approx(sum(d * d for row in dZ for d in row), rel=1e-13, abs=1e-300)
    np.testing.assert_allclose(dA, dZ, rtol=1e-15)
    np.testing.assert_allclose(db, [sum(row[j] for row in dZ) for j in range(shape[1])],
                               rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("loss,code", [("squared", F.SQUARED_ERROR), ("mse", F.MSE),
                                       ("xent", F.SOFTMAX_XENT)])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kernel", variants(F.loss_backward))
def test_loss_backward(kernel, shape, loss, code):
    rows, width = shape
    rng = np.random.default_rng(4)
    A = rng.normal(size=shape) * 2
    T = (np.eye(width)[rng.integers(0, width, size=rows)] if loss == "xent"
         else rng.uniform(size=shape))
    dZ, db = np.empty(shape), np.empty(width)
    value, dz2 = kernel(A, T, code, ACTIVATION_CODES["identity"], dZ, db, np.empty(width))
    if loss == "xent":
        log_z = [math.log(sum(math.exp(z) for z in row)) for row in A]
        expected = -sum(T[r, j] * (A[r, j] - log_z[r]) for r in range(rows)
                        for j in range(width)) / rows
        grad = [[(math.exp(A[r, j] - log_z[r]) - T[r, j]) / rows for j in range(width)]
                for r in range(rows)]
    else:
        square = sum((a - t) ** 2 for a, t in zip(A.flat, T.flat))
        expected = 0.5 * square / rows if loss == "squared" else square / A.size
        scale = 1 / rows if loss == "squared" else 2 / A.size
        grad = (A - T) * scale
    assert value == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(dZ, grad, rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(db, np.sum(grad, axis=0), rtol=1e-12, atol=1e-16)
    assert dz2 == pytest.approx(float(np.sum(np.square(grad))), rel=1e-12)


@pytest.mark.parametrize("kernel", variants(F.sum_of_squares))
@pytest.mark.parametrize("size", [0, 1, 3, 4, 7, 1001])
def test_sum_of_squares(kernel, size):
    values = np.random.default_rng(size).normal(size=size).astype(np.float32)
    assert kernel(values) == pytest.approx(sum(float(v) ** 2 for v in values), rel=1e-12)


@pytest.mark.parametrize("kernel", variants(F.gather_rows))
def test_gather_rows(kernel):
    X = np.arange(15.0).reshape(5, 3)
    out = np.empty((2, 3))
    squares = kernel(X, np.array([4, 2, 0, 1, 3]), 1, out, np.empty(3))
    np.testing.assert_array_equal(out, X[[2, 0]])
    assert squares == sum(v * v for v in [6, 7, 8, 0, 1, 2])


@pytest.mark.parametrize("momentum", [0.0, 0.8])
def test_sgd_updates(momentum):
    rng = np.random.default_rng(5)
    p, g, v = rng.normal(size=(3, 9))
    expected_v = momentum * v + g
    expected_p = p - 0.3 * (expected_v if momentum else g)
    if momentum:
        F.sgd_momentum_update(p, g, v, 0.3, momentum)
        np.testing.assert_array_equal(v, expected_v)
    else:
        F.sgd_update(p, g, 0.3)
    np.testing.assert_array_equal(p, expected_p)
