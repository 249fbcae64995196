"""Optimizers: update parameter values in place from their gradients.

``Optimizer`` (base.py) holds the learning rate, the step counter, the per-parameter state
and scikit-learn's L2 penalty; ``SGD`` (sgd.py) and ``Adam``/``AdamW`` (adam.py) are
torch.optim's rules in NumPy, the reference the compiled engines are held to; schedules.py
has learning-rate schedules. ``get_optimizer`` turns a name into an optimizer.
"""

from __future__ import annotations

from minibp.errors import shown
from minibp.optim.adam import Adam, AdamW
from minibp.optim.base import Optimizer
from minibp.optim.schedules import CosineDecay, ExponentialDecay, StepDecay
from minibp.optim.sgd import SGD

OPTIMIZER_NAMES = {
    "sgd": lambda: SGD(),
    "momentum": lambda: SGD(momentum=0.9),
    "adam": lambda: Adam(),
    "adamw": lambda: AdamW(),
}


def get_optimizer(value) -> Optimizer:
    """An Optimizer instance as it is; a name ('sgd', 'momentum' = SGD(momentum=0.9),
    'adam', 'adamw') as a new optimizer with default settings."""
    if isinstance(value, Optimizer):
        return value
    names = ", ".join(repr(name) for name in OPTIMIZER_NAMES)
    if isinstance(value, str):
        if value not in OPTIMIZER_NAMES:
            raise ValueError(f"optimizer must be one of {names}, got {value!r}")
        return OPTIMIZER_NAMES[value]()
    if isinstance(value, type) and issubclass(value, Optimizer):
        raise TypeError(f"optimizer: got the class {value.__name__}; pass an instance, "
                        f"e.g. {value.__name__}()")
    raise TypeError(f"optimizer must be an Optimizer or one of {names}, got {shown(value)}")


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "StepDecay", "CosineDecay", "ExponentialDecay",
           "get_optimizer", "OPTIMIZER_NAMES"]
