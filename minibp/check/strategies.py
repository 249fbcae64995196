"""How one tensor is checked in each mode, and how a failure is narrowed down to a coordinate.

    full     every coordinate
    sample   k random coordinates, then SCREENS random directions over the whole tensor; a
             direction that disagrees is narrowed down to a coordinate that fails on its own
    fast     k random directions; a failing one narrowed down to the coordinate carrying most
             of its error

A direction d (unit norm, over every coordinate of the tensor) compares the analytic
sum(grad * d) with (s(x + eps d) - s(x - eps d)) / (2 eps). A wrong coordinate i moves it by
its error times d_i, nonzero with probability 1: no coordinate is out of its sight, the way
a coordinate not drawn is out of sampling's. Coordinates are flat indices into the tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minibp.check.differences import central_difference, directional_difference
from minibp.check.report import TensorCheck
from minibp.check.scalar import CheckedScalar
from minibp.check.target import Tensor

SAMPLE_K = 10  # coordinates per tensor in mode "sample" (and after a fast check meets a kink)
FAST_K = 2  # random directions per tensor in mode "fast"
SCREENS = 2  # random directions over the whole tensor in mode "sample"


@dataclass(frozen=True)
class Settings:
    """One check's mode, step, tolerances, and k (coordinates, or directions in "fast")."""

    mode: str
    eps: float
    atol: float
    rtol: float
    k: int


def check_tensor(scalar: CheckedScalar, tensor: Tensor, s: Settings, rng: np.random.Generator,
                 focus=()) -> TensorCheck:
    """One tensor's checks. ``focus``: indices (tuples of tensor.value.ndim ints) compared
    first, whatever the mode: those that failed in an earlier check, so a re-check sees them."""
    check = TensorCheck(tensor.name, tensor.value.shape, frozen=tensor.frozen,
                        problem=tensor.problem)
    if check.problem or tensor.value.size == 0:
        return check
    search = Search(scalar, tensor, check, s)
    shape = tensor.value.shape
    search.coordinates(np.ravel_multi_index(i, shape) for i in focus
                       if len(i) == len(shape) and all(0 <= a < n for a, n in zip(i, shape)))
    if s.mode == "full":
        search.coordinates(range(search.size))
    elif s.mode == "sample":
        sample(search, s.k, rng)
    else:
        fast(search, s.k, rng)
    return check


def sample(search: Search, k: int, rng: np.random.Generator) -> None:
    """k random coordinates; unless a coordinate failed (drawn here, or a focus compared
    before), SCREENS random directions over the whole tensor, the first that disagrees
    narrowed down to a coordinate that fails (see Search.screen)."""
    size = search.size
    search.coordinates(np.sort(rng.choice(size, min(k, size), replace=False)))
    if search.check.failed:  # a coordinate (drawn, or one that failed before) names it
        return
    everything = np.arange(size)
    for _ in range(SCREENS if len(search.done) < size else 0):
        if not search.screen(everything, unit(rng.standard_normal(size))):
            return


def fast(search: Search, k: int, rng: np.random.Generator) -> None:
    """k random directions, each recorded as a check ("dir 1", ...); a failing one narrowed
    down to a coordinate. A direction whose step crosses a kink falls back to sample()."""
    everything, failing = np.arange(search.size), None
    for j in range(k):
        direction = unit(rng.standard_normal(search.size))
        difference = search.direction(everything, direction)
        if difference is None:
            sample(search, SAMPLE_K, rng)
            return
        analytic, numeric = difference
        ok = search.check.record(f"dir {j + 1}", analytic, numeric, search.s.atol, search.s.rtol)
        if not ok and failing is None:
            failing = (direction, analytic - numeric)
    if failing is not None:
        search.coordinates([search.localize(everything, *failing)])


def unit(direction: np.ndarray) -> np.ndarray:
    """direction (m,) scaled to length 1."""
    return direction / np.linalg.norm(direction)


class Search:
    """The checks of one tensor under way: what was compared (``done``, by flat index) and
    the comparisons, coordinate by coordinate or along directions over a set of them.

    A set of coordinates is ``support``, (m,) flat indices into tensor.value; a direction
    over it is ``d``, (m,) floats, d[j] moving coordinate support[j].
    """

    def __init__(self, scalar: CheckedScalar, tensor: Tensor, check: TensorCheck, s: Settings):
        self.scalar, self.tensor, self.check, self.s = scalar, tensor, check, s
        self.size = tensor.value.size
        self.done: dict[int, bool] = {}  # flat index -> passed (or skipped at a kink)

    def coordinates(self, flat) -> bool:
        """Compare each coordinate not compared yet; False if any of them failed (now or
        before). A coordinate at a kink is skipped, and counts as not failing."""
        ok, shape = True, self.tensor.value.shape
        for i in map(int, flat):
            if i not in self.done:
                index = np.unravel_index(i, shape)
                numeric, kink = central_difference(self.scalar, self.tensor.value, index,
                                                   self.s.eps)
                if kink:
                    self.check.skip(index, f"the +/-eps step crosses a kink of {kink}")
                self.done[i] = bool(kink) or self.check.record(
                    index, self.tensor.analytic[index], numeric, self.s.atol, self.s.rtol)
            ok &= self.done[i]
        return ok

    def direction(self, support: np.ndarray, d: np.ndarray) -> tuple[float, float] | None:
        """(analytic, numeric) directional derivatives along d over support; None if the
        step crosses a kink."""
        where = np.unravel_index(support, self.tensor.value.shape)
        numeric, stepped, kink = directional_difference(self.scalar, self.tensor.value, d,
                                                        self.s.eps, where)
        if kink:
            return None
        return float(np.vdot(self.tensor.analytic[where], stepped)), numeric

    def screen(self, support: np.ndarray, d: np.ndarray) -> bool:
        """Compare along d; False once a coordinate that fails on its own is found.

        A disagreeing direction is narrowed down by localize; if the coordinate found passes
        alone (or sits at a kink), every coordinate of the tensor is compared, so a failure
        always names its index. A step across a kink is split in two, each half screened on
        its own, down to single coordinates (compared, or skipped, as in mode "full").
        """
        if support.size == 1:
            return self.coordinates(support)
        difference = self.direction(support, d)
        if difference is None:
            halves = zip(np.array_split(support, 2), np.array_split(d, 2))
            return all(self.screen(part, unit(d_part)) for part, d_part in halves)
        analytic, numeric = difference
        self.check.screened += 1
        if abs(analytic - numeric) <= self.s.atol + self.s.rtol * abs(numeric):
            return True
        if not self.coordinates([self.localize(support, d, analytic - numeric)]):
            return False
        return self.coordinates(range(self.size))

    def localize(self, support: np.ndarray, d: np.ndarray, error: float) -> int:
        """The flat index of the coordinate carrying most of a direction's error: split the
        direction's coordinates in two, measure the first half's error (the second's is the
        rest), keep the larger, until one coordinate is left. Two forwards per halving."""
        analytic, shape = self.tensor.analytic, self.tensor.value.shape
        while support.size > 1:
            cut = (support.size + 1) // 2
            where = np.unravel_index(support[:cut], shape)
            numeric, stepped, _ = directional_difference(self.scalar, self.tensor.value,
                                                         d[:cut], self.s.eps, where)
            first = float(np.vdot(analytic[where], stepped)) - numeric
            if abs(first) >= abs(error - first):
                support, d, error = support[:cut], d[:cut], first
            else:
                support, d, error = support[cut:], d[cut:], error - first
        return int(support[0])
