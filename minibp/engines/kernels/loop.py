"""The numba engine's kernels: the whole training run over flat arrays. The rules, and why
the shared math is copied: kernels/__init__.py; the loops built from these for one model's
structure: minibp/engines/specialize.py.

A model is one flat parameter buffer and a ``layout`` table, one row per Dense layer:
``[n_in, n_out, w_off, b_off, act, a_off]``: W (n_out, n_in) row by row at params[w_off:],
b at params[b_off:], the batch's activations at acts[a_off:a_off + rows * n_out]. Gradient
and optimizer-state buffers share the layout. ``blocks`` (k, 3) lists the trainable
parameters as [start, stop, is_matrix]: updates, l2 and clipping touch those only. The
optimizer travels as ``settings``, a float64 vector whose entries the constants below
name (minibp.engines.update_settings builds it; a test checks that the names agree).
Every batch array below (x_buf, acts, deltas) is row-major (rows, width) flattened.
"""

import math

import numpy as np
from numba import njit
from numba.np.random.random_methods import random_interval

IDENTITY, SIGMOID, TANH, RELU = 0, 1, 2, 3                  # capabilities.ACTIVATION_CODES
SQUARED_ERROR, MSE, SOFTMAX_XENT, BCE_LOGITS = 0, 1, 2, 3   # capabilities.LOSS_CODES
SGD, ADAM = 0, 1                                            # capabilities.OPTIMIZER_CODES
CONSTANT_LR, STEP_DECAY, COSINE_DECAY, EXPONENTIAL_DECAY, LR_PER_STEP = 0, 1, 2, 3, 4
N_IN, N_OUT, W_OFF, B_OFF, ACT, A_OFF = 0, 1, 2, 3, 4, 5   # the columns of flat.FlatModel.layout
ROWS_OF_ONE = True  # a batch may have one row (a specialized loop may say none can)
(FAMILY, MOMENTUM, NESTEROV, WEIGHT_DECAY, BETA1, BETA2, EPS, DECOUPLED, L2, CLIP_NORM,
 SCHEDULE, LR_0, LR_1, LR_2, LR_SCALE, STEPS) = range(16)   # update_settings.SETTINGS


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


# -- the numba engine's kernels --------------------------------------------------------------
@njit(cache=True, inline="always")
def gather_rows(src, width, order, start, rows, dst):
    """dst[r, :] = src[order[start + r], :] for r < rows; src (n, width) and dst flat."""
    for r in range(rows):
        i = order[start + r]
        for k in range(width):
            dst[r * width + k] = src[i * width + k]


@njit(cache=True, inline="always")
def dense_forward_at(src, src_off, rows, params, n_in, n_out, w_off, b_off, act, dst,
                     dst_off):
    """dst = act(src @ W.T + b), W (n_out, n_in) at params[w_off:], b at params[b_off:];
    src (rows, n_in) flat from src_off, dst (rows, n_out) from dst_off (offsets: no views).
    Specialized loops pass sizes and act as constants: loops unroll, branches fold."""
    for r in range(rows):
        x = src_off + r * n_in
        for j in range(n_out):
            z = 0.0
            w = w_off + j * n_in
            for k in range(n_in):
                z += src[x + k] * params[w + k]
            dst[dst_off + r * n_out + j] = activate(z + params[b_off + j], act)


