"""minibp.history: History, against values written here by hand."""

import numpy as np
from blocked_imports import block_imports  # tests/support

from minibp import History


def test_add_to_last_epoch_joins_the_epoch_recorded_last():
    history = History()  # as fit and a callback fill it, one epoch at a time
    history.record(0, loss=0.5)
    history.add_to_last_epoch(grad_norm=3.0, dead=0.0)
    history.record(1, loss=0.25)
    history.add_to_last_epoch(grad_norm=1.5, dead=0.5)
    assert history.epoch == [0, 1] and len(history.seconds) == 2
    assert history.history == {"loss": [0.5, 0.25], "grad_norm": [3.0, 1.5], "dead": [0.0, 0.5]}


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


def test_history_reads_like_a_dict_and_says_what_it_lacks():
    history = History()
    history.extend(range(2), seconds=[0.5, 0.25], loss=[2.0, 1.0], val_loss=[3.0, 2.5])
    assert history["val_loss"] == [3.0, 2.5] and history.seconds == [0.5, 0.25]
    assert len(history) == 2 and history.stopped_reason is None
    try:
        history["accuracy"]
    except KeyError as error:
        assert "History has no 'accuracy'; it has ['loss', 'val_loss']" in str(error)
    else:
        raise AssertionError("expected a KeyError")


def test_plot_draws_each_curve_beside_its_val_twin_and_saves_a_png(tmp_path):
    pytest = __import__("pytest")
    pytest.importorskip("matplotlib")
    history = History()
    history.extend(range(3), loss=[3.0, 2.0, 1.0], val_loss=[3.5, 2.5, 2.0],
                   accuracy=[0.5, 0.6, 0.7], val_accuracy=[0.4, 0.5, 0.55])
    path = tmp_path / "curves.png"
    figure = history.plot(path)
    axes = figure.axes
    assert [axis.get_title() for axis in axes] == ["loss", "accuracy"]
    lines = axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["training", "validation"]
    assert list(lines[1].get_ydata()) == [3.5, 2.5, 2.0]
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert (width, height) == tuple(int(v) for v in figure.get_size_inches() * figure.dpi)


def test_plot_without_matplotlib_names_the_extra(monkeypatch):
    block_imports(monkeypatch, "matplotlib")
    history = History()
    history.record(0, loss=1.0)
    try:
        history.plot()
    except ImportError as error:
        assert "pip install 'minibp[plot]'" in str(error)
    else:
        raise AssertionError("expected an ImportError")
