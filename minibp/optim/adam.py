"""Adam and AdamW, exactly torch.optim.Adam and torch.optim.AdamW (amsgrad off)."""

from __future__ import annotations

import numpy as np

from minibp.errors import expect_number, shown
from minibp.nn.layer import Parameter
from minibp.optim.base import Optimizer, Schedule


class Adam(Optimizer):
    """Adam (Kingma and Ba), in torch's order of operations, at step t = steps + 1:

        g = grad + weight_decay * p               (AdamW instead: p = p * (1 - lr * wd))
        m = b1 * m + (1 - b1) * g                 computed as torch's lerp(m, g, 1 - b1)
        v = b2 * v + (1 - b2) * g * g
        step_size = lr / (1 - b1**t)
        denom = sqrt(v) / sqrt(1 - b2**t) + eps
        p = p - step_size * m / denom

    Shapes: each parameter's p, grad, m and v have one shape. State: ``exp_avg`` (m) and
    ``exp_avg_sq`` (v) per parameter, zeros at first. t counts this optimizer's steps, so a
    parameter frozen for a while resumes at the global t (torch counts t per parameter).
    """

    state_names = ("exp_avg", "exp_avg_sq")
    decoupled = False  # AdamW decays the weights directly rather than through the gradient
    default_weight_decay = 0.0  # for the repr, which shows settings that differ

    def __init__(self, lr: float | Schedule = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, *, l2: float = 0.0):
        super().__init__(lr, l2=l2)
        who = type(self).__name__
        self.betas = expect_betas(betas, who)
        self.eps = expect_number(eps, "eps", who, least=0.0)
        self.weight_decay = expect_number(weight_decay, "weight_decay", who, least=0.0)

    def update(self, p: Parameter, lr: float) -> None:
        """One Adam step of p.value in place (class docstring), p.value staying one array."""
        beta1, beta2 = self.betas
        g = p.grad
        if self.weight_decay:
            if self.decoupled:
                p.value *= 1 - lr * self.weight_decay
            else:
                g = g + self.weight_decay * p.value
        state = self.state(p)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        lerp_(m, g, 1 - beta1)
        v *= beta2
        v += (1 - beta2) * g * g
        t = self.steps + 1
        step_size = lr / (1 - beta1**t)
        denom = np.sqrt(v) / (1 - beta2**t) ** 0.5 + self.eps
        p.value += (-step_size * m) / denom  # torch's addcdiv: p + (value * m) / denom

    def settings(self) -> list[str]:
        """betas, eps and weight_decay, where not their defaults."""
        shown_settings = []
        if self.betas != (0.9, 0.999):
            shown_settings.append(f"betas={self.betas!r}")
        if self.eps != 1e-8:
            shown_settings.append(f"eps={self.eps!r}")
        if self.weight_decay != self.default_weight_decay:
            shown_settings.append(f"weight_decay={self.weight_decay!r}")
        return shown_settings


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter), exactly torch.optim.AdamW:
    first p = p * (1 - lr * weight_decay), then Adam's step on the plain gradient.
    weight_decay defaults to 1e-2, as in torch."""

    decoupled = True
    default_weight_decay = 1e-2

    def __init__(self, lr: float | Schedule = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, *, l2: float = 0.0):
        super().__init__(lr, betas, eps, weight_decay, l2=l2)


def expect_betas(betas, who: str) -> tuple[float, float]:
    """(beta1, beta2), each a number in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"{who}: betas must be a pair (beta1, beta2), got {shown(betas)}")
    return (expect_number(betas[0], "betas[0]", who, least=0.0, below=1.0),
            expect_number(betas[1], "betas[1]", who, least=0.0, below=1.0))


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """start = start + weight * (end - start) in place, as torch's lerp computes it: from
    the nearer end, so weight 1 gives end exactly."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)
