"""The floor: a hand-written numba loop for exactly this network, whole run compiled.

One hidden layer and one output layer of sigmoids, 1/2 squared error, single-sample SGD.
Scalar loops over preallocated buffers, nothing allocated per step. The epoch order is drawn
inside the compiled loop from the NumPy Generator passed in (numba reproduces NumPy's stream),
as rng.permutation(n) would: reset an index array to 0..n-1, then rng.shuffle it. So the floor
pays the same shuffling cost as a compiled engine, and ends at the same weights as everyone.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from benchmarks.competitors import Runner


@njit(cache=True)
def train_two_layer(X, Y, W1, b1, W2, b2, train_b1, train_b2, lr, epochs, shuffle, rng):
    """X (n, in), Y (n, out), W1 (hidden, in), b1 (hidden,), W2 (out, hidden), b2 (out,).

    Updates W1, b1, W2, b2 in place (a bias only when its train flag is set).
    """
    n, n_in = X.shape
    n_hidden, n_out = W1.shape[0], W2.shape[0]
    H = np.empty(n_hidden)
    dH = np.empty(n_hidden)
    dO = np.empty(n_out)
    order = np.arange(n)
    for _ in range(epochs):
        if shuffle:
            for i in range(n):
                order[i] = i
            rng.shuffle(order)
        for k in range(n):
            s = order[k]
            for j in range(n_hidden):
                z = 0.0
                for i in range(n_in):
                    z += X[s, i] * W1[j, i]
                H[j] = 1.0 / (1.0 + np.exp(-(z + b1[j])))
            for j in range(n_out):
                z = 0.0
                for i in range(n_hidden):
                    z += H[i] * W2[j, i]
                a = 1.0 / (1.0 + np.exp(-(z + b2[j])))
                dO[j] = (a - Y[s, j]) * a * (1.0 - a)
            for i in range(n_hidden):
                g = 0.0
                for j in range(n_out):
                    g += dO[j] * W2[j, i]
                dH[i] = g * H[i] * (1.0 - H[i])
            for j in range(n_out):
                for i in range(n_hidden):
                    W2[j, i] -= lr * dO[j] * H[i]
                if train_b2:
                    b2[j] -= lr * dO[j]
            for j in range(n_hidden):
                for i in range(n_in):
                    W1[j, i] -= lr * dH[j] * X[s, i]
                if train_b1:
                    b1[j] -= lr * dH[j]


def prepare(workload, compiled: bool = True) -> Runner:
    """compiled=False runs the same body as plain Python (for tests and debugging)."""
    kernel = train_two_layer if compiled else train_two_layer.py_func
    hidden, output = workload.layers
    unused = np.random.default_rng(0)    # typed placeholder: no shuffle, no draws, no cost
    state = {}

    def reset():
        state["weights"] = [hidden.W.copy(), hidden.b.copy(), output.W.copy(), output.b.copy()]

    def run():
        W1, b1, W2, b2 = state["weights"]
        rng = np.random.default_rng(workload.seed) if workload.shuffle else unused
        kernel(workload.X, workload.Y, W1, b1, W2, b2, hidden.train_bias, output.train_bias,
               workload.lr, workload.epochs, workload.shuffle, rng)

    return Runner(reset, run, lambda: state["weights"])