@njit(cache=True, inline="always")
def dense_backward_at(src, src_off, rows, params, grads, n_in, n_out, w_off, b_off, act,
                      acts, a_off, deltas, d_off, s_off, input_gradient):
    """Backward of A = act(src @ W.T + b), W and b as in dense_forward_at. src (rows, n_in)
    flat from src_off; A at acts[a_off:]. In deltas, dA (rows, n_out) at d_off becomes dZ
    in place, and dSrc (rows, n_in) is written at s_off when input_gradient. Writes grads' W
    (n_out, n_in) and b (n_out,) blocks. Returns their sum of squares as stored (float32
    overflow: inf)."""
    real = grads.dtype.type
    for e in range(rows * n_out):
        deltas[d_off + e] *= activation_derivative(acts[a_off + e], act)
    if ROWS_OF_ONE and rows == 1:  # single-sample steps, the chapter's: no sums over rows
        return _dense_backward_one_row(src, src_off, params, grads, n_in, n_out, w_off,
                                       b_off, deltas, d_off, s_off, input_gradient)
    norm2 = 0.0
    for j in range(n_out):
        for k in range(n_in):
            s = 0.0
            for r in range(rows):
                s += deltas[d_off + r * n_out + j] * src[src_off + r * n_in + k]
            grads[w_off + j * n_in + k] = g = real(s)
            norm2 += np.float64(g) * g
        s = 0.0
        for r in range(rows):
            s += deltas[d_off + r * n_out + j]
        grads[b_off + j] = g = real(s)
        norm2 += np.float64(g) * g
    if input_gradient:
        input_gradient_rows(params, n_in, n_out, w_off, deltas, d_off, s_off, rows)
    return norm2


@njit(cache=True, inline="always")
def input_gradient_rows(params, n_in, n_out, w_off, deltas, d_off, s_off, rows):
    """dSrc = dZ @ W: dZ (rows, n_out) at deltas[d_off:] into dSrc (rows, n_in) at s_off."""
    for r in range(rows):
        for k in range(n_in):
            s = 0.0
            for j in range(n_out):
                s += deltas[d_off + r * n_out + j] * params[w_off + j * n_in + k]
            deltas[s_off + r * n_in + k] = s


@njit(cache=True, inline="always")
def _dense_backward_one_row(src, src_off, params, grads, n_in, n_out, w_off, b_off, deltas,
                            d_off, s_off, input_gradient):
    """dense_backward_at for one row, dZ already in deltas: the same values, no row loops."""
    real, norm2 = grads.dtype.type, 0.0
    for j in range(n_out):
        dZ = np.float64(deltas[d_off + j])  # float64 products, as the batched path sums them
        w = w_off + j * n_in
        for k in range(n_in):
            grads[w + k] = g = real(dZ * src[src_off + k])
            norm2 += np.float64(g) * g
        grads[b_off + j] = g = real(dZ)
        norm2 += np.float64(g) * g
    if input_gradient:
        input_gradient_rows(params, n_in, n_out, w_off, deltas, d_off, s_off, 1)
    return norm2


@njit(cache=True, inline="always")
def forward_pass(x, x_off, rows, params, layout, acts):
    """Every layer's forward for one batch, x (rows, n_in) flat from x_off, each layer as
    its layout row says; the output is the last layer's block of acts."""
    for i in range(layout.shape[0]):
        src, src_off = (x, x_off) if i == 0 else (acts, layout[i - 1, A_OFF])
        dense_forward_at(src, src_off, rows, params, layout[i, N_IN], layout[i, N_OUT],
                         layout[i, W_OFF], layout[i, B_OFF], layout[i, ACT], acts,
                         layout[i, A_OFF])


@njit(cache=True, inline="always")
def backward_pass(x, x_off, rows, params, grads, layout, acts, deltas, half):
    """Every layer's backward, from dLoss/dOutput at deltas[0:]; input gradients go to the
    other half of deltas (0 and half take turns). Returns the gradient's squared norm."""
    d_off, s_off, norm2 = 0, half, 0.0
    for i in range(layout.shape[0] - 1, -1, -1):
        src, src_off = (x, x_off) if i == 0 else (acts, layout[i - 1, A_OFF])
        norm2 += dense_backward_at(src, src_off, rows, params, grads, layout[i, N_IN],
                                   layout[i, N_OUT], layout[i, W_OFF], layout[i, B_OFF],
                                   layout[i, ACT], acts, layout[i, A_OFF], deltas, d_off,
                                   s_off, i > 0)
        d_off, s_off = s_off, d_off
    return norm2


