"""Compiled kernels for what the BLAS engine does with the gradients: their norm, scikit-learn's
l2, and the optimizer's update, in place over flat views of the layers' and the optimizer's
own arrays.

The rules, and the reason the update kernels below are copies of loop.py's, are in
minibp/engines/kernels/__init__.py. ``blocks`` (k, 3) lists [start, stop, is_matrix] ranges
of the flat arrays to work on; the BLAS engine passes one block covering a whole parameter.
``settings`` is the float64 vector of minibp.engines.update_settings, its entries named by
the constants below (as in loop.py).
"""

import math

import numpy as np
from numba import njit

(FAMILY, MOMENTUM, NESTEROV, WEIGHT_DECAY, BETA1, BETA2, EPS, DECOUPLED, L2, CLIP_NORM,
 SCHEDULE, LR_0, LR_1, LR_2, LR_SCALE, STEPS) = range(16)   # update_settings.SETTINGS


@njit(cache=True)
def sum_of_squares(values):
    """Sum of squares of a flat array in float64, over four interleaved partial sums: the
    divergence guard needs its magnitude, not its last bit, and four independent chains
    run about four times faster than one."""
    s0 = s1 = s2 = s3 = 0.0
    n4 = values.shape[0] - values.shape[0] % 4
    for i in range(0, n4, 4):
        s0 += np.float64(values[i]) * values[i]
        s1 += np.float64(values[i + 1]) * values[i + 1]
        s2 += np.float64(values[i + 2]) * values[i + 2]
        s3 += np.float64(values[i + 3]) * values[i + 3]
    for i in range(n4, values.shape[0]):
        s0 += np.float64(values[i]) * values[i]
    return (s0 + s1) + (s2 + s3)


# -- the updates: identical copies in loop.py (see kernels/__init__.py) ---------------------
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
