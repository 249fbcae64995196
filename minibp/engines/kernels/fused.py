"""Compiled elementwise kernels for the BLAS engine: everything around the matrix products.

The BLAS engine leaves X @ W.T, dZ.T @ X and dZ @ W to NumPy's BLAS and does the rest here,
each kernel touching each buffer once: bias plus activation, the loss and its gradient fused
with the output activation's derivative, the hidden activations' derivatives fused with the
bias gradients (the updates are in updates.py). Single-threaded on purpose: BLAS owns the
cores, and a second thread pool between its calls would fight it.

The rules, and the reason the shared scalar math below is a copy of loop.py's, are in
minibp/engines/kernels/__init__.py. Arrays are C-contiguous, 2-D (rows, width) unless said
otherwise.

Several kernels also return a sum of squares, for the divergence guard. They total it per
column in ``sq``, a float64 scratch of at least ``width`` entries, then add the columns:
one running float64 sum is a chain of dependent additions that cost three times the
kernel's own work.
"""

import numpy as np
from numba import njit

IDENTITY, SIGMOID, TANH, RELU = 0, 1, 2, 3                  # capabilities.ACTIVATION_CODES
SQUARED_ERROR, MSE, SOFTMAX_XENT, BCE_LOGITS = 0, 1, 2, 3   # capabilities.LOSS_CODES


# -- shared scalar math: identical copies in loop.py (see kernels/__init__.py) ------------
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
    if act == RELU:  # as written, NaN stays NaN (z > 0 would turn it into 0)
        return 0.0 if z <= 0.0 else z
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
def loss_forward_backward(pred, pred_off, target, target_off, weight, w_off, rows, width,
                          loss, dPred):
    """Loss of pred against target over the batch, and dLoss/dPred into dPred.

    pred and target (rows, width) flat from their offsets; dPred (rows, width) flat from 0;
    weight: per-sample weights (rows,) from w_off, or an empty array for none. Returns
    (loss, share): the batch's mean (with weights, the weighted mean over samples of
    minibp/nn/loss.py) and its share of the epoch's mean, rows or the sum of its weights.
    SQUARED_ERROR: 1/2 sum over outputs, mean over rows; MSE: mean over all elements;
    SOFTMAX_XENT: pred are logits, target rows of class probabilities (one-hot), through
    log-sum-exp; BCE_LOGITS: pred are logits, mean over all elements.
    """
    share = float(rows)
    if weight.shape[0] > 0:
        share = 0.0
        for r in range(rows):
            share += weight[w_off + r]
    if loss == SOFTMAX_XENT:
        value = softmax_xent(pred, pred_off, target, target_off, weight, w_off, rows, width,
                             share, dPred)
    else:
        value = elementwise_loss(pred, pred_off, target, target_off, weight, w_off, rows,
                                 width, share, loss, dPred)
    return value, share


@njit(cache=True, inline="always")
def elementwise_loss(pred, pred_off, target, target_off, weight, w_off, rows, width, share,
                     loss, dPred):
    """SQUARED_ERROR, MSE or BCE_LOGITS (see loss_forward_backward), one term per element,
    the rows' weights summing to share; without weights (an empty array) every row weighs
    1.0, which multiplies exactly. BCE on logits z is max(z, 0) - z t + log1p(exp(-|z|)),
    with gradient sigmoid(z) - t: only exp(-|z|) is taken, so any finite logit gives finite
    terms (minibp/nn/cross_entropy.py)."""
    divisor = share if loss == SQUARED_ERROR else share * width
    scale = (2.0 if loss == MSE else 1.0) / divisor
    total = 0.0
    for r in range(rows):
        w = weight[w_off + r] if weight.shape[0] > 0 else 1.0
        w_scale = w * scale
        for j in range(width):
            i = r * width + j
            z, t = pred[pred_off + i], target[target_off + i]
            if loss == BCE_LOGITS:
                e = np.exp(-abs(z))
                total += w * ((z if z > 0.0 else 0.0) - z * t + np.log1p(e))
                dPred[i] = ((1.0 / (1.0 + e) if z >= 0.0 else e / (1.0 + e)) - t) * w_scale
            else:
                diff = z - t
                total += w * (diff * diff)
                dPred[i] = diff * w_scale
    return (0.5 if loss == SQUARED_ERROR else 1.0) * total / divisor


