"""The workloads every competitor runs: the same network, weights, data and order for all.

A Workload is plain data (arrays and numbers), so it pickles into the worker processes.
The initial weights are copied out of the minibp model the workload names, so minibp and
every competitor start from the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

XOR_SEED = 0
FULL_STEPS = 10_000
QUICK_STEPS = 1_000


@dataclass(frozen=True)
class Layer:
    """One sigmoid Dense layer's starting point: W (out, in), b (out,), whether b learns."""

    W: np.ndarray
    b: np.ndarray
    train_bias: bool


@dataclass(frozen=True)
class Workload:
    """Single-sample SGD on a sigmoid MLP with 1/2 squared error.

    X (n, in), Y (n, out). Each epoch visits all n rows once, in order
    (shuffle=False) or in ``rng.permutation(n)`` order from one
    ``numpy.random.default_rng(seed)`` made at the start (shuffle=True).
    """

    key: str
    title: str
    X: np.ndarray
    Y: np.ndarray
    layers: tuple[Layer, ...]
    lr: float
    epochs: int
    shuffle: bool
    seed: int | None

    @property
    def steps(self) -> int:
        return self.epochs * self.X.shape[0]

    def minibp_model(self):
        """A fresh minibp model with this workload's initial weights (built as a user would)."""
        from minibp import examples, mlp

        if self.key == "W1":
            return examples.chapter_network()
        return mlp([2, 5, 1], "sigmoid", "sigmoid", init="uniform01", seed=XOR_SEED)

    def initial_weights(self) -> list[np.ndarray]:
        """[W, b] of every layer, copies, in layer order."""
        return [a.copy() for layer in self.layers for a in (layer.W, layer.b)]


def chapter_workload(steps: int = FULL_STEPS) -> Workload:
    """W1: the chapter's 2-2-2 example, one sample, ``steps`` epochs of one step, no shuffle."""
    from minibp import examples

    X, Y = examples.chapter_data()
    return _from_model("W1", f"the chapter's 2-2-2 example, {steps:,} single-sample steps",
                       examples.chapter_network(), X, Y, epochs=steps, shuffle=False,
                       seed=None)


def xor_workload(steps: int = FULL_STEPS) -> Workload:
    """W2: XOR on 2-5-1, biases trained, ``steps`` single-sample steps in shuffled epochs."""
    from minibp import examples, mlp

    X, Y = examples.xor_data()
    if steps % X.shape[0]:
        raise ValueError(f"W2: steps must be a multiple of {X.shape[0]}, got {steps}")
    model = mlp([2, 5, 1], "sigmoid", "sigmoid", init="uniform01", seed=XOR_SEED)
    epochs = steps // X.shape[0]
    return _from_model("W2", f"XOR 2-5-1, {steps:,} single-sample steps "
                       f"({epochs:,} shuffled epochs)", model, X, Y, epochs=epochs,
                       shuffle=True, seed=XOR_SEED)


WORKLOADS = {"W1": chapter_workload, "W2": xor_workload}


def build(key: str, steps: int = FULL_STEPS) -> Workload:
    if key not in WORKLOADS:
        raise ValueError(f"unknown workload {key!r}; expected one of {sorted(WORKLOADS)}")
    return WORKLOADS[key](steps)


def _from_model(key, title, model, X, Y, *, epochs, shuffle, seed) -> Workload:
    layers = []
    for layer in model:
        frozen = {p.name for p in layer.parameters() if p.frozen}
        layers.append(Layer(layer.W.copy(), layer.b.copy(), train_bias="b" not in frozen))
    return Workload(key, title, np.array(X, dtype=np.float64), np.array(Y, dtype=np.float64),
                    tuple(layers), lr=0.5, epochs=epochs, shuffle=shuffle, seed=seed)
