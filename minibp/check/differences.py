"""Central and directional differences: the numeric side of every gradient check.

Each perturbs the checked copy's own array in place and restores it exactly, even on error.
"""

from __future__ import annotations

import numpy as np

from minibp.check.scalar import CheckedScalar


def central_difference(scalar: CheckedScalar, array: np.ndarray, index: tuple,
                       eps: float) -> tuple[float, str | None]:
    """(s(x + eps) - s(x - eps)) / step at array[index], and the kink crossed (None if none).

    The coordinate is set in place and its saved value put back exactly, even on error. step
    is (x + eps) - (x - eps) as float64 stores it, a hair from 2 * eps when |x| is large.
    """
    old = array[index]
    try:
        array[index] = old + eps
        plus, plus_sides = scalar(), scalar.kink_sides()
        array[index] = old - eps
        minus, minus_sides = scalar(), scalar.kink_sides()
    finally:
        array[index] = old
    step = (old + eps) - (old - eps)
    return float((plus - minus) / step), scalar.crossed_kink(plus_sides, minus_sides)


def directional_difference(scalar: CheckedScalar, array: np.ndarray, direction, eps: float,
                           where=Ellipsis) -> tuple[float, np.ndarray, str | None]:
    """(s(x + eps d) - s(x - eps d)) / (2 eps) for x = array[where] and d = direction, with
    the direction as actually stepped (to project the analytic gradient on) and the kink
    crossed. array[where] is set in place and restored exactly, even on error."""
    saved = array[where].copy()
    try:
        array[where] = saved + eps * direction
        stepped = array[where].copy()
        plus, plus_sides = scalar(), scalar.kink_sides()
        array[where] = saved - eps * direction
        stepped -= array[where]
        minus, minus_sides = scalar(), scalar.kink_sides()
    finally:
        array[where] = saved
    crossed = scalar.crossed_kink(plus_sides, minus_sides)
    return float((plus - minus) / (2 * eps)), stepped / (2 * eps), crossed
