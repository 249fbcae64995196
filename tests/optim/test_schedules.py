"""minibp.optim.schedules: StepDecay, CosineDecay, ExponentialDecay.

References: the formulas worked by hand at chosen steps; torch.optim.lr_scheduler's StepLR,
CosineAnnealingLR and ExponentialLR stepped once per optimizer step for 50 steps; and SGD
and Adam on a schedule against torch's optimizer and scheduler together.
"""

from __future__ import annotations

import math

import pytest

from minibp import SGD, Adam
from minibp.optim import CosineDecay, ExponentialDecay, StepDecay

STEPS = 50


# -- by hand --------------------------------------------------------------------------------------
def test_step_decay_by_hand():
    schedule = StepDecay(0.1, step_size=3, gamma=0.5)
    assert [schedule(k) for k in range(7)] == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]


def test_cosine_decay_by_hand():
    schedule = CosineDecay(1.0, total_steps=4)
    assert schedule(0) == 1.0
    assert schedule(1) == pytest.approx(0.5 + math.sqrt(2) / 4, rel=1e-15)
    assert schedule(2) == pytest.approx(0.5, rel=1e-15)
    assert schedule(4) == 0.0  # 1 + cos(pi) is exactly 0
    assert schedule(9) == 0.0  # held after total_steps
    with_floor = CosineDecay(1.0, total_steps=4, final_lr=0.1)
    assert with_floor(2) == pytest.approx(0.55, rel=1e-15)
    assert with_floor(100) == pytest.approx(0.1, rel=1e-15)


def test_exponential_decay_by_hand():
    schedule = ExponentialDecay(0.5, gamma=0.9)
    assert schedule(0) == 0.5
    assert schedule(3) == pytest.approx(0.3645, rel=1e-15)


def test_codes_params_and_reprs():
    step, cosine = StepDecay(0.1, 10, 0.5), CosineDecay(0.2, 100, final_lr=0.01)
    exponential = ExponentialDecay(0.3, 0.99)
    assert (step.code, step.params) == (1, (0.1, 10.0, 0.5))
    assert (cosine.code, cosine.params) == (2, (0.2, 100.0, 0.01))
    assert (exponential.code, exponential.params) == (3, (0.3, 0.99))
    assert all(isinstance(x, float) for s in (step, cosine, exponential) for x in s.params)
    assert repr(step) == "StepDecay(lr=0.1, step_size=10, gamma=0.5)"
    assert repr(cosine) == "CosineDecay(lr=0.2, total_steps=100, final_lr=0.01)"
    assert repr(CosineDecay(0.2, 100)) == "CosineDecay(lr=0.2, total_steps=100)"
    assert repr(exponential) == "ExponentialDecay(lr=0.3, gamma=0.99)"
    assert repr(SGD(step)) == "SGD(lr=StepDecay(lr=0.1, step_size=10, gamma=0.5))"


def test_optimizer_uses_the_schedule_at_its_step_count_times_lr_scale():
    optimizer = SGD(lr=StepDecay(1.0, step_size=2, gamma=0.5))
    seen = []
    for _ in range(5):
        seen.append(optimizer.current_lr())
        optimizer.step([])
    assert seen == [1.0, 1.0, 0.5, 0.5, 0.25]
    optimizer.lr_scale = 0.1
    assert optimizer.current_lr() == 0.25 * 0.1


