"""Initializers: how Dense draws W (and, under "uniform01" only, b) before training.

Each is a function ``(shape, rng, dtype) -> array`` for W of shape (out_features,
in_features), so fan_in = shape[1] (the inputs into each neuron) and fan_out = shape[0].

    name                          distribution    scale
    "xavier", "xavier_uniform"    uniform         limit = sqrt(6 / (fan_in + fan_out))
    "xavier_normal"               normal          std   = sqrt(2 / (fan_in + fan_out))
    "he", "he_uniform"            uniform         limit = sqrt(6 / fan_in)
    "he_normal"                   normal          std   = sqrt(2 / fan_in)
    "lecun", "lecun_normal"       normal          std   = sqrt(1 / fan_in)
    "lecun_uniform"               uniform         limit = sqrt(3 / fan_in)
    "uniform01"                   uniform         [0, 1), the chapter's; biases too

Glorot's keep the variance of activations and gradients about level through tanh and sigmoid,
He's through relu (which zeroes half its inputs, hence the 2); LeCun's keep the forward
variance alone (what SELU networks ask for).
The first five match PyTorch's xavier_uniform_, xavier_normal_ and kaiming_*_ (fan_in, relu
gain). The LeCun normal is plain, not truncated at two std as Keras's and JAX's are.

They draw in float64 and cast, so a float32 layer holds the float64 layer's weights rounded;
uniform01 draws in the dtype itself, so float32 values stay below 1 (a float64 draw just below
1 would round up to 1.0). The draws are part of the API: mlp passes one Generator through
every layer, and the tests pin the values.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from minibp.errors import expect_shape, shown

Initializer = Callable[[tuple, np.random.Generator, np.dtype], np.ndarray]


def xavier_uniform(shape: tuple, rng: np.random.Generator, dtype) -> np.ndarray:
    """W ~ U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)): Glorot and Bengio (2010)."""
    fan_out, fan_in = shape
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype(dtype)


def xavier_normal(shape: tuple, rng: np.random.Generator, dtype) -> np.ndarray:
    """W ~ N(0, std^2), std = sqrt(2 / (fan_in + fan_out)): Glorot's variance, normal."""
    fan_out, fan_in = shape
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return rng.normal(0.0, std, shape).astype(dtype)


def he_uniform(shape: tuple, rng: np.random.Generator, dtype) -> np.ndarray:
    """W ~ U(-limit, limit), limit = sqrt(6 / fan_in): He et al. (2015), for relu."""
    fan_in = shape[1]
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, shape).astype(dtype)


def he_normal(shape: tuple, rng: np.random.Generator, dtype) -> np.ndarray:
    """W ~ N(0, std^2), std = sqrt(2 / fan_in): He's variance, normal."""
    fan_in = shape[1]
    std = np.sqrt(2.0 / fan_in)
    return rng.normal(0.0, std, shape).astype(dtype)


def lecun_normal(shape: tuple, rng: np.random.Generator, dtype) -> np.ndarray:
    """W ~ N(0, std^2), std = sqrt(1 / fan_in): LeCun et al. (1998), plain (not truncated)."""
    fan_in = shape[1]
    std = np.sqrt(1.0 / fan_in)
    return rng.normal(0.0, std, shape).astype(dtype)


def lecun_uniform(shape: tuple, rng: np.random.Generator, dtype) -> np.ndarray:
    """W ~ U(-limit, limit), limit = sqrt(3 / fan_in): LeCun's variance, uniform."""
    fan_in = shape[1]
    limit = np.sqrt(3.0 / fan_in)
    return rng.uniform(-limit, limit, shape).astype(dtype)


def uniform01(shape: tuple, rng: np.random.Generator, dtype) -> np.ndarray:
    """Every entry from [0, 1), drawn in ``dtype``: the chapter's, for weights and biases."""
    return rng.random(shape, dtype=dtype)


# name -> initializer; the names Dense's init= accepts, in the order its message lists them
INITIALIZERS: dict[str, Initializer] = {
    "xavier": xavier_uniform,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he": he_uniform,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun": lecun_normal,
    "lecun_normal": lecun_normal,
    "lecun_uniform": lecun_uniform,
    "uniform01": uniform01,
}
# the initializers that draw biases too (with the same function, after W); the rest leave b at 0
DRAWS_BIAS = ("uniform01",)


def call_initializer(init: Callable, shape: tuple, rng: np.random.Generator, dtype,
                     who: str) -> np.ndarray:
    """W from a user's ``init(shape, rng)``, refused unless it has ``shape`` and real, finite
    entries, then cast to ``dtype`` (a copy: the layer owns its weights). ``who`` names the
    layer in messages; finiteness is checked after the cast, so float32 overflow is caught."""
    label = f"the array init={getattr(init, '__name__', None) or shown(init)} returned"
    values = np.asarray(init(shape, rng))
    expect_shape(values, shape, label, who, " (W is (out_features, in_features))")
    if values.dtype.kind not in "iuf":
        raise TypeError(f"{who}: {label} must hold real numbers, got dtype {values.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        values = values.astype(dtype)
    bad = ~np.isfinite(values)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{who}: {label} must be finite as {np.dtype(dtype)}, got "
                         f"{int(bad.sum())} NaN or infinite values (first at W{list(first)})")
    return values
