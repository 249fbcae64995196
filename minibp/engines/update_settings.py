"""The optimizer, its learning rate and fit's clip_norm as the numbers the kernels read.

``settings(optimizer, clip_norm)`` is a float64 vector whose entries SETTINGS names, in the
order minibp/engines/kernels/loop.py and updates.py name them (a test checks that they
agree). A learning rate the kernels can compute (a number, or a schedule in
capabilities.SCHEDULE_CODES) travels as its code and params; any other callable is
evaluated here, for the steps ahead (``lrs_ahead``), exactly as Optimizer.current_lr would
at each of them.
"""

from __future__ import annotations

import numpy as np

from minibp.engines.capabilities import CONSTANT_LR, LR_PER_STEP, optimizer_code, schedule_code

SETTINGS = ("FAMILY", "MOMENTUM", "NESTEROV", "WEIGHT_DECAY", "BETA1", "BETA2", "EPS",
            "DECOUPLED", "L2", "CLIP_NORM", "SCHEDULE", "LR_0", "LR_1", "LR_2", "LR_SCALE",
            "STEPS")
PER_RUN = SETTINGS.index("LR_0")  # the entries before it change only when someone sets them
NO_LRS = np.empty(0)  # what the kernels get for lrs when they compute the lr themselves


def settings(optimizer, clip_norm: float | None = None) -> np.ndarray:
    """The kernels' settings vector for the optimizer's next update: its family and
    hyperparameters, l2, clip_norm (0 for none), its lr schedule (code, then up to three
    params), lr_scale and its step counter. Read afresh before each compiled call, so a
    callback's change of lr_scale (or of anything else) between epochs is seen."""
    lr, code = optimizer.lr, schedule_code(optimizer.lr)
    if code == CONSTANT_LR:
        schedule = (float(lr), 0.0, 0.0)
    elif code == LR_PER_STEP:  # lrs_ahead gives each step's lr
        schedule = (0.0, 0.0, 0.0)
    else:
        schedule = tuple(lr.params) + (0.0,) * (3 - len(lr.params))
    if hasattr(optimizer, "betas"):  # Adam, AdamW
        momentum = nesterov = 0.0
        (beta1, beta2), eps, decoupled = optimizer.betas, optimizer.eps, optimizer.decoupled
    else:  # SGD
        momentum, nesterov = optimizer.momentum, optimizer.nesterov
        beta1 = beta2 = eps = decoupled = 0.0
    return np.array([optimizer_code(optimizer), momentum, nesterov, optimizer.weight_decay,
                     beta1, beta2, eps, decoupled, optimizer.l2, clip_norm or 0.0, code,
                     *schedule, optimizer.lr_scale, optimizer.steps],  # the SETTINGS order
                    dtype=np.float64)


def lrs_ahead(optimizer, count: int) -> np.ndarray:
    """The lr of each of the optimizer's next ``count`` updates when only Python can compute
    it (LR_PER_STEP: Optimizer.lr_at, schedule times lr_scale, checked as current_lr checks
    it); NO_LRS otherwise."""
    if schedule_code(optimizer.lr) != LR_PER_STEP:
        return NO_LRS
    return each_lr(optimizer, count)


def each_lr(optimizer, count: int) -> np.ndarray:
    """The lr of each of the optimizer's next ``count`` updates, as Optimizer.current_lr
    gives it before each of them (a constant lr: one call, repeated)."""
    first = optimizer.steps
    if not callable(optimizer.lr):
        return np.full(count, float(optimizer.lr_at(first)))
    return np.array([optimizer.lr_at(step) for step in range(first, first + count)],
                    dtype=np.float64)
