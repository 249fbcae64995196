"""The chapter's worked example and its XOR exercise, as data and models."""

from __future__ import annotations

import numpy as np

from minibp.model import Sequential
from minibp.nn import Dense


def chapter_network() -> Sequential:
    """The chapter's 2-2-2 sigmoid network with its initial weights w1..w8.

    Biases start at 0.35 (hidden) and 0.60 (output) and are frozen, as the chapter's code
    never updates them; only w1..w8 learn. Row j of W holds the weights into neuron j:
    model[0].W = [[w1, w2], [w3, w4]], model[1].W = [[w5, w6], [w7, w8]].
    """
    hidden = Dense(2, 2, "sigmoid", W=[[0.15, 0.20], [0.25, 0.30]], b=0.35).freeze("b")
    output = Dense(2, 2, "sigmoid", W=[[0.40, 0.45], [0.50, 0.55]], b=0.60).freeze("b")
    return Sequential(hidden, output)


def chapter_data() -> tuple[np.ndarray, np.ndarray]:
    """The chapter's one sample: inputs (i1, i2) and targets (o1, o2), each of shape (1, 2)."""
    return np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])


def xor_data() -> tuple[np.ndarray, np.ndarray]:
    """The four XOR rows: X of shape (4, 2), Y of shape (4, 1)."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    return X, Y
