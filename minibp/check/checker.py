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

from dataclasses import dataclass

import numpy as np

from minibp.check.differences import central_difference, directional_difference
from minibp.check.report import EpsSweep, GradcheckError, GradcheckReport, TensorCheck
from minibp.check.scalar import CheckedScalar, prepare
from minibp.check.target import Names, Tensor, describe, float64_copy, precision
from minibp.errors import expect_choice, expect_int, expect_number
from minibp.model import Sequential

EPS = 1e-5
ATOL = 1e-8
RTOL = 1e-6
MODES = ("full", "sample", "fast")
SAMPLE_K = 10  # coordinates per tensor in mode "sample" (and after a fast check meets a kink)
FAST_K = 2  # random directions per tensor in mode "fast"
SWEEP_EPS = tuple(10.0 ** -p for p in range(1, 11))


@dataclass(frozen=True)
class Settings:
    mode: str
    eps: float
    atol: float
    rtol: float
    k: int


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
        Every coordinate; ``k`` random coordinates per tensor (default 10); or ``k`` random
        directions per tensor (default 2), a failing one narrowed down to a coordinate.
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
        report.culprits = _culprits(target, X, Y, loss, settings, seed, engine)
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


def _run(target, X, Y, loss, settings: Settings, seed, engine,
         names: Names | None = None) -> GradcheckReport:
    """One check, without looking for culprits."""
    data_seed, pick_seed = np.random.SeedSequence(seed).spawn(2)
    scalar, tensors = prepare(target, X, Y, loss, engine=engine, names=names,
                              rng=np.random.default_rng(data_seed))
    pick = np.random.default_rng(pick_seed)
    checks = [_check_tensor(scalar, t, settings, pick) for t in tensors]
    what = describe(target, loss) + (f", engine {engine!r}" if engine else "")
    return GradcheckReport(checks, settings.mode, settings.eps, settings.atol, settings.rtol,
                           target=what, precision=precision(target, X), scalar=scalar.value)


def _check_tensor(scalar: CheckedScalar, tensor: Tensor, s: Settings,
                  rng: np.random.Generator) -> TensorCheck:
    check = TensorCheck(tensor.name, tensor.value.shape, frozen=tensor.frozen,
                        problem=tensor.problem)
    if check.problem or tensor.value.size == 0:
        return check
    if s.mode == "fast":
        _check_directions(scalar, tensor, check, s, rng)
    else:
        size = tensor.value.size
        flat = (np.arange(size) if s.mode == "full"
                else np.sort(rng.choice(size, size=min(s.k, size), replace=False)))
        _check_coordinates(scalar, tensor, check, flat, s)
    return check


def _check_coordinates(scalar, tensor: Tensor, check: TensorCheck, flat, s: Settings) -> None:
    """Compare one coordinate at a time (flat indices into the tensor)."""
    for i in flat:
        index = np.unravel_index(int(i), tensor.value.shape)
        numeric, kink = central_difference(scalar, tensor.value, index, s.eps)
        if kink:
            check.skip(index, f"the +/-eps step crosses a kink of {kink}")
        else:
            check.record(index, tensor.analytic[index], numeric, s.atol, s.rtol)


def _check_directions(scalar, tensor: Tensor, check: TensorCheck, s: Settings, rng) -> None:
    """Compare directional derivatives along k random unit directions; narrow a failing one
    down to a coordinate. A direction whose step crosses a kink falls back to coordinates."""
    failing = None  # (direction, its error analytic - numeric)
    for j in range(s.k):
        direction = rng.standard_normal(tensor.value.shape)
        direction /= np.linalg.norm(direction)
        numeric, stepped, kink = directional_difference(scalar, tensor.value, direction, s.eps)
        if kink:
            size = tensor.value.size
            flat = np.sort(rng.choice(size, min(SAMPLE_K, size), replace=False))
            _check_coordinates(scalar, tensor, check, flat, s)
            return
        analytic = np.vdot(tensor.analytic, stepped)
        ok = check.record(f"dir {j + 1}", analytic, numeric, s.atol, s.rtol)
        if not ok and failing is None:
            failing = (direction, analytic - numeric)
    if failing is not None:
        flat = _localize(scalar, tensor, *failing, s.eps)
        _check_coordinates(scalar, tensor, check, [flat], s)


def _localize(scalar, tensor: Tensor, direction: np.ndarray, error: float, eps: float) -> int:
    """The flat index of the coordinate carrying most of a direction's error: split the
    direction's coordinates in two, measure the first half's error (the second's is the
    rest), keep the larger, until one coordinate is left. Two forwards per halving."""
    support = np.arange(direction.size)
    while support.size > 1:
        first, second = np.array_split(support, 2)
        where = np.unravel_index(first, direction.shape)
        numeric, stepped, _ = directional_difference(scalar, tensor.value, direction[where],
                                                     eps, where)
        first_error = float(np.vdot(tensor.analytic[where], stepped)) - numeric
        if abs(first_error) >= abs(error - first_error):
            support, error = first, first_error
        else:
            support, error = second, error - first_error
    return int(support[0])


def _culprits(target, X, Y, loss, settings: Settings, seed, engine) -> list[str]:
    """What fails checked on its own: the layers' own backward when an engine failed; each
    layer of a Sequential on the input that reaches it, and its loss on the model's output."""
    if engine is not None and _run(target, X, Y, loss, settings, seed, None).passed:
        return [f"engine {engine!r}"]
    if not isinstance(target, Sequential) or (len(target.layers) == 1 and loss is None):
        return []
    model = float64_copy(target)
    A = np.array(X, dtype=np.float64)
    failed = []
    for i, layer in enumerate(model.layers):
        names = Names(prefix=f"model[{i}].", input=f"model[{i}].input")
        failed += _run(layer, A, None, None, settings, seed, None, names).failed
        A = layer.forward(A)
    if loss is not None:
        failed += _run(loss, A, Y, None, settings, seed, None, Names(input="loss.pred")).failed
    return failed
