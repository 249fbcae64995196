"""What gradcheck found: one TensorCheck per tensor, a GradcheckReport over all of them.

A check compares an analytic derivative a (from backward) with a numeric one n (from central
differences) and passes when

    |a - n| <= atol + rtol * |n|

The relative error shown beside it is |a - n| / max(|a|, |n|, tiny), for reading only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from minibp.check.report_text import (
    culprit_lines,
    failure_line,
    failure_message,
    format_index,
    format_table,
    noise_lines,
)

TINY = np.finfo(np.float64).tiny
SKIP_EXAMPLES = 3  # skipped coordinates described per tensor


class GradcheckError(AssertionError):
    """A gradient disagreed with its finite-difference estimate; ``report`` says where."""

    def __init__(self, report: GradcheckReport):
        super().__init__(failure_message(report))
        self.report = report


@dataclass
class TensorCheck:
    """The checks of one tensor (a parameter such as ``model[0].W``, or the input).

    ``checked`` counts coordinates (modes "full" and "sample") or random directions plus any
    coordinate re-checked after a failing direction (mode "fast"). ``screened`` counts the
    random directions over the tensor that mode "sample" compares besides (a screen: one
    that disagrees is narrowed down to a coordinate, and only coordinates fail). ``worst``
    is the check furthest beyond its tolerance: an index tuple, or "dir 2" for a direction.
    ``failing`` lists the indices of the coordinates that failed, in the order found.
    """

    name: str
    shape: tuple
    frozen: bool = False
    checked: int = 0
    failed: int = 0
    skipped: int = 0
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    worst: tuple | str | None = None
    analytic: float = math.nan
    numeric: float = math.nan
    problem: str = ""
    skips: dict[str, list[tuple]] = field(default_factory=dict)  # reason -> indices skipped
    screened: int = 0
    failing: list[tuple] = field(default_factory=list)
    _worst_key: tuple = field(default=(False, -1.0), repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return self.failed == 0 and not self.problem

    def record(self, where, analytic: float, numeric: float, atol: float, rtol: float) -> bool:
        """Add one comparison; returns whether it passed."""
        analytic, numeric = float(analytic), float(numeric)
        diff = abs(analytic - numeric)
        allowed = atol + rtol * abs(numeric)
        ok = diff <= allowed  # False for NaN
        self.checked += 1
        self.failed += not ok
        if not ok and isinstance(where, tuple):
            self.failing.append(tuple(int(i) for i in where))
        self.max_abs_error = _max_keeping_nan(self.max_abs_error, diff)
        rel = diff / max(abs(analytic), abs(numeric), TINY)
        self.max_rel_error = _max_keeping_nan(self.max_rel_error, rel)
        key = (not ok and isinstance(where, tuple), _excess(diff, allowed))
        if key > self._worst_key:
            self._worst_key = key
            self.worst, self.analytic, self.numeric = where, analytic, numeric
        return ok

    def skip(self, index: tuple, reason: str) -> None:
        """Count a coordinate not compared, and why."""
        self.skipped += 1
        self.skips.setdefault(reason, []).append(index)

    def skip_lines(self) -> list[str]:
        """One line per reason: 'skipped layer.b[0], [2] and 3 more: <reason>'."""
        lines = []
        for reason, indices in self.skips.items():
            shown = ", ".join(format_index(i) for i in indices[:SKIP_EXAMPLES])
            hidden = len(indices) - SKIP_EXAMPLES
            more = f" and {hidden} more" if hidden > 0 else ""
            lines.append(f"skipped {self.name}{shown}{more}: {reason}")
        return lines


@dataclass
class GradcheckReport:
    """The result of :func:`minibp.gradcheck`: ``passed``, and one TensorCheck per tensor.

    ``report["model[0].W"]`` gives one tensor's checks; ``failed`` lists the names that
    failed; ``culprits`` names, for a failing Sequential, what fails when each layer and the
    loss are checked on their own (the place to look first). ``str(report)`` is a table.
    """

    tensors: list[TensorCheck]
    mode: str
    eps: float
    atol: float
    rtol: float
    target: str = ""
    precision: str = "float64"
    scalar: float = math.nan  # s, the checked scalar, at the unperturbed arrays
    culprits: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.tensors)

    @property
    def failed(self) -> list[str]:
        return [t.name for t in self.tensors if not t.passed]

    @property
    def max_abs_error(self) -> float:
        return max((t.max_abs_error for t in self.tensors), default=0.0)

    def __getitem__(self, name: str) -> TensorCheck:
        for t in self.tensors:
            if t.name == name:
                return t
        names = [t.name for t in self.tensors]
        raise KeyError(f"no tensor {name!r} in this report; it has {names}")

    def __repr__(self) -> str:
        return (f"GradcheckReport(passed={self.passed}, mode={self.mode!r}, "
                f"tensors={len(self.tensors)}, failed={self.failed})")

    def __str__(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [f"gradcheck {verdict}: {self.target}",
                 f"{self.precision}, mode {self.mode}, eps {self.eps:g}, s = {self.scalar:.6g}",
                 f"a check passes when |analytic - numeric| <= {self.atol:g} + {self.rtol:g} * "
                 "|numeric|", ""]
        lines += format_table(self.tensors)
        lines += [line for t in self.tensors for line in t.skip_lines()]
        lines += [f"FAILED {failure_line(t, self.atol, self.rtol)}"
                  for t in self.tensors if not t.passed]
        lines += culprit_lines(self) + noise_lines(self)
        return "\n".join(lines)


@dataclass
class EpsSweep:
    """Largest |analytic - numeric| over every checked coordinate, for each eps."""

    eps: list[float]
    max_abs_error: list[float]
    default_eps: float

    @property
    def best_eps(self) -> float:
        return self.eps[int(np.nanargmin(self.max_abs_error))]

    def __str__(self) -> str:
        """One row per eps with a bar as long as log10 of the error: the V is the trade-off."""
        lines = ["eps      max |analytic - numeric|"]
        for eps, error in zip(self.eps, self.max_abs_error):
            bar = "#" * max(0, round(2 * (17 + math.log10(error)))) if error > 0 else "(exact)"
            mark = "  <- smallest" if eps == self.best_eps else ""
            mark += "  (default eps)" if eps == self.default_eps else ""
            lines.append(f"{eps:<8.0e} {error:8.1e}  {bar}{mark}")
        return "\n".join(lines)


def _excess(diff: float, allowed: float) -> float:
    """How far beyond its tolerance a difference is (inf for NaN or a zero tolerance)."""
    if math.isnan(diff):
        return math.inf
    if allowed == 0:
        return math.inf if diff > 0 else 0.0
    return diff / allowed


def _max_keeping_nan(current: float, new: float) -> float:
    return new if math.isnan(new) or new > current else current
