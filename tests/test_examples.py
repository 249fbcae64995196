"""minibp.examples: the chapter's data and network, and XOR as the demo trains it."""

import numpy as np
import pytest

import minibp
from minibp.demo import xor_predictions
from minibp.examples import chapter_data, chapter_network, xor_data


def test_chapter_network_holds_the_chapters_weights():
    model = chapter_network()
    assert model[0].W.tolist() == [[0.15, 0.20], [0.25, 0.30]]   # w1 w2 / w3 w4
    assert model[1].W.tolist() == [[0.40, 0.45], [0.50, 0.55]]   # w5 w6 / w7 w8
    frozen = {p.name for p in model.parameters() if p.frozen}
    assert frozen == {"model[0].b", "model[1].b"}
    X, Y = chapter_data()
    assert X.tolist() == [[0.05, 0.10]] and Y.tolist() == [[0.01, 0.99]]


def test_xor_data_is_xor():
    X, Y = xor_data()
    assert [int(a) ^ int(b) for a, b in X] == Y.ravel().astype(int).tolist()


def test_xor_converges_for_at_least_nine_of_ten_seeds():
    """The demo's recipe: 2-5-1 sigmoid, chapter init, lr 0.5, 10,000 single-sample steps."""
    X, Y = xor_data()
    converged = 0
    for seed in range(10):
        pred, _ = xor_predictions(seed)
        converged += minibp.SquaredError().forward(pred, Y) < 0.01
    assert converged >= 9


def test_xor_predictions_round_to_xor():
    pred, last_epoch_loss = xor_predictions(0)
    assert np.round(pred).ravel().tolist() == [0, 1, 1, 0]
    assert last_epoch_loss == pytest.approx(
        minibp.SquaredError().forward(pred, xor_data()[1]), rel=0.05)
