"""The scalar s gradcheck differentiates, over a float64 copy of the target:

    s = loss(net(X), Y)     a Sequential or layer with loss=
    s = sum(G * net(X))     a Sequential or layer alone; G is a seeded random upstream gradient
    s = loss(X, Y)          a loss alone, X being its prediction

The checker perturbs the copy's own arrays in place, restoring each value exactly. Kinks
(where a derivative jumps, and a central difference would straddle the jump) come from each
part's optional ``gradcheck_kinks()``: values whose sign changes exactly at a kink, or None.
"""

from __future__ import annotations

import copy

import numpy as np

from minibp.check.target import Names, Tensor, classify, float64_copy


def kink_values(part):
    """part.gradcheck_kinks if the part declares kinks that way, else None."""
    method = getattr(part, "gradcheck_kinks", None)
    return method if callable(method) else None


def _sides(values) -> np.ndarray:
    return np.empty(0) if values is None else np.sign(np.asarray(values))


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
        return [_sides(values()) for _, values in self.kinked]

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
