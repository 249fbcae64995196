"""The BLAS engine's step after the gradients: scikit-learn's l2, clipping and the
optimizer's update, as the NumPy engine orders them.

The kernels (minibp/engines/kernels/updates.py) work in place on flat views of the layers'
and the optimizer's own arrays, made once per chunk of epochs, so a step creates no array
and switching engines, or saving the optimizer, sees the same state.
"""

from __future__ import annotations

import math

import numpy as np

from minibp.engines import (
    cache_location,  # noqa: F401  (before the kernels: see it)
    update_settings,
)
from minibp.engines.capabilities import OPTIMIZER_CODES, optimizer_code
from minibp.engines.flat import count_steps, learning_rate, state_names
from minibp.engines.kernels import updates  # numba: imported only when the engine runs
from minibp.optim import Adam

NO_WEIGHTS = np.empty(0)  # the kernels' "no sample weights": an empty float64 array
ADAM = OPTIMIZER_CODES[Adam]


def flat_view(array: np.ndarray) -> np.ndarray:
    """array as 1-D without copying (a ValueError if it cannot be: an update to a copy would
    be lost)."""
    return np.reshape(array, -1, copy=False)


class Updater:
    """l2, clipping and the update of one fit's trainable parameters, over flat views.

    ``views`` holds per trainable parameter (value, grad, state0, state1, block): the
    optimizer's state arrays in its state_names order (empty where it keeps fewer), and
    block = [[0, size, is_matrix]], the one range the kernels cover.
    """

    def __init__(self, layers, optimizer, clip_norm: float | None):
        self.parameters = [p for layer in layers for p in layer.parameters()]
        self.optimizer, self.clip_norm = optimizer, clip_norm
        self.refresh()

    def refresh(self) -> None:
        """Views and settings afresh: which parameters train, lr_scale and the like may have
        changed between chunks (a callback)."""
        optimizer, empty = self.optimizer, np.empty(0, self.parameters[0].value.dtype)
        self.settings = update_settings.settings(optimizer, self.clip_norm)
        self.adam = optimizer_code(optimizer) == ADAM
        self.grads = [flat_view(p.grad) for p in self.parameters]  # frozen too: the guard's
        self.frozen = [flat_view(p.grad) for p in self.parameters if p.frozen]
        self.views = []
        for p in self.parameters:
            if p.frozen:
                continue
            state = [flat_view(optimizer.state(p)[name]) for name in state_names(optimizer)]
            state += [empty] * (2 - len(state))
            block = np.array([[0, p.value.size, p.value.ndim >= 2]], np.int64)
            self.views.append((flat_view(p.value), flat_view(p.grad), *state, block))

    def penalize(self, value: float, norm2: float, rows: int) -> tuple[float, float]:
        """scikit-learn's l2 (Optimizer.l2_penalty): the batch loss plus the penalty, and
        the squared norm of the gradients it changed, summed anew (all parameters')."""
        l2 = self.optimizer.l2
        if not l2:
            return value, norm2
        total = sum(updates.l2_penalty(v, g, block, l2, rows)
                    for v, g, _, _, block in self.views if block[0, 2])
        norm2 = sum(updates.sum_of_squares(g) for g in self.grads)
        return value + 0.5 * l2 * total / rows, norm2

    def gradient_norm2(self) -> float:
        """The squared norm of every gradient, frozen parameters' too, summed in float64."""
        return sum(updates.sum_of_squares(g) for g in self.grads)

    def guard_norm2(self) -> float:
        """What the divergence guard must see of the gradients before the update: finite
        exactly when the gradients it cannot leave to the update are. The update kernels
        report a non-finite value, and a non-finite gradient makes the value it updates
        non-finite (p - lr * g, Adam's v), so only the frozen parameters' gradients, which
        nothing updates, are summed; and all of them when clipping, which needs their norm
        before the update (clip reuses it). With l2, penalize sums them all anyway: 0.0."""
        if self.optimizer.l2:
            return 0.0
        if self.clip_norm is not None:
            return self.gradient_norm2()
        if not self.frozen:
            return 0.0
        return sum(updates.sum_of_squares(g) for g in self.frozen)

    def clip(self, norm2: float) -> None:
        """torch's clip_grad_norm_ over the trainable parameters, in place; ``norm2`` the
        squared norm of every gradient (guard_norm2 or penalize), their norm when none is
        frozen."""
        if self.clip_norm is None:
            return
        if self.frozen:
            norm2 = sum(updates.sum_of_squares(g) for _, g, _, _, _ in self.views)
        norm = math.sqrt(norm2)
        scale = self.clip_norm / (norm + 1e-6)
        if scale < 1.0:
            with np.errstate(under="ignore"):  # a tiny gradient scaled down: its answer
                for _, g, _, _, _ in self.views:
                    np.multiply(g, scale, out=g)

    def update(self) -> bool:
        """One step of the optimizer at its current lr, then its step count + 1. Returns
        whether every value it wrote is finite (if not, the caller restores a snapshot)."""
        optimizer, settings = self.optimizer, self.settings
        lr = learning_rate(optimizer)
        finite = True
        if self.adam:
            t = float(optimizer.steps + 1)
            for value, grad, m, v, block in self.views:
                finite &= updates.adam_update(value, grad, m, v, block, lr, t, settings)
        else:
            for value, grad, buf, _, block in self.views:
                finite &= updates.sgd_update(value, grad, buf, block, lr, settings)
        count_steps(optimizer, 1)
        return finite

    def snapshot(self) -> list:
        """Copies of what update() changes: each trained value and its state, and the
        optimizer's step count; restore(snapshot) puts them back in place."""
        return [self.optimizer.steps] + [[a.copy() for a in view[:1] + view[2:4]]
                                         for view in self.views]

    def restore(self, snapshot: list) -> None:
        self.optimizer.steps = snapshot[0]
        for view, saved in zip(self.views, snapshot[1:]):
            for array, copy in zip(view[:1] + view[2:4], saved):
                array[...] = copy
