"""Compiled elementwise kernels for the BLAS engine: everything around the matrix products.

The BLAS engine leaves X @ W.T, dZ.T @ X and dZ @ W to NumPy's BLAS and does the rest here,
each kernel touching each buffer once: bias plus activation, the loss and its gradient fused
with the output activation's derivative, the hidden activations' derivatives fused with the
bias gradients, and in-place parameter updates. Single-threaded on purpose: BLAS owns the
cores, and a second thread pool between its calls would fight it.

Same rules as minibp/kernels.py (STYLE.md section 4): no imports from the rest of minibp,
outputs passed in, nothing allocated, ``@njit(cache=True)`` without signatures, no fastmath.
The activation pair below repeats minibp/kernels.py's on purpose: numba's on-disk cache
keys a function on its own file, so a kernel inlining code from another module would keep
running a stale copy after that module changed. Both copies are tested against the same
plain loops (tests/test_kernels.py, tests/test_kernels_fused.py).
Arrays are C-contiguous, 2-D (rows, width) unless said otherwise.

Several kernels also return a sum of squares, for the divergence guard. They total it per
column in ``sq``, a float64 scratch of at least ``width`` entries, then add the columns:
one running float64 sum is a chain of dependent additions that cost three times the
kernel's own work.
"""

import numpy as np
from numba import njit

IDENTITY, SIGMOID, TANH, RELU = 0, 1, 2, 3        # the codes of minibp.kernels
SQUARED_ERROR, MSE, SOFTMAX_XENT = 0, 1, 2


@njit(cache=True, inline="always")
def _activate(z, act):
    if act == SIGMOID:
        if z >= 0.0:
            return 1.0 / (1.0 + np.exp(-z))
        e = np.exp(z)
        return e / (1.0 + e)
    if act == TANH:
        return np.tanh(z)
    if act == RELU:
        return z if z > 0.0 else 0.0
    return z


@njit(cache=True, inline="always")
def _derivative(a, act):
    if act == SIGMOID:
        return a * (1.0 - a)
    if act == TANH:
        return 1.0 - a * a
    if act == RELU:
        return 1.0 if a > 0.0 else 0.0
    return 1.0


@njit(cache=True, inline="always")
def _clear(sq, width):
    for j in range(width):
        sq[j] = 0.0


@njit(cache=True, inline="always")
def _total(sq, width):
    s = 0.0
    for j in range(width):
        s += sq[j]
    return s


@njit(cache=True)
def bias_activation(Z, b, act, sq):
    """Z = act(Z + b) in place, b (width,) added to every row: Z (rows, width) becomes A.

    Returns the sum of squares of A (float64), for the divergence guard's bound."""
    rows, width = Z.shape
    _clear(sq, width)
    for r in range(rows):
        for j in range(width):
            a = _activate(Z[r, j] + b[j], act)
            Z[r, j] = a
            sq[j] += np.float64(a) * a
    return _total(sq, width)


@njit(cache=True)
def bias_and_exp_argument(Z, b, E):
    """Z = Z + b in place, and E = -|Z|: the first half of a sigmoid whose exp runs in NumPy.

    NumPy's exp is SIMD-vectorized; numba's, without fastmath or SVML, is a scalar libm call
    and costs about twice as much for a whole sigmoid layer. So the BLAS engine computes
    sigmoid as this kernel, np.exp(E, out=E), then sigmoid_from_exp.
    """
    rows, width = Z.shape
    for r in range(rows):
        for j in range(width):
            z = Z[r, j] + b[j]
            Z[r, j] = z
            E[r, j] = -abs(z)


@njit(cache=True)
def sigmoid_from_exp(Z, E, one, sq):
    """Z = sigmoid(Z) given E = exp(-|Z|): 1 / (1 + E) where Z >= 0, else E / (1 + E).

    ``one`` is 1 in Z's dtype, so float32 stays float32; choosing the numerator first and
    dividing once keeps the loop simple. Returns the sum of squares of the result."""
    rows, width = Z.shape
    _clear(sq, width)
    for r in range(rows):
        for j in range(width):
            e = E[r, j]
            a = (one if Z[r, j] >= 0 else e) / (one + e)
            Z[r, j] = a
            sq[j] += np.float64(a) * a
    return _total(sq, width)


