"""What the compiled engines can run: one table per fact, keyed by the classes.

The codes are the numbers the kernels branch on; minibp/engines/kernels/*.py define the same
numbers as constants, and tests/engines/test_capabilities.py checks that they agree. A
layer, activation, loss or optimizer missing from these tables is never sent to a compiled
engine: why_not_compiled says why, engine="auto" falls back to NumPy, and engine="numba" or
"blas" refuses with that reason.
"""

from __future__ import annotations

from minibp.nn import MSE, Dense, Identity, ReLU, Sigmoid, SoftmaxCrossEntropy, SquaredError, Tanh
from minibp.optim import SGD

ACTIVATION_CODES = {Identity: 0, Sigmoid: 1, Tanh: 2, ReLU: 3}
LOSS_CODES = {SquaredError: 0, MSE: 1, SoftmaxCrossEntropy: 2}
COMPILED_LAYERS = (Dense,)
COMPILED_OPTIMIZERS = (SGD,)
COMPILED_OPTIONS: tuple[str, ...] = ()  # fit's options the compiled engines run


def activation_code(layer: Dense) -> int:
    """The kernels' code for a Dense layer's activation (the layer is known to have one)."""
    return ACTIVATION_CODES[layer.activation_class]


def loss_code(loss) -> int:
    return LOSS_CODES[type(loss)]


def why_not_compiled(model, loss=None, optimizer=None, **options: bool) -> str | None:
    """Why the compiled engines cannot run this model (anything with ``layers``), loss,
    optimizer and fit options in use (sample_weight=True, ...); None when they can."""
    for option, used in options.items():
        if used and option not in COMPILED_OPTIONS:
            return f"it has no compiled version of fit's {option}"
    for i, layer in enumerate(model.layers):
        reason = _why_not_layer(layer)
        if reason:
            return f"model[{i}] {reason}"
    if len({layer.W.dtype for layer in model.layers}) > 1:
        return "the layers mix dtypes; convert the model to one dtype"
    if loss is not None and type(loss) not in LOSS_CODES:
        return f"it has no compiled version of the loss {type(loss).__name__}"
    if loss is not None and loss.reduction != "mean":
        return f"it trains on reduction='mean' only, got {loss.reduction!r}"
    if optimizer is not None:
        return _why_not_optimizer(optimizer)
    return None


def _why_not_optimizer(optimizer) -> str | None:
    if type(optimizer) not in COMPILED_OPTIMIZERS:
        return f"it has no compiled version of the optimizer {type(optimizer).__name__}"
    for setting in ("nesterov", "weight_decay", "l2"):
        if getattr(optimizer, setting, 0):
            return f"it has no compiled version of {type(optimizer).__name__}'s {setting}"
    if not isinstance(optimizer.lr, (int, float)):
        return "it has no compiled version of learning-rate schedules"
    return None


def _why_not_layer(layer) -> str | None:
    if type(layer) not in COMPILED_LAYERS:
        return (f"is a {type(layer).__name__}, and the compiled engines run Dense layers only "
                "(fuse an activation as Dense(..., activation=...))")
    if layer.activation_class not in ACTIVATION_CODES:
        known = ", ".join(repr(cls.name) for cls in ACTIVATION_CODES)
        return (f"{layer!r} uses the activation {layer.activation!r}, which has no compiled "
                f"code (the compiled engines know {known})")
    return None
