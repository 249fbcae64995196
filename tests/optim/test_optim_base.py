"""minibp.optim.base: the Optimizer protocol (lr, lr_scale, steps, state) and l2_penalty.

References: plain Python loops for the penalty and its gradient; central differences
(tests/support/finite_diff.py) of loss + 0.5 * l2 * sum(W**2) / rows for the gradient the
NumPy engine trains on; hand-written expectations for the bookkeeping.
"""

from __future__ import annotations

import numpy as np
import pytest
from finite_diff import numeric_gradient

import minibp
from minibp import MSE, SGD, Adam, Parameter
from minibp.optim import Optimizer


def parameter(name: str, shape, seed: int, frozen: bool = False) -> Parameter:
    rng = np.random.default_rng(seed)
    return Parameter(name, rng.normal(size=shape), rng.normal(size=shape), frozen)


class HalfStep(Optimizer):
    """A minimal subclass: p -= lr * grad / 2, counting the parameters it touched."""

    state_names = ("touched",)

    def update(self, p, lr):
        self.state(p)["touched"] += 1.0
        p.value -= lr * p.grad / 2


# -- the protocol -------------------------------------------------------------------------------
def test_a_subclass_needs_only_update_and_state_names():
    p, frozen = parameter("W", (2, 2), 0), parameter("b", (2,), 1, frozen=True)
    expected = p.value - 0.3 * p.grad / 2
    optimizer = HalfStep(0.3)
    optimizer.step([p, frozen])
    np.testing.assert_array_equal(p.value, expected)
    assert optimizer.state(p)["touched"].tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert not optimizer.has_state(frozen)
    assert (optimizer.steps, optimizer.lr_scale, optimizer.l2) == (1, 1.0, 0.0)
    assert repr(optimizer) == "HalfStep(lr=0.3)"


def test_current_lr_is_lr_times_lr_scale_and_steps_count_calls():
    optimizer = SGD(0.2)
    assert optimizer.current_lr() == 0.2
    optimizer.lr_scale = 0.5
    assert optimizer.current_lr() == 0.1
    p = parameter("W", (2, 3), 2)
    before = p.value.copy()
    optimizer.step([p])
    optimizer.step([])
    assert optimizer.steps == 2
    np.testing.assert_array_equal(p.value, before - 0.1 * p.grad)


def test_lr_at_is_current_lr_at_another_step_count():
    """lr_at(step) is what current_lr() gives once steps == step, at today's lr_scale; the
    compiled engines ask it for the steps ahead of a callable they cannot compute."""
    optimizer = Adam(lambda step: 1.0 / (step + 2))
    optimizer.lr_scale = 0.5
    ahead = [optimizer.lr_at(step) for step in range(5)]
    assert ahead == [0.5 / (step + 2) for step in range(5)]
    for step in range(5):
        optimizer.steps = step
        assert optimizer.current_lr() == ahead[step]
    assert SGD(0.3).lr_at(99) == 0.3
    with pytest.raises(ValueError, match=r"SGD: lr\(7\) must be a finite number >= 0"):
        SGD(lambda step: float("nan")).lr_at(7)


def test_state_is_per_array_and_zero_at_first():
    a, b = parameter("W", (2, 3), 3), parameter("b", (3,), 4)
    optimizer = Adam()
    first = optimizer.state(a)
    assert set(first) == {"exp_avg", "exp_avg_sq"}
    assert all(array.shape == (2, 3) and not array.any() for array in first.values())
    assert optimizer.state(a) is first
    assert optimizer.state(b)["exp_avg"].shape == (3,)
    same_array = Parameter("W again", a.value, a.grad)  # another record of a's array
    assert optimizer.state(same_array) is first
    assert optimizer.state_of(a.value) is first  # by the array itself: the same arrays


def test_fresh_state_has_the_values_shape_and_dtype():
    """The compiled engines make state through state_of (no Parameter records); it must be
    what state(p) gives: zeros of the value's shape and dtype, float32 included."""
    value = np.ones((3, 2), np.float32)
    state = SGD(0.1, momentum=0.9).state_of(value)
    assert list(state) == ["momentum_buffer"]
    buffer = state["momentum_buffer"]
    assert (buffer.shape, buffer.dtype, buffer.any()) == ((3, 2), np.float32, False)
    assert buffer.flags.c_contiguous and buffer is not value


def test_lr_may_be_changed_after_building():
    optimizer = SGD(0.1)
    optimizer.lr = 0.5
    assert optimizer.current_lr() == 0.5
    optimizer.lr = lambda step: 0.25
    assert optimizer.current_lr() == 0.25


# -- l2_penalty -------------------------------------------------------------------------------
def loop_l2(parameters, l2, rows):
    """(penalty, grads after): every non-frozen W with ndim >= 2 gets l2 * W / rows."""
    total, grads = 0.0, []
    for p in parameters:
        g = p.grad.ravel().tolist()
        if not p.frozen and p.value.ndim >= 2:
            w = p.value.ravel().tolist()
            total += sum(x * x for x in w)
            g = [gi + l2 * wi / rows for gi, wi in zip(g, w)]
        grads.append(g)
    return 0.5 * l2 * total / rows, grads


def test_l2_penalty_matches_loop():
    parameters = [parameter("W", (3, 2), 5), parameter("b", (3,), 6),
                  parameter("W", (2, 2), 7, frozen=True), parameter("W", (1, 4), 8),
                  parameter("W", (1, 1), 9)]
    penalty, grads = loop_l2(parameters, 0.3, 7)
    values = [p.value.copy() for p in parameters]
    got = SGD(0.1, l2=0.3).l2_penalty(parameters, 7)
    assert got == pytest.approx(penalty, rel=1e-14)
    for p, g, value in zip(parameters, grads, values):
        assert p.grad.ravel().tolist() == pytest.approx(g, rel=1e-14)
        assert np.array_equal(p.value, value)


def test_l2_zero_returns_zero_and_touches_nothing():
    parameters = [parameter("W", (3, 2), 10), parameter("b", (3,), 11)]
    grads = [p.grad.copy() for p in parameters]
    assert Adam().l2_penalty(parameters, 4) == 0.0
    for p, g in zip(parameters, grads):
        assert np.array_equal(p.grad, g)


def test_numpy_engine_trains_on_the_gradient_of_the_penalized_loss():
    """With lr = 0 the step leaves the weights alone, so the grads train_step leaves behind
    are what it trained on: they must be d(loss + 0.5 * l2 * sum(W**2) / rows)/dparams."""
    l2, rows = 0.7, 6
    rng = np.random.default_rng(12)
    X, Y = rng.normal(size=(rows, 3)), rng.normal(size=(rows, 2))
    model = minibp.mlp([3, 4, 2], "tanh", seed=13)
    model[1].freeze("W")  # frozen: no penalty, plain loss gradient

    def penalized() -> float:
        W = model[0].W  # the one weight matrix not frozen
        return MSE().forward(model.predict(X, engine="numpy"), Y) + \
            0.5 * l2 * float(np.sum(W * W)) / rows

    value = model.train_step(X, Y, MSE(), SGD(0.0, l2=l2), engine="numpy")
    assert value == pytest.approx(penalized(), rel=1e-14)
    for layer in model:
        for p in layer.parameters():
            np.testing.assert_allclose(p.grad, numeric_gradient(penalized, p.value),
                                       rtol=1e-7, atol=1e-9, err_msg=p.name)
