"""The compiled engines against the NumPy reference for every optimizer and learning rate:
SGD (plain, momentum, Nesterov, weight decay), Adam, AdamW, l2, each kind of schedule,
lr_scale changes between fits and within one, frozen parameters, and engines taking turns
on one optimizer.

Independent reference: the NumPy engine, whose optimizers tests/optim/ holds to torch.optim
and to plain loops. As in test_engines.py, in float64, after 3 epochs of stable training:
weights, History losses and the optimizer's state (momentum buffers, Adam's moments) to
1e-10, and the same step count.
"""

import copy

import numpy as np
import pytest

import minibp
from minibp import SGD, Adam, AdamW
from minibp.optim import CosineDecay, ExponentialDecay, StepDecay

ENGINES = ["numba", "blas"]
OPTIMIZERS = {
    "sgd": lambda lr=0.1, **kw: SGD(lr, **kw),
    "momentum": lambda lr=0.05, **kw: SGD(lr, 0.9, **kw),
    "nesterov": lambda lr=0.05, **kw: SGD(lr, 0.9, nesterov=True, **kw),
    "weight_decay": lambda lr=0.05, **kw: SGD(lr, 0.5, weight_decay=0.05, **kw),
    "adam": lambda lr=0.01, **kw: Adam(lr, **kw),
    "adam_decay": lambda lr=0.01, **kw: Adam(lr, betas=(0.8, 0.99), weight_decay=0.05, **kw),
    "adamw": lambda lr=0.01, **kw: AdamW(lr, weight_decay=0.1, **kw),
}
CASES = [  # (sizes, batch size, n samples): batch 1, a short last batch, one full batch
    ([3, 1, 2], 1, 5), ([3, 6, 5, 2], 7, 23), ([4, 9, 3], 32, 32), ([2, 13, 7, 4, 3], 5, 17),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "in-order"])
@pytest.mark.parametrize("l2", [0.0, 0.1], ids=["no-l2", "l2"])
@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("sizes,batch,n", CASES)
def test_every_optimizer_agrees_with_the_reference(twins, sizes, batch, n, name, l2, shuffle,
                                                   engine):
    model, X, Y = twins.problem(sizes, "tanh", "sigmoid", n, seed=n)
    runs = twins.train(model, X, Y, engine, lambda: OPTIMIZERS[name](l2=l2),
                       loss=minibp.MSE(), epochs=3, batch_size=batch, shuffle=shuffle, seed=4)
    twins.assert_agree(runs)
    assert runs[1][1].steps == 3 * -(-n // batch)


class Halving(StepDecay):
    """A StepDecay whose __call__ differs: it must be evaluated in Python, not by its code."""

    def __call__(self, step):
        return 0.5 * super().__call__(step)


SCHEDULES = {
    "step": StepDecay(0.1, step_size=4, gamma=0.5),
    "cosine": CosineDecay(0.1, total_steps=10, final_lr=0.01),
    "exponential": ExponentialDecay(0.1, gamma=0.93),
    "callable": lambda step: 0.1 / (1.0 + 0.3 * step),
    "subclass": Halving(0.2, step_size=3),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["momentum", "adam"])
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_every_schedule_agrees_with_the_reference(twins, schedule, name, engine):
    model, X, Y = twins.problem([3, 6, 2], "sigmoid", None, 21, seed=1)
    lr = SCHEDULES[schedule]
    runs = twins.train(model, X, Y, engine, lambda: OPTIMIZERS[name](lr),
                       loss=minibp.SquaredError(), epochs=3, batch_size=4, seed=2)
    twins.assert_agree(runs)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("lr", [0.05, SCHEDULES["cosine"], SCHEDULES["callable"]],
                         ids=["constant", "cosine", "callable"])
def test_lr_scale_changed_between_fits_is_used_by_the_next(twins, lr, engine):
    """What ReduceLROnPlateau does between epochs, done by hand between fits; the optimizer
    (its step count and momentum) carries over from one fit to the next."""
    model, X, Y = twins.problem([3, 5, 2], "tanh", None, 12, seed=6)
    reference = copy.deepcopy(model)
    optimizers = [SGD(lr, 0.9), SGD(lr, 0.9)]
    for scale in (1.0, 0.3, 2.0):
        for m, optimizer, engine_name in zip((reference, model), optimizers, ("numpy", engine)):
            optimizer.lr_scale *= scale
            m.fit(X, Y, loss=minibp.MSE(), optimizer=optimizer, epochs=2, batch_size=5,
                  seed=3, engine=engine_name, verbose=0)
    assert optimizers[0].steps == optimizers[1].steps == 3 * 2 * 3
    for p, q in zip(reference.parameters(), model.parameters()):
        np.testing.assert_allclose(q.value, p.value, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_reduce_lr_on_plateau_within_a_fit_agrees(twins, engine):
    """min_delta so large that no epoch after the first counts as better: the lr is cut
    after each of them, between the compiled engine's one-epoch chunks."""
    model, X, Y = twins.problem([3, 5, 2], "tanh", None, 12, seed=8)
    callbacks = [minibp.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0,
                                          min_delta=1e9)]
    runs = twins.train(model, X, Y, engine, lambda: Adam(0.02), loss=minibp.MSE(), epochs=4,
                       batch_size=5, seed=3, callbacks=callbacks)
    twins.assert_agree(runs)
    assert runs[0][1].lr_scale == runs[1][1].lr_scale == 0.5**3  # epoch 0 sets the best


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["momentum", "weight_decay", "adam", "adamw"])
def test_frozen_parameters_keep_value_and_get_no_state(twins, name, engine):
    model, X, Y = twins.problem([3, 6, 4, 2], "relu", None, 15, seed=9)
    model[0].freeze("W")
    model[1].freeze("b")
    before = model[0].W.copy(), model[1].b.copy()
    runs = twins.train(model, X, Y, engine, lambda: OPTIMIZERS[name](l2=0.2),
                       loss=minibp.SquaredError(), epochs=3, batch_size=4, seed=5)
    twins.assert_agree(runs)
    assert np.array_equal(model[0].W, before[0]) and np.array_equal(model[1].b, before[1])


