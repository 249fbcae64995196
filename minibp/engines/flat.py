"""Dense layers packed into flat buffers, and data in the form the kernels read.

Pure NumPy: building a FlatModel never imports numba.
"""

from __future__ import annotations

import numpy as np

from minibp.engines.capabilities import activation_code
from minibp.engines.checks import kernel_array

# Column order of a layout row; minibp.engines.kernels.loop reads the same order (a test
# checks the two agree).
N_IN, N_OUT, W_OFF, B_OFF, ACT, A_OFF = range(6)


def training_arrays(layers, X, Y, loss) -> tuple[np.ndarray, np.ndarray]:
    """X (n, in) and the targets as dense rows (n, out), C-contiguous, in the layers' dtype
    (labels become one-hot rows), checked as the loss checks them."""
    dtype = layers[0].W.dtype
    X = kernel_array(X, dtype)
    T = loss.target_rows(Y, (len(X), layers[-1].out_features), dtype)
    return X, kernel_array(T, dtype)


class FlatModel:
    """One flat parameter buffer (plus gradients, optimizer state and scratch) for Dense
    layers.

    ``layout`` (layers, 6) has per layer [n_in, n_out, w_off, b_off, act, a_off]; W is stored
    row by row, then b. ``blocks`` (k, 3) lists the trainable parameters as [start, stop,
    is_matrix]. ``state`` (2, size) holds the optimizer's state arrays in its state_names
    order (SGD: momentum_buffer; Adam: exp_avg, exp_avg_sq), empty rows when it keeps none.
    Scratch buffers hold up to ``rows`` batch rows. ``pull`` copies the layers' values and
    the optimizer's state in; ``push`` writes values, gradients and state back in place.
    ``net`` and ``scratch`` are the tuples the kernels take.
    """

    def __init__(self, layers, rows: int, optimizer=None):
        self.layers = list(layers)
        self.dtype = self.layers[0].W.dtype
        self.rows = rows
        self.layout = self._build_layout()
        size = int(self.layout[-1, B_OFF] + self.layout[-1, N_OUT])
        self.params = np.empty(size, self.dtype)
        self.grads = np.zeros(size, self.dtype)
        self.state = np.zeros((2, size if state_names(optimizer) else 0), self.dtype)
        self.blocks = np.empty((0, 3), np.int64)
        self.trained = []  # (parameter, slice) of each parameter trainable at the last pull
        widths = [self.n_inputs] + [layer.out_features for layer in self.layers]
        self.acts = np.empty(rows * sum(widths[1:]), self.dtype)
        self.x_buf = np.empty(rows * self.n_inputs, self.dtype)
        self.y_buf = np.empty(rows * self.n_outputs, self.dtype)
        self.w_buf = np.empty(rows)  # a shuffled batch's sample weights, float64
        self.deltas = np.empty(2 * rows * max(widths), self.dtype)  # two halves, see kernels
        self.pull(optimizer)

    @property
    def n_inputs(self) -> int:
        return self.layers[0].in_features

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].out_features

    @property
    def net(self) -> tuple:
        return self.params, self.grads, self.layout, self.blocks

    @property
    def scratch(self) -> tuple:
        return self.acts, self.x_buf, self.y_buf, self.w_buf, self.deltas

    def _build_layout(self) -> np.ndarray:
        """The layout table; its rows also as tuples of Python ints (self.rows_of_layout)."""
        rows, offset, a_offset = [], 0, 0
        for layer in self.layers:
            n_in, n_out = layer.in_features, layer.out_features
            rows.append((n_in, n_out, offset, offset + n_in * n_out, activation_code(layer),
                         a_offset))
            offset += n_in * n_out + n_out
            a_offset += self.rows * n_out
        self.rows_of_layout = tuple(rows)
        return np.array(rows, np.int64).reshape(-1, 6)

    def slices(self):
        """(layer, W slice, b slice) for each layer, into flat buffers of any kind."""
        for layer, row in zip(self.layers, self.layout):
            w0, b0, n_out = row[W_OFF], row[B_OFF], row[N_OUT]
            yield layer, slice(w0, b0), slice(b0, b0 + n_out)

    def pull(self, optimizer=None) -> None:
        """Copy values out of the layers, which of them train, and (when given) the
        optimizer's state of those that do (zeros on first use, as the optimizer makes it)."""
        self.trained = []
        for layer, w, b in self.slices():
            self.params[w] = layer.W.ravel()
            self.params[b] = layer.b
            self.trained += [(p, part) for p, part in zip(layer.parameters(), (w, b))
                             if not p.frozen]
        self.blocks = np.array([(part.start, part.stop, p.value.ndim >= 2)
                                for p, part in self.trained], np.int64).reshape(-1, 3)
        for k, name in enumerate(state_names(optimizer)):
            for p, part in self.trained:
                self.state[k, part] = optimizer.state(p)[name].ravel()

    def push(self, optimizer=None) -> None:
        """Write values and gradients (and the optimizer's state of the parameters trained)
        back into the layers' and the optimizer's own arrays, in place."""
        for layer, w, b in self.slices():
            layer.W[...] = self.params[w].reshape(layer.W.shape)
            layer.b[...] = self.params[b]
            layer.dW[...] = self.grads[w].reshape(layer.W.shape)
            layer.db[...] = self.grads[b]
        for k, name in enumerate(state_names(optimizer)):
            for p, part in self.trained:
                optimizer.state(p)[name][...] = self.state[k, part].reshape(p.value.shape)


def state_names(optimizer) -> tuple[str, ...]:
    """The names of the optimizer's state arrays (none without an optimizer)."""
    return tuple(getattr(optimizer, "state_names", ())) if optimizer is not None else ()


def learning_rate(optimizer) -> float:
    """The lr the optimizer's next step uses (its schedule and lr_scale applied)."""
    current = getattr(optimizer, "current_lr", None)
    return float(current()) if current is not None else float(optimizer.lr)


def count_steps(optimizer, steps: int) -> None:
    """Tell the optimizer about updates a compiled engine made for it (schedules and Adam's
    bias correction count them)."""
    if hasattr(optimizer, "steps"):
        optimizer.steps += steps
