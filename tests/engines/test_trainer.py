"""minibp.engines.trainer through Sequential.fit: validation, metrics, divergence, Ctrl-C,
sample weights, clipping, on every engine.

References: a plain NumPy forward written here (validation loss and metrics after each
epoch, recomputed from weights saved epoch by epoch), fits on duplicated rows (integer
sample weights), the update written out by hand from the engine's own gradients (clipping),
and the same fit run without the feature.
"""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

import minibp

ENGINES = ["numpy", "numba", "blas"]


def data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    Y = (X[:, :1] * X[:, 1:2] > 0).astype(float)
    return X, Y


def model(seed=0):
    return minibp.mlp([3, 5, 1], "tanh", "sigmoid", seed=seed)


def plain_forward(weights, X):
    """tanh hidden layer, sigmoid output, from saved (W, b) pairs: no minibp code."""
    (W1, b1), (W2, b2) = weights
    H = np.tanh(X @ W1.T + b1)
    return 1.0 / (1.0 + np.exp(-(H @ W2.T + b2)))


def saved(m):
    return [(layer.W.copy(), layer.b.copy()) for layer in m.layers]


@pytest.mark.parametrize("engine", ENGINES)
def test_validation_and_metrics_are_those_of_each_epochs_final_weights(engine):
    X, Y = data()
    Xv, Yv = data(10, seed=1)
    fitted = model()
    history = fitted.fit(X, Y, loss="squared", optimizer=minibp.SGD(0.3), epochs=4,
                         batch_size=5, shuffle=False, validation_data=(Xv, Yv),
                         metrics=["accuracy", "mae"], engine=engine)
    stepped, expected = model(), []
    for _ in range(4):  # unshuffled, 4 epochs are 4 one-epoch fits
        stepped.fit(X, Y, loss="squared", optimizer=minibp.SGD(0.3), epochs=1, batch_size=5,
                    shuffle=False, engine=engine, verbose=0)
        expected.append(saved(stepped))
    for epoch, weights in enumerate(expected):
        out, val = plain_forward(weights, X), plain_forward(weights, Xv)
        assert history["val_loss"][epoch] == pytest.approx(
            0.5 * np.mean(np.sum((val - Yv) ** 2, axis=1)), rel=1e-12)
        assert history["accuracy"][epoch] == np.mean((out > 0.5) == (Y > 0.5))
        assert history["val_mae"][epoch] == pytest.approx(np.mean(np.abs(val - Yv)), rel=1e-12)
    assert sorted(history.history) == ["accuracy", "loss", "mae", "val_accuracy", "val_loss",
                                       "val_mae"]
    assert len(history.seconds) == 4 and history.stopped_reason is None


