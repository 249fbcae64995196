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
from minibp.engines.blas_buffers import Buffers
from minibp.engines.idle import IdleTable

SLAB_BYTES = 1 << 22  # predict copies X into a slab of about this size at a time
_READY: set = set()  # (dtype, depth) compiled or loaded: to_compile


def predict(layers, X: np.ndarray, out: np.ndarray, rows: int) -> None:
    """out (n, outputs) = the layers' output for X (n, in), ``rows`` rows at a time, each
    batch's two halves on two threads (kernels/blas_steps.py's forward_rows through
    blas_threads.call) with OpenBLAS at one thread, so that no OpenBLAS thread is left
    spinning for a compiled fit's next epoch. X is copied into a slab of whole batches at a
    time (SLAB_BYTES): forward_rows is then compiled once per dtype (and blas_steps.padded's
    depths), whatever X's layout or flags. The buffers and forward_rows' arguments are
    kept between calls (IDLE)."""
    if len(X) == 0:
        return
    forwarding = IDLE.take(layers, rows)
    try:
        _predict(forwarding, X, out)
    finally:
        IDLE.give_back(forwarding)


def _predict(forwarding, X: np.ndarray, out: np.ndarray) -> None:
    buffers, arguments = forwarding.buffers, forwarding.arguments
    forward_rows = blas_compiled.kernels().forward_rows
    batches = max(1, SLAB_BYTES // (buffers.rows * X.shape[1] * X.itemsize))
    slab_rows = min(len(X), batches * buffers.rows)
    x = np.empty((slab_rows, X.shape[1]), buffers.x.dtype)
    y = np.empty((slab_rows, out.shape[1]), buffers.x.dtype)
    with blas_library.one_blas_thread():
        for start in range(0, len(X), slab_rows):
            rows = min(slab_rows, len(X) - start)
            x[:rows] = X[start:start + rows]
            blas_threads.call(forward_rows, (x, rows, buffers.rows, *arguments, y),
                              forwarding.macs)
            out[start:start + rows] = y[:rows]


class Forwarding:
    """What predict needs for some layers at ``rows`` rows a batch: their Buffers,
    forward_rows' arguments after x and rows (forward_arguments) and a batch's
    multiply-adds. It holds the layers' W and b as they were when it was made."""

    def __init__(self, layers, rows: int):
        self.buffers = Buffers(layers, rows=rows)
        self.arguments = forward_arguments(self.buffers)
        self.macs = macs_per_step(self.buffers, rows)


class IdleForwardings(IdleTable):
    """The Forwardings of the last few predicts, so that predicting with the same layers
    again (a loop over single rows, a fit's evaluation after each epoch) skips making the
    buffers and the padded arguments: 20-30 us a call. Keyed by the layers, their W and b
    (the very arrays: a new one makes a new Forwarding), each layer's activation and the
    batch rows; a kept one holds its layers' arrays."""

    @staticmethod
    def key(layers, rows: int) -> tuple:
        return (rows,) + tuple(
            (id(layer), id(layer.W), id(layer.b), layer.activation_class)
            for layer in layers)

    def take(self, layers, rows: int) -> Forwarding:
        key = self.key(layers, rows)
        forwarding = self._pop(key)
        if forwarding is None:
            forwarding = Forwarding(layers, rows)
            forwarding.key = key
        return forwarding

    def give_back(self, forwarding: Forwarding) -> None:
        self._keep(forwarding.key, forwarding)


IDLE = IdleForwardings()


def forward_arguments(buffers) -> tuple:
    """forward_rows' arguments after x and rows, its kernels bound: (W, b, A, acts, P, S).
    W and b as read-only views, whatever the layers' own flags: one read-only parameter
    among writable ones would make a tuple numba cannot index, and forward_rows writes
    none of them."""
    layers, padded = buffers.layers, blas_compiled.kernels().padded  # as Steps pads them
    W, b, A = (padded(_read_only(layer.W) for layer in layers),
               padded(_read_only(layer.b) for layer in layers), padded(buffers.A))
    P, S = blas_compiled.sigmoid_scratch(buffers.x.dtype, max(a.shape[1] for a in A))
    acts = np.array(buffers.acts, np.int64)
    blas_compiled.kernels().bind_predict(W, b, A, acts, P[0], S[0])
    return W, b, A, acts, P, S


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


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
