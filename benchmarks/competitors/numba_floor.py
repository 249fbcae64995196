"""The floor: a hand-written numba loop for exactly this network, whole run compiled.

One hidden layer and one output layer of sigmoids, 1/2 squared error, single-sample steps.
Scalar loops over preallocated buffers, nothing allocated per step. The epoch order is drawn
inside the compiled loop from the NumPy Generator passed in (numba reproduces NumPy's stream),
as rng.permutation(n) would: reset an index array to 0..n-1, then rng.shuffle it. So the floor
pays the same shuffling cost as a compiled engine, and ends at the same weights as everyone.

``optimizer`` picks the step, each its own compiled loop, written out in full as the SGD one
is (numba_floor, numba_floor_momentum, numba_floor_adam), the same forward and backward in
each, every weight updated from its gradient once the step's deltas are known:
"sgd": ``p -= lr * g`` (workload.lr).
"momentum": torch.optim.SGD(lr=workload.momentum_lr, momentum=workload.momentum), dampening
0: ``buf = momentum * buf + g; p -= lr * buf``, buf starting at zero, so the first buf is g,
as torch's (which clones g into it).
"adam": torch.optim.Adam(lr=workload.adam_lr) with its defaults (betas 0.9, 0.999, eps 1e-8),
in minibp's and torch's order of operations (minibp/optim/adam.py) at step t = 1, 2, ...:
``m += (1 - beta1) * (g - m)`` (torch's lerp), ``v = v * beta2 + (1 - beta2) * g * g``,
``p += (-lr / (1 - beta1**t)) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)``; the two bias
corrections once per step, as powers, as torch and minibp compute them.
A frozen bias (W1's) is neither updated nor given optimizer state.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from benchmarks.competitors import Runner

OPTIMIZERS = ("sgd", "momentum", "adam")
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8        # torch.optim.Adam's defaults


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


@njit(cache=True)
def train_two_layer_momentum(X, Y, W1, b1, W2, b2, train_b1, train_b2, lr, momentum, epochs,
                             shuffle, rng):
    """train_two_layer with torch's momentum SGD; the buffers (one per weight, zeros at the
    start) live for the run."""
    n, n_in = X.shape
    n_hidden, n_out = W1.shape[0], W2.shape[0]
    H = np.empty(n_hidden)
    dH = np.empty(n_hidden)
    dO = np.empty(n_out)
    BW1, Bb1 = np.zeros_like(W1), np.zeros_like(b1)
    BW2, Bb2 = np.zeros_like(W2), np.zeros_like(b2)
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
                    BW2[j, i] = BW2[j, i] * momentum + dO[j] * H[i]
                    W2[j, i] -= lr * BW2[j, i]
                if train_b2:
                    Bb2[j] = Bb2[j] * momentum + dO[j]
                    b2[j] -= lr * Bb2[j]
            for j in range(n_hidden):
                for i in range(n_in):
                    BW1[j, i] = BW1[j, i] * momentum + dH[j] * X[s, i]
                    W1[j, i] -= lr * BW1[j, i]
                if train_b1:
                    Bb1[j] = Bb1[j] * momentum + dH[j]
                    b1[j] -= lr * Bb1[j]


@njit(cache=True)
def train_two_layer_adam(X, Y, W1, b1, W2, b2, train_b1, train_b2, lr, epochs, shuffle, rng):
    """train_two_layer with torch's Adam; m and v (zeros at the start, one per weight) live
    for the run."""
    n, n_in = X.shape
    n_hidden, n_out = W1.shape[0], W2.shape[0]
    H = np.empty(n_hidden)
    dH = np.empty(n_hidden)
    dO = np.empty(n_out)
    mW1, mb1, mW2, mb2 = np.zeros_like(W1), np.zeros_like(b1), np.zeros_like(W2), np.zeros_like(b2)
    vW1, vb1, vW2, vb2 = np.zeros_like(W1), np.zeros_like(b1), np.zeros_like(W2), np.zeros_like(b2)
    weight, keep, add = 1.0 - BETA1, BETA2, 1.0 - BETA2
    order = np.arange(n)
    t = 0
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
            t += 1
            step = -(lr / (1.0 - BETA1 ** t))
            root = math.sqrt(1.0 - BETA2 ** t)
            for j in range(n_out):
                for i in range(n_hidden):
                    g = dO[j] * H[i]
                    mW2[j, i] += weight * (g - mW2[j, i])
                    vW2[j, i] = vW2[j, i] * keep + add * g * g
                    W2[j, i] += (step * mW2[j, i]) / (np.sqrt(vW2[j, i]) / root + EPS)
                if train_b2:
                    g = dO[j]
                    mb2[j] += weight * (g - mb2[j])
                    vb2[j] = vb2[j] * keep + add * g * g
                    b2[j] += (step * mb2[j]) / (np.sqrt(vb2[j]) / root + EPS)
            for j in range(n_hidden):
                for i in range(n_in):
                    g = dH[j] * X[s, i]
                    mW1[j, i] += weight * (g - mW1[j, i])
                    vW1[j, i] = vW1[j, i] * keep + add * g * g
                    W1[j, i] += (step * mW1[j, i]) / (np.sqrt(vW1[j, i]) / root + EPS)
                if train_b1:
                    g = dH[j]
                    mb1[j] += weight * (g - mb1[j])
                    vb1[j] = vb1[j] * keep + add * g * g
                    b1[j] += (step * mb1[j]) / (np.sqrt(vb1[j]) / root + EPS)


KERNELS = {"sgd": train_two_layer, "momentum": train_two_layer_momentum,
           "adam": train_two_layer_adam}


def prepare(workload, compiled: bool = True, optimizer: str = "sgd") -> Runner:
    """compiled=False runs the same body as plain Python (for tests and debugging)."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"numba_floor: optimizer must be one of {OPTIMIZERS}, got "
                         f"{optimizer!r}")
    kernel = KERNELS[optimizer] if compiled else KERNELS[optimizer].py_func
    lr = {"sgd": workload.lr, "momentum": workload.momentum_lr, "adam": workload.adam_lr}
    settings = (lr[optimizer], workload.momentum) if optimizer == "momentum" else (lr[optimizer],)
    hidden, output = workload.layers
    unused = np.random.default_rng(0)    # typed placeholder: no shuffle, no draws, no cost
    state = {}

    def reset():
        state["weights"] = [hidden.W.copy(), hidden.b.copy(), output.W.copy(), output.b.copy()]

    def run():
        W1, b1, W2, b2 = state["weights"]
        rng = np.random.default_rng(workload.seed) if workload.shuffle else unused
        kernel(workload.X, workload.Y, W1, b1, W2, b2, hidden.train_bias, output.train_bias,
               *settings, workload.epochs, workload.shuffle, rng)

    return Runner(reset, run, lambda: state["weights"])
