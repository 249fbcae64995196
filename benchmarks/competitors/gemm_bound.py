"""The GEMM-only bound for W3/W4: the matrix products of one epoch, and nothing else.

Per step and per layer, as the issue defines the bound: forward X @ W.T, backward dZ.T @ X
(the weight gradient) and dZ @ W (the gradient at the layer's input), the last one for the
first layer too, although nothing needs the gradient at the data. minibp, plain NumPy and
PyTorch all skip that product (784 x 256 x batch multiply-adds, about 28% of the bound's),
so with ``first_layer_dA=False`` this module also times the products a step really needs.
Every product goes through ``np.matmul(..., out=)`` into buffers allocated in prepare, with
the operand layouts minibp's BLAS engine uses; the last batch of the epoch is short, as
everyone's. No elementwise work at all: no batch gather (the first layer always reads one
buffer holding the epoch's first batch), no bias, activation, loss or update; the weights
never change and the buffers are not reset between runs. The issue's bound is the ratio 1.0
of the tables.
"""

from __future__ import annotations

import numpy as np

from benchmarks.competitors import Runner


def products(sizes, rows: int, first_layer_dA: bool = True):
    """Operand shapes of one step's products, in order: per layer (in, out) the forward
    (rows, in) @ (in, out), then, last layer first, (out, rows) @ (rows, in) and
    (rows, out) @ (out, in), the first layer's last one only when first_layer_dA."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    shapes = [((rows, n_in), (n_in, n_out)) for n_in, n_out in pairs]
    for i in range(len(pairs) - 1, -1, -1):
        n_in, n_out = pairs[i]
        shapes.append(((n_out, rows), (rows, n_in)))
        if i > 0 or first_layer_dA:
            shapes.append(((rows, n_out), (n_out, n_in)))
    return shapes


class Buffers:
    """Operands and outputs for batches of up to ``rows`` rows, filled with finite values of
    the magnitudes training sees (never denormals, which would slow BLAS down)."""

    def __init__(self, weights: list[np.ndarray], x: np.ndarray, rng):
        self.W = weights
        self.WT = [W.T for W in weights]
        rows, dtype = x.shape[0], x.dtype
        self.x = x
        self.A = [np.empty((rows, W.shape[0]), dtype) for W in weights]
        self.dZ = [rng.uniform(-1e-2, 1e-2, (rows, W.shape[0])).astype(dtype) for W in weights]
        self.dX = rng.uniform(-1e-2, 1e-2, x.shape).astype(dtype)   # the first layer's dZ @ W
        self.dW = [np.empty_like(W) for W in weights]


def step(buffers: Buffers, rows: int, first_layer_dA: bool = True) -> None:
    """The products of one step on a batch of `rows` rows (views when the batch is short),
    in the order of products()."""
    full = rows == buffers.x.shape[0]
    A = buffers.A if full else [a[:rows] for a in buffers.A]
    dZ = buffers.dZ if full else [d[:rows] for d in buffers.dZ]
    inputs = [buffers.x if full else buffers.x[:rows]] + A[:-1]
    for i, WT in enumerate(buffers.WT):
        np.matmul(inputs[i], WT, out=A[i])
    for i in range(len(buffers.W) - 1, -1, -1):
        np.matmul(dZ[i].T, inputs[i], out=buffers.dW[i])
        if i > 0:
            np.matmul(dZ[i], buffers.W[i], out=dZ[i - 1])
        elif first_layer_dA:
            np.matmul(dZ[0], buffers.W[0], out=buffers.dX if full else buffers.dX[:rows])


def prepare(workload, first_layer_dA: bool = True) -> Runner:
    X, _ = workload.data()
    batch = min(workload.batch_size, workload.samples)
    x = np.ascontiguousarray(X[workload.order()[:batch]])
    weights = [layer.W.copy() for layer in workload.layers]
    buffers = Buffers(weights, x, np.random.default_rng(0))

    def train():
        for start in range(0, workload.samples, workload.batch_size):
            step(buffers, min(workload.batch_size, workload.samples - start), first_layer_dA)

    return Runner(lambda: None, train, lambda: [])
