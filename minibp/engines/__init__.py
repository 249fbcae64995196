"""How a fit runs: one entry, :func:`resolve`, picks the engine and checks the input.

- "numpy": the reference, plain NumPy through the layer objects; never imports numba.
- "numba": the whole run (every epoch and step) in one compiled call, for Sequentials of
  Dense layers whose activation, loss and optimizer have compiled codes
  (minibp.engines.capabilities). Best for small steps.
- "blas": the same models, with the matrix products in NumPy's BLAS and everything else in
  fused compiled kernels. Best once the products dominate a step.
- "auto": numba for small steps, blas for large ones, numpy for what neither can run.

Every engine module offers the same four functions over a list of layers: ``fit``,
``train_step``, ``gradients`` (writes each parameter's grad) and ``predict``.
"""

from __future__ import annotations

import importlib
import sys

from minibp.engines.capabilities import why_not_compiled
from minibp.engines.checks import check_parameters, check_writable
from minibp.errors import check_samples, expect_choice

ENGINES = ("auto", "numpy", "numba", "blas")
_MODULES = {name: f"minibp.engines.{name}_engine" for name in ENGINES[1:]}

# "auto" leaves a step to the whole-run compiled loop up to this many multiply-adds (batch
# rows x sum of in*out over layers) where the BLAS engine would run its compiled steps, and
# up to AUTO_NUMBA_MAX_MACS where it would step in Python (l2, clipping, frozen parameters);
# above, the BLAS engine wins. Measured by benchmarks/crossover.py; see docs/performance.md.
AUTO_NUMBA_MAX_MACS_COMPILED = 2_000
AUTO_NUMBA_MAX_MACS = 10_000


def resolve(engine: str, model, X, loss=None, optimizer=None, *, rows: int | None = None,
            options: dict | None = None, who: str = "Sequential", checked: bool = False):
    """(the engine module to run, X checked against model[0]) for this call: the one
    validation step in front of every engine.

    X must be a finite 2-D array of numbers (``checked``: the caller has made sure, as fit's
    check_training_data does); every parameter is checked as it stands now (shape, dtype,
    layout, finite; an engine module whose CHECKS_FINITE_PARAMETERS is true checks finiteness
    itself, in one look at its packed copy); then X gets the first layer's input check (its
    width, cast to the model's dtype) on every engine, since the compiled ones never call
    layer.forward.
    ``rows`` is the batch size a step will see (default: every row of X); "auto" decides
    by it. ``options`` names fit's options in use ({"sample_weight": True, ...}), which a
    compiled engine may not run.
    """
    if not checked:
        X = check_samples(X, who)
    if rows is None:
        rows = max(1, len(X))
    name = choose_engine(engine, model, loss, optimizer, rows=rows, options=options, who=who)
    module = _engine_module(name)
    check_parameters(model.layers, who,
                     finite=not getattr(module, "CHECKS_FINITE_PARAMETERS", False))
    if optimizer is not None:  # fit, train_step: the parameters change in place
        check_writable(model.layers, who)
    check_input = getattr(model.layers[0], "check_input", None)
    if check_input is not None:
        X = check_input(X)
    return module, X


def choose_engine(engine: str, model, loss=None, optimizer=None, rows: int = 1,
                  options: dict | None = None, who: str = "Sequential") -> str:
    """Resolve "auto" to an engine that can run this; refuse a compiled one that cannot."""
    expect_choice(engine, "engine", who, ENGINES)
    if engine == "numpy":
        return "numpy"
    reason = why_not_compiled(model, loss, optimizer, **(options or {}))
    if engine in ("numba", "blas"):
        if reason:
            raise ValueError(f"{who}: engine={engine!r} cannot run this: {reason}. "
                             "Use engine='numpy' (or 'auto', which falls back by itself).")
        return engine
    if reason:
        return "numpy"
    return _numba_or_blas(model, optimizer, rows, options)


def _numba_or_blas(model, optimizer, rows: int, options: dict | None) -> str:
    """The faster compiled engine for ``rows`` rows at a time. A fit (``options`` given)
    whose BLAS steps would run compiled hands over at AUTO_NUMBA_MAX_MACS_COMPILED; other
    fits, and predict, evaluate, train_step and gradients (the BLAS engine's Python steps
    and predict, with their fixed costs), at AUTO_NUMBA_MAX_MACS."""
    macs = macs_per_step(model, rows)
    if macs > AUTO_NUMBA_MAX_MACS:
        return "blas"
    if macs <= AUTO_NUMBA_MAX_MACS_COMPILED or options is None:
        return "numba"
    from minibp.engines import blas_compiled  # numba with it: the band is compiled either way

    frozen = any(p.frozen for layer in model.layers for p in layer.parameters())
    why_not = blas_compiled.why_not_steps(optimizer, bool(options.get("clip_norm")), frozen)
    return "blas" if why_not is None else "numba"


def _engine_module(name: str):
    """The engine's module, imported on first use (numba with it); a dict lookup after that,
    since importlib.import_module costs about 10 us even for a loaded module."""
    module = sys.modules.get(_MODULES[name])
    return module if module is not None else importlib.import_module(_MODULES[name])


def engine_name(module) -> str:
    """The name ("numpy", "numba" or "blas") of an engine module that resolve gave."""
    return next(name for name, path in _MODULES.items() if path == module.__name__)


def macs_per_step(model, rows: int) -> int:
    """Multiply-adds of one forward pass over `rows` rows (backward is about twice this);
    `model` a model or anything else with its `layers` (an engine's buffers)."""
    return rows * sum((getattr(layer, "in_features", None) or 0)
                      * (getattr(layer, "out_features", None) or 0) for layer in model.layers)


__all__ = ["ENGINES", "AUTO_NUMBA_MAX_MACS", "AUTO_NUMBA_MAX_MACS_COMPILED", "resolve",
           "choose_engine", "engine_name", "why_not_compiled", "macs_per_step"]
