"""minibp.engines.kernels.fused against plain loops written here, compiled and as py_func, over the
shapes (1, 1), (1, n), (rows, 1) and an odd (7, 13). (The update kernels and sum_of_squares,
in kernels/updates.py, are tested in test_update_kernels.py.)"""

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


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("loss,code", [("squared", F.SQUARED_ERROR), ("mse", F.MSE),
                                       ("xent", F.SOFTMAX_XENT), ("bce", F.BCE_LOGITS)])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kernel", variants(F.loss_backward))
def test_loss_backward(kernel, shape, loss, code, weighted):
    rows, width = shape
    rng = np.random.default_rng(4)
    A = rng.normal(size=shape) * 2
    T = (np.eye(width)[rng.integers(0, width, size=rows)] if loss == "xent"
         else rng.uniform(size=shape))
    w = rng.uniform(0.0, 3.0, size=rows) if weighted else np.ones(rows)
    dZ, db = np.empty(shape), np.empty(width)
    value, share, dz2 = kernel(A, T, w if weighted else np.empty(0), code,
                               ACTIVATION_CODES["identity"], dZ, db, np.empty(width))
    expected, grad = plain_weighted_loss(A, T, w, loss)
    assert value == pytest.approx(expected, rel=1e-13)
    assert share == pytest.approx(sum(w), rel=1e-15)
    np.testing.assert_allclose(dZ, grad, rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(db, np.sum(grad, axis=0), rtol=1e-12, atol=1e-16)
    assert dz2 == pytest.approx(float(np.sum(np.square(grad))), rel=1e-12)


def plain_weighted_loss(A, T, w, loss):
    """(loss, dLoss/dA) as minibp/nn/loss.py defines the weighted mean, per element here:
    sum_i w_i * s_i / (c * sum_i w_i), c = 1 or the number of outputs."""
    rows, width = A.shape
    terms, grad = np.empty(rows), np.empty_like(A)
    for r in range(rows):
        if loss == "xent":
            log_z = math.log(sum(math.exp(z) for z in A[r]))
            terms[r] = -sum(T[r, j] * (A[r, j] - log_z) for j in range(width))
            grad[r] = [math.exp(A[r, j] - log_z) * sum(T[r]) - T[r, j] for j in range(width)]
        elif loss == "bce":
            p = [1 / (1 + math.exp(-z)) for z in A[r]]
            terms[r] = -sum(t * math.log(q) + (1 - t) * math.log(1 - q)
                            for t, q in zip(T[r], p))
            grad[r] = [q - t for q, t in zip(p, T[r])]
        else:
            diff = A[r] - T[r]
            terms[r] = sum(d * d for d in diff) * (0.5 if loss == "squared" else 1.0)
            grad[r] = diff * (1.0 if loss == "squared" else 2.0)
    per_row = 1 if loss in ("squared", "xent") else width
    divisor = per_row * sum(w)
    return sum(w * terms) / divisor, grad * w[:, None] / divisor


@pytest.mark.parametrize("kernel", variants(F.gather_rows))
def test_gather_rows(kernel):
    X = np.arange(15.0).reshape(5, 3)
    out = np.empty((2, 3))
    squares = kernel(X, np.array([4, 2, 0, 1, 3]), 1, out, np.empty(3))
    np.testing.assert_array_equal(out, X[[2, 0]])
    assert squares == sum(v * v for v in [6, 7, 8, 0, 1, 2])
