"""What gradcheck checks: a float64 copy of the target, its tensors and how they are named.

The user's objects are never touched: the target is deep-copied and the copy's parameters
cast to float64 (see float64_copy). Everything here goes through the public layer protocol
(forward, backward, parameters, and astype where a layer has it).
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass

import numpy as np

from minibp.model import Sequential
from minibp.nn import Loss


@dataclass
class Names:
    """How the tensors of one check are named: parameters get ``prefix``, X gets ``input``."""

    prefix: str = ""
    input: str = "input"


@dataclass
class Tensor:
    """One array s depends on (perturbed in place) and backward's gradient of s for it."""

    name: str
    value: np.ndarray
    analytic: np.ndarray | None = None
    frozen: bool = False
    problem: str = ""  # why there is no usable analytic gradient


def float64_copy(target):
    """A deep copy of a layer, Sequential or loss whose parameters are float64.

    Each layer's twin comes from its own ``astype(np.float64)`` where it has one. A layer
    without (the protocol does not require it) is cast through its Parameter records: every
    attribute of the layer that holds a parameter's ``value`` or ``grad`` array is rebound to
    a float64 copy, and a ``dtype`` attribute, if the layer has one, becomes float64. A layer
    that keeps its arrays elsewhere gets a TypeError.
    """
    twin = copy.deepcopy(target)
    if isinstance(twin, Sequential):  # rebuilt in place: a subclass keeps its own methods
        Sequential.__init__(twin, *[_float64_layer(layer) for layer in twin.layers])
        return twin
    return _float64_layer(twin)


def _float64_layer(layer):
    if not callable(getattr(layer, "parameters", None)):
        return layer  # a loss
    converted = None
    if callable(getattr(layer, "astype", None)):
        try:
            converted = layer.astype(np.float64)
        except NotImplementedError:  # Layer's default, for a layer with parameters
            converted = None
    if converted is None:
        _cast_attributes(layer)
        converted = layer
    _check_float64(converted)
    return converted


def _cast_attributes(layer) -> None:
    arrays = [a for p in layer.parameters() for a in (p.value, p.grad)]
    attributes = getattr(layer, "__dict__", {})
    for name, attr in list(attributes.items()):
        if isinstance(attr, np.ndarray) and any(attr is a for a in arrays):
            setattr(layer, name, attr.astype(np.float64))
    if "dtype" in attributes:
        layer.dtype = np.dtype(np.float64)


def _check_float64(layer) -> None:
    for p, again in zip(layer.parameters(), layer.parameters()):
        if not np.shares_memory(p.value, again.value):  # perturbing it would change nothing
            raise TypeError(f"gradcheck: {layer!r}.parameters() returns a fresh copy of "
                            f"{p.name!r} on each call; return the layer's own array "
                            "(Parameter(name, self.W, self.dW)), so that changing it changes "
                            "the layer")
        if p.value.dtype != np.float64 or np.asarray(p.grad).dtype != np.float64:
            raise TypeError(
                f"gradcheck: cannot make a float64 copy of {layer!r}: its parameter {p.name!r} "
                f"({p.value.dtype}) is not an array attribute of the layer. Keep parameters "
                "as attributes (self.W = ...), give the layer an astype(dtype), or build it in "
                "float64.")


def classify(target, Y, loss, engine) -> str:
    """"model", "layer" or "loss"; refuses what cannot be checked, saying what would work."""
    if is_layer(target):
        kind = "model" if isinstance(target, Sequential) else "layer"
    elif is_loss(target):
        kind = "loss"
    else:
        raise TypeError(f"gradcheck: expected a layer (forward, backward, parameters), a "
                        f"Sequential or a loss, got {type(target).__name__}")
    if kind == "loss" and (loss is not None or Y is None):
        raise ValueError("gradcheck(loss, pred, Y) checks dLoss/dPred: give the target Y, "
                         "and no loss= (that is for a layer or a model)")
    if kind != "loss":
        _check_loss_arguments(Y, loss)
    if engine is not None:
        _check_engine_arguments(target, kind, loss)
    return kind


def _check_loss_arguments(Y, loss) -> None:
    if loss is not None and not is_loss(loss):
        raise TypeError(f"gradcheck: loss= must be a loss (forward(pred, Y), backward()), "
                        f"got {type(loss).__name__}")
    if loss is None and Y is not None:
        raise ValueError("gradcheck: Y was given without a loss. Pass loss=... to check the "
                         "loss's gradient, or drop Y to check against a random upstream gradient")
    if loss is not None and Y is None:
        raise ValueError(f"gradcheck: loss={loss!r} needs its target: gradcheck(model, X, Y, "
                         "loss=...)")


def _check_engine_arguments(target, kind, loss) -> None:
    if kind != "model" or loss is None:
        raise ValueError("gradcheck: engine= checks a Sequential's training gradients; pass a "
                         "Sequential with loss= and Y")
    if "engine" not in inspect.signature(target.gradients).parameters:
        raise TypeError("gradcheck: this model's gradients() takes no engine= argument")


def is_layer(obj) -> bool:
    return all(callable(getattr(obj, m, None)) for m in ("forward", "backward", "parameters"))


def is_loss(obj) -> bool:
    duck = callable(getattr(obj, "forward", None)) and callable(getattr(obj, "backward", None))
    return isinstance(obj, Loss) or (duck and not hasattr(obj, "parameters"))


def describe(target, loss) -> str:
    """One line naming what was checked, for the report's header."""
    if not is_layer(target):
        return f"{target!r}, gradient with respect to its prediction"
    name = (f"Sequential of {len(target.layers)} layers" if isinstance(target, Sequential)
            else repr(target))
    if loss is None:
        return f"{name}; s = sum(G * output), G a seeded random upstream gradient"
    return f"{name} with loss {loss!r}"


def precision(target, X) -> str:
    """"float64", or which lower precision the float64 copy was made from."""
    arrays = [p.value for p in target.parameters()] if is_layer(target) else [np.asarray(X)]
    lower = sorted({str(a.dtype) for a in arrays if a.dtype != np.float64})
    return "float64" if not lower else f"float64 (checked through a copy of {'/'.join(lower)})"
