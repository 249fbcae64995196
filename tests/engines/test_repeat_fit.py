"""fit called again with the same argument objects (minibp.engines.repeat): from the fourth
such call the model runs its kept loop. Every run here has a twin: a copy of the model fit
on copies of the data with a new ``metrics=[]`` list each time, which is never the same
object, so the twin always takes the path of a first fit. The two must end with identical
weights, gradients, History, optimizer state and step count, or raise the same error,
through a loop of calls and after each kind of change made in place between two calls."""

from __future__ import annotations

import copy
import gc
import pickle
import warnings
import weakref

import numpy as np
import pytest

import minibp
from minibp.engines import repeat
from minibp.engines.checks import exclusive
from minibp.examples import chapter_data, chapter_network
from minibp.optim import StepDecay


@pytest.fixture
def kept_runs(monkeypatch) -> list:
    """The KeptRuns run, one entry per call that ran a kept loop."""
    calls, original = [], repeat.KeptRun.run

    def counted(self, X, Y):
        calls.append(self)
        return original(self, X, Y)

    monkeypatch.setattr(repeat.KeptRun, "run", counted)
    return calls


class Twins:
    """A model fit again and again with the same objects, and its twin fit each time as a
    first fit. ``per_side``: fit arguments that differ between the two (a Generator each)."""

    def __init__(self, model, X, Y, loss, make_optimizer, per_side=None, **options):
        self.models = [model, copy.deepcopy(model)]
        self.data = [[X, Y], [X.copy(), Y.copy()]]
        self.losses = [loss, copy.deepcopy(loss)]
        self.optimizers = [make_optimizer(), make_optimizer()]
        self.options = {"verbose": 0, **options}
        self.sides = [{k: v[0] for k, v in (per_side or {}).items()},
                      {k: v[1] for k, v in (per_side or {}).items()}]

    def fit(self) -> list:
        """One fit of each: the History, or the exception raised, the kept side's first."""
        results = []
        for side in (0, 1):
            X, Y = self.data[side]
            fresh = {"metrics": []} if side else {}
            try:
                results.append(self.models[side].fit(
                    X, Y, loss=self.losses[side], optimizer=self.optimizers[side],
                    **self.options, **self.sides[side], **fresh))
            except Exception as error:  # compared with the twin's in assert_same
                results.append(error)
        return results

    def change(self, how) -> None:
        """how(model, X, Y, loss, optimizer) on both sides."""
        for side in (0, 1):
            how(self.models[side], *self.data[side], self.losses[side],
                self.optimizers[side])

    def assert_same(self, results) -> None:
        mine, twins = results
        if isinstance(twins, Exception):
            assert type(mine) is type(twins) and str(mine) == str(twins), (mine, twins)
            return
        assert not isinstance(mine, Exception), mine
        assert mine.history == twins.history and mine.epoch == twins.epoch
        assert mine.stopped_reason == twins.stopped_reason
        ours, theirs = self.optimizers
        assert ours.steps == theirs.steps
        for p, q in zip(*(m.parameters() for m in self.models)):
            np.testing.assert_array_equal(p.value, q.value, err_msg=p.name)
            np.testing.assert_array_equal(p.grad, q.grad, err_msg=p.name)
            assert p.frozen == q.frozen
            for name in ours.state_names:
                if ours.has_state(p) or theirs.has_state(q):
                    np.testing.assert_array_equal(ours.state(p)[name], theirs.state(q)[name])

    def run(self, calls: int) -> None:
        for _ in range(calls):
            self.assert_same(self.fit())


def chapter_twins(**options) -> Twins:
    X, Y = chapter_data()
    return Twins(chapter_network(), X, Y, minibp.SquaredError(), lambda: minibp.SGD(0.5),
                 **{"epochs": 1, "batch_size": 1, "shuffle": False, **options})


def mlp_twins(make_optimizer, target: str = "rows", **options) -> Twins:
    rng = np.random.default_rng(0)
    labels = target == "labels"
    model = minibp.mlp([3, 5, 4], "tanh", "identity" if labels else "sigmoid", seed=1)
    X = rng.normal(size=(10, 3))
    if labels:
        return Twins(model, X, rng.integers(0, 4, size=10), minibp.SoftmaxCrossEntropy(),
                     make_optimizer, **options)
    return Twins(model, X, rng.uniform(0.1, 0.9, size=(10, 4)), minibp.MSE(),
                 make_optimizer, **options)


