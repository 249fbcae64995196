"""The text of a gradcheck report: the aligned table, failure sentences, culprits, notes.

t is a TensorCheck and report a GradcheckReport (minibp.check.report) throughout.
"""

from __future__ import annotations

import numpy as np

MACHEPS = np.finfo(np.float64).eps
NOISE_FACTOR = 10  # failures within this many times the rounding noise of s get a warning

HEADER = ("tensor", "shape", "checked", "skipped", "max abs err", "max rel err", "worst",
          "analytic", "numeric", "result")
RIGHT = {"checked", "skipped", "max abs err", "max rel err", "analytic", "numeric"}


def format_table(tensors) -> list[str]:
    """An aligned text table, one row per tensor."""
    rows = [HEADER] + [_row(t) for t in tensors]
    widths = [max(len(row[c]) for row in rows) for c in range(len(HEADER))]
    return ["  ".join(cell.rjust(w) if HEADER[c] in RIGHT else cell.ljust(w)
                      for c, (cell, w) in enumerate(zip(row, widths))).rstrip()
            for row in rows]


def _row(t) -> tuple[str, ...]:
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


def failure_line(t, atol: float, rtol: float) -> str:
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


def culprit_lines(report) -> list[str]:
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


def noise_lines(report) -> list[str]:
    """A warning when every failure is small enough to be rounding error in s itself."""
    noise = MACHEPS * abs(report.scalar) / report.eps
    worst = max((t.max_abs_error for t in report.tensors if not t.passed), default=0.0)
    if report.passed or not worst <= NOISE_FACTOR * noise or any(t.problem for t in report.tensors):
        return []
    return [f"note: rounding in s alone moves a numeric derivative by about macheps * |s| / eps "
            f"= {noise:.1e}, and every failure here is within {NOISE_FACTOR} times that: they "
            "may be noise. Re-check with inputs of order one, a mean-reduced loss, or a larger "
            "atol (docs/gradcheck.md, 'Choosing eps and the tolerances')."]


def failure_message(report) -> str:
    """What GradcheckError says: the first failure in a sentence, then the whole report."""
    first = next(t for t in report.tensors if not t.passed)
    others = [name for name in report.failed if name != first.name]
    text = f"gradcheck failed: {failure_line(first, report.atol, report.rtol)}."
    if others:
        text += f" Also failing: {', '.join(others)}."
    if report.culprits:
        text += f" Culprit: {', '.join(report.culprits)}."
    return f"{text}\n\n{report}"
