"""The optimizer protocol: a learning rate (a number or a schedule), a step counter, state
arrays per parameter, and scikit-learn's L2 penalty.

A subclass writes ``update(p, lr)``, one parameter's update in place, and names its state
arrays in ``state_names``; the base class does the rest (frozen parameters, the lr of this
step, counting steps).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from minibp.errors import (
    UpdateOverflowError,
    all_finite,
    check_finite,
    expect_number,
    is_number,
    shown,
)
from minibp.nn.layer import Parameter

Schedule = Callable[[int], float]


def expect_lr(lr, who: str) -> float | Schedule:
    """lr as a float >= 0, or a schedule: any callable step -> lr (a class is refused)."""
    if callable(lr) and not isinstance(lr, type):
        return lr
    if not is_number(lr):
        raise TypeError(f"{who}: lr must be a number or a schedule (a callable step -> lr), "
                        f"got {shown(lr)}")
    return expect_number(lr, "lr", who, least=0.0)


class Optimizer:
    """Base class: p.value -= (what the subclass computes) for every non-frozen parameter.

    Attributes: ``lr`` a float or a schedule (callable step -> lr); ``lr_scale`` a factor
    callbacks may set (ReduceLROnPlateau multiplies it); ``steps`` the updates taken so far;
    ``l2`` scikit-learn's alpha (see l2_penalty). State arrays live here, not in the layers,
    keyed by id(p.value) while the array is held, so the id cannot be reused.
    """

    state_names: tuple[str, ...] = ()

    def __init__(self, lr: float | Schedule, *, l2: float = 0.0):
        who = type(self).__name__
        self.lr = expect_lr(lr, who)
        self.l2 = expect_number(l2, "l2", who, least=0.0)
        self.lr_scale = 1.0
        self.steps = 0
        # id(value) -> (value, {state name: array of value's shape})
        self._state: dict[int, tuple[np.ndarray, dict[str, np.ndarray]]] = {}

    # -- the protocol -------------------------------------------------------------------
    def update(self, p: Parameter, lr: float) -> None:
        """One parameter's update of p.value in place, from p.grad, at learning rate lr."""
        raise NotImplementedError

    def step(self, parameters: list[Parameter]) -> None:
        """One update of every parameter that is not frozen (frozen ones keep their value
        and their state), at current_lr(); then steps += 1. A NaN or infinite gradient is
        refused (NonFiniteInputError) before any parameter changes."""
        lr = self.current_lr()
        trained = [p for p in parameters if not p.frozen]
        saved = [[a.copy() for a in self._changed_by_update(p)] for p in trained]
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):  # checked here
            for p in trained:
                self.update(p, lr)
            broken = next((p for p in trained
                           if not all(all_finite(a) for a in self._changed_by_update(p))),
                          None)
        if broken is not None:  # rare: put everything back, then say why
            for p, copies in zip(trained, saved):
                for array, copy in zip(self._changed_by_update(p), copies):
                    array[...] = copy
            for p in trained:  # a NaN or infinite gradient is the caller's to fix
                check_finite(p.grad, f"{p.name}'s gradient", f"{type(self).__name__}.step")
            raise UpdateOverflowError(
                f"{type(self).__name__}.step: the update at lr={lr} would make {broken.name} "
                "or its state infinite or NaN; every parameter was left as it was")
        self.steps += 1

    def _changed_by_update(self, p: Parameter) -> list[np.ndarray]:
        """The arrays update(p) writes: p's value and its state arrays."""
        return [p.value, *self.state(p).values()]

    def current_lr(self) -> float:
        """The lr the next step uses: (lr, or lr(steps) for a schedule) * lr_scale."""
        return self.lr_at(self.steps)

    def lr_at(self, step: int) -> float:
        """The lr of the update made when ``steps`` equals step, at today's lr_scale:
        (lr, or lr(step) for a schedule) * lr_scale. The compiled engines ask it for the
        steps ahead of a schedule they cannot compute themselves."""
        if callable(self.lr):
            base = expect_number(self.lr(step), f"lr({step})", type(self).__name__, least=0.0)
        else:
            base = float(self.lr)
        return base * self.lr_scale

    def state(self, p: Parameter) -> dict[str, np.ndarray]:
        """This optimizer's arrays for p, named by state_names; zeros on first use."""
        return self.state_of(p.value)

    def state_of(self, value: np.ndarray) -> dict[str, np.ndarray]:
        """state(p) by the parameter's array itself, which is what keys it (the compiled
        engines read a layer's arrays without making its Parameter records)."""
        held = self._state.get(id(value))
        if held is None:
            held = (value, {name: np.zeros(value.shape, value.dtype)  # zeros_like: 5x slower
                            for name in self.state_names})
            self._state[id(value)] = held
        return held[1]

    def has_state(self, p: Parameter) -> bool:
        """Whether p's state arrays exist (they are made on p's first update)."""
        return id(p.value) in self._state

    # -- copies: the state follows its arrays -------------------------------------------
    def __getstate__(self) -> dict:
        """For pickle and deepcopy: the state as (array, states) pairs, since the id keys
        mean nothing in another process or copy. Pickled or copied together with its model
        (pickle.dumps((model, optimizer))), the arrays are the model's own again after."""
        state = self.__dict__.copy()
        state["_state"] = list(self._state.values())
        return state

    def __setstate__(self, state: dict) -> None:
        pairs = state.pop("_state")
        self.__dict__.update(state)
        self._state = {id(value): (value, arrays) for value, arrays in pairs}

    # -- scikit-learn's alpha -----------------------------------------------------------
    def l2_penalty(self, parameters: list[Parameter], rows: int) -> float:
        """penalty = 0.5 * l2 * sum(W**2) / rows over the non-frozen weights (ndim >= 2;
        biases excluded), and dW += l2 * W / rows in place: scikit-learn MLP's alpha.

        Called between backward and step; returns the term to add to the batch loss (0.0,
        touching nothing, when l2 is 0).
        """
        if not self.l2:
            return 0.0
        total = 0.0
        for p in parameters:
            if p.frozen or p.value.ndim < 2:
                continue
            W = p.value
            p.grad += self.l2 * W / rows
            total += float(np.vdot(W, W))
        return 0.5 * self.l2 * total / rows

    # -- printing -------------------------------------------------------------------------
    def settings(self) -> list[str]:
        """'name=value' for each of the subclass's settings that differs from its default."""
        return []

    def __repr__(self) -> str:
        shown_settings = [f"lr={self.lr!r}", *self.settings()]
        if self.l2:
            shown_settings.append(f"l2={self.l2!r}")
        return f"{type(self).__name__}({', '.join(shown_settings)})"

