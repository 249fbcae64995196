"""minibp.history: History, against values written here by hand."""

import numpy as np

from minibp import History


def test_history_records_and_extends_in_order():
    history = History()
    history.record(0, loss=0.5)
    history.extend(range(1, 3), loss=np.array([0.25, 0.125]))
    assert history.epoch == [0, 1, 2]
    assert history.history == {"loss": [0.5, 0.25, 0.125]}
    assert repr(history) == "History(epochs=3, last={'loss': 0.125})"


def test_history_reads_python_floats_and_ints_whatever_was_recorded():
    history = History()
    history.extend(np.arange(2), loss=np.array([1.5, 0.5], np.float32))
    assert [type(v) for v in history.history["loss"]] == [float, float]
    assert [type(e) for e in history.epoch] == [int, int]


def test_history_reads_again_after_more_epochs_are_recorded():
    history = History()
    history.record(0, loss=1.0)
    assert history.history["loss"] == [1.0]
    history.record(1, loss=0.5)
    assert history.history["loss"] == [1.0, 0.5] and history.epoch == [0, 1]
