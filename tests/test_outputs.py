"""Sequential.evaluate, predict in batches, predict_proba and predict_classes, against
softmax, sigmoid and thresholds written out here."""

from __future__ import annotations

import numpy as np
import pytest

import minibp


def data(n=30, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)), rng.integers(0, classes, n)


@pytest.mark.parametrize("engine", ["numpy", "numba", "blas"])
def test_predict_in_batches_equals_predict_at_once(engine):
    X, _ = data(1000)
    model = minibp.mlp([4, 7, 3], "relu", seed=0)
    whole = model.predict(X, batch_size=1000, engine=engine)
    for rows in (1, 7, 999):
        np.testing.assert_allclose(model.predict(X, batch_size=rows, engine=engine), whole,
                                   rtol=1e-14, atol=1e-15)


def test_predict_proba_and_classes_after_softmax_cross_entropy():
    X, y = data()
    model = minibp.mlp([4, 6, 3], "tanh", seed=0)
    model.fit(X, y, loss="xent", optimizer="adam", epochs=3)
    logits = model.predict(X)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(model.predict_proba(X), exp / exp.sum(axis=1, keepdims=True),
                               rtol=1e-14)
    assert model.predict_classes(X).tolist() == np.argmax(logits, axis=1).tolist()
    found = model.evaluate(X, y, metrics=["accuracy"])
    assert found["accuracy"] == np.mean(np.argmax(logits, axis=1) == y)
    assert found["loss"] == pytest.approx(minibp.SoftmaxCrossEntropy().forward(logits, y),
                                          rel=1e-14)


def test_predict_proba_and_classes_after_binary_cross_entropy_on_logits():
    X, y = data(classes=2)
    model = minibp.mlp([4, 6, 1], "tanh", seed=0)
    model.fit(X, y, loss="bce", optimizer="adam", epochs=3)
    z = model.predict(X)
    np.testing.assert_allclose(model.predict_proba(X), 1 / (1 + np.exp(-z)), rtol=1e-14)
    assert model.predict_classes(X).tolist() == (z[:, 0] > 0).astype(int).tolist()
    assert model.evaluate(X, y, metrics="accuracy")["accuracy"] == np.mean((z[:, 0] > 0) == y)


def test_one_sigmoid_output_under_squared_error_is_a_probability_already():
    X, y = data(classes=2)
    model = minibp.mlp([4, 6, 1], "tanh", "sigmoid", seed=0)
    model.fit(X, y.reshape(-1, 1).astype(float), loss="squared", optimizer="sgd", epochs=2)
    out = model.predict(X)
    assert np.array_equal(model.predict_proba(X), out)
    assert model.predict_classes(X).tolist() == (out[:, 0] > 0.5).astype(int).tolist()


def test_evaluate_without_a_loss_or_metrics_says_so():
    X, y = data()
    with pytest.raises(ValueError, match="evaluate: loss must be given"):
        minibp.mlp([4, 3], seed=0).evaluate(X, y)
    found = minibp.mlp([4, 3], seed=0).evaluate(X, y, loss="xent", batch_size=4)
    assert set(found) == {"loss"}
