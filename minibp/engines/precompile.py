"""Compile the compiled engines' kernels ahead of their first real use (minibp.warmup).

Named precompile, not warmup: a module minibp/warmup.py would be shadowed by the public
function minibp.warmup. It builds what it compiles from minibp.nn directly, so nothing here
reaches back up to the model or the builders.
"""

from __future__ import annotations

import copy
import time

import numpy as np

from minibp.nn import Dense, SquaredError
from minibp.optim import SGD, Adam


def warmup(dtypes=("float64", "float32"), *, model=None, loss="mse", optimizer="sgd",
           **fit_options) -> dict[str, float]:
    """Compile the compiled engines' kernels (or load them from numba's on-disk cache).

    For each dtype: the numba engine's generic loop, gradients and predict, and the blas
    engine's kernels, through fit, gradients and predict of a tiny 2-3-2 sigmoid network;
    fit runs twice, with SGD and with Adam, l2, sample weights and clipping, which covers
    every update kernel; the SGD fit and predict compile the BLAS engine's compiled steps
    and compiled predict, which serve every model of up to four layers (8.5-10 s and
    0.8-1.2 s with the rest of the BLAS fit on a new machine, 0.7x their time before the
    driver's threads became minibp's own; deeper models compile them again at their first
    fit and predict). The numba engine's fits then run a loop compiled for their model's structure
    (engines.specialize), compiled at a structure's first fit: give ``model``
    (with the ``loss``, ``optimizer`` and fit options, e.g. batch_size or shuffle, you will
    train it with) to compile that one too, on a copy, in the model's own dtype. Returns
    seconds per engine entry point and dtype, e.g. ``{"numba.fit[float64]": 0.4, ...}``,
    and ``"numba.fit[model]"`` for the model's loop.
    """
    from minibp.engines import blas_engine, numba_engine, specialize  # numba is imported here

    X, Y = np.zeros((3, 2)), np.zeros((3, 2))
    seconds = {}
    enabled, specialize.ENABLED = specialize.ENABLED, False  # the generic loop, here
    try:
        for dtype in map(np.dtype, dtypes):
            for name, engine in (("numba", numba_engine), ("blas", blas_engine)):
                rng = np.random.default_rng(0)
                layers = [Dense(2, 3, "sigmoid", seed=rng, dtype=dtype),
                          Dense(3, 2, "sigmoid", seed=rng, dtype=dtype)]
                key = f"{name}.{{}}[{dtype.name}]"
                seconds[key.format("fit")] = _seconds(_one_epoch, engine, layers, X, Y)
                seconds[key.format("gradients")] = _seconds(engine.gradients, layers, X, Y,
                                                            SquaredError())
                seconds[key.format("predict")] = _seconds(engine.predict, layers, X)
    finally:
        specialize.ENABLED = enabled
    if model is not None:
        seconds["numba.fit[model]"] = _seconds(_model_epoch, model, loss, optimizer,
                                               fit_options)
    return seconds


def _model_epoch(model, loss, optimizer, fit_options) -> None:
    """One epoch of a copy of model on zeros, on the numba engine (a copy of optimizer
    too, so neither the model nor the optimizer changes)."""
    twin, optimizer = copy.deepcopy(model), copy.deepcopy(optimizer)
    rows = max(2, int(fit_options.get("batch_size", 2)))
    X = np.zeros((rows, model.layers[0].in_features), model.layers[0].W.dtype)
    Y = np.zeros((rows, model.layers[-1].out_features), X.dtype)
    twin.fit(X, Y, loss=loss, optimizer=optimizer, epochs=1, engine="numba", verbose=0,
             **fit_options)


def _one_epoch(engine, layers, X, Y) -> None:
    everything = {"sample_weight": np.ones(len(X)), "clip_norm": 1.0}
    for optimizer, options in ((SGD(0.1), {}), (Adam(0.01, l2=1e-4), everything)):
        session = engine.Session(layers, X, Y, loss=SquaredError(), optimizer=optimizer,
                                 batch_size=2, shuffle=True, seed=0, **options)
        session.run(1)
        session.close()


def _seconds(function, *args, **kwargs) -> float:
    started = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - started