@njit(cache=True, inline="always")
def softmax_xent(logits, off, target, target_off, weight, w_off, rows, width, share, dLogits):
    """(Weighted) mean over rows of logsumexp(z) - sum(t * z) on logits z, through
    log-sum-exp; writes dLoss/dLogits (rows, width) flat from 0."""
    total = 0.0
    for r in range(rows):
        w = weight[w_off + r] if weight.shape[0] > 0 else 1.0
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
            total -= w * target[t + j] * (shifted - log_sum)
            dLogits[base + j] = (np.exp(shifted) / sum_exp * mass - target[t + j]) * w / share
    return total / share


# -- the BLAS engine's kernels ---------------------------------------------------------------
@njit(cache=True, inline="always")
def _clear(sq, width):
    for j in range(width):
        sq[j] = 0.0


@njit(cache=True, inline="always")
def _total(sq, width):
    s = 0.0
    for j in range(width):
        s += sq[j]
    return s


@njit(cache=True)
def bias_activation(Z, b, act, sq):
    """Z = act(Z + b) in place, b (width,) added to every row: Z (rows, width) becomes A.

    Returns the sum of squares of A (float64), for the divergence guard's bound."""
    rows, width = Z.shape
    _clear(sq, width)
    for r in range(rows):
        for j in range(width):
            a = activate(Z[r, j] + b[j], act)
            Z[r, j] = a
            sq[j] += np.float64(a) * a
    return _total(sq, width)


@njit(cache=True)
def bias_and_exp_argument(Z, b, E):
    """Z = Z + b in place, and E = -|Z|: the first half of a sigmoid whose exp runs in NumPy.

    NumPy's exp is SIMD-vectorized; numba's, without fastmath or SVML, is a scalar libm call
    and costs about twice as much for a whole sigmoid layer. So the BLAS engine computes
    sigmoid as this kernel, np.exp(E, out=E), then sigmoid_from_exp.
    """
    rows, width = Z.shape
    for r in range(rows):
        for j in range(width):
            z = Z[r, j] + b[j]
            Z[r, j] = z
            E[r, j] = -abs(z)


@njit(cache=True)
def sigmoid_from_exp(Z, E, one, sq):
    """Z = sigmoid(Z) given E = exp(-|Z|): 1 / (1 + E) where Z >= 0, else E / (1 + E).

    ``one`` is 1 in Z's dtype, so float32 stays float32; choosing the numerator first and
    dividing once keeps the loop simple. Returns the sum of squares of the result."""
    rows, width = Z.shape
    _clear(sq, width)
    for r in range(rows):
        for j in range(width):
            e = E[r, j]
            a = (one if Z[r, j] >= 0 else e) / (one + e)
            Z[r, j] = a
            sq[j] += np.float64(a) * a
    return _total(sq, width)


@njit(cache=True)
def activation_backward(dA, A, act, db, sq):
    """dA (rows, width) becomes dZ = dA * act'(A) in place; db (width,) = column sums of dZ.

    Returns the sum of squares of dZ (float64), for the divergence guard's bound."""
    rows, width = dA.shape
    for j in range(width):
        db[j] = 0.0
    _clear(sq, width)
    for r in range(rows):
        for j in range(width):
            dz = dA[r, j] * activation_derivative(A[r, j], act)
            dA[r, j] = dz
            db[j] += dz
            sq[j] += np.float64(dz) * dz
    return _total(sq, width)


@njit(cache=True, error_model="numpy")
def loss_backward(A, T, weight, loss, act, dZ, db, sq):
    """Loss of the output A against targets T, and the gradient at the output layer's Z.

    A, T, dZ (rows, width): dZ = dLoss/dA * act'(A), db (width,) its column sums; weight
    (rows,) float64 per-sample weights, or empty for none. The loss sums in float64
    whatever the dtype. SOFTMAX_XENT takes A as logits and T as rows of class
    probabilities, BCE_LOGITS A as logits. Returns (loss, share, sum of squares of dZ): the
    batch's (weighted) mean loss and its share of the epoch's mean (rows, or the weights'
    sum), as loss_forward_backward.
    """
    rows, width = A.shape
    size = rows * width  # flat views of the contiguous buffers, for the shared loss code
    total, share = loss_forward_backward(A.reshape(size), 0, T.reshape(size), 0, weight, 0,
                                         rows, width, loss, dZ.reshape(size))
    return total, share, activation_backward(dZ, A, act, db, sq)


@njit(cache=True)
def gather_rows(X, order, start, out, sq):
    """out[r] = X[order[start + r]] for every row of out; returns the sum of squares of out."""
    rows, width = out.shape
    _clear(sq, width)
    for r in range(rows):
        i = order[start + r]
        for j in range(width):
            v = X[i, j]
            out[r, j] = v
            sq[j] += np.float64(v) * v
    return _total(sq, width)
