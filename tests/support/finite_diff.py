"""Central differences in float64: the independent reference for every backward test.

A minimal helper, deliberately apart from minibp.check (the product's checker):

    dF/dx[i] ~ (F(x + eps * e_i) - F(x - eps * e_i)) / (2 * eps)

for every entry i of a float64 array x that F reads. Each entry is perturbed in place (so
F sees the change through whatever object holds x, e.g. a layer's W) and restored to its
exact original bits before the next one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EPS = 1e-6  # central differences: error ~ eps**2 * F''' + roundoff ~ 1e-16 * |F| / eps


def numeric_gradient(F: Callable[[], float], x: np.ndarray, eps: float = EPS) -> np.ndarray:
    """dF/dx by central differences, same shape as x; x is left exactly as it was."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(f"numeric_gradient: x must be a float64 array, got {type(x).__name__} "
                        f"of dtype {getattr(x, 'dtype', None)}")
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        up = float(F())
        x[index] = original - eps
        down = float(F())
        x[index] = original
        grad[index] = (up - down) / (2.0 * eps)
    return grad


def weighted_sum(A: np.ndarray, G: np.ndarray) -> float:
    """F = sum(A * G): with a random upstream G, dF/dA = G, so backward(G) must equal dF/dinput.

    A plain loop, so the reference shares no vectorized code with the library.
    """
    total = 0.0
    for index in np.ndindex(A.shape):
        total += float(A[index]) * float(G[index])
    return total
