"""Elementwise activations in NumPy: one layer class each, registered by name.

Every activation is written as a pair: ``function(Z) -> A`` and ``derivative(A) -> dA/dZ``.
The derivative is taken from the *output* A, not the input Z, because each of ours can be
(sigmoid: A * (1 - A), tanh: 1 - A**2, relu: A > 0): a layer then keeps only A for backward.
Dense(..., activation="tanh") fuses the registered class's pair into its own forward.
"""

from __future__ import annotations

import numpy as np

from minibp.errors import expect_choice, shown
from minibp.nn.layer import Layer


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


class ActivationLayer(Layer):
    """A = f(Z) elementwise, any width.

    Shapes: Z (batch, n) -> A (batch, n). Keeps A, since dA/dZ is a function of A.

    A subclass gives ``name``, ``function(Z) -> A`` and ``derivative(A) -> dA/dZ`` (both
    static); :func:`register_activation` then makes the name usable in ``Dense(...,
    activation=name)``. ``kink_at_zero`` marks a derivative that jumps at Z = 0, which the
    gradient checker must not step across.
    """

    name = "identity"
    kink_at_zero = False

    @staticmethod
    def function(Z: np.ndarray) -> np.ndarray:
        return Z

    @staticmethod
    def derivative(A: np.ndarray) -> np.ndarray:
        return np.ones_like(A)

    def forward(self, Z: np.ndarray) -> np.ndarray:
        Z = self.check_input(Z)
        self.A = self.function(Z)
        return self.A

    def infer(self, Z: np.ndarray) -> np.ndarray:
        """forward without keeping A (predict)."""
        return self.function(self.check_input(Z))

    def backward(self, dA: np.ndarray) -> np.ndarray:
        """dA (batch, n) -> dZ (batch, n)."""
        A = self._saved("A")
        self._check_upstream(dA, A)
        with np.errstate(under="ignore"):  # a tiny dA times a tiny slope: 0 is the answer
            return dA * self.derivative(A)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Identity(ActivationLayer):
    """A = Z. Shapes: (batch, n) -> (batch, n)."""

    name = "identity"


class Sigmoid(ActivationLayer):
    """A = 1 / (1 + exp(-Z)), computed without overflow; dA/dZ = A * (1 - A).

    Shapes: (batch, n) -> (batch, n).
    """

    name = "sigmoid"
    function = staticmethod(stable_sigmoid)

    @staticmethod
    def derivative(A: np.ndarray) -> np.ndarray:
        return A * (1.0 - A)


class Tanh(ActivationLayer):
    """A = tanh(Z); dA/dZ = 1 - A**2. Shapes: (batch, n) -> (batch, n)."""

    name = "tanh"
    function = staticmethod(np.tanh)

    @staticmethod
    def derivative(A: np.ndarray) -> np.ndarray:
        with np.errstate(under="ignore"):  # A * A of a tiny A (tanh(z) ~ z near 0) is 0
            return 1.0 - A * A


class ReLU(ActivationLayer):
    """A = max(Z, 0); dA/dZ = [A > 0], so the derivative at exactly 0 is taken as 0.

    Shapes: (batch, n) -> (batch, n).
    """

    name = "relu"
    kink_at_zero = True

    @staticmethod
    def function(Z: np.ndarray) -> np.ndarray:
        return np.maximum(Z, 0.0)

    @staticmethod
    def derivative(A: np.ndarray) -> np.ndarray:
        return (A > 0).astype(A.dtype)

    def gradcheck_kinks(self) -> np.ndarray:
        """Values whose sign changes where the derivative jumps: A is 0 on one side of the
        kink and positive on the other."""
        return self._saved("A")


# The activations usable by name, e.g. Dense(2, 3, "tanh"). One entry per class.
ACTIVATIONS: dict[str, type[ActivationLayer]] = {
    cls.name: cls for cls in (Identity, Sigmoid, Tanh, ReLU)
}


def register_activation(cls: type[ActivationLayer]) -> type[ActivationLayer]:
    """Make an ActivationLayer subclass usable by its ``name`` in Dense; returns it, so it
    can decorate the class. Such an activation runs on the NumPy engine; the compiled ones
    refuse it, saying why, and engine="auto" falls back to NumPy."""
    if not (isinstance(cls, type) and issubclass(cls, ActivationLayer)):
        raise TypeError(f"register_activation: cls must be an ActivationLayer subclass, "
                        f"got {shown(cls)}")
    if not isinstance(cls.name, str) or not cls.name:
        raise TypeError(f"register_activation: {cls.__name__}.name must be a non-empty "
                        f"string, got {shown(cls.name)}")
    key = cls.name.lower()
    taken = ACTIVATIONS.get(key)
    if taken is not None and taken is not cls:
        raise ValueError(f"register_activation: {cls.__name__}.name must be a name not yet "
                         f"taken, got {key!r} (registered to {taken.__name__})")
    ACTIVATIONS[key] = cls
    return cls


def get_activation(name: str | None, who: str = "Dense") -> type[ActivationLayer]:
    """The activation class registered under ``name`` (any case); None means identity."""
    key = "identity" if name is None else name
    if not isinstance(key, str):
        raise TypeError(f"{who}: activation must be a string or None, got {shown(name)}")
    return ACTIVATIONS[expect_choice(key.lower(), "activation", who, list(ACTIVATIONS))]