def test_validation_split_takes_the_last_rows_before_shuffling():
    X, Y = data()
    split = model()
    history = split.fit(X, Y, loss="mse", optimizer="sgd", epochs=3, batch_size=4, seed=7,
                        validation_split=0.25, verbose=0)
    alone = model()
    reference = alone.fit(X[:18], Y[:18], loss="mse", optimizer="sgd", epochs=3, batch_size=4,
                          seed=7, verbose=0)
    assert history["loss"] == reference["loss"]
    val = plain_forward(saved(alone), X[18:])
    assert history["val_loss"][-1] == pytest.approx(np.mean((val - Y[18:]) ** 2), rel=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_integer_sample_weights_equal_repeated_rows(engine):
    X, Y = data(8)
    w = np.array([1, 2, 0, 1, 3, 1, 1, 2])
    weighted, repeated = model(), model()
    h1 = weighted.fit(X, Y, loss="squared", optimizer=minibp.SGD(0.2), epochs=5, batch_size=8,
                      shuffle=False, sample_weight=w, engine=engine)
    h2 = repeated.fit(np.repeat(X, w, axis=0), np.repeat(Y, w, axis=0), loss="squared",
                      optimizer=minibp.SGD(0.2), epochs=5, batch_size=int(w.sum()),
                      shuffle=False, engine=engine)
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-12)
    for a, b in zip(saved(weighted), saved(repeated)):
        np.testing.assert_allclose(a[0], b[0], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("clip", [1e-3, 1e3])
def test_clip_norm_scales_the_whole_gradient_as_torch_does(clip, engine):
    X, Y = data()
    clipped, reference = model(), model()
    grads = reference.gradients(X, Y, minibp.MSE(), engine="numpy")
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    scale = min(1.0, clip / (norm + 1e-6))
    clipped.fit(X, Y, loss="mse", optimizer=minibp.SGD(0.5), epochs=1, batch_size=len(X),
                shuffle=False, clip_norm=clip, engine=engine)
    for p, q in zip(clipped.parameters(), reference.parameters()):
        np.testing.assert_allclose(p.value, q.value - 0.5 * scale * grads[q.name], rtol=1e-12,
                                   atol=1e-15)


@pytest.mark.parametrize("engine", ENGINES)
def test_on_divergence_stop_ends_fit_with_the_last_good_weights(engine):
    X, Y = data()
    kwargs = dict(loss="mse", epochs=50, batch_size=4, seed=3, engine=engine)
    raised = minibp.mlp([3, 8, 1], "relu", seed=0)
    with pytest.raises(minibp.TrainingDivergedError) as info:
        raised.fit(X, Y * 1e3, optimizer=minibp.SGD(10.0), **kwargs)
    stopped = minibp.mlp([3, 8, 1], "relu", seed=0)
    history = stopped.fit(X, Y * 1e3, optimizer=minibp.SGD(10.0), on_divergence="stop",
                          **kwargs)
    assert history.stopped_reason == "diverged"
    assert len(history) == len(info.value.history) == info.value.epoch - 1
    for a, b in zip(saved(raised), saved(stopped)):
        assert np.array_equal(a[0], b[0]) and np.isfinite(a[0]).all()


@pytest.mark.parametrize("engine", ENGINES)
def test_ctrl_c_ends_fit_after_a_whole_step_with_the_history_on_the_exception(engine):
    X, Y = data(64)
    fitting = minibp.mlp([3, 16, 1], "tanh", "sigmoid", seed=0)
    fitting.fit(X, Y, loss="mse", optimizer="sgd", epochs=1, engine=engine)  # compiled now
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when run in the background (nohup)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt) as info:
            fitting.fit(X, Y, loss="mse", optimizer="sgd", epochs=10**9, batch_size=4,
                        engine=engine, verbose=0)
    finally:
        timer.cancel()
    history = info.value.history
    assert history.stopped_reason == "interrupted" and len(history) >= 1
    assert all(np.isfinite(p.value).all() for p in fitting.parameters())
    assert signal.getsignal(signal.SIGINT) is before  # put back
    again = fitting.fit(X, Y, loss="mse", optimizer="sgd", epochs=2, engine=engine)
    assert len(again) == 2


def test_fit_from_another_thread_runs_without_touching_signals():
    X, Y = data()
    found = {}
    worker = threading.Thread(target=lambda: found.update(h=model().fit(
        X, Y, loss="mse", optimizer="sgd", epochs=3)))
    worker.start()
    worker.join()
    assert len(found["h"]) == 3


def test_names_and_classes_for_loss_and_optimizer():
    X, Y = data()
    history = model().fit(X, Y, loss="bce", optimizer="adam", epochs=2, engine="numpy")
    assert len(history) == 2
    with pytest.raises(TypeError, match="got the class MSE; pass an instance, e.g. MSE()"):
        model().fit(X, Y, loss=minibp.MSE, optimizer="sgd")
    with pytest.raises(ValueError, match="'squared', 'mse', 'xent', 'bce', got 'hinge'"):
        model().fit(X, Y, loss="hinge", optimizer="sgd")


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"shuffle": "no"}, TypeError, "fit: shuffle must be True or False, got 'no'"),
    ({"verbose": 3}, ValueError, r"fit: verbose must be one of 0, 1, 2, 'auto', got 3 \(int\)"),
    ({"on_divergence": "ignore"}, ValueError,
     "fit: on_divergence must be one of 'raise', 'stop', got 'ignore'"),
    ({"clip_norm": 0}, ValueError, "fit: clip_norm must be a finite number > 0, got 0.0"),
    ({"validation_split": 1.0}, ValueError,
     "fit: validation_split must be a finite number >= 0 and < 1, got 1.0"),
    ({"validation_split": 0.01}, ValueError,
     "fit: validation_split=0.01 of 24 samples leaves 24 for training and 0 for validation"),
    ({"sample_weight": np.ones(5)}, ValueError,
     r"fit: sample_weight must have shape \(24,\), one per sample, got \(5,\)"),
    ({"sample_weight": -np.ones(24)}, ValueError, "fit: sample_weight must be finite, >= 0"),
    ({"callbacks": [minibp.EarlyStopping]}, TypeError,
     "fit: callbacks must be instances, got the class EarlyStopping"),
])
def test_bad_fit_arguments_are_refused_before_training(kwargs, error, message):
    X, Y = data()
    fresh = model()
    before = saved(fresh)
    with pytest.raises(error, match=message):
        fresh.fit(X, Y, loss="mse", optimizer="sgd", **kwargs)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(before, saved(fresh)))
