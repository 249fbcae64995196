"""The divergence guard when the loss and the gradient are finite but the update is not (a
weight or the optimizer's state overflows), or when a float32 gradient overflows only as it
is stored: every engine refuses that step, and the weights, the optimizer's state and
History equal those of the last good step exactly.

Reference: the same fit stopped one step earlier (epochs and steps counted by hand), on
the same engine, and the NumPy engine.
"""

from __future__ import annotations

import numpy as np
import pytest

import minibp

ENGINES = ["numpy", "numba", "blas"]
OPTIMIZERS = {
    "sgd": lambda lr: minibp.SGD(lr),
    "momentum": lambda lr: minibp.SGD(lr, momentum=0.9, nesterov=True),
    "adam": lambda lr: minibp.Adam(lr, eps=1e-30),
}


def snapshot(model, optimizer):
    values = [p.value.copy() for p in model.parameters()]
    states = [{k: v.copy() for k, v in optimizer.state(p).items()}
              for p in model.parameters()]
    return values, states, optimizer.steps


def near_the_top(dtype):
    """Dense(1, 1) with W at half the dtype's largest value and x = 2 / max, so W x = 1:
    loss (W x + b - 2)^2 = 1 and the gradients (-4 / max, -2) are finite, but an SGD step
    of lr = max takes b to 2 max, and an Adam step of lr = 0.6 max takes W past max."""
    top = float(np.finfo(dtype).max)
    model = minibp.Sequential(minibp.Dense(1, 1, W=[[top / 2]], b=0.0, dtype=dtype))
    X = np.full((4, 1), 2 / top, dtype)
    return model, X, np.full((4, 1), 2.0, dtype), top


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_an_update_that_overflows_is_refused_and_undone_exactly(engine, name, dtype):
    model, X, Y, top = near_the_top(dtype)
    optimizer = OPTIMIZERS[name](0.6 * top if name == "adam" else top)
    before = snapshot(model, optimizer)
    with pytest.raises(minibp.TrainingDivergedError) as info:
        model.fit(X, Y, loss="mse", optimizer=optimizer, epochs=3, batch_size=2,
                  shuffle=False, engine=engine, verbose=0)
    error = info.value
    assert error.overflow and error.step == 1 and error.epoch == 1, str(error)
    assert "infinite or NaN" in str(error) and np.isfinite(error.loss)
    values, states, steps = snapshot(model, optimizer)
    assert steps == before[2] == 0
    assert all(np.array_equal(a, b) for a, b in zip(values, before[0]))
    assert all(np.array_equal(s[k], b[k]) for s, b in zip(states, before[1]) for k in s)
    assert len(error.history) == 0


def growing_lr(dtype):
    """Adam at 0.001 for three steps, then at 0.6 of the dtype's largest value: Adam's step
    is about lr whatever the gradient, so the fourth step takes W to 0.6 max and the fifth
    past max, while x = 1 / max keeps W x, the loss and the gradients small and finite."""
    huge = 0.6 * float(np.finfo(dtype).max)
    return lambda step: 0.001 if step < 3 else huge


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("engine", ENGINES)
def test_a_later_overflow_keeps_the_steps_before_it_bit_for_bit(engine, dtype):
    """An update overflows mid-epoch (and, on the numba engine, mid-call, after weights
    and state were written in the same call): the result equals exactly the steps before."""
    top = float(np.finfo(dtype).max)
    X = np.full((6, 1), 1 / top, dtype)
    Y = np.full((6, 1), 3.0, dtype)

    def fresh():
        layer = minibp.Dense(1, 1, W=[[1.0]], b=0.0, dtype=dtype)
        return minibp.Sequential(layer.freeze("b"))

    reference, by_hand = fresh(), minibp.Adam(growing_lr(dtype))
    good = 0  # steps the NumPy engine takes, one train_step at a time, before it refuses
    while True:
        try:
            reference.train_step(X[good % 6:good % 6 + 1], Y[:1], "mse", by_hand,
                                 engine="numpy")
        except minibp.TrainingDivergedError as error:
            assert error.overflow
            break
        good += 1
    assert 3 <= good < 6  # mid-epoch
    refused, optimizer = fresh(), minibp.Adam(growing_lr(dtype))
    with pytest.raises(minibp.TrainingDivergedError) as info:
        refused.fit(X, Y, loss="mse", optimizer=optimizer, epochs=5, batch_size=1,
                    shuffle=False, engine=engine, verbose=0)
    assert info.value.overflow and info.value.step == good + 1 and info.value.epoch == 1
    assert optimizer.steps == by_hand.steps == good
    for p, q in zip(refused.parameters(), reference.parameters()):
        np.testing.assert_allclose(p.value, q.value, rtol=1e-12 if dtype == np.float64
                                   else 1e-6)
        assert np.isfinite(p.value).all()
        for name, state in optimizer.state(p).items():
            np.testing.assert_allclose(state, by_hand.state(q)[name], rtol=1e-6)
    assert len(info.value.history) == 0


@pytest.mark.parametrize("engine", ENGINES)
def test_a_float32_gradient_that_overflows_as_it_is_stored_trips_the_guard(engine):
    """Each product is finite in float64 but the sum is past float32's largest value: the
    gradient stored is inf, and the guard must see that, not the float64 sum."""
    dtype = np.float32
    model = minibp.Sequential(minibp.Dense(1, 1, W=[[1.0]], b=0.0, dtype=dtype))
    X = np.full((4, 1), 3e19, dtype)  # dW = sum of 2 (w x - y) x ~ 4 * 2 * 9e38: inf
    Y = np.zeros((4, 1), dtype)
    before = model[0].W.copy()
    with pytest.raises(minibp.TrainingDivergedError) as info:
        model.fit(X, Y, loss="squared", optimizer=minibp.SGD(1e-40), epochs=1, batch_size=4,
                  engine=engine, verbose=0)
    assert info.value.step == 1
    assert np.array_equal(model[0].W, before)


def test_optimizer_step_refuses_a_nan_gradient_and_an_overflow_changing_nothing():
    layer = minibp.Dense(2, 1, W=[[1.0, 2.0]], b=0.5)
    params = minibp.Sequential(layer).parameters()
    optimizer = minibp.SGD(0.1, momentum=0.9)
    layer.dW[...] = [[np.nan, 0.0]]
    with pytest.raises(minibp.NonFiniteInputError, match=r"SGD.step: model\[0\].W's gradient "
                                                         "must be finite, got 1 NaN value"):
        optimizer.step(params)
    assert layer.W.tolist() == [[1.0, 2.0]] and optimizer.steps == 0
    layer.dW[...] = [[1e308, 0.0]]
    layer.db[...] = [1.0]
    optimizer.lr = 1e10
    with pytest.raises(minibp.errors.UpdateOverflowError, match="SGD.step: the update"):
        optimizer.step(params)
    assert layer.W.tolist() == [[1.0, 2.0]] and layer.b.tolist() == [0.5]
    assert optimizer.steps == 0
    assert all(not s.any() for p in params for s in optimizer.state(p).values())
