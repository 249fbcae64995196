"""minibp.engines.progress through fit: what each verbose setting prints, counted and read
line by line (a terminal is a stream whose isatty() says so)."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

import minibp
from minibp.engines import progress

LINE = re.compile(r"^epoch (\d+)/(\d+) - loss: [0-9.e+-]+( - \w+: [0-9.e+-]+)* - [0-9.e+-]+ s$")


def fit_xor(epochs, verbose, engine="auto", **kwargs):
    X, Y = minibp.examples.xor_data()
    model = minibp.mlp([2, 4, 1], "tanh", "sigmoid", seed=0)
    return model.fit(X, Y, loss="mse", optimizer=minibp.SGD(0.3), epochs=epochs,
                     batch_size=2, verbose=verbose, engine=engine, **kwargs)


@pytest.mark.parametrize("engine", ["numpy", "numba", "blas"])
def test_verbose_1_off_a_terminal_prints_first_about_twenty_and_last(capsys, engine):
    fit_xor(1000, 1, engine)
    lines = capsys.readouterr().out.splitlines()
    assert all(LINE.match(line) for line in lines), lines
    epochs = [int(LINE.match(line).group(1)) for line in lines]
    assert epochs == [1] + list(range(50, 1001, 50))
    assert "\r" not in "".join(lines) and "\x1b" not in "".join(lines)


def test_ten_thousand_epochs_print_tens_of_lines_not_ten_thousand(capsys):
    fit_xor(10_000, 1, "numba")
    assert 15 <= len(capsys.readouterr().out.splitlines()) <= 25


def test_verbose_2_prints_one_line_per_epoch_with_validation_and_metrics(capsys):
    X, Y = minibp.examples.xor_data()
    fit_xor(5, 2, validation_data=(X, Y), metrics=["accuracy"])
    lines = capsys.readouterr().out.splitlines()
    assert [int(LINE.match(line).group(1)) for line in lines] == [1, 2, 3, 4, 5]
    assert all(" - val_loss: " in line and " - val_accuracy: " in line for line in lines)


@pytest.mark.parametrize("verbose", [0, "auto"])
def test_a_short_fit_prints_nothing_by_default_or_when_silent(capsys, verbose):
    fit_xor(200, verbose, "numba")
    assert capsys.readouterr().out == ""


def test_auto_speaks_up_once_a_fit_has_run_a_second(capsys, monkeypatch):
    monkeypatch.setattr(progress, "AUTO_SECONDS", 0.0)  # every fit is "long" now
    fit_xor(40, "auto", "numpy")
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(LINE.match(line) for line in lines)


def test_a_terminal_gets_a_live_bar(monkeypatch):
    stream = io.StringIO()
    stream.isatty = lambda: True
    shown = progress.Progress(1, 50, stream=stream)
    for epoch in range(50):
        shown.chunk_done(epoch, np.array([0.5]), 0.01, {"loss": 0.5, "val_loss": 0.6})
    shown.close(49, {"loss": 0.5}, 0.01)
    text = stream.getvalue()
    assert "50/50" in text and "val_loss=0.6" in text and "\r" in text
