"""Training engines and how one is chosen.

- "numpy": the reference, plain NumPy through the layer objects; never imports numba.
- "numba": the compiled path; the whole run (every epoch and step) in one compiled call
  for Sequentials of Dense layers with SquaredError, MSE or SoftmaxCrossEntropy and SGD.
- "auto": numba where it can run the model and is worth it, else numpy, silently.
"""

from __future__ import annotations

import importlib.util

from minibp.dense import Dense
from minibp.losses import MSE, SoftmaxCrossEntropy, SquaredError
from minibp.optim import SGD

ENGINES = ("auto", "numpy", "numba")
COMPILED_LOSSES = (SquaredError, MSE, SoftmaxCrossEntropy)

# "auto" leaves a step to the compiled loops up to this many multiply-adds (batch rows x sum
# of in*out over layers), or up to the second figure for single-row steps, where NumPy's
# per-call overhead dominates; above them BLAS matmuls win. Measured by
# benchmarks/crossover.py; see docs/performance.md.
AUTO_NUMBA_MAX_MACS = 40_000
AUTO_NUMBA_MAX_MACS_ONE_ROW = 1_000_000


def choose_engine(engine: str, model, loss=None, optimizer=None, rows: int = 1) -> str:
    """Resolve "auto" to "numpy" or "numba"; refuse "numba" with the reason it cannot run."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
    if engine == "numpy":
        return "numpy"
    reason = why_not_compiled(model, loss, optimizer)
    if engine == "numba":
        if reason:
            raise ValueError(f"engine='numba' cannot run this: {reason}. "
                             "Use engine='numpy' (or 'auto', which falls back by itself).")
        return "numba"
    limit = AUTO_NUMBA_MAX_MACS_ONE_ROW if rows == 1 else AUTO_NUMBA_MAX_MACS
    if reason or macs_per_step(model, rows) > limit:
        return "numpy"
    return "numba"


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
