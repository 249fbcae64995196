"""Learning-rate schedules: callables step -> lr, where step counts the updates taken before
this one (0 at the first).

Pass one as an optimizer's lr: ``SGD(lr=CosineDecay(0.1, total_steps=1000))``. Any other
callable of the step works too; these three also carry ``code`` and ``params``, the plain
numbers a compiled engine needs to evaluate them without calling back into Python.
"""

from __future__ import annotations

import math

from minibp.errors import expect_int, expect_number


class StepDecay:
    """lr(step) = lr * gamma ** (step // step_size): times gamma every step_size steps, as
    torch.optim.lr_scheduler.StepLR."""

    code = 1

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1):
        self.lr = expect_number(lr, "lr", "StepDecay", least=0.0)
        self.step_size = expect_int(step_size, "step_size", "StepDecay", least=1)
        self.gamma = expect_number(gamma, "gamma", "StepDecay", above=0.0)

    @property
    def params(self) -> tuple[float, float, float]:
        return (self.lr, float(self.step_size), self.gamma)

    def __call__(self, step: int) -> float:
        return self.lr * self.gamma ** (step // self.step_size)

    def __repr__(self) -> str:
        return f"StepDecay(lr={self.lr!r}, step_size={self.step_size}, gamma={self.gamma!r})"


class CosineDecay:
    """lr(step) = final_lr + 0.5 * (lr - final_lr) * (1 + cos(pi * min(step, T) / T)), with
    T = total_steps: from lr down to final_lr (reached at step T, then held), as
    torch.optim.lr_scheduler.CosineAnnealingLR(T_max=T, eta_min=final_lr) up to step T."""

    code = 2

    def __init__(self, lr: float, total_steps: int, final_lr: float = 0.0):
        self.lr = expect_number(lr, "lr", "CosineDecay", least=0.0)
        self.total_steps = expect_int(total_steps, "total_steps", "CosineDecay", least=1)
        self.final_lr = expect_number(final_lr, "final_lr", "CosineDecay", least=0.0)

    @property
    def params(self) -> tuple[float, float, float]:
        return (self.lr, float(self.total_steps), self.final_lr)

    def __call__(self, step: int) -> float:
        angle = math.pi * min(step, self.total_steps) / self.total_steps
        return self.final_lr + 0.5 * (self.lr - self.final_lr) * (1 + math.cos(angle))

    def __repr__(self) -> str:
        final = f", final_lr={self.final_lr!r}" if self.final_lr else ""
        return f"CosineDecay(lr={self.lr!r}, total_steps={self.total_steps}{final})"


class ExponentialDecay:
    """lr(step) = lr * gamma ** step: times gamma every step, as
    torch.optim.lr_scheduler.ExponentialLR."""

    code = 3

    def __init__(self, lr: float, gamma: float):
        self.lr = expect_number(lr, "lr", "ExponentialDecay", least=0.0)
        self.gamma = expect_number(gamma, "gamma", "ExponentialDecay", above=0.0)

    @property
    def params(self) -> tuple[float, float]:
        return (self.lr, self.gamma)

    def __call__(self, step: int) -> float:
        return self.lr * self.gamma**step

    def __repr__(self) -> str:
        return f"ExponentialDecay(lr={self.lr!r}, gamma={self.gamma!r})"
