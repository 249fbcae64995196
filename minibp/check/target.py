"""What gradcheck differentiates: a float64 copy of the target, and one scalar s of it.

    s = loss(net(X), Y)     a Sequential or layer with loss=
    s = sum(G * net(X))     a Sequential or layer alone; G is a seeded random upstream gradient
    s = loss(X, Y)          a loss alone, X being its prediction

The user's objects are never touched: the target and loss are deep-copied, the copy's
parameters cast to float64 (see float64_copy), and the checker perturbs the copy's own
arrays in place, restoring each value exactly.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass

import numpy as np

from minibp.activations import ReLU
from minibp.dense import Dense
from minibp.losses import Loss
from minibp.model import Sequential

KINKED_ACTIVATIONS = ("relu",)  # Dense activations whose derivative jumps at Z = 0


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

    Each layer is cast through its Parameter records: every attribute of the layer that
    holds a parameter's ``value`` or ``grad`` array is rebound to a float64 copy (for Dense:
    W, b, dW, db), and a ``dtype`` attribute, if the layer has one, becomes float64 (Dense
    casts its input to it). A layer that keeps its arrays elsewhere gets a TypeError.
    """
    twin = copy.deepcopy(target)
    _cast(twin)
    return twin


def _cast(layer) -> None:
    if isinstance(layer, Sequential):
        for inner in layer.layers:
            _cast(inner)
        return
    if not callable(getattr(layer, "parameters", None)):
        return  # a loss
    arrays = [a for p in layer.parameters() for a in (p.value, p.grad)]
    attributes = getattr(layer, "__dict__", {})
    for name, attr in list(attributes.items()):
        if isinstance(attr, np.ndarray) and any(attr is a for a in arrays):
            setattr(layer, name, attr.astype(np.float64))
    if "dtype" in attributes:
        layer.dtype = np.dtype(np.float64)
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
                "as attributes (self.W = ...), or build the layer in float64.")


def classify(target, Y, loss, engine) -> str:
    """"model", "layer" or "loss"; refuses what cannot be checked, saying what would work."""
    if _is_layer(target):
        kind = "model" if isinstance(target, Sequential) else "layer"
    elif _is_loss(target):
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
    if loss is not None and not _is_loss(loss):
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


def _is_layer(obj) -> bool:
    return all(callable(getattr(obj, m, None)) for m in ("forward", "backward", "parameters"))


def _is_loss(obj) -> bool:
    duck = callable(getattr(obj, "forward", None)) and callable(getattr(obj, "backward", None))
    return isinstance(obj, Loss) or (duck and not hasattr(obj, "parameters"))


def kink_values(part):
    """A function returning, after each forward, values that change sign exactly where part's
    derivative jumps; None for a part without kinks.

    A layer declares its own with a ``gradcheck_kinks()`` method (for max(Z, 0) it returns Z).
    Built in: Dense with relu gives its Z; a ReLU layer its A, 0 on one side and > 0 on the other.
    """
    if callable(getattr(part, "gradcheck_kinks", None)):
        return lambda: np.asarray(part.gradcheck_kinks())
    if isinstance(part, ReLU):
        return lambda: part.A
    if isinstance(part, Dense) and part.activation in KINKED_ACTIVATIONS:
        return lambda: part.Z
    return None


class CheckedScalar:
    """s as a function of the copy's arrays: call it for s; backward() right after for ds/dX.

    ``net`` is None for a loss alone; ``G`` (the upstream gradient) is None with a loss.
    """

    def __init__(self, net, loss, X: np.ndarray, Y, parts: list[tuple[str, object]]):
        self.net, self.loss, self.X, self.Y = net, loss, X, Y
        self.G = None
        self.value = None  # s at the unperturbed arrays, once prepare has run
        sources = [(label, kink_values(part)) for label, part in parts]
        self.kinked = [(label, values) for label, values in sources if values is not None]

    def output(self, X: np.ndarray) -> np.ndarray:
        return X if self.net is None else self.net.forward(X)

    def __call__(self) -> float:
        out = self.output(self.X)
        if self.loss is not None:
            return float(np.sum(self.loss.forward(out, self.Y)))
        return float(np.sum(out * self.G))

    def backward(self):
        """ds/dX for the last call, writing every parameter's gradient on the way."""
        upstream = self.G if self.loss is None else self.loss.backward()
        return upstream if self.net is None else self.net.backward(upstream)

    def kink_sides(self) -> list[np.ndarray]:
        return [np.sign(values()) for _, values in self.kinked]

    def crossed_kink(self, before: list[np.ndarray], after: list[np.ndarray]) -> str | None:
        """The label of the first part whose kink values changed sign, or None."""
        for (label, _), a, b in zip(self.kinked, before, after):
            if a.shape != b.shape or np.any(a != b):
                return label
        return None


