"""gradcheck: the gradients backward computes, against central differences in float64.

    numeric = (s(x + eps) - s(x - eps)) / (2 * eps)     for one coordinate x of one tensor
    a check passes when |analytic - numeric| <= atol + rtol * |numeric|

s is the scalar of minibp.check.scalar (a loss, or the output against a random
upstream gradient). Why these defaults: the central difference is off by about
eps**2 / 6 * |s'''| (truncation) plus about macheps * |s| / eps (cancellation; macheps is
2.2e-16 in float64), least near eps = 1e-5 for s of order one, where both are ~1e-11. So
atol = 1e-8 stands far above that noise and far below real slips, and rtol = 1e-6 lets the
error grow with the gradient. docs/gradcheck.md works this through, with measurements.
"""

from __future__ import annotations

import numpy as np

from minibp.check.report import EpsSweep, GradcheckError, GradcheckReport
from minibp.check.scalar import prepare
from minibp.check.strategies import FAST_K, SAMPLE_K, Settings, check_tensor
from minibp.check.target import Names, describe, float64_copy, precision
from minibp.errors import expect_choice, expect_int, expect_number
from minibp.model import Sequential

EPS = 1e-5
ATOL = 1e-8
RTOL = 1e-6
MODES = ("full", "sample", "fast")
SWEEP_EPS = tuple(10.0 ** -p for p in range(1, 11))


def gradcheck(target, X, Y=None, *, loss=None, mode: str = "full", eps: float = EPS,
              atol: float = ATOL, rtol: float = RTOL, k: int | None = None, seed=0,
              engine: str | None = None, raise_on_fail: bool = False) -> GradcheckReport:
    """Check every parameter's gradient, and the input's, against central differences.

    Parameters
    ----------
    target : a layer, a Sequential, or a loss
        Anything with forward, backward and parameters; or a loss, checked as d loss / d pred
        with ``gradcheck(loss, pred, Y)``. It is deep-copied and checked in float64; the
        original is never changed, even when the check fails or raises.
    X, Y : arrays
        The batch. Y (with ``loss=``) is the loss's target; without a loss, the scalar is
        sum(G * output) for a seeded random G.
    mode : "full", "sample" or "fast"
        Every coordinate; ``k`` random coordinates per tensor (default 10) and 2 random
        directions over each whole tensor, a disagreeing one narrowed down to a coordinate
        that fails (so a failure always names its index); or ``k`` random directions per
        tensor (default 2), a failing one narrowed down to a coordinate.
    eps, atol, rtol : float
        The step, and the tolerance |analytic - numeric| <= atol + rtol * |numeric|.
    seed : int
        Seeds the decoy batch, G, and the coordinates and directions drawn.
    engine : None, "auto", "numpy", "numba" or "blas"
        None checks the layers' own backward; a name checks ``model.gradients(..., engine=)``.
    raise_on_fail : bool
        Raise GradcheckError (an AssertionError) naming the tensor, index and values.
    """
    settings = _settings(mode, eps, atol, rtol, k)
    report = _run(target, X, Y, loss, settings, seed, engine)
    if not report.passed:
        report.culprits = _culprits(target, X, Y, loss, settings, seed, engine, report)
        if raise_on_fail:
            raise GradcheckError(report)
    return report


def gradcheck_sweep(target, X, Y=None, *, loss=None, eps=SWEEP_EPS, mode: str = "full",
                    k: int | None = None, seed=0, engine: str | None = None,
                    show: bool = True) -> EpsSweep:
    """The largest |analytic - numeric| for each eps (1e-1 down to 1e-10), printed by default.

    Large eps: truncation error, falling as eps**2. Small eps: cancellation error, growing
    as 1 / eps. Plotted on a log scale the two make a V; the default eps sits near its floor.
    """
    errors = []
    for step in eps:
        settings = _settings(mode, step, ATOL, RTOL, k)
        errors.append(_run(target, X, Y, loss, settings, seed, engine).max_abs_error)
    sweep = EpsSweep([float(e) for e in eps], errors, EPS)
    if show:
        print(sweep)
    return sweep


def _settings(mode, eps, atol, rtol, k) -> Settings:
    expect_choice(mode, "mode", "gradcheck", MODES)
    eps = expect_number(eps, "eps", "gradcheck", above=0.0)
    atol = expect_number(atol, "atol", "gradcheck", least=0.0)
    rtol = expect_number(rtol, "rtol", "gradcheck", least=0.0)
    if k is None:
        k = FAST_K if mode == "fast" else SAMPLE_K
    return Settings(mode, eps, atol, rtol, expect_int(k, "k", "gradcheck", least=1))


def _run(target, X, Y, loss, settings: Settings, seed, engine, names: Names | None = None,
         focus: dict[str, list[tuple]] | None = None) -> GradcheckReport:
    """One check, without looking for culprits. ``focus``: tensor name -> indices compared
    first in any mode (the coordinates an earlier check found failing)."""
    focus = focus or {}
    data_seed, pick_seed = np.random.SeedSequence(seed).spawn(2)
    scalar, tensors = prepare(target, X, Y, loss, engine=engine, names=names,
                              rng=np.random.default_rng(data_seed))
    pick = np.random.default_rng(pick_seed)
    checks = [check_tensor(scalar, t, settings, pick, focus.get(t.name, ())) for t in tensors]
    what = describe(target, loss) + (f", engine {engine!r}" if engine else "")
    return GradcheckReport(checks, settings.mode, settings.eps, settings.atol, settings.rtol,
                           target=what, precision=precision(target, X), scalar=scalar.value)


def _culprits(target, X, Y, loss, settings: Settings, seed, engine,
              report: GradcheckReport) -> list[str]:
    """What fails checked on its own: the layers' own backward when an engine failed; each
    layer of a Sequential on the input that reaches it, and its loss on the model's output.
    Each re-check compares first the coordinates that failed in ``report``, never only fresh
    ones, so whatever failed there is looked at again."""
    focus = {t.name: t.failing for t in report.tensors if t.failing}
    focus["model[0].input"] = focus.get("input", [])  # X, as the first layer alone names it
    if engine is not None and _run(target, X, Y, loss, settings, seed, None, None, focus).passed:
        return [f"engine {engine!r}"]
    if not isinstance(target, Sequential) or (len(target.layers) == 1 and loss is None):
        return []
    model = float64_copy(target)
    A = np.array(X, dtype=np.float64)
    failed = []
    for i, layer in enumerate(model.layers):
        names = Names(prefix=f"model[{i}].", input=f"model[{i}].input")
        failed += _run(layer, A, None, None, settings, seed, None, names, focus).failed
        A = layer.forward(A)
    if loss is not None:
        failed += _run(loss, A, Y, None, settings, seed, None, Names(input="loss.pred")).failed
    return failed
