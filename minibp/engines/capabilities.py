"""What the compiled engines can run: one table per fact, keyed by the classes.

The codes are the numbers the kernels branch on; minibp/engines/kernels/*.py define the same
numbers as constants, and tests/engines/test_capabilities.py checks that they agree. A
layer, activation, loss, optimizer or schedule missing from these tables is never sent to a
compiled engine as such: why_not_compiled says why a model cannot compile, engine="auto"
falls back to NumPy, and engine="numba" or "blas" refuses with that reason. (A learning
rate given as any other callable still compiles: the engines evaluate it in Python for the
steps ahead, see minibp.engines.update_settings.)
"""

from __future__ import annotations

from minibp.nn import (
    MSE,
    BinaryCrossEntropy,
    Dense,
    Identity,
    ReLU,
    Sigmoid,
    SoftmaxCrossEntropy,
    SquaredError,
    Tanh,
)
from minibp.optim import SGD, Adam, AdamW, CosineDecay, ExponentialDecay, StepDecay

ACTIVATION_CODES = {Identity: 0, Sigmoid: 1, Tanh: 2, ReLU: 3}
LOSS_CODES = {SquaredError: 0, MSE: 1, SoftmaxCrossEntropy: 2, BinaryCrossEntropy: 3}
# One update kernel per family: AdamW is Adam with decoupled weight decay.
OPTIMIZER_CODES = {SGD: 0, Adam: 1, AdamW: 1}
# Schedules computed inside the compiled loop from their code and params; a constant lr is
# CONSTANT_LR, and any other callable LR_PER_STEP (evaluated in Python for the steps ahead).
SCHEDULE_CODES = {cls: cls.code for cls in (StepDecay, CosineDecay, ExponentialDecay)}
CONSTANT_LR, LR_PER_STEP = 0, 4
COMPILED_LAYERS = (Dense,)
COMPILED_OPTIMIZERS = tuple(OPTIMIZER_CODES)
COMPILED_OPTIONS: tuple[str, ...] = ("sample_weight", "clip_norm")  # fit's, run compiled


def activation_code(layer: Dense) -> int:
    """The kernels' code for a Dense layer's activation (the layer is known to have one)."""
    return ACTIVATION_CODES[layer.activation_class]


def loss_code(loss) -> int:
    return LOSS_CODES[type(loss)]


def optimizer_code(optimizer) -> int:
    return OPTIMIZER_CODES[type(optimizer)]


def schedule_code(lr) -> int:
    """CONSTANT_LR for a number, a schedule's code, or LR_PER_STEP for any other callable
    (a subclass too: its __call__ may differ from what the code computes)."""
    if not callable(lr):
        return CONSTANT_LR
    return SCHEDULE_CODES.get(type(lr), LR_PER_STEP)


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
    if loss is not None:
        reason = _why_not_loss(loss)
        if reason:
            return reason
    if optimizer is not None and type(optimizer) not in OPTIMIZER_CODES:
        known = ", ".join(cls.__name__ for cls in OPTIMIZER_CODES)
        return (f"it has no compiled version of the optimizer {type(optimizer).__name__} "
                f"(the compiled engines run {known})")
    return None


def _why_not_loss(loss) -> str | None:
    if type(loss) not in LOSS_CODES:
        return f"it has no compiled version of the loss {type(loss).__name__}"
    if loss.reduction != "mean":
        return f"it trains on reduction='mean' only, got {loss.reduction!r}"
    if isinstance(loss, BinaryCrossEntropy) and not loss.from_logits:
        return ("it has no compiled version of BinaryCrossEntropy(from_logits=False), on "
                "probabilities; train on logits: an identity output layer and "
                "BinaryCrossEntropy() (predict_proba then applies the sigmoid)")
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