@njit(cache=True)
def activation_backward(dA, A, act, db, sq):
    """dA (rows, width) becomes dZ = dA * act'(A) in place; db (width,) = column sums of dZ.

    Returns the sum of squares of dZ (float64), for the divergence guard's bound."""
    rows, width = dA.shape
    for j in range(width):
        db[j] = 0.0
    _clear(sq, width)
    for r in range(rows):
        for j in range(width):
            dz = dA[r, j] * _derivative(A[r, j], act)
            dA[r, j] = dz
            db[j] += dz
            sq[j] += np.float64(dz) * dz
    return _total(sq, width)


@njit(cache=True)
def loss_backward(A, T, loss, act, dZ, db, sq):
    """Mean loss of the output A against targets T, and the gradient at the output layer's Z.

    A, T, dZ (rows, width): dZ = dLoss/dA * act'(A), db (width,) its column sums. The loss
    sums in float64 whatever the dtype. SOFTMAX_XENT takes A as logits and T as rows of
    class probabilities. Returns (mean loss, sum of squares of dZ).
    """
    rows, width = A.shape
    if loss == SOFTMAX_XENT:
        total = _softmax_xent(A, T, dZ)
    else:
        total = 0.0
        scale = 1.0 / rows if loss == SQUARED_ERROR else 2.0 / (rows * width)
        for r in range(rows):
            for j in range(width):
                diff = A[r, j] - T[r, j]
                total += diff * diff
                dZ[r, j] = diff * scale
        total = 0.5 * total / rows if loss == SQUARED_ERROR else total / (rows * width)
    return total, activation_backward(dZ, A, act, db, sq)


@njit(cache=True, inline="always")
def _softmax_xent(Z, T, dZ):
    rows, width = Z.shape
    total = 0.0
    for r in range(rows):
        top = Z[r, 0]
        for j in range(1, width):
            top = max(top, Z[r, j])
        sum_exp = 0.0
        mass = 0.0
        for j in range(width):
            sum_exp += np.exp(Z[r, j] - top)
            mass += T[r, j]
        log_sum = np.log(sum_exp)
        for j in range(width):
            shifted = Z[r, j] - top
            total -= T[r, j] * (shifted - log_sum)
            dZ[r, j] = (np.exp(shifted) / sum_exp * mass - T[r, j]) / rows
    return total / rows


@njit(cache=True)
def gather_rows(X, order, start, out, sq):
    """out[r] = X[order[start + r]] for every row of out; returns the sum of squares of out."""
    rows, width = out.shape
    _clear(sq, width)
    for r in range(rows):
        i = order[start + r]
        for j in range(width):
            v = X[i, j]
            out[r, j] = v
            sq[j] += np.float64(v) * v
    return _total(sq, width)


@njit(cache=True)
def sum_of_squares(values):
    """Sum of squares of a flat array in float64, over four interleaved partial sums: the
    divergence guard needs its magnitude, not its last bit, and four independent chains
    run about four times faster than one."""
    s0 = s1 = s2 = s3 = 0.0
    n4 = values.shape[0] - values.shape[0] % 4
    for i in range(0, n4, 4):
        s0 += np.float64(values[i]) * values[i]
        s1 += np.float64(values[i + 1]) * values[i + 1]
        s2 += np.float64(values[i + 2]) * values[i + 2]
        s3 += np.float64(values[i + 3]) * values[i + 3]
    for i in range(n4, values.shape[0]):
        s0 += np.float64(values[i]) * values[i]
    return (s0 + s1) + (s2 + s3)


@njit(cache=True)
def sgd_update(p, g, lr):
    """p -= lr * g, flat arrays."""
    for i in range(p.shape[0]):
        p[i] -= lr * g[i]


@njit(cache=True)
def sgd_momentum_update(p, g, v, lr, momentum):
    """v = momentum * v + g; p -= lr * v (PyTorch's convention), flat arrays."""
    for i in range(p.shape[0]):
        v[i] = v[i] * momentum + g[i]
        p[i] -= lr * v[i]
