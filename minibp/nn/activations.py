"""Elementwise activations in NumPy, and the layers that apply them.

Every activation is written as a pair: ``forward(Z) -> A`` and ``derivative(A) -> dA/dZ``.
The derivative is taken from the *output* A, not the input Z, because each of ours can be
(sigmoid: A * (1 - A), tanh: 1 - A**2, relu: A > 0): a layer then keeps only A for backward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from minibp.layers import Layer


def stable_sigmoid(Z: np.ndarray) -> np.ndarray:
    """A = 1 / (1 + exp(-Z)) without overflow for any finite Z.

    For Z >= 0 this is the textbook formula; for Z < 0 it is the equal exp(Z) / (1 + exp(Z)).
    Both only ever exponentiate -|Z| <= 0, so nothing overflows, and the limits 0 and 1
    come out exactly where the dtype can represent them.
    """
    if not (isinstance(Z, np.ndarray) and Z.dtype.kind == "f"):
        Z = np.asarray(Z)
        Z = Z if Z.dtype.kind == "f" else Z.astype(np.float64)
    with np.errstate(under="ignore"):  # exp(-|z|) reaching 0 is the exact limit, not an error
        E = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1.0 / (1.0 + E), E / (1.0 + E)).astype(Z.dtype, copy=False)


def _sigmoid_derivative(A):
    return A * (1.0 - A)


def _tanh_derivative(A):
    return 1.0 - A * A


def _relu(Z):
    return np.maximum(Z, 0.0)


def _relu_derivative(A):
    return (A > 0).astype(A.dtype)


def _identity(Z):
    return Z


def _identity_derivative(A):
    return np.ones_like(A)


@dataclass(frozen=True)
class Activation:
    """One entry of the activation registry: a name and its NumPy pair."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray], np.ndarray]


ACTIVATIONS = {
    "identity": Activation("identity", _identity, _identity_derivative),
    "sigmoid": Activation("sigmoid", stable_sigmoid, _sigmoid_derivative),
    "tanh": Activation("tanh", np.tanh, _tanh_derivative),
    "relu": Activation("relu", _relu, _relu_derivative),
}


def get_activation(name: str | None) -> Activation:
    """Look up an activation by name; None means "identity"."""
    key = "identity" if name is None else name
    if not isinstance(key, str):
        raise TypeError(f"activation must be a string or None, got {type(name).__name__}")
    try:
        return ACTIVATIONS[key.lower()]
    except KeyError:
        known = ", ".join(repr(k) for k in ACTIVATIONS)
        raise ValueError(f"unknown activation {name!r}; expected one of {known}") from None


class _ActivationLayer(Layer):
    """A = f(Z) elementwise, any width.

    Shapes: Z (batch, n) -> A (batch, n). Keeps A, since dA/dZ is a function of A.
    """

    activation_name = "identity"

    def __init__(self):
        super().__init__()
        self._activation = get_activation(self.activation_name)

    def forward(self, Z: np.ndarray) -> np.ndarray:
        Z = self._check_input(Z)
        self.A = self._activation.forward(Z)
        return self.A

    def backward(self, dA: np.ndarray) -> np.ndarray:
        """dA (batch, n) -> dZ (batch, n)."""
        A = self._saved("A")
        self._check_upstream(dA, A)
        return dA * self._activation.derivative(A)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Sigmoid(_ActivationLayer):
    """A = 1 / (1 + exp(-Z)), computed without overflow. Shapes: (batch, n) -> (batch, n)."""

    activation_name = "sigmoid"


class Tanh(_ActivationLayer):
    """A = tanh(Z). Shapes: (batch, n) -> (batch, n)."""

    activation_name = "tanh"


class ReLU(_ActivationLayer):
    """A = max(Z, 0); its derivative at exactly 0 is taken as 0. Shapes: (batch, n) -> same."""

    activation_name = "relu"


class Identity(_ActivationLayer):
    """A = Z. Shapes: (batch, n) -> (batch, n)."""

    activation_name = "identity"