def test_any_callable_of_the_step_is_a_schedule():
    optimizer = Adam(lr=lambda step: 1.0 / (step + 1))
    optimizer.steps = 3
    assert optimizer.current_lr() == 0.25


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: StepDecay(0.1, 0), ValueError, "StepDecay: step_size must be at least 1, got 0"),
    (lambda: StepDecay(0.1, 2.5), TypeError,
     "StepDecay: step_size must be an int, got 2.5 (float)"),
    (lambda: StepDecay(0.1, 2, gamma=0.0), ValueError,
     "StepDecay: gamma must be a finite number > 0, got 0.0"),
    (lambda: StepDecay(-0.1, 2), ValueError,
     "StepDecay: lr must be a finite number >= 0, got -0.1"),
    (lambda: CosineDecay(0.1, 0), ValueError,
     "CosineDecay: total_steps must be at least 1, got 0"),
    (lambda: CosineDecay(0.1, 10, final_lr=-0.01), ValueError,
     "CosineDecay: final_lr must be a finite number >= 0, got -0.01"),
    (lambda: ExponentialDecay(0.1, float("inf")), ValueError,
     "ExponentialDecay: gamma must be a finite number > 0, got inf"),
    (lambda: ExponentialDecay("0.1", 0.9), TypeError,
     "ExponentialDecay: lr must be a number, got '0.1'"),
    (lambda: SGD(lr=StepDecay), TypeError, "SGD: lr must be a number or a schedule (a callable "
     "step -> lr), got <class 'minibp.optim.schedules.StepDecay'> (type)"),
    (lambda: SGD(lr=lambda step: -1.0).current_lr(), ValueError,
     "SGD: lr(0) must be a finite number >= 0, got -1.0"),
], ids=["step-size-zero", "step-size-float", "gamma-zero", "lr-negative", "total-zero",
        "final-negative", "gamma-inf", "lr-word", "class-as-lr", "schedule-negative"])
def test_invalid_arguments_exact_messages(make, error, message):
    with pytest.raises(error) as caught:
        make()
    assert str(caught.value) == message


# -- against PyTorch ------------------------------------------------------------------------------
def torch_lrs(torch, lr, make_scheduler, steps=STEPS) -> list[float]:
    """The lr torch's optimizer uses at each of ``steps`` updates, the scheduler stepped once
    after each update."""
    weight = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    optimizer = torch.optim.SGD([weight], lr=lr)
    scheduler = make_scheduler(torch.optim.lr_scheduler, optimizer)
    seen = []
    for _ in range(steps):
        seen.append(optimizer.param_groups[0]["lr"])
        weight.grad = torch.ones(1, dtype=torch.float64)
        optimizer.step()
        scheduler.step()
    return seen


@pytest.mark.parametrize(("schedule", "make_scheduler"), [
    (StepDecay(0.1, 7, 0.5), lambda s, o: s.StepLR(o, step_size=7, gamma=0.5)),
    (StepDecay(0.3, 1, 0.9), lambda s, o: s.StepLR(o, step_size=1, gamma=0.9)),
    (CosineDecay(0.1, STEPS - 1), lambda s, o: s.CosineAnnealingLR(o, T_max=STEPS - 1)),
    (CosineDecay(0.2, STEPS - 1, final_lr=0.05),
     lambda s, o: s.CosineAnnealingLR(o, T_max=STEPS - 1, eta_min=0.05)),
    (ExponentialDecay(0.1, 0.95), lambda s, o: s.ExponentialLR(o, gamma=0.95)),
], ids=["step", "step-every-step", "cosine", "cosine-floor", "exponential"])
def test_50_steps_match_torch_schedulers(schedule, make_scheduler):
    torch = pytest.importorskip("torch")
    expected = torch_lrs(torch, schedule.lr, make_scheduler)
    ours = [schedule(step) for step in range(STEPS)]
    assert ours == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_sgd_and_adam_on_schedules_match_torch(torch_drift):
    torch = pytest.importorskip("torch")
    sgd = SGD(StepDecay(0.05, 10, 0.5), momentum=0.9, nesterov=True)
    drift = torch_drift(sgd, lambda params: with_scheduler(
        torch.optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True),
        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=10, gamma=0.5)))
    assert drift <= 1e-12
    adam = Adam(CosineDecay(0.01, 100, final_lr=1e-4))
    drift = torch_drift(adam, lambda params: with_scheduler(
        torch.optim.Adam(params, lr=0.01),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=100, eta_min=1e-4)))
    assert drift <= 1e-10


def with_scheduler(optimizer, make_scheduler):
    return optimizer, make_scheduler(optimizer)
