"""The BLAS engine's predict, compiled: each batch's halves of rows through every layer on
two threads (kernels/blas_steps.py's ``forward_rows`` through blas_threads.call), where
the compiled steps can run (blas_compiled.can_predict). A fit's evaluations between
epochs use it too, so no OpenBLAS thread is left spinning for the next compiled epoch
(docs/engines.md, "The BLAS engine's compiled steps").
"""

from __future__ import annotations

import functools

import numpy as np

from minibp.engines import blas_compiled, blas_library, blas_threads, macs_per_step

SLAB_BYTES = 1 << 22  # predict copies X into a slab of about this size at a time
_READY: set = set()  # (dtype, depth) compiled or loaded: to_compile


def predict(buffers, X: np.ndarray, out: np.ndarray) -> None:
    """out (n, outputs) = the layers' output for X (n, in), ``buffers.rows`` rows at a time,
    each batch's two halves on two threads (kernels/blas_steps.py's forward_rows through
    blas_threads.call) with OpenBLAS at one thread, so that no OpenBLAS thread is left
    spinning for a compiled fit's next epoch. X is copied into a slab of whole batches at a
    time (SLAB_BYTES): forward_rows is then compiled once per dtype (and blas_steps.padded's
    depths), whatever X's layout or flags."""
    if len(X) == 0:
        return
    W, b, A, acts, P, S = forward_arguments(buffers)
    forward_rows = blas_compiled.kernels().forward_rows
    macs = macs_per_step(buffers, buffers.rows)  # a batch's
    batches = max(1, SLAB_BYTES // (buffers.rows * X.shape[1] * X.itemsize))
    slab_rows = min(len(X), batches * buffers.rows)
    x = np.empty((slab_rows, X.shape[1]), buffers.x.dtype)
    y = np.empty((slab_rows, out.shape[1]), buffers.x.dtype)
    with blas_library.one_blas_thread():
        for start in range(0, len(X), slab_rows):
            rows = min(slab_rows, len(X) - start)
            x[:rows] = X[start:start + rows]
            blas_threads.call(forward_rows, (x, rows, buffers.rows, W, b, A, acts, P, S, y),
                              macs)
            out[start:start + rows] = y[:rows]


def forward_arguments(buffers) -> tuple:
    """forward_rows' arguments after x and rows, its kernels bound: (W, b, A, acts, P, S)."""
    layers, padded = buffers.layers, blas_compiled.kernels().padded  # as Steps pads them
    W, b, A = (padded(layer.W for layer in layers), padded(layer.b for layer in layers),
               padded(buffers.A))
    P, S = blas_compiled.sigmoid_scratch(buffers.x.dtype, max(a.shape[1] for a in A))
    acts = np.array(buffers.acts, np.int64)
    blas_compiled.kernels().bind_predict(W, b, A, acts, P[0], S[0])
    return W, b, A, acts, P, S


def to_compile(buffers) -> list:
    """forward_rows for buffers' dtype and depth (blas_steps.padded's), when predict can run
    compiled and this process has not compiled or loaded it: a call that runs it for no
    row."""
    key = (buffers.x.dtype, len(buffers.layers))
    if key in _READY or not blas_compiled.can_predict():
        return []
    return [functools.partial(_compile, key, buffers)]


def _compile(key: tuple, buffers) -> None:
    blas_threads.alone(blas_compiled.kernels().forward_rows, (
        buffers.x, 0, buffers.rows, *forward_arguments(buffers), buffers.A[-1]))
    _READY.add(key)
