"""Plain NumPy for W3/W4: minibatch SGD on the MLP, as a good NumPy user writes it.

Per step: fancy-index the batch, Z = A @ W.T + b, sigmoid through np.exp, softmax with the
row maximum subtracted, dZ = (P - onehot) / rows, then per layer dW = dZ.T @ A and
db = dZ.sum(0), dA = dZ @ W (not for the first layer: nothing needs the gradient at the
data), and W -= lr * dW. Arrays in the workload's dtype throughout (a Python float lr keeps
float32 float32). No buffers, no classes, no checks.
"""

from __future__ import annotations

import numpy as np

from benchmarks.competitors import Runner


def train(X, y, Ws, bs, lr, batch_size, order) -> None:
    """One epoch over the rows of X in `order`; updates Ws, bs in place."""
    n = X.shape[0]
    for start in range(0, n, batch_size):
        rows = order[start:start + batch_size]
        As = [X[rows]]
        for W, b in zip(Ws[:-1], bs[:-1]):
            As.append(1.0 / (1.0 + np.exp(-(As[-1] @ W.T + b))))
        Z = As[-1] @ Ws[-1].T + bs[-1]
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        dZ = E / E.sum(axis=1, keepdims=True)
        m = len(rows)
        dZ[np.arange(m), y[rows]] -= 1.0
        dZ /= m
        for k in range(len(Ws) - 1, -1, -1):
            dW = dZ.T @ As[k]
            db = dZ.sum(axis=0)
            if k > 0:
                dA = dZ @ Ws[k]
                dZ = dA * As[k] * (1.0 - As[k])
            Ws[k] -= lr * dW
            bs[k] -= lr * db


def prepare(workload) -> Runner:
    X, y = workload.data()
    state = {}

    def reset():
        state["Ws"] = [layer.W.copy() for layer in workload.layers]
        state["bs"] = [layer.b.copy() for layer in workload.layers]

    def run():
        train(X, y, state["Ws"], state["bs"], workload.lr, workload.batch_size,
              np.random.default_rng(workload.seed).permutation(len(X)))

    def weights():
        return [a for pair in zip(state["Ws"], state["bs"]) for a in pair]

    return Runner(reset, run, weights)
