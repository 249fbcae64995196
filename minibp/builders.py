"""Builders for common models."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from minibp.model import Sequential
from minibp.nn import Dense


def mlp(sizes: Sequence[int], activation: str | None = "sigmoid",
        output_activation: str | None = None, *, init: str | None = None, seed=None,
        dtype=np.float64) -> Sequential:
    """A Sequential of Dense layers with widths ``sizes`` (inputs first, outputs last).

    Hidden layers use ``activation``; the last uses ``output_activation`` (None: linear, as
    SoftmaxCrossEntropy wants logits). Every layer draws from one generator made from
    ``seed``, so equal-shaped layers do not get equal weights.

    >>> mlp([2, 5, 1], "sigmoid", "sigmoid", seed=0)
    Sequential(
      (0) Dense(2 -> 5, sigmoid)
      (1) Dense(5 -> 1, sigmoid)
    )
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"mlp: sizes must hold at least an input and an output width, "
                         f"got {sizes}")
    rng = np.random.default_rng(seed)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(Dense(n_in, n_out, output_activation if last else activation,
                            init=init, seed=rng, dtype=dtype))
    return Sequential(*layers)
