"""Mode "sample" cannot miss a planted bug, and its failures always name tensor and index.

References: each zoo layer carries one planted mistake, so the tensor that must fail (and,
for a bug in one coordinate, its index) is known before running. Every seed 0..19 must find
it: drawing 10 of W's 384 coordinates would miss a one-coordinate bug on almost all of them.
"""

from __future__ import annotations

import numpy as np
import pytest

import minibp
from minibp import Dense, gradcheck
from minibp.check.checker import ATOL, EPS, RTOL, _run
from minibp.check.strategies import Settings

SEEDS = range(20)
ROW, COLUMN = 7, 3  # where the one-coordinate bugs sit in W (24, 16), X (6, 16) and b (24,)


class OneWrongWeight(Dense):
    """dW[7, 3] off by 0.01; every other gradient right."""

    def backward(self, dA):
        dX = super().backward(dA)
        self.dW[ROW, COLUMN] += 0.01
        return dX


class OneWrongBias(Dense):
    """db[7] twice what it should be."""

    def backward(self, dA):
        dX = super().backward(dA)
        self.db[ROW] *= 2.0
        return dX


class OneRowScaled(Dense):
    """Row 7 of dW scaled by 1.001: a small slip in one output unit's weights."""

    def backward(self, dA):
        dX = super().backward(dA)
        self.dW[ROW] *= 1.001
        return dX


class OneColumnSignFlipped(Dense):
    """Column 3 of dW (input feature 3's weights) with the wrong sign."""

    def backward(self, dA):
        dX = super().backward(dA)
        self.dW[:, COLUMN] *= -1.0
        return dX


class WrongTanhDerivative(Dense):
    """tanh'(Z) taken as 1 - A instead of 1 - A**2: W, b and the input all wrong."""

    def backward(self, dA):
        self.dZ = dA * (1.0 - self.A)
        self.dW[...] = self.dZ.T @ self.X
        self.db[...] = self.dZ.sum(axis=0)
        return self.dZ @ self.W


class OneWrongInput(Dense):
    """dX[3, 7] off by 0.01; the parameters' gradients right."""

    def backward(self, dA):
        dX = super().backward(dA)
        dX[COLUMN, ROW] += 0.01
        return dX


def in_row(index):
    return index[0] == ROW


def in_column(index):
    return index[1] == COLUMN


# bug -> (layer class, the tensors that fail, which failing indices are allowed)
ZOO = {
    "one weight": (OneWrongWeight, {"layer.W"}, lambda index: index == (ROW, COLUMN)),
    "one bias": (OneWrongBias, {"layer.b"}, lambda index: index == (ROW,)),
    "one row scaled by 1.001": (OneRowScaled, {"layer.W"}, in_row),
    "one column's sign": (OneColumnSignFlipped, {"layer.W"}, in_column),
    "wrong activation derivative": (WrongTanhDerivative, {"layer.W", "layer.b", "input"},
                                    lambda index: True),
    "one input": (OneWrongInput, {"input"}, lambda index: index == (COLUMN, ROW)),
}


def batch(cols=16, seed=0):
    return np.random.default_rng(seed).standard_normal((6, cols))


def assert_every_failure_names_an_index(report):
    for t in report.tensors:
        if not t.passed:
            assert isinstance(t.worst, tuple) and t.worst in t.failing, str(report)
            index = ", ".join(map(str, t.worst))
            assert f"FAILED {t.name} at [{index}]: analytic" in str(report)


@pytest.mark.parametrize("bug", ZOO)
def test_sample_mode_catches_every_planted_bug_on_every_seed_naming_tensor_and_index(bug):
    layer_class, failing, allowed = ZOO[bug]
    layer, X = layer_class(16, 24, "tanh", seed=0), batch()
    for seed in SEEDS:
        report = gradcheck(layer, X, mode="sample", seed=seed)
        assert set(report.failed) == failing, f"seed {seed}\n{report}"
        assert_every_failure_names_an_index(report)
        assert all(allowed(index) for name in failing for index in report[name].failing)


@pytest.mark.parametrize(("layer_class", "failing", "culprit"), [
    (OneWrongWeight, ["model[1].W"], "model[1].W"),
    (OneWrongInput, ["model[0].W", "model[0].b", "input"], "model[1].input"),
])
def test_in_a_model_sample_mode_names_the_index_and_the_culprit_on_every_seed(layer_class,
                                                                             failing, culprit):
    model = minibp.Sequential(Dense(16, 16, "tanh", seed=1), layer_class(16, 24, "sigmoid",
                                                                         seed=2))
    Y = np.random.default_rng(3).random((6, 24))
    for seed in SEEDS:
        report = gradcheck(model, batch(), Y, loss=minibp.MSE(), mode="sample", seed=seed)
        assert sorted(report.failed) == sorted(failing), f"seed {seed}\n{report}"
        assert report.culprits == [culprit], f"seed {seed}\n{report}"
        assert_every_failure_names_an_index(report)
    assert report["model[1].W" if culprit == "model[1].W" else "input"].failing