# -- a loop of the same call ---------------------------------------------------------------
CASES = {
    "the chapter's": lambda: chapter_twins(),
    "momentum, batches of 3": lambda: mlp_twins(
        lambda: minibp.SGD(0.1, momentum=0.9, nesterov=True), epochs=2, batch_size=3,
        shuffle=False),
    "adam, labels, shuffled from seed 4": lambda: mlp_twins(
        lambda: minibp.Adam(0.01), target="labels", epochs=3, batch_size=4, seed=4),
    "adamw, a schedule, clip_norm": lambda: mlp_twins(
        lambda: minibp.AdamW(StepDecay(0.05, step_size=5, gamma=0.5), weight_decay=0.01),
        epochs=2, batch_size=2, clip_norm=0.5, seed=3),
    "one Generator shuffling every run": lambda: mlp_twins(
        lambda: minibp.SGD(0.2), epochs=2, batch_size=4,
        per_side={"seed": (np.random.default_rng(7), np.random.default_rng(7))}),
    "engine='numba', float32": lambda: Twins(
        minibp.mlp([2, 3, 1], "sigmoid", "sigmoid", seed=0, dtype=np.float32),
        *minibp.examples.xor_data(), minibp.SquaredError(), lambda: minibp.SGD(0.5),
        epochs=5, batch_size=1, seed=1, engine="numba"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_loop_of_the_same_call_trains_as_first_fits_do(case, kept_runs):
    twins = CASES[case]()
    twins.run(6)
    assert len(kept_runs) == 3  # from the fourth call on


def test_progress_lines_are_a_first_fits(kept_runs, capsys):
    twins = chapter_twins(verbose=2)
    twins.run(5)
    lines = [line.rsplit(" - ", 1)[0] for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 10 and lines[0::2] == lines[1::2]  # the seconds aside
    assert lines[-1].startswith("epoch 1/1 - loss: ") and len(kept_runs) == 2


def test_what_is_not_plain_is_never_kept(kept_runs):
    X, Y = chapter_data()
    model, loss, sgd = chapter_network(), minibp.SquaredError(), minibp.SGD(0.5)
    weights = np.ones(1)
    for extra in ({"loss": "mse"}, {"optimizer": "sgd"}, {"sample_weight": weights},
                  {"engine": "numpy"}, {"X": X.tolist()}):
        fit = {"X": X, "Y": Y, "loss": loss, "optimizer": sgd, **extra}
        for _ in range(4):
            model.fit(**fit, epochs=1, batch_size=1, shuffle=False, verbose=0)
    assert kept_runs == []


# -- changed in place between two calls --------------------------------------------------------
def _set(array, index, value):
    array[index] = value


def _swap_layer(model, *_):
    model.layers[1] = minibp.Dense(2, 2, "tanh", seed=3)


def _set_loss_attribute(name, value):
    return lambda m, X, Y, loss, o: setattr(loss, name, value)


CHANGES = {
    "X: new values": lambda m, X, Y, loss, o: _set(X, (0, 0), 0.3),
    "X: NaN": lambda m, X, Y, loss, o: _set(X, (0, 1), np.nan),
    "X: reshaped": lambda m, X, Y, loss, o: setattr(X, "shape", (2, 1)),
    "X: read-only": lambda m, X, Y, loss, o: setattr(X.flags, "writeable", False),
    "Y: infinity": lambda m, X, Y, loss, o: _set(Y, (0, 0), np.inf),
    "Y: out of range": lambda m, X, Y, loss, o: _set(Y, (0, 0), 1.5),
    "W: new values": lambda m, X, Y, loss, o: _set(m.layers[0].W, (0, 0), 0.5),
    "W: NaN": lambda m, X, Y, loss, o: _set(m.layers[1].W, (1, 1), np.nan),
    "W: assigned": lambda m, X, Y, loss, o: setattr(m.layers[0], "W", np.full((2, 2), 0.2)),
    "W: reshaped": lambda m, X, Y, loss, o: setattr(m.layers[0].W, "shape", (4,)),
    "W: read-only": lambda m, X, Y, loss, o: setattr(m.layers[1].W.flags, "writeable", False),
    "dW: another shape": lambda m, X, Y, loss, o: setattr(m.layers[0], "dW", np.zeros(3)),
    "b: unfrozen": lambda m, X, Y, loss, o: m.layers[1].unfreeze("b"),
    "W: frozen": lambda m, X, Y, loss, o: m.layers[0].freeze("W"),
    "all frozen": lambda m, X, Y, loss, o: [layer.freeze() for layer in m.layers],
    "lr": lambda m, X, Y, loss, o: setattr(o, "lr", 0.05),
    "momentum": lambda m, X, Y, loss, o: setattr(o, "momentum", 0.9),
    "a schedule": lambda m, X, Y, loss, o: setattr(o, "lr", StepDecay(0.5, 1, 0.5)),
    "lr as a function": lambda m, X, Y, loss, o: setattr(o, "lr", lambda step: 0.1 + step),
    "l2": lambda m, X, Y, loss, o: setattr(o, "l2", 0.01),
    "loss: reduction": _set_loss_attribute("reduction", "sum"),
    "a layer replaced": _swap_layer,
    "a layer added": lambda m, *_: m.layers.append(minibp.Dense(2, 2, seed=0)),
    "model.loss and model.optimizer": lambda m, *_: (setattr(m, "loss", None),
                                                     setattr(m, "optimizer", None)),
    "the step counter": lambda m, X, Y, loss, o: setattr(o, "steps", 0),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_in_place_meets_what_a_first_fit_meets(change, kept_runs):
    twins = chapter_twins()
    twins.run(4)
    assert len(kept_runs) == 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        twins.change(CHANGES[change])
        twins.run(3)
    assert {str(w.message) for w in caught[0::2]} == {str(w.message) for w in caught[1::2]}
    assert all(w.filename == __file__ for w in caught)  # pointing at fit's caller


def test_momentum_state_carries_over_as_in_a_first_fit(kept_runs):
    twins = mlp_twins(lambda: minibp.SGD(0.1, momentum=0.9), epochs=1, batch_size=5,
                      shuffle=False)
    twins.run(4)
    twins.change(lambda m, X, Y, loss, o: m.layers[0].freeze("b"))
    twins.run(2)
    twins.change(lambda m, X, Y, loss, o: m.layers[0].unfreeze("b"))
    twins.run(2)
    assert len(kept_runs) == 5


def test_divergence_stops_both_alike_and_the_loop_goes_on_after(kept_runs):
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    twins = Twins(minibp.mlp([3, 4, 2], "relu", "identity", seed=0), X, Y, minibp.MSE(),
                  lambda: minibp.SGD(0.05), epochs=3, batch_size=2, shuffle=False)
    twins.run(4)
    twins.change(lambda m, X, Y, loss, o: setattr(o, "lr", 1e200))
    mine, its = twins.fit()
    assert isinstance(its, minibp.TrainingDivergedError)
    twins.assert_same((mine, its))
    assert mine.history.history == its.history.history
    twins.assert_same((mine.history, its.history))  # the weights of the last finite step
    twins.change(lambda m, X, Y, loss, o: setattr(o, "lr", 0.05))
    twins.run(2)
    assert len(kept_runs) == 4


def test_another_fit_in_between_starts_over(kept_runs):
    twins = chapter_twins()
    twins.run(4)
    X, Y = chapter_data()
    for model, optimizer in zip(twins.models, twins.optimizers):
        model.fit(X, Y, loss="mse", optimizer=optimizer, epochs=2, verbose=0)
    twins.run(3)  # remembered, then kept, then run kept
    assert len(kept_runs) == 2


# -- what a kept run holds -------------------------------------------------------------------
def test_the_model_does_not_keep_the_data_alive(kept_runs):
    X, Y = chapter_data()
    model, loss, sgd = chapter_network(), minibp.SquaredError(), minibp.SGD(0.5)
    for _ in range(4):
        model.fit(X, Y, loss=loss, optimizer=sgd, epochs=1, batch_size=1, verbose=0)
    assert len(kept_runs) == 1
    gone = weakref.ref(X), weakref.ref(Y)
    del X, Y
    gc.collect()
    assert gone[0]() is None and gone[1]() is None


def test_pickles_and_copies_leave_the_kept_run_behind(kept_runs):
    twins = chapter_twins()
    twins.run(4)
    model = twins.models[0]
    for copied in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model),
                   copy.copy(model)):
        assert "_kept_run" not in vars(copied)
        X, Y = twins.data[0]
        copied.fit(X, Y, loss=twins.losses[0], optimizer=minibp.SGD(0.5), epochs=1,
                   batch_size=1, shuffle=False, verbose=0)
    assert len(kept_runs) == 1


def test_a_kept_run_refuses_a_second_run_at_once(kept_runs):
    twins = chapter_twins()
    twins.run(4)
    model = twins.models[0]
    before = [p.value.copy() for p in model.parameters()]
    with exclusive(model, "another thread's fit"):
        mine, _ = twins.fit()
    assert isinstance(mine, RuntimeError) and "already training" in str(mine)
    for p, value in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.value, value)
    twins.models[1], twins.optimizers[1] = copy.deepcopy(  # the twin ran meanwhile: make
        (model, twins.optimizers[0]))                        # it a copy again
    twins.run(2)
