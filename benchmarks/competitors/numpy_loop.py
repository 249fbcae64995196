"""A plain NumPy loop: the matrix form of the chapter, one (1, in) row per step.

What a reader writes after the chapter with NumPy at hand: Z = X @ W.T + b, a sigmoid, the
deltas dZ, then W -= lr * dZ.T @ X, layer by layer. No classes, no checks, no buffers.
"""

from __future__ import annotations

import numpy as np

from benchmarks.competitors import Runner


def train(X, Y, Ws, bs, train_bias, lr, epochs, shuffle, seed) -> None:
    """Single-sample SGD on sigmoid layers with 1/2 squared error; updates Ws, bs in place."""
    rng = np.random.default_rng(seed) if shuffle else None
    n = X.shape[0]
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else range(n)
        for i in order:
            As = [X[i:i + 1]]
            for W, b in zip(Ws, bs):
                Z = As[-1] @ W.T + b
                As.append(1.0 / (1.0 + np.exp(-Z)))
            dA = As[-1] - Y[i:i + 1]
            for k in reversed(range(len(Ws))):
                A = As[k + 1]
                dZ = dA * A * (1.0 - A)
                dA = dZ @ Ws[k]
                Ws[k] -= lr * (dZ.T @ As[k])
                if train_bias[k]:
                    bs[k] -= lr * dZ.sum(axis=0)


def prepare(workload) -> Runner:
    state = {}

    def reset():
        state["Ws"] = [layer.W.copy() for layer in workload.layers]
        state["bs"] = [layer.b.copy() for layer in workload.layers]

    def run():
        train(workload.X, workload.Y, state["Ws"], state["bs"],
              [layer.train_bias for layer in workload.layers], workload.lr, workload.epochs,
              workload.shuffle, workload.seed)

    def weights():
        return [a for pair in zip(state["Ws"], state["bs"]) for a in pair]

    return Runner(reset, run, weights)
