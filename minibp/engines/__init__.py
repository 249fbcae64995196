"""Training engines and how one is chosen.

- "numpy": the reference, plain NumPy through the layer objects; never imports numba.
- "numba": the whole run (every epoch and step) in one compiled call, for Sequentials of
  Dense layers with SquaredError, MSE or SoftmaxCrossEntropy and SGD. Best for small steps.
- "blas": the same models, with the matrix products in NumPy's BLAS and everything else in
  fused compiled kernels. Best once the products dominate a step.
- "auto": numba for small steps, blas for large ones, numpy for what neither can run.
"""

from __future__ import annotations

import importlib.util

from minibp.dense import Dense
from minibp.losses import MSE, SoftmaxCrossEntropy, SquaredError
from minibp.optim import SGD

ENGINES = ("auto", "numpy", "numba", "blas")
COMPILED_LOSSES = (SquaredError, MSE, SoftmaxCrossEntropy)

# "auto" leaves a step to the whole-run compiled loop up to this many multiply-adds (batch
# rows x sum of in*out over layers); above it the BLAS engine wins. Measured by
# benchmarks/crossover.py; see docs/performance.md.
AUTO_NUMBA_MAX_MACS = 10_000


def choose_engine(engine: str, model, loss=None, optimizer=None, rows: int = 1) -> str:
    """Resolve "auto" to an engine that can run this; refuse a compiled one that cannot."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
    if engine == "numpy":
        return "numpy"
    reason = why_not_compiled(model, loss, optimizer)
    if engine in ("numba", "blas"):
        if reason:
            raise ValueError(f"engine={engine!r} cannot run this: {reason}. "
                             "Use engine='numpy' (or 'auto', which falls back by itself).")
        return engine
    if reason:
        return "numpy"
    return "numba" if macs_per_step(model, rows) <= AUTO_NUMBA_MAX_MACS else "blas"


def why_not_compiled(model, loss=None, optimizer=None) -> str | None:
    """Why the compiled engine cannot run this model, loss and optimizer; None if it can."""
    if importlib.util.find_spec("numba") is None:
        return "numba is not installed"
    for i, layer in enumerate(model.layers):
        if type(layer) is not Dense:
            return (f"model[{i}] is a {type(layer).__name__}, and the compiled engine runs "
                    "Dense layers only (fuse an activation as Dense(..., activation=...))")
    if len({layer.W.dtype for layer in model.layers}) > 1:
        return "the layers mix dtypes; convert the model to one dtype"
    if loss is not None and type(loss) not in COMPILED_LOSSES:
        return f"it has no compiled version of the loss {type(loss).__name__}"
    if loss is not None and loss.reduction != "mean":
        return f"it trains on reduction='mean' only, got {loss.reduction!r}"
    if optimizer is not None and type(optimizer) is not SGD:
        return f"it has no compiled version of the optimizer {type(optimizer).__name__}"
    return None


def macs_per_step(model, rows: int) -> int:
    """Multiply-adds of one forward pass over `rows` rows (backward is about twice this)."""
    return rows * sum(getattr(layer, "in_features", 0) * getattr(layer, "out_features", 0)
                      for layer in model.layers)
