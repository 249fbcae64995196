"""minibp.engines.kernels.loop against plain loops written here, compiled and as py_func.

Shapes (1, 1), (1, n), (batch, 1) and an odd (7, 13) cover the loops' edges; rows == 1
takes its own path in dense_backward_at, so both paths are covered.
"""

import math

import numpy as np
import pytest

from minibp.engines.capabilities import ACTIVATION_CODES as CODES_BY_CLASS
from minibp.engines.kernels import loop as K  # noqa: N812 - K is short for the module under test

SHAPES = [(1, 1, 1), (1, 6, 3), (5, 1, 1), (7, 13, 4), (3, 2, 9)]  # (rows, n_in, n_out)

ACTIVATION_CODES = {cls.name: code for cls, code in CODES_BY_CLASS.items()}  # by name


def plain_activation(z, name):
    if name == "sigmoid":
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
    if name == "tanh":
        return math.tanh(z)
    if name == "relu":
        return max(z, 0.0)
    return z


def plain_derivative(a, name):
    return {"sigmoid": a * (1 - a), "tanh": 1 - a * a, "relu": float(a > 0)}.get(name, 1.0)


def one_layer(rows, n_in, n_out, name, seed=0):
    """Flat buffers for one Dense layer plus its data, the way FlatModel lays them out."""
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(n_out, n_in)), rng.normal(size=n_out)
    layout = np.array([[n_in, n_out, 0, n_in * n_out, ACTIVATION_CODES[name], 0]])
    params = np.concatenate([W.ravel(), b])
    X = rng.normal(size=(rows, n_in))
    return W, b, layout, params, X, rng


def variants(kernel):
    return [pytest.param(kernel, id="compiled"), pytest.param(kernel.py_func, id="py_func")]


@pytest.mark.parametrize("name", list(ACTIVATION_CODES))
@pytest.mark.parametrize("rows,n_in,n_out", SHAPES)
@pytest.mark.parametrize("forward", variants(K.dense_forward_at))
def test_dense_forward_matches_a_plain_loop(forward, rows, n_in, n_out, name):
    W, b, layout, params, X, _ = one_layer(rows, n_in, n_out, name)
    out = np.full(rows * n_out, np.nan)
    forward(X.ravel(), 0, rows, params, *layout[0, :5], out, 0)
    for r in range(rows):
        for j in range(n_out):
            z = sum(X[r, k] * W[j, k] for k in range(n_in)) + b[j]
            assert out[r * n_out + j] == pytest.approx(plain_activation(z, name), rel=1e-14,
                                                       abs=1e-15)


