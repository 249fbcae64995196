"""SGD with momentum, Nesterov momentum and weight decay, exactly torch.optim.SGD."""

from __future__ import annotations

import numpy as np

from minibp.errors import expect_number
from minibp.nn.layer import Parameter
from minibp.optim.base import Optimizer, Schedule


class SGD(Optimizer):
    """Stochastic gradient descent in PyTorch's convention (dampening 0).

        g = grad + weight_decay * p
        buf = momentum * buf + g                  (with momentum; buf starts at zero, so
        g = g + momentum * buf  if nesterov       the first buf is g, as in torch)
        g = buf                 otherwise
        p = p - lr * g

    Shapes: each parameter's p, grad and buf have one shape. State: ``momentum_buffer`` per
    parameter when momentum > 0. ``l2`` is scikit-learn's alpha (see Optimizer.l2_penalty),
    added to the loss by the engine; weight_decay is torch's, added to the gradient here.
    """

    def __init__(self, lr: float | Schedule = 0.01, momentum: float = 0.0, *,
                 nesterov: bool = False, weight_decay: float = 0.0, l2: float = 0.0):
        super().__init__(lr, l2=l2)
        self.momentum = expect_number(momentum, "momentum", "SGD", least=0.0, below=1.0)
        self.weight_decay = expect_number(weight_decay, "weight_decay", "SGD", least=0.0)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"SGD: nesterov must be True or False, got {nesterov!r}")
        if nesterov and not self.momentum:
            raise ValueError("SGD: nesterov=True needs momentum > 0, got momentum=0.0; "
                             "pass e.g. momentum=0.9")
        self.nesterov = bool(nesterov)

    @property
    def state_names(self) -> tuple[str, ...]:
        return ("momentum_buffer",) if self.momentum else ()

    def update(self, p: Parameter, lr: float) -> None:
        """p.value -= lr * g, with g as in the class docstring; p.value stays the same array."""
        g = p.grad
        if self.weight_decay:
            g = g + self.weight_decay * p.value
        if self.momentum:
            buf = self.state(p)["momentum_buffer"]
            buf *= self.momentum
            buf += g
            g = g + self.momentum * buf if self.nesterov else buf
        p.value -= lr * g

    def velocity(self, p: Parameter) -> np.ndarray:
        """The momentum buffer of one parameter (zeros before its first update); without
        momentum there is no buffer, and this is a fresh array of zeros."""
        if not self.momentum:
            return np.zeros_like(p.value)
        return self.state(p)["momentum_buffer"]

    def settings(self) -> list[str]:
        """momentum, nesterov and weight_decay, where not their defaults."""
        shown_settings = [f"momentum={self.momentum!r}"] if self.momentum else []
        if self.nesterov:
            shown_settings.append("nesterov=True")
        if self.weight_decay:
            shown_settings.append(f"weight_decay={self.weight_decay!r}")
        return shown_settings
