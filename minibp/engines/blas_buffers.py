"""The BLAS engine's buffers: every array one step needs, allocated once per fit, and the
arrays its batches are gathered from."""

from __future__ import annotations

import numpy as np

from minibp.engines import cache_location  # noqa: F401  (before the kernels: see it)
from minibp.engines.blas_update import NO_WEIGHTS
from minibp.engines.capabilities import ACTIVATION_CODES, activation_code
from minibp.engines.checks import kernel_array
from minibp.engines.kernels import fused  # numba: imported only when the engine runs
from minibp.nn import Sigmoid

SIGMOID = ACTIVATION_CODES[Sigmoid]


class Buffers:
    """Every array one step needs, for batches of up to ``rows`` rows; plus transposed views
    made once, so a full batch creates no array at all."""

    def __init__(self, layers, rows: int):
        self.layers = layers
        dtype = self.layers[0].W.dtype
        self.rows = rows
        self.x = np.empty((rows, self.layers[0].in_features), dtype)
        self.t = np.empty((rows, self.layers[-1].out_features), dtype)
        self.A = [np.empty((rows, layer.out_features), dtype) for layer in self.layers]
        self.dZ = [np.empty((rows, layer.out_features), dtype) for layer in self.layers]
        self.acts = [activation_code(layer) for layer in self.layers]
        self.WT = [layer.W.T for layer in self.layers]
        widths = [self.x.shape[1]] + [a.shape[1] for a in self.A]
        self.sq = np.empty(max(widths))  # float64 column sums (gather_rows' scratch)
        self.E = [np.empty_like(a) if code == SIGMOID else None  # exp scratch for sigmoid
                  for a, code in zip(self.A, self.acts)]
        self.w = np.empty(rows)  # a batch's sample weights, float64; w_rows the same as rows
        self.w_rows = self.w.reshape(rows, 1)

    def batch(self, rows: int):
        """(x, t, A, dZ) for a batch of `rows` rows: the buffers themselves when full."""
        if rows == self.rows:
            return self.x, self.t, self.A, self.dZ
        return (self.x[:rows], self.t[:rows], [a[:rows] for a in self.A],
                [d[:rows] for d in self.dZ])

    def weights(self, w, order, start: int, rows: int):
        """The sample weights (rows,) of the batch at order[start:], gathered from w (n, 1);
        NO_WEIGHTS (empty) when w is None."""
        if w is None:
            return NO_WEIGHTS
        if rows == self.rows:
            fused.gather_rows(w, order, start, self.w_rows, self.sq)
            return self.w
        fused.gather_rows(w, order, start, self.w_rows[:rows], self.sq)
        return self.w[:rows]

    def exp_scratch(self, i: int, rows: int):
        E = self.E[i]
        return E if rows == self.rows else E[:rows]


def batch_sources(layers, X, Y, loss) -> tuple[np.ndarray, np.ndarray]:
    """X (n, in) and the targets as dense rows (n, out), what gather_batch reads, as
    flat.training_arrays makes them, except that X already C-contiguous in the layers'
    dtype is taken as it is, read-only or not (np.load(..., mmap_mode="r"), the
    benchmarks' data): only gather_batch reads it, compiled once more for a read-only
    array (then cached on disk), where a copy would cost a pass over the whole data on
    every fit (W3: 188 MB, some 30 ms, a twentieth of the epoch)."""
    dtype = layers[0].W.dtype
    X = np.ascontiguousarray(X, dtype=dtype)  # a copy only of another layout or dtype
    T = loss.target_rows(Y, (len(X), layers[-1].out_features), dtype)
    return X, kernel_array(T, dtype)