@pytest.mark.parametrize("name", list(ACTIVATION_CODES))
@pytest.mark.parametrize("rows,n_in,n_out", SHAPES)
@pytest.mark.parametrize("backward", variants(K.dense_backward_at))
def test_dense_backward_matches_a_plain_loop(backward, rows, n_in, n_out, name):
    W, b, layout, params, X, rng = one_layer(rows, n_in, n_out, name)
    acts = np.empty(rows * n_out)
    K.dense_forward_at(X.ravel(), 0, rows, params, *layout[0, :5], acts, 0)
    A = acts.reshape(rows, n_out).copy()
    dA = rng.normal(size=(rows, n_out))
    deltas = np.zeros(2 * rows * max(n_in, n_out))
    deltas[:rows * n_out] = dA.ravel()
    grads = np.full(params.size, np.nan)
    norm2 = backward(X.ravel(), 0, rows, params, grads, *layout[0, :5], acts, 0, deltas, 0,
                     deltas.size // 2, True)
    dZ = [[dA[r, j] * plain_derivative(A[r, j], name) for j in range(n_out)]
          for r in range(rows)]
    dW = [[sum(dZ[r][j] * X[r, k] for r in range(rows)) for k in range(n_in)]
          for j in range(n_out)]
    db = [sum(dZ[r][j] for r in range(rows)) for j in range(n_out)]
    dX = [[sum(dZ[r][j] * W[j, k] for j in range(n_out)) for k in range(n_in)]
          for r in range(rows)]
    np.testing.assert_allclose(grads[:n_in * n_out].reshape(n_out, n_in), dW, rtol=1e-13)
    np.testing.assert_allclose(grads[n_in * n_out:], db, rtol=1e-13)
    half = deltas.size // 2
    np.testing.assert_allclose(deltas[half:half + rows * n_in].reshape(rows, n_in), dX,
                               rtol=1e-13, atol=1e-15)
    assert norm2 == pytest.approx(np.sum(np.square(dW)) + np.sum(np.square(db)), rel=1e-13)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("loss_code,name", [(K.SQUARED_ERROR, "squared"), (K.MSE, "mse"),
                                            (K.SOFTMAX_XENT, "xent"), (K.BCE_LOGITS, "bce")])
@pytest.mark.parametrize("rows,width", [(1, 1), (1, 5), (6, 1), (7, 13)])
@pytest.mark.parametrize("loss_kernel", variants(K.loss_forward_backward))
def test_losses_match_plain_loops(loss_kernel, rows, width, loss_code, name, weighted):
    rng = np.random.default_rng(rows * width)
    pred = rng.normal(size=(rows, width)) * 3
    target = rng.uniform(size=(rows, width))
    if name == "xent":
        target = np.eye(width)[rng.integers(0, width, size=rows)]
    w = rng.uniform(0.0, 2.0, size=rows) if weighted else np.ones(rows)
    dPred = np.full(rows * width, np.nan)
    padded = np.concatenate([[99.0, 99.0], pred.ravel()])  # read from an offset
    weights = np.concatenate([[5.0], w]) if weighted else np.empty(0)  # from offset 1
    value, share = loss_kernel(padded, 2, target.ravel(), 0, weights, 1, rows, width,
                               loss_code, dPred)
    expected, grad = plain_loss(pred, target, w, name)
    assert value == pytest.approx(expected, rel=1e-13)
    assert share == (pytest.approx(sum(w), rel=1e-15) if weighted else rows)
    np.testing.assert_allclose(dPred.reshape(rows, width), grad, rtol=1e-12, atol=1e-15)


def plain_loss(pred, target, w, name):
    """The weighted mean over samples (minibp/nn/loss.py): sum_i w_i s_i / (c sum_i w_i),
    s_i row i's summed terms, c = 1 (squared, xent) or the number of outputs (mse, bce)."""
    rows, width = pred.shape
    terms, grad = [0.0] * rows, np.empty_like(pred)
    for r in range(rows):
        for j in range(width):
            p, t = pred[r, j], target[r, j]
            if name == "squared":
                terms[r] += 0.5 * (p - t) ** 2
                grad[r, j] = p - t
            elif name == "mse":
                terms[r] += (p - t) ** 2
                grad[r, j] = 2 * (p - t)
            elif name == "bce":
                q = 1 / (1 + math.exp(-p))
                terms[r] -= t * math.log(q) + (1 - t) * math.log(1 - q)
                grad[r, j] = q - t
        if name == "xent":
            top = max(pred[r])
            log_sum = math.log(sum(math.exp(z - top) for z in pred[r])) + top
            terms[r] = sum(-t * (z - log_sum) for z, t in zip(pred[r], target[r]))
            for j in range(width):
                grad[r, j] = math.exp(pred[r, j] - log_sum) * sum(target[r]) - target[r, j]
    divisor = sum(w) * (width if name in ("mse", "bce") else 1)
    return sum(wi * ti for wi, ti in zip(w, terms)) / divisor, grad * w[:, None] / divisor


@pytest.mark.parametrize("loss_kernel", variants(K.loss_forward_backward))
def test_unweighted_losses_are_bitwise_what_they_were(loss_kernel):
    """Without weights each row weighs 1.0, which multiplies exactly: the kernel gives the
    very bits of the unweighted formulas (the ones the compiled engines used before sample
    weights existed), written here as those formulas."""
    rng = np.random.default_rng(5)
    pred, target = rng.normal(size=(7, 3)), rng.uniform(size=(7, 3))
    for code, scale, half in ((K.SQUARED_ERROR, 1.0 / 7, 0.5), (K.MSE, 2.0 / 21, 1.0)):
        dPred = np.empty(21)
        value, share = loss_kernel(pred.ravel(), 0, target.ravel(), 0, np.empty(0), 0, 7, 3,
                                   code, dPred)
        total = 0.0
        for diff in (pred - target).ravel():
            total += diff * diff
        expected = 0.5 * total / 7 if half == 0.5 else total / 21
        assert (value, share) == (expected, 7.0)
        assert np.array_equal(dPred, (pred - target).ravel() * scale)


@pytest.mark.parametrize("gather", variants(K.gather_rows))
def test_gather_rows_follows_the_order(gather):
    src = np.arange(12.0)  # 4 rows of width 3
    dst = np.zeros(6)
    gather(src, 3, np.array([3, 0, 2, 1]), 1, 2, dst)
    np.testing.assert_array_equal(dst, [0, 1, 2, 6, 7, 8])


@pytest.mark.parametrize("name", ["sigmoid"])
def test_sigmoid_kernel_never_overflows(name):
    code = ACTIVATION_CODES[name]
    with np.errstate(over="raise", invalid="raise"):  # underflow to exactly 0 is the point
        assert K.activate(-1e4, code) == 0.0
        assert K.activate(1e4, code) == 1.0
        assert K.activate.py_func(-1e4, code) == 0.0
