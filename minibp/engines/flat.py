"""Dense layers packed into flat buffers, and data in the form the kernels read.

Pure NumPy: building a FlatModel never imports numba.
"""

from __future__ import annotations

import numpy as np

from minibp.engines.capabilities import activation_code
from minibp.engines.checks import check_parameters, kernel_array
from minibp.engines.idle import IdleTable
from minibp.errors import is_finite

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
    the optimizer's state in, and refuses NaN or infinity there (the one finiteness check of
    the parameters on this path, ``who`` naming the caller); ``push`` writes values,
    gradients and state back in place. ``net``, ``scratch`` and ``state_rows`` are the
    tuples the kernels take. A FlatModel may be pulled again for another run of the same structure
    (IdleFlatModels keeps the idle ones).
    """

    def __init__(self, layers, rows: int, optimizer=None, who: str = "fit"):
        self.layers = list(layers)
        self.dtype = self.layers[0].W.dtype
        self.rows, self.who = rows, who
        self.memo = {}  # what an engine derives from the structure once (numba: Structures)
        self.idle_key = None  # IdleFlatModels' key, set by take
        self.layout = self._build_layout()
        size = int(self.layout[-1, B_OFF] + self.layout[-1, N_OUT])
        self.params = np.empty(size, self.dtype)
        self.grads = np.zeros(size, self.dtype)
        self.state = np.zeros((2, size if state_names(optimizer) else 0), self.dtype)
        self.saved_params, self.saved_state = np.empty_like(self.params), np.empty_like(
            self.state)  # a copy from before a compiled call, to undo it (numba_engine)
        self.blocks = np.empty((0, 3), np.int64)
        self.trained = []  # (optimizer's state array, its view in state) at the last pull
        self._frozen = None  # the layers' frozen flags that blocks was made for
        self._slices = tuple((slice(w0, b0), slice(b0, b0 + n_out))
                             for _, n_out, w0, b0, *_ in self.rows_of_layout)
        self._parts = [part for w, b in self._slices for part in (w, b)]  # W, b, W, ...
        self._views = tuple(self._layer_views())
        self._state_views = tuple(self._row_views(row) for row in self.state if row.size)
        widths = [self.n_inputs] + [layer.out_features for layer in self.layers]
        self.acts = np.empty(rows * sum(widths[1:]), self.dtype)
        self.x_buf = np.empty(rows * self.n_inputs, self.dtype)
        self.y_buf = np.empty(rows * self.n_outputs, self.dtype)
        self.w_buf = np.empty(rows)  # a shuffled batch's sample weights, float64
        self.deltas = np.empty(2 * rows * max(widths), self.dtype)  # two halves, see kernels
        self.scratch = (self.acts, self.x_buf, self.y_buf, self.w_buf, self.deltas)
        self.state_rows = (self.state[0], self.state[1])  # the kernels' two state arrays
        self.pull(optimizer)

    @property
    def n_inputs(self) -> int:
        return self.rows_of_layout[0][N_IN]

    @property
    def n_outputs(self) -> int:
        return self.rows_of_layout[-1][N_OUT]

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
        self.macs_per_row = offset - sum(row[N_OUT] for row in rows)  # sum of n_in * n_out
        return np.array(rows, np.int64).reshape(-1, 6)

    def _layer_views(self):
        """(W, b, dW, db) per layer: views of params and grads in the layer's shapes, made
        once, so pull and push are one copy per array."""
        for (W, b), (dW, db) in zip(self._row_views(self.params), self._row_views(self.grads)):
            yield W, b, dW, db

    def _row_views(self, flat: np.ndarray) -> tuple:
        """((W, b) per layer): views of a flat buffer laid out as params, in the layer's
        shapes."""
        return tuple((flat[w].reshape(n_out, n_in), flat[b])
                     for (n_in, n_out, *_), (w, b) in zip(self.rows_of_layout, self._slices))

    def pull(self, optimizer=None) -> None:
        """Copy values out of the layers, which of them train, and (when given) the
        optimizer's state of those that do (zeros on first use, as the optimizer makes it).
        NonFiniteInputError (naming the parameter) when a value is NaN or infinite."""
        for layer, (W, b, _, _) in zip(self.layers, self._views):
            W[...] = layer.W  # shapes and dtypes checked (resolve); half np.copyto's cost
            b[...] = layer.b
        if not is_finite(self.params):
            check_parameters(self.layers, self.who)  # raises, naming the parameter
        frozen = tuple([layer.is_frozen(name) for layer in self.layers for name in "Wb"])
        if frozen != self._frozen:
            self.blocks = np.array([(part.start, part.stop, k % 2 == 0)  # is_matrix: W
                                    for k, part in enumerate(self._parts) if not frozen[k]],
                                   np.int64).reshape(-1, 3)
            self._frozen = frozen
            self.net = (self.params, self.grads, self.layout, self.blocks)  # kernels take
        names = state_names(optimizer)
        self.trained = self._trained_state(optimizer, names, frozen) if names else []
        for held, view in self.trained:
            view[...] = held

    def _trained_state(self, optimizer, names: tuple, frozen: tuple) -> list:
        """(the optimizer's state array, its view in self.state) for each state name of each
        parameter that trains, by the layers' arrays (Optimizer.state_of, no records made)."""
        pairs = []
        for i, layer in enumerate(self.layers):
            for j, value in enumerate((layer.W, layer.b)):
                if not frozen[2 * i + j]:
                    held = optimizer.state_of(value)
                    pairs += [(held[name], self._state_views[k][i][j])
                              for k, name in enumerate(names)]
        return pairs

    def push(self, optimizer=None, grads: bool = True, values: bool = True) -> None:
        """Write ``values`` and ``grads`` (gradients), and the optimizer's state of the
        parameters trained, back into the layers' and the optimizer's own arrays, in place."""
        for layer, (W, b, dW, db) in zip(self.layers, self._views):
            if values:
                layer.W[...] = W  # into the layer's own arrays (views of them stay true)
                layer.b[...] = b
            if grads:
                layer.dW[...] = dW
                layer.db[...] = db
        if optimizer is not None:
            for held, view in self.trained:
                held[...] = view


class IdleFlatModels(IdleTable):
    """The FlatModels of the last few runs that ended, by the structure they were made for
    (each layer's sizes, activation and dtype, the batch rows, the optimizer's state names),
    so that fitting a model of that structure again skips building one: the chapter's loop
    of fit(epochs=1), a sweep over learning rates or seeds, a benchmark's fresh models. A
    few tens of microseconds a fit.

    A run takes its FlatModel out (rebound to its own layers, pulled afresh) and gives it
    back when it ends, so two runs never share one. At most MAX are kept, the oldest
    dropped first; a kept one holds its buffers' memory, not the layers it last served.
    """

    @staticmethod
    def key(layers, rows: int, optimizer) -> tuple:
        return (rows, state_names(optimizer)) + tuple(
            (layer.in_features, layer.out_features, layer.activation_class, layer.dtype)
            for layer in layers)

    def take(self, layers, rows: int, optimizer, who: str) -> FlatModel:
        """A FlatModel of ``layers`` for ``rows`` batch rows, pulled for ``optimizer``."""
        key = self.key(layers, rows, optimizer)
        flat = self._pop(key)
        if flat is None:
            flat = FlatModel(layers, rows=rows, optimizer=optimizer, who=who)
            flat.idle_key = key
            return flat
        flat.layers, flat.who = list(layers), who
        flat.pull(optimizer)
        return flat

    def give_back(self, flat: FlatModel) -> None:
        flat.layers, flat.trained = [], []  # the layers and parameters are not ours to keep
        self._keep(flat.idle_key, flat)


IDLE = IdleFlatModels()


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
