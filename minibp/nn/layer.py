"""The layer protocol: forward over a batch, backward to the input, named parameters.

A layer is anything with ``forward(X) -> A``, ``backward(dA) -> dX`` and ``parameters()``.
Subclassing :class:`Layer` adds the shared input checks and clear errors; it is not required
by Sequential or the gradient checker.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from minibp.errors import (
    NUMERIC_KINDS,
    DTypeError,
    ShapeError,
    as_numeric,
    check_finite,
    expect_choice,
    expect_shape,
    is_finite,
    one_sample_hint,
)


@dataclass
class Parameter:
    """One trainable tensor of a layer.

    ``value`` and ``grad`` are the layer's own arrays (same shape), not copies: optimizers
    update ``value`` in place, and ``backward`` overwrites ``grad``. A frozen parameter still
    gets its gradient; optimizers leave its value alone.
    """

    name: str
    value: np.ndarray
    grad: np.ndarray
    frozen: bool = False


class Layer:
    """Base class for layers: shared checks, freezing and error messages.

    Subclasses set ``in_features`` (None when any width is accepted) and ``out_features``
    (None when the output width equals the input width).
    """

    in_features: int | None = None
    out_features: int | None = None

    def __init__(self):
        self._frozen: set[str] = set()
        self._position: str | None = None  # e.g. "model[0]", set by Sequential

    # -- the protocol -------------------------------------------------------------------
    def forward(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dA: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def infer(self, X: np.ndarray) -> np.ndarray:
        """forward for prediction only: layers that keep values for backward override it to
        keep nothing; this default simply calls forward."""
        return self.forward(X)

    def parameters(self) -> list[Parameter]:
        """Named parameter records; a layer without weights has none."""
        return []

    def parameter_names(self) -> tuple[str, ...]:
        """The names parameters() gives, in its order, without making the records."""
        return tuple(p.name for p in self.parameters())

    def astype(self, dtype) -> Layer:
        """A copy of this layer with its parameters in ``dtype``. A layer without parameters
        is simply copied; layers with parameters override this."""
        if self.parameters():
            raise NotImplementedError(f"{type(self).__name__} has parameters but no astype")
        layer = copy.copy(self)
        layer._position = None
        return layer

    # -- freezing -----------------------------------------------------------------------
    def freeze(self, *names: str) -> Layer:
        """Freeze the named parameters (all of them when no name is given); returns self."""
        self._frozen.update(self._parameter_names(names))
        return self

    def unfreeze(self, *names: str) -> Layer:
        """Undo :meth:`freeze` for the named parameters (all when none named); returns self."""
        self._frozen.difference_update(self._parameter_names(names))
        return self

    def is_frozen(self, name: str) -> bool:
        """Whether the parameter ``name`` is frozen (as parameters() would say, without
        making the records)."""
        return name in self._frozen

    def _parameter_names(self, names) -> set[str]:
        known = list(self.parameter_names())
        for name in names:
            expect_choice(name, "the parameter name", self._label(), known)
        return set(names) if names else set(known)

    # -- shared checks --------------------------------------------------------------------
    def _label(self) -> str:
        return f"{self!r} at {self._position}" if self._position else repr(self)

    def check_input(self, X, dtype=None) -> np.ndarray:
        """X as a 2-D floating array (in ``dtype`` when given) of this layer's input width, or
        a ValueError naming this layer, its position and both shapes."""
        if not (isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind in NUMERIC_KINDS
                and X.shape[1] == (self.in_features or X.shape[1])):  # else: say what came
            X = as_numeric(X, "X", self._label())
            expect_shape(X, ("batch", self.in_features or "features"), "X", self._label(),
                         one_sample_hint(X))
        if dtype is not None:
            X = X.astype(dtype, copy=False)
        elif X.dtype.kind != "f":
            X = X.astype(np.float64)
        return X

    def check_parameters(self, who: str, finite: bool = True) -> None:
        """Before an engine reads them: every parameter a float array, its gradient of the same
        shape, and (``finite``) no NaN or infinity in it; DTypeError, ShapeError or
        NonFiniteInputError naming it. An engine that checks finiteness in its own way (one
        look at its packed copy) passes finite=False."""
        for p in self.parameters():
            value = p.value
            if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
                raise DTypeError(f"{who}: {self._parameter_label(p.name)} must be a float32 or "
                                 f"float64 array, got "
                                 f"{getattr(value, 'dtype', type(value).__name__)}")
            if np.shape(p.grad) != value.shape:
                raise ShapeError(f"{who}: {self._parameter_label(p.name)}'s gradient must have its "
                                 f"shape {value.shape}, got {np.shape(p.grad)}")
            if finite and not is_finite(value):
                check_finite(value, self._parameter_label(p.name), who)

    def _parameter_label(self, name: str) -> str:
        """How errors name a parameter: ``model[0].W``, or the layer's repr outside a model."""
        return f"{self._position or repr(self)}.{name}"

    def _check_upstream(self, dA, A: np.ndarray) -> None:
        if np.shape(dA) != A.shape:
            raise ShapeError(f"{self._label()}.backward: dA must have shape {A.shape} (the "
                             f"shape forward returned), got {np.shape(dA)}")

    def _saved(self, name: str) -> np.ndarray:
        """What forward kept for backward, or a clear error if forward never ran."""
        value = getattr(self, name, None)
        if value is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward called before forward: "
                "nothing saved to differentiate."
            )
        return value


def named_parameters(layers) -> list[Parameter]:
    """Every parameter of a list of layers, named ``model[i].W`` by position, over the
    layers' own arrays: Sequential.parameters() and the saved files name them so."""
    return [Parameter(f"model[{i}].{p.name}", p.value, p.grad, p.frozen)
            for i, layer in enumerate(layers) for p in layer.parameters()]