@njit(cache=True, inline="always")
def batch_loss_and_gradients(x, x_off, y, y_off, weight, w_off, rows, net, acts, deltas,
                             loss):
    """Forward, loss and backward of one batch: x (rows, n_in) flat from x_off, targets y
    (rows, n_out) flat from y_off, sample weights from w_off (or empty); net = (params,
    grads, layout, blocks). Writes every gradient, frozen parameters' too. Returns (loss,
    share, squared gradient norm), loss and share as loss_forward_backward gives them."""
    params, grads, layout, _ = net
    last = layout.shape[0] - 1
    width = layout[last, N_OUT]
    forward_pass(x, x_off, rows, params, layout, acts)
    value, share = loss_forward_backward(acts, layout[last, A_OFF], y, y_off, weight, w_off,
                                         rows, width, loss, deltas)
    norm2 = backward_pass(x, x_off, rows, params, grads, layout, acts, deltas,
                          deltas.shape[0] // 2)
    return value, share, norm2


# -- the updates: identical copies in updates.py (see kernels/__init__.py) -----------------
@njit(cache=True, inline="always")
def sgd_update(params, grads, buf, blocks, lr, settings):
    """One step of torch's SGD (minibp/optim/sgd.py, same operations in the same order) over
    params[start:stop] for each row of blocks: g = grad + weight_decay * p; with momentum,
    buf = momentum * buf + g and g = g + momentum * buf (nesterov) or buf; p = p - lr * g.
    buf (the momentum buffer, in the parameters' layout) is read only with momentum. The
    scalars are rounded once to the parameters' dtype, as NumPy rounds a Python float that
    meets a float32 array, so float32 parameters get float32 arithmetic, the NumPy engine's.
    Returns whether every new value is finite (an infinite buf makes p infinite or NaN)."""
    real = params.dtype.type
    momentum, decay, rate = real(settings[MOMENTUM]), real(settings[WEIGHT_DECAY]), real(lr)
    nesterov = settings[NESTEROV] != 0.0
    finite = True
    for k in range(blocks.shape[0]):
        for i in range(np.uint64(blocks[k, 0]), np.uint64(blocks[k, 1])):
            g = grads[i]
            if decay != 0.0:
                g = g + decay * params[i]
            if momentum != 0.0:
                buf[i] = buf[i] * momentum + g
                g = g + momentum * buf[i] if nesterov else buf[i]
            params[i] -= rate * g
            finite &= abs(params[i]) < np.inf  # False for inf and NaN; no branch
    return finite


@njit(cache=True, inline="always", error_model="numpy")
def adam_update(params, grads, m, v, blocks, lr, t, settings):
    """One step of torch's Adam, or AdamW when settings[DECOUPLED] (minibp/optim/adam.py,
    same operations in the same order), at step t (a float, 1 at the first step), over
    params[start:stop] for each row of blocks; m and v are exp_avg and exp_avg_sq.

    Scalars are rounded to the parameters' dtype as in sgd_update (W3's float32 update:
    466 us in float64 arithmetic, 190 us in float32). The bias correction's root is
    sqrt(1 - beta2**t): the reference's ** 0.5 calls pow, off in the last bit 1 time in 1000.
    Returns whether every new p and v is finite (v overflowing leaves p finite but wrong)."""
    real = params.dtype.type
    beta1, beta2 = settings[BETA1], settings[BETA2]
    decay, decoupled = settings[WEIGHT_DECAY], settings[DECOUPLED] != 0.0
    weight = 1.0 - beta1  # m = torch's lerp(m, g, weight), from the nearer end
    from_start = abs(weight) < 0.5
    lerp = real(weight if from_start else 1.0 - weight)
    keep, add = real(beta2), real(1.0 - beta2)
    root, eps = real(math.sqrt(1.0 - beta2 ** t)), real(settings[EPS])
    step = real(-(lr / (1.0 - beta1 ** t)))
    shrink, penalty = real(1.0 - lr * decay), real(decay)
    finite = True
    for k in range(blocks.shape[0]):
        for i in range(np.uint64(blocks[k, 0]), np.uint64(blocks[k, 1])):
            g = grads[i]
            if decay != 0.0:
                if decoupled:
                    params[i] = params[i] * shrink
                else:
                    g = g + penalty * params[i]
            if from_start:
                m[i] = m[i] + lerp * (g - m[i])
            else:
                m[i] = g - (g - m[i]) * lerp
            v[i] = v[i] * keep + add * g * g
            denom = np.sqrt(v[i]) / root + eps
            params[i] = params[i] + (step * m[i]) / denom
            finite &= (abs(params[i]) < np.inf) & (v[i] < np.inf)
    return finite


@njit(cache=True, inline="always")
def l2_penalty(params, grads, blocks, l2, rows):
    """scikit-learn's alpha over the weight matrices among blocks (rows with is_matrix set):
    grads += l2 * W / rows. Returns sum(W**2) in float64; the loss gains 0.5 * l2 * that
    / rows (minibp/optim/base.py, Optimizer.l2_penalty)."""
    total = 0.0
    for k in range(blocks.shape[0]):
        if blocks[k, 2]:
            for i in range(np.uint64(blocks[k, 0]), np.uint64(blocks[k, 1])):
                grads[i] += l2 * params[i] / rows
                total += np.float64(params[i]) * params[i]
    return total


# -- the step around the update: the numba engine's alone -----------------------------------
@njit(cache=True, inline="always")
def squared_norm(values, blocks):
    """Sum of squares (float64) of values[start:stop] over the rows of blocks."""
    total = 0.0
    for k in range(blocks.shape[0]):
        for i in range(np.uint64(blocks[k, 0]), np.uint64(blocks[k, 1])):
            total += np.float64(values[i]) * values[i]
    return total


@njit(cache=True, inline="always")
def clip_gradients(grads, blocks, clip_norm):
    """torch's clip_grad_norm_ over the trainable blocks: every gradient times
    clip_norm / (norm + 1e-6) when that is below 1, norm their global L2 norm."""
    scale = clip_norm / (math.sqrt(squared_norm(grads, blocks)) + 1e-6)
    if scale < 1.0:
        for k in range(blocks.shape[0]):
            for i in range(np.uint64(blocks[k, 0]), np.uint64(blocks[k, 1])):
                grads[i] *= scale


@njit(cache=True, inline="always")
def scheduled_lr(settings, lrs, k, step):
    """The lr of the optimizer's update when its step counter is ``step``, the k-th update
    of this call: what Optimizer.current_lr() gives then, the schedule of
    minibp/optim/schedules.py (same operations) times lr_scale; or lrs[k] (LR_PER_STEP)."""
    code = settings[SCHEDULE]
    if code == LR_PER_STEP:
        return lrs[k]
    lr, a, b = settings[LR_0], settings[LR_1], settings[LR_2]
    if code == STEP_DECAY:  # a = step_size, b = gamma
        lr = lr * b ** float(step // int(a))
    elif code == COSINE_DECAY:  # a = total_steps, b = final_lr
        angle = math.pi * min(step, int(a)) / a
        lr = b + 0.5 * (lr - b) * (1.0 + math.cos(angle))
    elif code == EXPONENTIAL_DECAY:  # a = gamma
        lr = lr * a ** float(step)
    return lr * settings[LR_SCALE]


@njit(cache=True, error_model="numpy")
def adam_step(params, grads, m, v, blocks, lr, t, settings):
    """adam_update not inlined into train_epochs: inlined, its arrays' reference counting
    (8 atomic adds a step, NUMBA_DEBUG_NRT; numba fails to prune them) cost SGD steps too."""
    return adam_update(params, grads, m, v, blocks, lr, t, settings)


@njit(cache=True, error_model="numpy")
def train_epochs(data, order, rng, shuffle, batch_size, epochs, first_step, net, scratch,
                 loss, optimizer, epoch_losses, report, budget, resume):
    """Minibatch training for `epochs` epochs, each step as the NumPy engine's: forward,
    (weighted) loss, backward, l2, the divergence guard, clipping, the optimizer's update.

    data = (X, Y, w): X (n, n_in), Y (n, n_out) flat, w (n,) float64 sample weights or
    empty; net = (params, grads, layout, blocks), scratch = (acts, x_buf, y_buf, w_buf,
    deltas) as flat.FlatModel holds them; optimizer = (settings, state0, state1, lrs): the
    state (SGD: momentum buffer; Adam: exp_avg, exp_avg_sq), lrs each step's lr for
    LR_PER_STEP (else empty). Writes params, grads, state, and epoch_losses[e], the weighted
    mean of epoch e's batch losses (each taken before its update). Shuffled, each epoch's
    order is ``rng.permutation(n)`` (numba reproduces NumPy's stream); else 0..n-1.

    report = [1, step, loss]: a non-finite loss or gradient norm, returned before that
    update; [2, step, loss]: a batch whose weights sum to 0; [3, step, loss]: an update that
    made a value non-finite, returned after it (the caller restores and replays). After
    ``budget`` steps it returns mid-epoch, resume = [next row, loss sum, weight sum] (0s at
    an epoch's start) for the next call. Returns the number of epochs completed.
    """
    X, Y, w = data
    params, grads, layout, blocks = net
    acts, x_buf, y_buf, w_buf, deltas = scratch
    settings, state0, state1, lrs = optimizer
    l2, clip_norm, adam = settings[L2], settings[CLIP_NORM], settings[FAMILY] == ADAM
    constant = settings[SCHEDULE] == CONSTANT_LR  # then the lr is computed once, here
    lr = settings[LR_0] * settings[LR_SCALE]
    counter = int(settings[STEPS])  # the optimizer's steps before this call's first update
    n_in, n_out = layout[0, N_IN], layout[layout.shape[0] - 1, N_OUT]
    n = X.shape[0] // n_in
    weighted = w.shape[0] > 0
    everything = np.zeros((1, 3), np.int64)  # one block of all parameters, frozen ones too
    everything[0, 1] = params.shape[0]
    step = first_step
    for e in range(epochs):
        first_row, total, seen = int(resume[0]), resume[1], resume[2]
        for start in range(first_row, n, batch_size):
            if step - first_step == budget:
                resume[0], resume[1], resume[2] = start, total, seen
                return e
            if shuffle and start == 0:  # a new epoch's order, drawn only once it runs
                for i in range(n):
                    order[i] = i
                for i in range(n - 1, 0, -1):  # rng.shuffle's draws (shuffle.py: why not it)
                    j = np.intp(random_interval(rng.bit_generator, i))
                    order[i], order[j] = order[j], order[i]
            rows = min(batch_size, n - start)
            if shuffle:
                gather_rows(X, n_in, order, start, rows, x_buf)
                gather_rows(Y, n_out, order, start, rows, y_buf)
                if weighted:
                    gather_rows(w, 1, order, start, rows, w_buf)
                x, x_off, y, y_off = x_buf, 0, y_buf, 0
                weight, w_off = (w_buf if weighted else w), 0
            else:  # unshuffled batches are contiguous rows: read them in place
                x, x_off, y, y_off = X, start * n_in, Y, start * n_out
                weight, w_off = w, start
            value, share, norm2 = batch_loss_and_gradients(x, x_off, y, y_off, weight, w_off,
                                                           rows, net, acts, deltas, loss)
            if weighted and share == 0.0:  # refused by the loss's own check on NumPy
                report[0], report[1], report[2] = 2.0, step, value
                return e
            if l2 != 0.0:
                value += 0.5 * l2 * l2_penalty(params, grads, blocks, l2, rows) / rows
                norm2 = squared_norm(grads, everything)
            if not (np.isfinite(value) and np.isfinite(norm2)):
                report[0], report[1], report[2] = 1.0, step, value
                return e
            if clip_norm > 0.0:
                clip_gradients(grads, blocks, clip_norm)
            k = step - first_step
            if not constant:
                lr = scheduled_lr(settings, lrs, k, counter + k)
            if adam:
                t = float(counter + k + 1)  # Adam's t, 1 at the optimizer's first step
                finite = adam_step(params, grads, state0, state1, blocks, lr, t, settings)
            else:
                finite = sgd_update(params, grads, state0, blocks, lr, settings)
            if not finite:  # the caller restores the weights from before this call
                report[0], report[1], report[2] = 3.0, step, value
                return e
            total, seen = total + value * share, seen + share
            step += 1
        resume[0] = resume[1] = resume[2] = 0.0
        epoch_losses[e] = total / seen
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
