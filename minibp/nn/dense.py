"""Dense: a fully connected layer, optionally fused with its activation."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from minibp.errors import (
    DTypeError,
    ShapeError,
    as_numeric,
    check_finite,
    expect_choice,
    expect_float_dtype,
    expect_int,
    expect_shape,
    is_finite,
)
from minibp.nn.activations import ActivationLayer, get_activation
from minibp.nn.init import DRAWS_BIAS, INITIALIZERS, call_initializer
from minibp.nn.layer import Layer, Parameter

INITS = tuple(INITIALIZERS)  # the names init= accepts; a callable init(shape, rng) works too


class Dense(Layer):
    """Z = X @ W.T + b, then A = activation(Z).

    Shapes: X (batch, in_features) -> A (batch, out_features).
    W is (out_features, in_features): row j holds the weights into neuron j, as in PyTorch's
    Linear, so weights copy across directly. b is (out_features,).

    forward keeps X, Z and A (readable, for learners and for backward); backward overwrites
    dW, db and dZ (the chapter's delta) and returns dX.

    Parameters
    ----------
    in_features, out_features : int
        Widths of the input and of the output.
    activation : None, "identity", "sigmoid", "tanh", "relu" or a registered name
        Fused activation; None means identity (a plain linear layer). See
        minibp.nn.activations.register_activation for adding one.
    W, b : array_like, optional
        Explicit initial values, copied. A scalar b is broadcast to every neuron.
    init : str or callable, optional
        How to draw what W= and b= do not give (see minibp.nn.init): "xavier" (Glorot
        uniform, the default), "xavier_normal", "he" (He uniform, the default for relu),
        "he_normal", "lecun" (LeCun normal), "lecun_uniform", "uniform01" (the chapter's:
        weights and biases from [0, 1)); "xavier_uniform", "he_uniform" and "lecun_normal"
        are aliases. Or a function init(shape, rng) -> array, called with W's shape
        (out_features, in_features) and this layer's Generator. Biases start at zero except
        under "uniform01".
    seed : int or numpy.random.Generator, optional
        Source of the random draws.
    dtype : numpy float dtype, default float64
    copy : bool, default True
        With False, W= and b= arrays already of ``dtype`` and shape are adopted rather than
        copied (minibp.load does this with the arrays it has just read).
    """

    def __init__(self, in_features: int, out_features: int, activation: str | None = None, *,
                 W=None, b=None, init: str | Callable | None = None, seed=None, dtype=np.float64,
                 copy: bool = True):
        super().__init__()
        self.in_features = expect_int(in_features, "in_features", "Dense", least=1)
        self.out_features = expect_int(out_features, "out_features", "Dense", least=1)
        self._activation = get_activation(activation, "Dense")
        self.activation = self._activation.name
        self.dtype = expect_float_dtype(dtype, "Dense")
        init = _resolve_init(init, self.activation)
        # a Generator only when something is drawn (loading a saved model draws nothing)
        rng = np.random.default_rng(seed) if W is None or b is None else None
        self.W = self._initial_W(W, init, rng, bool(copy))
        self.b = self._initial_b(b, init, rng, bool(copy))
        self.dW = np.zeros(self.W.shape, self.dtype)  # calloc'd: no pages touched until used
        self.db = np.zeros(self.b.shape, self.dtype)
        self.X = self.Z = self.A = self.dZ = None

    # -- initial values -------------------------------------------------------------------
    def _initial_W(self, W, init, rng, copy: bool) -> np.ndarray:
        shape = (self.out_features, self.in_features)
        if W is not None:
            W = as_numeric(W, "W", repr(self))
            return np.array(W, self.dtype) if copy else np.asarray(W, self.dtype)  # setter checks
        if callable(init):
            return call_initializer(init, shape, rng, self.dtype, repr(self))
        return INITIALIZERS[init](shape, rng, self.dtype)

    def _initial_b(self, b, init, rng, copy: bool) -> np.ndarray:
        shape = (self.out_features,)
        if b is not None:
            if np.ndim(b) == 0:
                return np.full(shape, b, dtype=self.dtype)
            expect_shape(b, shape, "b", repr(self), " (or give a scalar for every neuron)")
            b = as_numeric(b, "b", repr(self))
            return np.array(b, self.dtype) if copy else np.asarray(b, self.dtype)  # setter checks
        if isinstance(init, str) and init in DRAWS_BIAS:  # drawn after W, from the same rng
            return INITIALIZERS[init](shape, rng, self.dtype)
        return np.zeros(shape, dtype=self.dtype)

    # -- the parameters, checked whenever they are set ------------------------------------
    @property
    def W(self) -> np.ndarray:
        """The weights (out_features, in_features); row j feeds neuron j."""
        return self._W

    @W.setter
    def W(self, value) -> None:
        self._W = self._checked(value, (self.out_features, self.in_features), "W",
                                " (W is (out_features, in_features))")

    @property
    def b(self) -> np.ndarray:
        """The biases (out_features,)."""
        return self._b

    @b.setter
    def b(self, value) -> None:
        self._b = self._checked(value, (self.out_features,), "b")

    def _checked(self, value, shape: tuple, name: str, hint: str = "") -> np.ndarray:
        """value as this layer's own C-contiguous array of its dtype (adopted as it is when it
        already is one). An array of ints, bools or anything but floats is refused (it would
        compute in the wrong type); lists and floats of another precision are converted."""
        who = self._label()
        if isinstance(value, np.ndarray) and value.dtype.kind != "f":
            raise DTypeError(f"{who}: {name} must be float32 or float64, got dtype "
                             f"{value.dtype}; assign {name}.astype(np.{self.dtype}) instead")
        array = np.ascontiguousarray(as_numeric(value, name, who), dtype=self.dtype)
        expect_shape(array, shape, name, who, hint)
        check_finite(array, name, who)
        return array

    def check_parameters(self, who: str, finite: bool = True) -> None:
        """Before an engine reads them: W and b still of this layer's shapes and dtype,
        C-contiguous and (``finite``) finite: an array changed in place, W.shape = ..., or NaN
        written into it, since assignment checked it. ShapeError, DTypeError or
        NonFiniteInputError; the messages are made only when one is raised."""
        W, b, dtype = self._W, self._b, self.dtype
        if not (W.shape == (self.out_features, self.in_features)
                and b.shape == (self.out_features,) and W.dtype == dtype and b.dtype == dtype
                and W.flags.c_contiguous and b.flags.c_contiguous
                and getattr(self.dW, "shape", None) == W.shape
                and getattr(self.db, "shape", None) == b.shape):  # (np.shape: 4x the cost)
            self._refuse_which(who)  # one test on the way in: fit's fixed cost (#12)
        if finite:
            for name, array in (("W", W), ("b", b)):
                if not is_finite(array):
                    check_finite(array, self._parameter_label(name), who)

    def _refuse_which(self, who: str) -> None:
        """The error for the first of W, b that check_parameters refuses."""
        for name, array, grad, shape in (("W", self._W, self.dW,
                                          (self.out_features, self.in_features)),
                                         ("b", self._b, self.db, (self.out_features,))):
            if array.shape != shape or array.dtype != self.dtype \
                    or not array.flags.c_contiguous or np.shape(grad) != shape:
                self._refuse(who, name, array, shape)
        raise DTypeError(f"{who}: {self._parameter_label('W')}'s and b's gradients must be "
                         f"arrays, got {type(self.dW).__name__} and {type(self.db).__name__}")

    def _refuse(self, who: str, name: str, array: np.ndarray, shape: tuple) -> None:
        label = f"{who}: {self._parameter_label(name)}"
        if array.shape != shape:
            raise ShapeError(f"{label} must have shape {shape}, got {array.shape}")
        if array.dtype == self.dtype and array.flags.c_contiguous:  # then the gradient's
            grad = getattr(self, "d" + name)
            raise ShapeError(f"{label}'s gradient must have its shape {shape}, got "
                             f"{np.shape(grad)}")
        raise DTypeError(f"{label} must be a C-contiguous {self.dtype} array, got "
                         f"{'a non-contiguous ' if not array.flags.c_contiguous else ''}"
                         f"{array.dtype} array; assign it again (layer.{name} = ...)")

    # -- forward and backward ---------------------------------------------------------------
    def forward(self, X: np.ndarray) -> np.ndarray:
        """X (batch, in_features) -> A (batch, out_features)."""
        checked = self.check_input(X, self.dtype)
        self.X = checked.copy() if checked is X else checked  # never the caller's own array
        with np.errstate(under="ignore"):  # products of subnormal activations: their answer
            self.Z = self.X @ self.W.T + self.b
        self.A = self._activation.function(self.Z)
        return self.A

    def infer(self, X: np.ndarray) -> np.ndarray:
        """X (batch, in_features) -> A (batch, out_features), keeping nothing: predict's
        forward, so inference leaves no arrays behind and threads may share the layer."""
        X = self.check_input(X, self.dtype)
        with np.errstate(under="ignore"):  # as in forward
            Z = X @ self.W.T + self.b
        return self._activation.function(Z)

    def backward(self, dA: np.ndarray) -> np.ndarray:
        """dA (batch, out_features) -> dX (batch, in_features); overwrites dW, db, dZ."""
        A = self._saved("A")
        self._check_upstream(dA, A)
        with np.errstate(under="ignore"):  # tiny slopes times tiny gradients: their answer
            self.dZ = dA * self._activation.derivative(A)
            np.matmul(self.dZ.T, self.X, out=self.dW)
            np.sum(self.dZ, axis=0, out=self.db)
            return self.dZ @ self.W

    def astype(self, dtype) -> Dense:
        """A copy of this layer whose parameters (and gradients) are in ``dtype``; frozen
        parameters stay frozen. Like NumPy's astype, it never changes this layer."""
        layer = copy.copy(self)
        layer._frozen = set(self._frozen)
        layer._position = None
        layer.dtype = expect_float_dtype(dtype, "Dense.astype")
        layer.W = self.W.astype(layer.dtype)
        layer.b = self.b.astype(layer.dtype)
        layer.dW, layer.db = np.zeros_like(layer.W), np.zeros_like(layer.b)
        layer.X = layer.Z = layer.A = layer.dZ = None
        return layer

    def activation_derivative(self) -> np.ndarray:
        """dA/dZ elementwise at the last forward, (batch, out_features): the chapter's dout/dnet."""
        return self._activation.derivative(self._saved("A"))

    @property
    def activation_class(self) -> type[ActivationLayer]:
        """The registered activation this layer fuses, e.g. minibp.Sigmoid."""
        return self._activation

    def gradcheck_kinks(self) -> np.ndarray | None:
        """For the gradient checker: Z when the activation's derivative jumps at Z = 0 (its
        sign changes exactly at the kink), None when it is smooth."""
        return self._saved("Z") if self._activation.kink_at_zero else None

    def parameter_names(self) -> tuple[str, ...]:
        return ("W", "b")

    def parameters(self) -> list[Parameter]:
        return [Parameter("W", self.W, self.dW, "W" in self._frozen),
                Parameter("b", self.b, self.db, "b" in self._frozen)]

    def __repr__(self) -> str:
        activation = "" if self.activation == "identity" else f", {self.activation}"
        return f"{type(self).__name__}({self.in_features} -> {self.out_features}{activation})"


def _resolve_init(init: str | Callable | None, activation: str) -> str | Callable:
    """A name from INITS or the user's callable; None becomes the activation's default."""
    if init is None:
        return "he" if activation == "relu" else "xavier"
    if callable(init):
        return init
    return expect_choice(init, "init", "Dense", INITS)
