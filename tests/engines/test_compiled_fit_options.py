"""The compiled engines against the NumPy reference for fit's options and the losses that came
with them: sample_weight, clip_norm (clipping and not), l2, BinaryCrossEntropy on logits
(one output and multi-label).

Independent reference: the NumPy engine, whose weighted losses tests/nn/ holds to plain
loops and whose clipping test_trainer.py holds to torch's rule written out. As in
test_engines.py, in float64: one batch's gradients (and loss) to 1e-12; weights, History
and the optimizer's state after 3 epochs of stable training to 1e-10.
"""

import copy

import numpy as np
import pytest

import minibp
from minibp import SGD, Adam, AdamW

ENGINES = ["numba", "blas"]
LOSSES = {"squared": minibp.SquaredError, "mse": minibp.MSE, "xent": minibp.SoftmaxCrossEntropy,
          "bce": minibp.BinaryCrossEntropy}


def problem(twins, loss_name, n, seed, sizes=(3, 7, 4)):
    """An mlp with a sigmoid hidden layer; logits out for the cross-entropies."""
    output = None if loss_name in ("xent", "bce") else "sigmoid"
    target = "labels" if loss_name == "xent" else "rows"
    model, X, Y = twins.problem(list(sizes), "sigmoid", output, n, seed, target)
    return model, X, Y, LOSSES[loss_name]()


def weights(n, seed):
    """Sample weights with zeros, fractions and integers in them."""
    w = np.random.default_rng(seed).uniform(0.0, 3.0, size=n)
    w[::4] = 0.0
    w[1::5] = 2.0
    return w


def one_batch(model, X, Y, loss, engine, **fit):
    """(loss, {name: grad}) of one full batch through fit with lr = 0: the weights stay,
    and each parameter's grad is what the update would have used (l2 and clipping
    included)."""
    history = model.fit(X, Y, loss=loss, optimizer=SGD(0.0, l2=fit.pop("l2", 0.0)), epochs=1,
                        batch_size=len(X), shuffle=False, engine=engine, verbose=0, **fit)
    return history["loss"][0], {p.name: p.grad.copy() for p in model.parameters()}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("options", [
    {"sample_weight": True}, {"l2": 0.3}, {"clip_norm": 1e-2}, {"clip_norm": 1e3},
    {"sample_weight": True, "l2": 0.3, "clip_norm": 0.05},
], ids=["weights", "l2", "clipping", "not-clipping", "all"])
@pytest.mark.parametrize("loss_name", LOSSES)
def test_one_batch_loss_and_gradients_agree(twins, loss_name, options, engine):
    model, X, Y, loss = problem(twins, loss_name, 13, seed=2)
    model[1].freeze("b")  # frozen: counts in the guard's norm, not in l2 or clipping
    fit = dict(options)
    if fit.pop("sample_weight", False):
        fit["sample_weight"] = weights(13, seed=3)
    twin = copy.deepcopy(model)
    expected_loss, expected = one_batch(model, X, Y, loss, "numpy", **dict(fit))
    got_loss, got = one_batch(twin, X, Y, loss, engine, **fit)
    assert got_loss == pytest.approx(expected_loss, rel=1e-12)
    for name, grad in expected.items():
        scale = np.max(np.abs(grad)) + 1e-300
        np.testing.assert_allclose(got[name], grad, rtol=1e-12, atol=1e-12 * scale,
                                   err_msg=name)


OPTIMIZERS = [lambda: SGD(0.1, 0.9, nesterov=True), lambda: Adam(0.02, weight_decay=0.01),
              lambda: AdamW(0.02, l2=0.05)]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "in-order"])
@pytest.mark.parametrize("make", OPTIMIZERS, ids=["nesterov", "adam", "adamw-l2"])
@pytest.mark.parametrize("loss_name", LOSSES)
def test_sample_weighted_training_agrees(twins, loss_name, make, shuffle, engine):
    model, X, Y, loss = problem(twins, loss_name, 23, seed=4)
    runs = twins.train(model, X, Y, engine, make, loss=loss, epochs=3, batch_size=5,
                       shuffle=shuffle, seed=6, sample_weight=weights(23, seed=5))
    twins.assert_agree(runs)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("clip", [0.05, 1e3], ids=["clipping", "not-clipping"])
@pytest.mark.parametrize("make", OPTIMIZERS, ids=["nesterov", "adam", "adamw-l2"])
def test_clipped_training_agrees(twins, make, clip, engine):
    model, X, Y, loss = problem(twins, "mse", 19, seed=7)
    model[0].freeze("b")
    runs = twins.train(model, X, Y, engine, make, loss=loss, epochs=3, batch_size=4, seed=8,
                       clip_norm=clip)
    twins.assert_agree(runs)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("labels", ["vector", "column"])
def test_binary_cross_entropy_with_one_output_agrees(twins, labels, engine):
    model, X, _ = twins.problem([4, 6, 1], "tanh", None, 20, seed=9)
    y = (X[:, 0] * X[:, 1] > 0).astype(float)
    Y = y if labels == "vector" else y[:, None]
    runs = twins.train(model, X, Y, engine, lambda: Adam(0.05), loss=minibp.BinaryCrossEntropy(),
                       epochs=3, batch_size=6, seed=1, sample_weight=weights(20, seed=2))
    twins.assert_agree(runs)


@pytest.mark.parametrize("engine", ENGINES)
def test_bce_on_extreme_logits_stays_finite(engine):
    """Logits of +-1000: the log-sigmoid form takes only exp(-|z|), so the loss and the
    gradient are exact and finite (a naive log(sigmoid) would give inf)."""
    model = minibp.Sequential(minibp.Dense(1, 2, W=[[1000.0], [-1000.0]], b=0.0))
    X, Y = np.ones((1, 1)), np.array([[0.0, 0.0]])
    loss, grads = one_batch(model, X, Y, minibp.BinaryCrossEntropy(), engine)
    assert loss == pytest.approx(500.0, rel=1e-15)  # (1000 + 0) / 2 outputs
    np.testing.assert_allclose(grads["model[0].W"], [[0.5], [0.0]], atol=1e-300)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_batch_whose_weights_sum_to_zero_is_refused_at_the_same_step(twins, engine):
    """The NumPy engine's loss refuses such a batch (ValueError) after the steps before it;
    the compiled engines stop there too, with the same message and the same weights."""
    model, X, Y, loss = problem(twins, "mse", 12, seed=1)
    w = np.ones(12)
    w[4:8] = 0.0  # the second of three unshuffled batches
    ends = []
    for m, name in ((copy.deepcopy(model), "numpy"), (model, engine)):
        optimizer = Adam(0.01)
        with pytest.raises(ValueError, match=r"^MSE: sample_weight must have a finite sum "
                                             r"above 0, got 0.0$"):
            m.fit(X, Y, loss=loss, optimizer=optimizer, batch_size=4, shuffle=False,
                  sample_weight=w, engine=name)
        ends.append((m, optimizer))
    assert ends[0][1].steps == ends[1][1].steps == 1
    for p, q in zip(ends[0][0].parameters(), ends[1][0].parameters()):
        np.testing.assert_allclose(q.value, p.value, rtol=1e-12, atol=1e-15)
