"""The numba engine's kernels: the whole training run over flat arrays.

The rules and the reason for the shared-math copies are in minibp/engines/kernels/__init__.py.

A model is described by one flat parameter buffer and a ``layout`` table, one row per Dense
layer: ``[n_in, n_out, w_off, b_off, act, a_off]``. Layer l's W (n_out, n_in) is stored row
by row at ``params[w_off:w_off + n_out * n_in]`` and its b at ``params[b_off:b_off + n_out]``;
its output activations for a batch live at ``acts[a_off:a_off + rows * n_out]``.
Gradient and momentum buffers share the parameter layout.

Every batch array below (x_buf, acts, deltas) is row-major (rows, width) flattened.
"""

import numpy as np
from numba import njit

IDENTITY, SIGMOID, TANH, RELU = 0, 1, 2, 3        # capabilities.ACTIVATION_CODES
SQUARED_ERROR, MSE, SOFTMAX_XENT = 0, 1, 2         # capabilities.LOSS_CODES
N_IN, N_OUT, W_OFF, B_OFF, ACT, A_OFF = 0, 1, 2, 3, 4, 5   # the columns of flat.FlatModel.layout


# -- shared scalar math: identical copies in fused.py (see kernels/__init__.py) ------------
@njit(cache=True, inline="always")
def activate(z, act):
    """A = f(Z) for one value; sigmoid exponentiates only -|z|, so it never overflows."""
    if act == SIGMOID:
        if z >= 0.0:
            return 1.0 / (1.0 + np.exp(-z))
        e = np.exp(z)
        return e / (1.0 + e)
    if act == TANH:
        return np.tanh(z)
    if act == RELU:
        return z if z > 0.0 else 0.0
    return z


@njit(cache=True, inline="always")
def activation_derivative(a, act):
    """dA/dZ from the output A: sigmoid A(1-A), tanh 1-A^2, relu [A>0], identity 1."""
    if act == SIGMOID:
        return a * (1.0 - a)
    if act == TANH:
        return 1.0 - a * a
    if act == RELU:
        return 1.0 if a > 0.0 else 0.0
    return 1.0


@njit(cache=True, inline="always")
def loss_forward_backward(pred, pred_off, target, target_off, rows, width, loss, dPred):
    """Mean loss of pred against target over the batch, and dLoss/dPred into dPred.

    pred and target (rows, width) flat from their offsets; dPred (rows, width) flat from 0.
    SQUARED_ERROR: 1/2 sum over outputs, mean over rows; MSE: mean over all elements;
    SOFTMAX_XENT: pred are logits, target rows of class probabilities (one-hot), through
    log-sum-exp.
    """
    if loss == SOFTMAX_XENT:
        return softmax_xent(pred, pred_off, target, target_off, rows, width, dPred)
    total = 0.0
    scale = 1.0 / rows if loss == SQUARED_ERROR else 2.0 / (rows * width)
    for i in range(rows * width):
        diff = pred[pred_off + i] - target[target_off + i]
        total += diff * diff
        dPred[i] = diff * scale
    if loss == SQUARED_ERROR:
        return 0.5 * total / rows
    return total / (rows * width)


@njit(cache=True, inline="always")
def softmax_xent(logits, off, target, target_off, rows, width, dLogits):
    """Mean over rows of logsumexp(z) - sum(t * z) on logits z, through log-sum-exp; writes
    dLoss/dLogits (rows, width) flat from 0. A shared copy (see the package docstring)."""
    total = 0.0
    for r in range(rows):
        base = r * width
        z = off + base
        t = target_off + base
        top = logits[z]
        for j in range(1, width):
            top = max(top, logits[z + j])
        sum_exp = 0.0
        mass = 0.0
        for j in range(width):
            sum_exp += np.exp(logits[z + j] - top)
            mass += target[t + j]
        log_sum = np.log(sum_exp)
        for j in range(width):
            shifted = logits[z + j] - top
            total -= target[t + j] * (shifted - log_sum)
            dLogits[base + j] = (np.exp(shifted) / sum_exp * mass - target[t + j]) / rows
    return total / rows


# -- the numba engine's kernels --------------------------------------------------------------
@njit(cache=True, inline="always")
def gather_rows(src, width, order, start, rows, dst):
    """dst[r, :] = src[order[start + r], :] for r < rows; src (n, width) and dst flat."""
    for r in range(rows):
        i = order[start + r]
        for k in range(width):
            dst[r * width + k] = src[i * width + k]


