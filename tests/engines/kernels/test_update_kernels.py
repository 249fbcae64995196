"""The update kernels (loop.py and its copies in updates.py) and the numba engine's step
around them, against plain loops written here, compiled and as py_func.

References: torch's SGD and Adam/AdamW update rules as plain Python float loops (the
textbook bias-corrected form for Adam), scikit-learn's l2 term, torch's clip_grad_norm_ rule,
and the schedules' own __call__ times lr_scale (Optimizer.lr_at), which the compiled lr must
equal to the bit. Blocks cover an odd range, skip a frozen one, and mark one as a matrix.
"""

import copy
import math

import numpy as np
import pytest

import minibp
from minibp.engines import update_settings
from minibp.engines.kernels import loop, updates
from minibp.nn.layer import Parameter
from minibp.optim import CosineDecay, ExponentialDecay, StepDecay

SIZE = 13
BLOCKS = np.array([[0, 6, 1], [6, 9, 0], [11, 13, 1]], np.int64)  # 9..10 frozen
TRAINED = [i for start, stop, _ in BLOCKS for i in range(start, stop)]


def variants(*names):
    """Each named kernel of loop.py and updates.py (where it has a copy), compiled and as
    py_func."""
    found = []
    for module in (loop, updates):
        for name in names:
            kernel = getattr(module, name, None)
            if kernel is not None:
                label = f"{module.__name__.rsplit('.', 1)[1]}.{name}"
                found += [pytest.param(kernel, id=label),
                          pytest.param(kernel.py_func, id=f"{label}-py_func")]
    return found


def settings_of(optimizer, clip_norm=None):
    return update_settings.settings(optimizer, clip_norm)


def arrays(seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=SIZE) for _ in range(4)]


# -- SGD ---------------------------------------------------------------------------------------
def loop_sgd(p, g, buf, lr, momentum, nesterov, decay):
    p, buf = list(p), list(buf)
    for i in TRAINED:
        d = g[i] + decay * p[i]
        if momentum:
            buf[i] = momentum * buf[i] + d
            d = d + momentum * buf[i] if nesterov else buf[i]
        p[i] = p[i] - lr * d
    return p, buf


@pytest.mark.parametrize(("momentum", "nesterov", "decay"), [
    (0.0, False, 0.0), (0.9, False, 0.0), (0.9, True, 0.0), (0.0, False, 0.1),
    (0.5, True, 0.01)], ids=["plain", "momentum", "nesterov", "decay", "all"])