@pytest.mark.parametrize("name", ["nesterov", "adamw"])
def test_engines_can_take_turns_with_one_optimizer(twins, name):
    """The optimizer's state lives in the optimizer: each engine picks it up where the last
    one left it, so switching engines mid-training changes nothing."""
    model, X, Y = twins.problem([3, 6, 2], "tanh", None, 12, seed=3)
    reference = copy.deepcopy(model)
    runs = [[reference, OPTIMIZERS[name](l2=0.01), None], [model, OPTIMIZERS[name](l2=0.01), None]]
    for engine in ["numpy", "numba", "blas", "numba", "numpy", "blas"]:
        for run, engine_name in zip(runs, ("numpy", engine)):
            run[2] = run[0].fit(X, Y, loss=minibp.MSE(), optimizer=run[1], epochs=1,
                                batch_size=5, seed=1, engine=engine_name, verbose=0)
    twins.assert_agree(runs)


@pytest.mark.parametrize("engine", ENGINES)
def test_adam_without_eps_on_a_zero_gradient_refuses_the_nan_update_as_on_numpy(engine):
    """eps=0 and a gradient of exactly 0 make Adam's step 0/0, a NaN weight: the update is
    refused on every engine (the compiled kernels divide as NumPy does, error_model="numpy",
    instead of raising ZeroDivisionError), and the weights stay those before it."""
    X, Y = np.zeros((2, 1)), np.ones((2, 1))  # X = 0: dW = 0 exactly, db is not
    steps = []
    for name in ("numpy", engine):
        model = minibp.Sequential(minibp.Dense(1, 1, W=[[0.0]], b=0.0))
        optimizer = Adam(0.1, eps=0.0)
        with np.errstate(invalid="ignore"), pytest.raises(minibp.TrainingDivergedError) as info:
            model.fit(X, Y, loss=minibp.MSE(), optimizer=optimizer, epochs=3, batch_size=2,
                      engine=name, verbose=0)
        assert model[0].W[0, 0] == 0.0 and model[0].b[0] == 0.0
        assert info.value.overflow and "infinite or NaN" in str(info.value)
        steps.append((info.value.step, optimizer.steps, optimizer.state(model.parameters()[0])
                      ["exp_avg"].tolist()))
    assert steps[0] == steps[1] == (1, 0, [[0.0]])