@njit(cache=True, inline="always")
def dense_forward(src, src_off, rows, params, layout, i, dst, dst_off):
    """Layer i: dst = act(src @ W.T + b).

    src (rows, n_in) flat from src_off, dst (rows, n_out) flat from dst_off: offsets rather
    than slices, so a step creates no array views.
    """
    n_in, n_out, act = layout[i, N_IN], layout[i, N_OUT], layout[i, ACT]
    w_off, b_off = layout[i, W_OFF], layout[i, B_OFF]
    for r in range(rows):
        x = src_off + r * n_in
        for j in range(n_out):
            z = 0.0
            w = w_off + j * n_in
            for k in range(n_in):
                z += src[x + k] * params[w + k]
            dst[dst_off + r * n_out + j] = activate(z + params[b_off + j], act)


@njit(cache=True, inline="always")
def dense_backward(src, src_off, rows, params, grads, layout, i, acts, deltas, d_off, s_off):
    """Backward of layer i, A = act(src @ W.T + b).

    src (rows, n_in) flat from src_off; A at acts[layout[i, A_OFF]:]. In deltas, dA
    (rows, n_out) at d_off becomes dZ in place, and dSrc (rows, n_in) is written at s_off
    unless i == 0 (nothing below the first layer needs it). Writes grads' W block
    (n_out, n_in) and b block (n_out,). Returns the sum of squares of the gradients it
    wrote, for the divergence guard.
    """
    n_in, n_out, act = layout[i, N_IN], layout[i, N_OUT], layout[i, ACT]
    w_off, b_off, a_off = layout[i, W_OFF], layout[i, B_OFF], layout[i, A_OFF]
    for e in range(rows * n_out):
        deltas[d_off + e] *= activation_derivative(acts[a_off + e], act)
    if rows == 1:  # single-sample steps, the chapter's case: no sums over rows
        return _dense_backward_one_row(src, src_off, params, grads, layout, i, deltas,
                                       d_off, s_off)
    norm2 = 0.0
    for j in range(n_out):
        for k in range(n_in):
            s = 0.0
            for r in range(rows):
                s += deltas[d_off + r * n_out + j] * src[src_off + r * n_in + k]
            grads[w_off + j * n_in + k] = s
            norm2 += s * s
        s = 0.0
        for r in range(rows):
            s += deltas[d_off + r * n_out + j]
        grads[b_off + j] = s
        norm2 += s * s
    if i > 0:
        for r in range(rows):
            for k in range(n_in):
                s = 0.0
                for j in range(n_out):
                    s += deltas[d_off + r * n_out + j] * params[w_off + j * n_in + k]
                deltas[s_off + r * n_in + k] = s
    return norm2


@njit(cache=True, inline="always")
def _dense_backward_one_row(src, src_off, params, grads, layout, i, deltas, d_off, s_off):
    """dense_backward for a batch of one row, dZ already in deltas: the same values
    (a sum of one term is that term), without the loops over rows."""
    n_in, n_out = layout[i, N_IN], layout[i, N_OUT]
    w_off, b_off = layout[i, W_OFF], layout[i, B_OFF]
    norm2 = 0.0
    for j in range(n_out):
        dZ = np.float64(deltas[d_off + j])  # float64 products, as the batched path sums them
        w = w_off + j * n_in
        for k in range(n_in):
            g = dZ * src[src_off + k]
            grads[w + k] = g
            norm2 += g * g
        grads[b_off + j] = dZ
        norm2 += dZ * dZ
    if i > 0:
        for k in range(n_in):
            s = 0.0
            for j in range(n_out):
                s += deltas[d_off + j] * params[w_off + j * n_in + k]
            deltas[s_off + k] = s
    return norm2


@njit(cache=True, inline="always")
def forward_pass(x, x_off, rows, params, layout, acts):
    """Every layer's forward for one batch, x (rows, n_in) flat from x_off; the output is
    the last layer's block of acts."""
    dense_forward(x, x_off, rows, params, layout, 0, acts, layout[0, A_OFF])
    for i in range(1, layout.shape[0]):
        dense_forward(acts, layout[i - 1, A_OFF], rows, params, layout, i,
                      acts, layout[i, A_OFF])


