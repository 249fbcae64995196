"""minibp.engines.update_settings: the optimizer as the kernels read it.

References: the optimizers' own attributes, read back by name from the vector, and
Optimizer.lr_at for the learning rates only Python can compute.
"""

import numpy as np
import pytest

import minibp
from minibp.engines import capabilities
from minibp.engines.update_settings import NO_LRS, SETTINGS, lrs_ahead, settings
from minibp.optim import CosineDecay, ExponentialDecay, StepDecay


def named(values) -> dict[str, float]:
    return dict(zip(SETTINGS, values.tolist(), strict=True))


def test_sgd_settings_by_name():
    optimizer = minibp.SGD(0.3, 0.9, nesterov=True, weight_decay=0.01, l2=0.2)
    optimizer.lr_scale, optimizer.steps = 0.5, 17
    got = named(settings(optimizer, clip_norm=2.5))
    assert got == dict(FAMILY=capabilities.OPTIMIZER_CODES[minibp.SGD], MOMENTUM=0.9,
                       NESTEROV=1.0, WEIGHT_DECAY=0.01, BETA1=0.0, BETA2=0.0, EPS=0.0,
                       DECOUPLED=0.0, L2=0.2, CLIP_NORM=2.5, SCHEDULE=capabilities.CONSTANT_LR,
                       LR_0=0.3, LR_1=0.0, LR_2=0.0, LR_SCALE=0.5, STEPS=17.0)


@pytest.mark.parametrize("cls", [minibp.Adam, minibp.AdamW])
def test_adam_settings_by_name(cls):
    optimizer = cls(CosineDecay(0.1, 50, final_lr=0.01), betas=(0.8, 0.99), eps=1e-6,
                    weight_decay=0.03)
    got = named(settings(optimizer))
    assert (got["FAMILY"], got["BETA1"], got["BETA2"], got["EPS"], got["WEIGHT_DECAY"]) == (
        capabilities.OPTIMIZER_CODES[minibp.Adam], 0.8, 0.99, 1e-6, 0.03)
    assert got["DECOUPLED"] == (cls is minibp.AdamW) and got["CLIP_NORM"] == 0.0
    assert (got["SCHEDULE"], got["LR_0"], got["LR_1"], got["LR_2"]) == (
        CosineDecay.code, 0.1, 50.0, 0.01)
    assert got["MOMENTUM"] == got["NESTEROV"] == 0.0


@pytest.mark.parametrize("schedule", [StepDecay(0.2, 3, 0.5), ExponentialDecay(0.3, 0.9)])
def test_a_schedule_travels_as_its_code_and_params(schedule):
    got = named(settings(minibp.SGD(schedule)))
    params = list(schedule.params) + [0.0] * (3 - len(schedule.params))
    assert [got["SCHEDULE"], got["LR_0"], got["LR_1"], got["LR_2"]] == [schedule.code, *params]
    assert lrs_ahead(minibp.SGD(schedule), 10) is NO_LRS


def test_any_other_callable_is_evaluated_here_for_the_steps_ahead():
    optimizer = minibp.Adam(lambda step: 1.0 / (step + 1))
    optimizer.steps, optimizer.lr_scale = 4, 0.25
    assert named(settings(optimizer))["SCHEDULE"] == capabilities.LR_PER_STEP
    np.testing.assert_array_equal(lrs_ahead(optimizer, 3), [0.25 / 5, 0.25 / 6, 0.25 / 7])
    bad = minibp.SGD(lambda step: -1.0 if step == 2 else 0.1)
    with pytest.raises(ValueError, match=r"SGD: lr\(2\) must be a finite number >= 0"):
        lrs_ahead(bad, 5)