@pytest.mark.parametrize("kernel", variants("sgd_update"))
def test_sgd_update_matches_a_plain_loop(kernel, momentum, nesterov, decay):
    p, g, buf, _ = arrays(1)
    expected_p, expected_buf = loop_sgd(p, g, buf, 0.1, momentum, nesterov, decay)
    optimizer = minibp.SGD(0.1, momentum, nesterov=nesterov, weight_decay=decay)
    kernel(p, g, buf, BLOCKS, 0.1, settings_of(optimizer))
    np.testing.assert_allclose(p, expected_p, rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(buf, expected_buf, rtol=1e-15, atol=1e-16)
    assert p[9] == arrays(1)[0][9] and buf[10] == arrays(1)[2][10]  # frozen: untouched


def test_plain_sgd_never_reads_the_momentum_buffer():
    p, g, _, _ = arrays(2)
    expected = p - 0.3 * g
    loop.sgd_update(p, g, np.empty(0), BLOCKS, 0.3, settings_of(minibp.SGD(0.3)))
    assert np.array_equal(p[TRAINED], expected[TRAINED])


# -- Adam and AdamW ----------------------------------------------------------------------------
def loop_adam(p, g, m, v, lr, t, b1, b2, eps, decay, decoupled):
    """Kingma and Ba's bias-corrected step (Loshchilov and Hutter's decay for AdamW)."""
    p, m, v = list(p), list(m), list(v)
    for i in TRAINED:
        d = g[i]
        if decoupled:
            p[i] = p[i] * (1 - lr * decay)
        else:
            d = d + decay * p[i]
        m[i] = b1 * m[i] + (1 - b1) * d
        v[i] = b2 * v[i] + (1 - b2) * d * d
        m_hat, v_hat = m[i] / (1 - b1**t), v[i] / (1 - b2**t)
        p[i] = p[i] - lr * m_hat / (math.sqrt(v_hat) + eps)
    return p, m, v


@pytest.mark.parametrize("t", [1, 2, 37])
@pytest.mark.parametrize(("cls", "kwargs"), [
    (minibp.Adam, {}), (minibp.Adam, {"weight_decay": 0.1}), (minibp.AdamW, {}),
    (minibp.AdamW, {"weight_decay": 0.3, "betas": (0.5, 0.9)}),
    (minibp.Adam, {"betas": (0.0, 0.0), "eps": 0.1}),  # lerp's other branch (weight 1)
], ids=["adam", "adam-decay", "adamw", "adamw-betas", "zero-betas"])
@pytest.mark.parametrize("kernel", variants("adam_update"))
def test_adam_update_matches_the_textbook_loop(kernel, cls, kwargs, t):
    p, g, m, v = arrays(3)
    v = np.abs(v)
    optimizer = cls(0.01, **kwargs)
    (b1, b2), eps, decay = optimizer.betas, optimizer.eps, optimizer.weight_decay
    expected = loop_adam(p, g, m, v, 0.01, t, b1, b2, eps, decay, cls is minibp.AdamW)
    kernel(p, g, m, v, BLOCKS, 0.01, float(t), settings_of(optimizer))
    for got, want in zip((p, m, v), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert p[9] == arrays(3)[0][9] and m[10] == arrays(3)[2][10]  # frozen: untouched


# -- float32: the NumPy engine's arithmetic, to the bit ----------------------------------------
FLOAT32_OPTIMIZERS = [
    minibp.SGD(0.1), minibp.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    minibp.Adam(0.01), minibp.Adam(0.01, betas=(0.0, 0.5), weight_decay=0.1),
    minibp.AdamW(0.01, weight_decay=0.3)]


@pytest.mark.parametrize("optimizer", FLOAT32_OPTIMIZERS, ids=repr)
@pytest.mark.parametrize("module", [loop, updates], ids=["loop", "updates"])
def test_float32_updates_equal_the_numpy_optimizer_to_the_bit(module, optimizer):
    """float32 parameters get float32 arithmetic, as NumPy gives a float32 array meeting
    Python floats (the optimizer's own update, which the NumPy engine runs): three steps
    agree bit for bit. Arithmetic in float64 rounded at the end would differ in the last
    bit of some values."""
    rng = np.random.default_rng(8)
    value = rng.normal(size=(40, 25)).astype(np.float32)
    reference = Parameter("W", value.copy(), np.zeros_like(value))
    optimizer = copy.deepcopy(optimizer)
    state = [np.zeros(value.size, np.float32) for _ in range(2)]
    whole = np.array([[0, value.size, 1]], np.int64)
    for t in range(1, 4):
        grad = rng.normal(size=value.shape).astype(np.float32)
        reference.grad = grad.copy()
        optimizer.step([reference])
        flat = value.reshape(-1)
        if isinstance(optimizer, minibp.Adam):
            module.adam_update(flat, grad.reshape(-1), *state, whole, 0.01, float(t),
                               settings_of(optimizer))
        else:
            module.sgd_update(flat, grad.reshape(-1), state[0], whole, 0.1,
                              settings_of(optimizer))
        assert value.dtype == np.float32
        assert np.array_equal(value, reference.value), f"step {t}"


# -- l2, norms, clipping -------------------------------------------------------------------------
@pytest.mark.parametrize("kernel", variants("l2_penalty"))
def test_l2_penalty_touches_the_matrices_only(kernel):
    p, g, _, _ = arrays(4)
    before = g.copy()
    total = kernel(p, g, BLOCKS, 0.3, 7)
    matrices = [i for start, stop, is_matrix in BLOCKS if is_matrix for i in range(start, stop)]
    assert total == pytest.approx(sum(p[i] ** 2 for i in matrices), rel=1e-14)
    for i in range(SIZE):
        assert g[i] == (before[i] + 0.3 * p[i] / 7 if i in matrices else before[i])


@pytest.mark.parametrize("clip", [1e-2, 1e3], ids=["clips", "leaves"])
@pytest.mark.parametrize("kernel", [loop.clip_gradients, loop.clip_gradients.py_func],
                         ids=["compiled", "py_func"])
def test_clip_gradients_scales_the_trainable_blocks_as_torch(kernel, clip):
    _, g, _, _ = arrays(5)
    before = g.copy()
    norm = math.sqrt(sum(before[i] ** 2 for i in TRAINED))
    scale = min(1.0, clip / (norm + 1e-6))
    kernel(g, BLOCKS, clip)
    for i in range(SIZE):
        want = before[i] * scale if i in TRAINED else before[i]
        assert g[i] == pytest.approx(want, rel=1e-15)


@pytest.mark.parametrize("kernel", [loop.squared_norm, loop.squared_norm.py_func],
                         ids=["compiled", "py_func"])
def test_squared_norm_of_blocks(kernel):
    values = np.arange(SIZE, dtype=np.float32) - 4.5
    assert kernel(values, BLOCKS) == sum(float(values[i]) ** 2 for i in TRAINED)


@pytest.mark.parametrize("kernel", [updates.sum_of_squares, updates.sum_of_squares.py_func],
                         ids=["compiled", "py_func"])
@pytest.mark.parametrize("size", [0, 1, 3, 4, 7, 1001])
def test_sum_of_squares(kernel, size):
    values = np.random.default_rng(size).normal(size=size).astype(np.float32)
    assert kernel(values) == pytest.approx(sum(float(v) ** 2 for v in values), rel=1e-12)


# -- learning rates -------------------------------------------------------------------------------
class Halving(StepDecay):
    """A subclass: its own __call__, so the kernels must not compute it from the code."""

    def __call__(self, step):
        return 0.5 * super().__call__(step)


SCHEDULES = [0.3, StepDecay(0.2, step_size=7, gamma=0.3), CosineDecay(0.5, total_steps=150),
             CosineDecay(0.5, total_steps=90, final_lr=0.01), ExponentialDecay(0.4, 0.987),
             lambda step: 0.1 / (1 + step), Halving(0.2, step_size=3)]
SCHEDULE_IDS = ["constant", "step", "cosine", "cosine-floor", "exponential", "callable",
                "subclass"]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=SCHEDULE_IDS)
@pytest.mark.parametrize("kernel", [loop.scheduled_lr, loop.scheduled_lr.py_func],
                         ids=["compiled", "py_func"])
def test_scheduled_lr_equals_current_lr_to_the_bit(kernel, schedule):
    optimizer = minibp.SGD(schedule)
    optimizer.steps, optimizer.lr_scale = 40, 0.37
    settings = settings_of(optimizer)
    lrs = update_settings.lrs_ahead(optimizer, 200)
    for k in range(200):
        step = optimizer.steps + k
        assert kernel(settings, lrs, k, step) == optimizer.lr_at(step), step
    assert optimizer.lr_at(40) == optimizer.current_lr()


def test_lrs_are_evaluated_in_python_only_for_callables_the_kernels_cannot_compute():
    for schedule, name in zip(SCHEDULES, SCHEDULE_IDS):
        lrs = update_settings.lrs_ahead(minibp.Adam(schedule), 5)
        assert (lrs.size == 5) == (name in ("callable", "subclass")), name