@njit(cache=True, inline="always")
def backward_pass(x, x_off, rows, params, grads, layout, acts, deltas, half):
    """Every layer's backward, from dLoss/dOutput at deltas[0:]; each layer's input
    gradient goes to the other half of deltas (offsets 0 and half take turns).

    Returns the squared norm of the whole gradient."""
    d_off, s_off = 0, half
    norm2 = 0.0
    for i in range(layout.shape[0] - 1, 0, -1):
        norm2 += dense_backward(acts, layout[i - 1, A_OFF], rows, params, grads, layout, i,
                                acts, deltas, d_off, s_off)
        d_off, s_off = s_off, d_off
    return norm2 + dense_backward(x, x_off, rows, params, grads, layout, 0, acts, deltas,
                                  d_off, s_off)


@njit(cache=True, inline="always")
def batch_loss_and_gradients(x, x_off, y, y_off, rows, params, grads, layout, acts,
                             deltas, loss):
    """Forward, loss and backward of one batch: x (rows, n_in) flat from x_off, targets y
    (rows, n_out) flat from y_off. Returns (mean loss, squared gradient norm)."""
    last = layout.shape[0] - 1
    width = layout[last, N_OUT]
    forward_pass(x, x_off, rows, params, layout, acts)
    value = loss_forward_backward(acts, layout[last, A_OFF], y, y_off, rows, width, loss,
                                  deltas)
    norm2 = backward_pass(x, x_off, rows, params, grads, layout, acts, deltas,
                          deltas.shape[0] // 2)
    return value, norm2


@njit(cache=True, inline="always")
def sgd_update(params, grads, velocity, trainable, lr, momentum):
    """p -= lr * g, or with momentum v = mu * v + g; p -= lr * v (PyTorch's convention)."""
    for i in range(params.shape[0]):
        if trainable[i]:
            if momentum != 0.0:
                velocity[i] = velocity[i] * momentum + grads[i]
                params[i] -= lr * velocity[i]
            else:
                params[i] -= lr * grads[i]


@njit(cache=True)
def train_epochs(X, Y, order, rng, shuffle, batch_size, epochs, first_step,
                 params, grads, velocity, trainable, layout, acts, x_buf, y_buf,
                 deltas, loss, lr, momentum, epoch_losses, report):
    """Minibatch SGD over X (n, n_in) and Y (n, n_out), both flat, for `epochs` epochs.

    With shuffle, each epoch's order is ``rng.permutation(n)``, drawn in the loop from the
    caller's Generator (numba reproduces NumPy's stream, so every engine sees the same
    order); otherwise order is 0..n-1. epoch_losses[e] gets the sample-weighted mean of the
    pre-update batch losses. The divergence guard checks each batch's loss and gradient norm
    before its update: on a non-finite one it writes report = [1, step, loss] and returns
    the epoch it stopped in, leaving params and velocity as after the last finite step.
    Returns the number of epochs completed.
    """
    last = layout.shape[0] - 1
    n_in, n_out = layout[0, N_IN], layout[last, N_OUT]
    n = X.shape[0] // n_in
    step = first_step
    for e in range(epochs):
        if shuffle:
            for i in range(n):
                order[i] = i
            rng.shuffle(order)
        total = 0.0
        for start in range(0, n, batch_size):
            rows = min(batch_size, n - start)
            if shuffle:
                gather_rows(X, n_in, order, start, rows, x_buf)
                gather_rows(Y, n_out, order, start, rows, y_buf)
                value, norm2 = batch_loss_and_gradients(x_buf, 0, y_buf, 0, rows, params,
                                                        grads, layout, acts, deltas, loss)
            else:  # unshuffled batches are contiguous rows: read them in place
                value, norm2 = batch_loss_and_gradients(X, start * n_in, Y, start * n_out,
                                                        rows, params, grads, layout, acts,
                                                        deltas, loss)
            if not (np.isfinite(value) and np.isfinite(norm2)):
                report[0], report[1], report[2] = 1.0, step, value
                return e
            sgd_update(params, grads, velocity, trainable, lr, momentum)
            total += value * rows
            step += 1
        epoch_losses[e] = total / n
    return epochs


@njit(cache=True)
def predict_rows(X, params, layout, acts, cap, out):
    """out = the model's output for X (n, n_in) flat, cap rows at a time; out (n, n_out)."""
    last = layout.shape[0] - 1
    n = X.shape[0] // layout[0, N_IN]
    width = layout[last, N_OUT]
    a_off = layout[last, A_OFF]
    for start in range(0, n, cap):
        rows = min(cap, n - start)
        forward_pass(X, start * layout[0, N_IN], rows, params, layout, acts)
        for r in range(rows):
            for j in range(width):
                out[start + r, j] = acts[a_off + r * width + j]
