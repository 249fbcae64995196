"""Compiled kernels for the BLAS engine's step: everything around its matrix products that
touches a whole batch, computing what fused.py's kernels of the same role compute, in the
same operations (so equal bit for bit), without their sums of squares.

Those sums, totalled per column in float64 for the divergence guard's bound, kept LLVM
from vectorizing the loops and cost as much as the kernels' own work (a batch gather:
twice the copy); the engine now leaves the guard to the update kernels, which read every
value anyway (minibp/engines/blas_engine.py). ``error_model="numpy"`` lets the divisions
vectorize (numba's default model branches on a zero divisor); none can divide by zero.
Single-threaded, as fused.py's: numba threads started between OpenBLAS's calls fight its
spinning threads for the two cores (measured in docs/performance.md).

The rules, and the reason ``activate`` and ``activation_derivative`` below are copies of
fused.py's (and loop.py's), are in minibp/engines/kernels/__init__.py;
tests/engines/kernels/test_shared_math.py proves the copies identical. Arrays are
C-contiguous, 2-D (rows, width).
"""

import numpy as np
from numba import njit

IDENTITY, SIGMOID, TANH, RELU = 0, 1, 2, 3                  # capabilities.ACTIVATION_CODES


# -- shared scalar math: identical copies in fused.py and loop.py ----------------------------
@njit(cache=True, inline="always")
def activate(z, act):
    """A = f(Z) for one value; sigmoid exponentiates only -|z|, so it never overflows."""
    if act == SIGMOID:
        if z >= 0.0:
            return 1.0 / (1.0 + np.exp(-z))
        e = np.exp(z)
        return e / (1.0 + e)
    if act == TANH:
        return np.tanh(z)
    if act == RELU:  # as written, NaN stays NaN (z > 0 would turn it into 0)
        return 0.0 if z <= 0.0 else z
    return z


@njit(cache=True, inline="always")
def activation_derivative(a, act):
    """dA/dZ from the output A: sigmoid A(1-A), tanh 1-A^2, relu [A>0], identity 1."""
    if act == SIGMOID:
        return a * (1.0 - a)
    if act == TANH:
        return 1.0 - a * a
    if act == RELU:
        return 1.0 if a > 0.0 else 0.0
    return 1.0


# -- the step's kernels ------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def gather_batch(X, T, order, start, x, t):
    """x[r] = X[order[start + r]] and t[r] = T[order[start + r]] for every row of x and t."""
    rows, width = x.shape
    outputs = t.shape[1]
    for r in range(rows):
        i = order[start + r]
        for j in range(width):
            x[r, j] = X[i, j]
        for j in range(outputs):
            t[r, j] = T[i, j]


@njit(cache=True, error_model="numpy")
def add_bias_activate(Z, b, act):
    """Z = act(Z + b) in place (fused.bias_activation without its sum)."""
    rows, width = Z.shape
    for r in range(rows):
        for j in range(width):
            Z[r, j] = activate(Z[r, j] + b[j], act)


@njit(cache=True, error_model="numpy")
def sigmoid_of_exp(Z, E, one):
    """Z = sigmoid(Z) given E = exp(-|Z|) (fused.sigmoid_from_exp without its sum)."""
    rows, width = Z.shape
    for r in range(rows):
        for j in range(width):
            e = E[r, j]
            Z[r, j] = (one if Z[r, j] >= 0 else e) / (one + e)


@njit(cache=True, error_model="numpy")
def derivative_and_bias_gradient(dA, A, act, db):
    """dA becomes dZ = dA * act'(A) in place, db = column sums of dZ
    (fused.activation_backward without its sum)."""
    rows, width = dA.shape
    for j in range(width):
        db[j] = 0.0
    for r in range(rows):
        for j in range(width):
            dz = dA[r, j] * activation_derivative(A[r, j], act)
            dA[r, j] = dz
            db[j] += dz
