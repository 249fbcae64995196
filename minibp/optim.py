"""Optimizers: update parameter values in place from their gradients."""

from __future__ import annotations

import numpy as np

from minibp.errors import expect_number
from minibp.nn.layer import Parameter


class SGD:
    """Stochastic gradient descent with optional momentum, in PyTorch's convention.

    Without momentum: p -= lr * g. With momentum mu: v = mu * v + g; p -= lr * v, the
    velocity v starting at zero, so results match ``torch.optim.SGD(lr=lr, momentum=mu)``.
    Frozen parameters are skipped (their velocity does not move either).
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.0):
        self.lr = expect_number(lr, "lr", "SGD", least=0.0)
        self.momentum = expect_number(momentum, "momentum", "SGD", least=0.0, below=1.0)
        # id(value) -> (value, velocity); holding value keeps its id from being reused.
        self._velocity: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def step(self, parameters: list[Parameter]) -> None:
        """Apply one update to every parameter that is not frozen."""
        for p in parameters:
            if p.frozen:
                continue
            if self.momentum:
                v = self.velocity(p)
                v *= self.momentum
                v += p.grad
                p.value -= self.lr * v
            else:
                p.value -= self.lr * p.grad

    def velocity(self, p: Parameter) -> np.ndarray:
        """The momentum buffer of one parameter (zeros before its first update)."""
        key = id(p.value)
        if key not in self._velocity:
            self._velocity[key] = (p.value, np.zeros_like(p.value))
        return self._velocity[key][1]

    def __repr__(self) -> str:
        extra = f", momentum={self.momentum}" if self.momentum else ""
        return f"SGD(lr={self.lr}{extra})"