def prepare(target, X, Y, loss, *, engine, rng: np.random.Generator,
            names: Names | None = None) -> tuple[CheckedScalar, list[Tensor]]:
    """s over a float64 copy of target, and every tensor s depends on with its analytic
    gradient: the parameters' (from backward, or from ``engine``) and the input's (backward).

    A forward and backward on other data run first (X with each entry scaled by a random
    factor in [0.5, 1.5], which keeps signs and zeros, so a domain such as X > 0 holds), so
    a layer that differentiates a stale cache, or adds to its gradients instead of
    overwriting them, is caught. Then one forward and backward on X give the analytic
    gradients.
    """
    kind = classify(target, Y, loss, engine)
    names = names or Names(prefix="layer." if kind == "layer" else "",
                           input="pred" if kind == "loss" else "input")
    scalar = _scalar_over_copy(target, X, Y, loss, kind)
    decoy = scalar.X * rng.uniform(0.5, 1.5, scalar.X.shape)
    with np.errstate(all="ignore"):  # its values are thrown away
        _decoy_pass(scalar, decoy, rng)
    _check_output_dtype(scalar.output(scalar.X), target)
    value = scalar()
    if not np.isfinite(value):
        raise ValueError(f"gradcheck: the checked scalar is {value} at this X; a derivative "
                         "needs a finite value (look for overflow, or non-finite weights)")
    scalar.value = value
    dX = scalar.backward()
    tensors = [] if scalar.net is None else [
        _tensor(names.prefix + p.name, p.value, p.grad, p.frozen)
        for p in scalar.net.parameters()]
    tensors.append(_tensor(names.input, scalar.X, dX))
    if engine is not None:
        _use_engine_gradients(scalar, tensors[:-1], decoy, engine)
    return scalar, tensors


def _scalar_over_copy(target, X, Y, loss, kind: str) -> CheckedScalar:
    X = _float64_data(X, "pred" if kind == "loss" else "X")
    if Y is not None:
        Y = np.array(Y)  # a copy; floating targets in float64, labels kept as they are
        Y = Y.astype(np.float64) if np.issubdtype(Y.dtype, np.floating) else Y
    if kind == "loss":
        twin = copy.deepcopy(target)
        return CheckedScalar(None, twin, X, Y, [(repr(twin), twin)])
    net, twin_loss = float64_copy(target), copy.deepcopy(loss)
    parts = ([(f"model[{i}] {layer!r}", layer) for i, layer in enumerate(net.layers)]
             if kind == "model" else [(repr(net), net)])
    parts += [(repr(twin_loss), twin_loss)] if twin_loss is not None else []
    return CheckedScalar(net, twin_loss, X, Y, parts)


def _decoy_pass(scalar: CheckedScalar, decoy: np.ndarray, rng: np.random.Generator) -> None:
    """Forward and backward on the decoy data; draws G (the upstream gradient) when needed.

    G is normal with standard deviation 1 / sqrt(G.size), so s stays of order one however
    wide the output is (which keeps the cancellation error, and so atol, meaningful).
    """
    out = scalar.output(decoy)
    if scalar.loss is None:
        scalar.G = rng.standard_normal(out.shape) / np.sqrt(max(out.size, 1))
        upstream = scalar.G
    else:
        scalar.loss.forward(out, scalar.Y)
        upstream = scalar.loss.backward()
    if scalar.net is not None:
        scalar.net.backward(upstream)


def _use_engine_gradients(scalar: CheckedScalar, tensors: list[Tensor], decoy, engine) -> None:
    """Replace the parameters' analytic gradients by the engine's (after a decoy batch)."""
    net, loss, Y = scalar.net, scalar.loss, scalar.Y
    net.gradients(decoy, Y, loss, engine=engine)
    grads = net.gradients(scalar.X, Y, loss, engine=engine)
    for t in tensors:
        fresh = _tensor(t.name, t.value, grads.get(t.name), t.frozen,
                        missing=f"engine {engine!r} gave no gradient for it")
        t.analytic, t.problem = fresh.analytic, fresh.problem


def _tensor(name: str, value: np.ndarray, grad, frozen: bool = False,
            missing: str = "backward gave no gradient for it (None)") -> Tensor:
    tensor = Tensor(name, value, frozen=frozen)
    if grad is None:
        tensor.problem = missing
    elif np.shape(grad) != value.shape:
        tensor.problem = (f"the analytic gradient has shape {np.shape(grad)}, but the tensor "
                          f"has shape {value.shape}")
    else:
        tensor.analytic = np.array(grad, dtype=np.float64)  # a copy, taken now
    return tensor


def _float64_data(X, what: str) -> np.ndarray:
    X = np.array(X, dtype=np.float64)  # a copy the checker owns and perturbs
    bad = ~np.isfinite(X)
    if bad.any():
        raise ValueError(f"gradcheck: {what} contains {int(bad.sum())} non-finite values; "
                         "a derivative needs finite inputs")
    return X


def _check_output_dtype(out, target) -> None:
    if np.asarray(out).dtype != np.float64:
        raise TypeError(f"gradcheck: the float64 copy of {target!r} computed in "
                        f"{np.asarray(out).dtype}; its forward must follow the dtype of its "
                        "parameters (a 'dtype' attribute is set to float64 in the copy)")


def describe(target, loss) -> str:
    """One line naming what was checked, for the report's header."""
    if not _is_layer(target):
        return f"{target!r}, gradient with respect to its prediction"
    name = (f"Sequential of {len(target.layers)} layers" if isinstance(target, Sequential)
            else repr(target))
    if loss is None:
        return f"{name}; s = sum(G * output), G a seeded random upstream gradient"
    return f"{name} with loss {loss!r}"


def precision(target, X) -> str:
    """"float64", or which lower precision the float64 copy was made from."""
    arrays = [p.value for p in target.parameters()] if _is_layer(target) else [np.asarray(X)]
    lower = sorted({str(a.dtype) for a in arrays if a.dtype != np.float64})
    return "float64" if not lower else f"float64 (checked through a copy of {'/'.join(lower)})"
