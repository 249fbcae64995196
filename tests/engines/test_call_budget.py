"""The numba engine's step budget: a fit cut into compiled calls of a few steps each (so a
long epoch returns often enough for Ctrl-C) is the same fit, bit for bit, as one call; an
interrupt between calls stops mid-epoch after a whole step.

References: the same fit with an unlimited budget, and the NumPy engine stepped by hand.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import minibp
from minibp.engines import numba_engine
from minibp.engines.epochs import INTERRUPTED


def problem(n=37, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    labels = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    return X, np.eye(2)[labels], rng.uniform(0.5, 2.0, n)


def fixed_budget(monkeypatch, steps: int | None) -> None:
    """Every Session starts with `steps` a call and keeps it (None: unlimited)."""
    original = numba_engine.Session.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.budget = steps if steps is not None else 10**12

    monkeypatch.setattr(numba_engine.Session, "__init__", init)
    monkeypatch.setattr(numba_engine.Session, "_resize_budget", lambda self, *a: None)


def fit(optimizer, **kwargs):
    X, Y, w = problem()
    model = minibp.mlp([4, 6, 2], "tanh", seed=1)
    history = model.fit(X, Y, loss="xent", optimizer=optimizer, epochs=4, batch_size=5,
                        seed=3, sample_weight=w, engine="numba", verbose=0, **kwargs)
    return model, history, optimizer


@pytest.mark.parametrize("steps", [1, 3, 8])
@pytest.mark.parametrize("make", [
    lambda: minibp.Adam(0.01),
    lambda: minibp.SGD(lambda step: 0.1 / (1 + step), momentum=0.9, nesterov=True),
    lambda: minibp.AdamW(minibp.optim.schedules.CosineDecay(0.02, 20)),
])
def test_calls_of_a_few_steps_give_the_fit_of_one_call_bit_for_bit(monkeypatch, steps, make):
    fixed_budget(monkeypatch, None)
    whole, whole_history, whole_opt = fit(make())
    fixed_budget(monkeypatch, steps)  # 8 batches an epoch: calls end mid-epoch
    cut, cut_history, cut_opt = fit(make())
    assert cut_history["loss"] == whole_history["loss"]
    assert cut_opt.steps == whole_opt.steps == 4 * 8
    for p, q in zip(cut.parameters(), whole.parameters()):
        assert np.array_equal(p.value, q.value), p.name


def test_an_interrupt_between_calls_stops_mid_epoch_after_a_whole_step():
    X, Y, _ = problem()
    layers = minibp.mlp([4, 6, 2], "tanh", seed=1).layers
    optimizer = minibp.Adam(0.01)
    session = numba_engine.Session(layers, X, Y, loss=minibp.SoftmaxCrossEntropy(),
                                   optimizer=optimizer, batch_size=5, shuffle=False, seed=None)
    session.budget = 3
    session._resize_budget = lambda *a: None
    chunk = session.run(2, SimpleNamespace(requested=True))
    session.close()
    assert chunk.stop == INTERRUPTED and len(chunk.losses) == 0
    assert optimizer.steps == 3  # three of the epoch's eight batches

    reference = minibp.mlp([4, 6, 2], "tanh", seed=1)
    by_hand = minibp.Adam(0.01)
    for start in (0, 5, 10):
        reference.train_step(X[start:start + 5], Y[start:start + 5],
                             minibp.SoftmaxCrossEntropy(), by_hand, engine="numpy")
    for layer, expected in zip(layers, reference.layers):
        if hasattr(layer, "W"):
            np.testing.assert_allclose(layer.W, expected.W, rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(layer.b, expected.b, rtol=1e-12, atol=1e-15)