def test_a_re_check_compares_the_coordinates_that_failed_not_fresh_ones():
    """A weight off by 5e-7 fails alone (tolerance about 1e-8 + 1e-6 * 0.1) but moves a random
    direction over 384 weights by only about 5e-7 / sqrt(384), near atol: fresh coordinates
    and directions miss it on most seeds. Given the index that failed, no seed misses it."""

    class TinySlip(Dense):
        def backward(self, dA):
            dX = super().backward(dA)
            self.dW[ROW, COLUMN] += 5e-7
            return dX

    layer, X = TinySlip(16, 24, "tanh", seed=0), batch()
    settings = Settings("sample", EPS, ATOL, RTOL, 1)
    fresh = [gradcheck(layer, X, mode="sample", seed=seed).passed for seed in SEEDS]
    assert sum(fresh) >= 10  # the limit: a direction sees one coordinate's error / sqrt(n)
    for seed in SEEDS:
        report = _run(layer, X, None, None, settings, seed, None,
                      focus={"layer.W": [(ROW, COLUMN)]})
        assert report.failed == ["layer.W"] and report["layer.W"].failing == [(ROW, COLUMN)]


def test_an_engine_re_check_looks_at_the_engine_s_failing_coordinate():
    class OneWrongEngineWeight(minibp.Sequential):
        def gradients(self, X, Y, loss, *, engine="auto"):
            loss.forward(self.forward(X), Y)
            self.backward(loss.backward())
            grads = {p.name: p.grad.copy() for p in self.parameters()}
            grads["model[0].W"][ROW, COLUMN] += 0.01
            return grads

    model = OneWrongEngineWeight(Dense(16, 24, "tanh", seed=0), Dense(24, 2, seed=1))
    Y = np.random.default_rng(1).random((6, 2))
    for seed in range(5):
        report = gradcheck(model, batch(), Y, loss=minibp.MSE(), mode="sample", seed=seed,
                           engine="made-up")
        assert report.failed == ["model[0].W"] and report["model[0].W"].worst == (ROW, COLUMN)
        assert report.culprits == ["engine 'made-up'"]


def test_sample_mode_screens_every_tensor_and_counts_only_coordinates_as_checked():
    report = gradcheck(Dense(16, 24, "tanh", seed=0), batch(), mode="sample", k=4)
    assert report.passed
    assert [t.checked for t in report.tensors] == [4, 4, 4]
    assert [t.screened for t in report.tensors] == [2, 2, 2]
    small = gradcheck(Dense(2, 2, "tanh", seed=0), batch(cols=2), mode="sample", k=12)
    assert [t.checked for t in small.tensors] == [4, 2, 12]  # k >= size: every coordinate,
    assert [t.screened for t in small.tensors] == [0, 0, 0]  # so nothing left to screen


def test_a_screen_across_a_kink_is_split_down_to_the_coordinates_at_the_kink():
    X = batch(cols=4)
    X[0] = 0.0  # with b = 0, Z[0] is exactly 0: any step that moves X[0] crosses relu's kink
    report = gradcheck(Dense(4, 3, "relu", b=0.0, seed=0), X, mode="sample", k=2)
    assert report.passed, str(report)
    assert report["input"].skipped == 4 and sorted(report["input"].skips.popitem()[1]) == [
        (0, 0), (0, 1), (0, 2), (0, 3)]
    assert report["input"].screened >= 2  # the halves that cross no kink, compared as directions


def test_a_screen_that_no_single_coordinate_explains_compares_every_coordinate():
    """Errors of 0.9 * atol in every weight pass one by one; a direction may see their sum.
    The verdict is then that of mode "full": every coordinate compared, none failing."""

    class SlightlyOffEverywhere(Dense):
        def backward(self, dA):
            dX = super().backward(dA)
            self.dW += 0.9 * ATOL * np.sign(self.dW)
            return dX

    layer, X = SlightlyOffEverywhere(16, 24, "tanh", seed=0), batch()
    full = gradcheck(layer, X, atol=ATOL, rtol=0.0)
    assert full.passed
    swept = [gradcheck(layer, X, mode="sample", rtol=0.0, seed=seed) for seed in range(8)]
    assert all(r.passed for r in swept)
    assert {r["layer.W"].checked for r in swept} == {10, 384}  # 384: a screen disagreed
