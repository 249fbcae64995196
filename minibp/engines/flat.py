"""Dense layers packed into flat buffers, and data in the form the kernels read.

Pure NumPy: building a FlatModel never imports numba.
"""

from __future__ import annotations

import numpy as np

from minibp.engines.capabilities import activation_code

# Column order of a layout row; minibp.engines.kernels.loop reads the same order (a test
# checks the two agree).
N_IN, N_OUT, W_OFF, B_OFF, ACT, A_OFF = range(6)


def training_arrays(layers, X, Y, loss) -> tuple[np.ndarray, np.ndarray]:
    """X (n, in) and the targets as dense rows (n, out), C-contiguous, in the layers' dtype
    (labels become one-hot rows), checked as the loss checks them."""
    dtype = layers[0].W.dtype
    X = np.ascontiguousarray(X, dtype=dtype)
    T = loss.target_rows(Y, (len(X), layers[-1].out_features), dtype)
    return X, np.ascontiguousarray(T)


class FlatModel:
    """One flat parameter buffer (plus gradients, momentum and scratch) for Dense layers.

    ``layout`` (layers, 6) has per layer [n_in, n_out, w_off, b_off, act, a_off]; W is stored
    row by row, then b. Scratch buffers hold up to ``rows`` batch rows. ``pull`` copies the
    layers' values in; ``push`` writes values and gradients back into the layers in place.
    """

    def __init__(self, layers, rows: int, optimizer=None):
        self.layers = list(layers)
        self.dtype = self.layers[0].W.dtype
        self.rows = rows
        self.layout = self._build_layout()
        size = int(self.layout[-1, B_OFF] + self.layout[-1, N_OUT])
        self.params = np.empty(size, self.dtype)
        self.grads = np.zeros(size, self.dtype)
        self.velocity = np.zeros(size, self.dtype)
        self.trainable = np.ones(size, np.uint8)
        widths = [self.n_inputs] + [layer.out_features for layer in self.layers]
        self.acts = np.empty(rows * sum(widths[1:]), self.dtype)
        self.x_buf = np.empty(rows * self.n_inputs, self.dtype)
        self.y_buf = np.empty(rows * self.n_outputs, self.dtype)
        self.deltas = np.empty(2 * rows * max(widths), self.dtype)  # two halves, see kernels
        self.pull(optimizer)

    @property
    def n_inputs(self) -> int:
        return self.layers[0].in_features

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].out_features

    def _build_layout(self) -> np.ndarray:
        layout = np.empty((len(self.layers), 6), np.int64)
        offset = a_offset = 0
        for row, layer in zip(layout, self.layers):
            n_in, n_out = layer.in_features, layer.out_features
            row[:] = (n_in, n_out, offset, offset + n_in * n_out,
                      activation_code(layer), a_offset)
            offset += n_in * n_out + n_out
            a_offset += self.rows * n_out
        return layout

    def blocks(self):
        """(layer, W view, b view) for each layer, views into the flat buffer of any kind."""
        for layer, row in zip(self.layers, self.layout):
            w0, b0, n_out = row[W_OFF], row[B_OFF], row[N_OUT]
            yield layer, slice(w0, b0), slice(b0, b0 + n_out)

    def pull(self, optimizer=None) -> None:
        """Copy weights (and the optimizer's momentum, when given) out of the layers."""
        for layer, w, b in self.blocks():
            self.params[w] = layer.W.ravel()
            self.params[b] = layer.b
            frozen = {p.name for p in layer.parameters() if p.frozen}
            self.trainable[w] = "W" not in frozen
            self.trainable[b] = "b" not in frozen
            if optimizer is not None and getattr(optimizer, "momentum", 0.0):
                for p, part in zip(layer.parameters(), (w, b)):
                    self.velocity[part] = optimizer.velocity(p).ravel()

    def push(self, optimizer=None) -> None:
        """Write weights and gradients (and momentum) back into the layers, in place."""
        for layer, w, b in self.blocks():
            layer.W[...] = self.params[w].reshape(layer.W.shape)
            layer.b[...] = self.params[b]
            layer.dW[...] = self.grads[w].reshape(layer.W.shape)
            layer.db[...] = self.grads[b]
            if optimizer is not None and getattr(optimizer, "momentum", 0.0):
                for p, part in zip(layer.parameters(), (w, b)):
                    optimizer.velocity(p)[...] = self.velocity[part].reshape(p.value.shape)


def learning_rate(optimizer) -> float:
    """The lr the optimizer's next step uses (its schedule and lr_scale applied)."""
    current = getattr(optimizer, "current_lr", None)
    return float(current()) if current is not None else float(optimizer.lr)


def count_steps(optimizer, steps: int) -> None:
    """Tell the optimizer about updates a compiled engine made for it (schedules and Adam's
    bias correction count them)."""
    if hasattr(optimizer, "steps"):
        optimizer.steps += steps
