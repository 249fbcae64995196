"""Compile the compiled engines' kernels ahead of their first real use (minibp.warmup).

Named precompile, not warmup: a module minibp/warmup.py would be shadowed by the public
function minibp.warmup. It builds what it compiles from minibp.nn directly, so nothing here
reaches back up to the model or the builders.
"""

from __future__ import annotations

import time

import numpy as np

from minibp.nn import Dense, SquaredError
from minibp.optim import SGD, Adam


def warmup(dtypes=("float64", "float32")) -> dict[str, float]:
    """Compile every kernel of the numba and blas engines (or load it from numba's on-disk
    cache), for each dtype.

    Runs fit, gradients and predict of a tiny 2-3-2 sigmoid network through each engine, so
    the kernels are built for exactly the argument types real calls use; fit runs twice,
    with SGD and with Adam, l2, sample weights and clipping, which covers every update
    kernel. Returns seconds per engine entry point and dtype, e.g.
    ``{"numba.fit[float64]": 0.4, ...}``.
    """
    from minibp.engines import blas_engine, numba_engine  # numba is imported here

    X, Y = np.zeros((3, 2)), np.zeros((3, 2))
    seconds = {}
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
    return seconds


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
