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

TINY = np.finfo(np.float64).tiny
MACHEPS = np.finfo(np.float64).eps
SKIP_EXAMPLES = 3  # skipped coordinates described per tensor
NOISE_FACTOR = 10  # failures within this many times the rounding noise of s get a warning


class GradcheckError(AssertionError):
    """A gradient disagreed with its finite-difference estimate; ``report`` says where."""

    def __init__(self, report: GradcheckReport):
        super().__init__(failure_message(report))
        self.report = report


@dataclass
class TensorCheck:
    """The checks of one tensor (a parameter such as ``model[0].W``, or the input).

    ``checked`` counts coordinates (modes "full" and "sample") or random directions plus any
    coordinate re-checked after a failing direction (mode "fast"). ``worst`` is the check
    furthest beyond its tolerance: an index tuple, or "dir 2" for a direction.
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


# -- formatting ---------------------------------------------------------------------------------
HEADER = ("tensor", "shape", "checked", "skipped", "max abs err", "max rel err", "worst",
          "analytic", "numeric", "result")
RIGHT = {"checked", "skipped", "max abs err", "max rel err", "analytic", "numeric"}


def format_table(tensors: list[TensorCheck]) -> list[str]:
    """An aligned text table, one row per tensor."""
    rows = [HEADER] + [_row(t) for t in tensors]
    widths = [max(len(row[c]) for row in rows) for c in range(len(HEADER))]
    return ["  ".join(cell.rjust(w) if HEADER[c] in RIGHT else cell.ljust(w)
                      for c, (cell, w) in enumerate(zip(row, widths))).rstrip()
            for row in rows]


def _row(t: TensorCheck) -> tuple[str, ...]:
    name = f"{t.name} (frozen)" if t.frozen else t.name
    shape = str(tuple(t.shape))
    if t.problem or not t.checked:
        result = "FAIL" if t.problem else "all skipped"
        return (name, shape, "0", str(t.skipped), "-", "-", "-", "-", "-", result)
    result = "ok" if t.passed else f"FAIL {t.failed}/{t.checked}"
    return (name, shape, str(t.checked), str(t.skipped), f"{t.max_abs_error:.1e}",
            f"{t.max_rel_error:.1e}", _where(t.worst), f"{t.analytic:.10g}",
            f"{t.numeric:.10g}", result)


def _where(worst) -> str:
    return "-" if worst is None else worst if isinstance(worst, str) else format_index(worst)


def format_index(index: tuple) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def failure_line(t: TensorCheck, atol: float, rtol: float) -> str:
    """One sentence naming the tensor, where it fails, both values and the tolerance."""
    if t.problem:
        return f"{t.name}: {t.problem}"
    diff, allowed = abs(t.analytic - t.numeric), atol + rtol * abs(t.numeric)
    where = _where(t.worst) if isinstance(t.worst, str) else f"at {_where(t.worst)}"
    text = (f"{t.name} {where}: analytic {t.analytic!r} vs numeric {t.numeric!r}; "
            f"|difference| {diff:.3g} > atol + rtol * |numeric| = "
            f"{atol:g} + {rtol:g} * {abs(t.numeric):.3g} = {allowed:.3g}")
    if isinstance(t.worst, str):
        text += " (no single coordinate found beyond tolerance; mode='full' checks them all)"
    return text


def culprit_lines(report: GradcheckReport) -> list[str]:
    if report.passed or not report.culprits:
        return []
    if report.culprits[0].startswith("engine "):
        return [f"culprit: {report.culprits[0]}: the layers' own backward passes this same "
                "check, so the engine's gradients are the ones that differ."]
    named = ", ".join(_culprit_text(name) for name in report.culprits)
    one = len(report.culprits) == 1
    others = [name for name in report.failed if name not in report.culprits]
    follow = f"; {', '.join(others)} can fail because of {'it' if one else 'them'}"
    return [f"culprit{'' if one else 's'}: {named}, which fail{'s' if one else ''} when checked "
            f"on {'its' if one else 'their'} own{follow if others else ''}."]


def _culprit_text(name: str) -> str:
    part, _, tensor = name.rpartition(".")
    if tensor == "input":
        return f"{name} (the dX {part}.backward returns)"
    if name == "loss.pred":
        return f"{name} (the dLoss/dPred loss.backward returns)"
    return name


def noise_lines(report: GradcheckReport) -> list[str]:
    """A warning when every failure is small enough to be rounding error in s itself."""
    noise = MACHEPS * abs(report.scalar) / report.eps
    worst = max((t.max_abs_error for t in report.tensors if not t.passed), default=0.0)
    if report.passed or not worst <= NOISE_FACTOR * noise or any(t.problem for t in report.tensors):
        return []
    return [f"note: rounding in s alone moves a numeric derivative by about macheps * |s| / eps "
            f"= {noise:.1e}, and every failure here is within {NOISE_FACTOR} times that: they "
            "may be noise. Re-check with inputs of order one, a mean-reduced loss, or a larger "
            "atol (docs/gradcheck.md, 'Choosing eps and the tolerances')."]


def failure_message(report: GradcheckReport) -> str:
    """What GradcheckError says: the first failure in a sentence, then the whole report."""
    first = next(t for t in report.tensors if not t.passed)
    others = [name for name in report.failed if name != first.name]
    text = f"gradcheck failed: {failure_line(first, report.atol, report.rtol)}."
    if others:
        text += f" Also failing: {', '.join(others)}."
    if report.culprits:
        text += f" Culprit: {', '.join(report.culprits)}."
    return f"{text}\n\n{report}"


def _excess(diff: float, allowed: float) -> float:
    """How far beyond its tolerance a difference is (inf for NaN or a zero tolerance)."""
    if math.isnan(diff):
        return math.inf
    if allowed == 0:
        return math.inf if diff > 0 else 0.0
    return diff / allowed


def _max_keeping_nan(current: float, new: float) -> float:
    return new if math.isnan(new) or new > current else current
