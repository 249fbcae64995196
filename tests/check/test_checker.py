"""gradcheck: it catches wrong gradients (a zoo of classic mistakes), passes everything minibp
ships, and never changes the user's model.

References: the zoo's bugs are known by construction (each is a real layer with one mistake,
so which tensor must fail is known before running); numeric derivatives are compared against
a plain central-difference loop written here and against the chapter's hand-worked dE/dw5
and dE/dw1; kinks against a hand-placed Z = 0, and a layer without kink detection failing
exactly there.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import minibp
from minibp import Dense, GradcheckError, gradcheck
from minibp.check.checker import ATOL, EPS, RTOL
from minibp.check.differences import central_difference
from minibp.check.scalar import prepare
from minibp.check.target import float64_copy
from minibp.examples import chapter_data, chapter_network

MODES = ("full", "sample", "fast")
K = {"full": None, "sample": 4, "fast": None}  # 4 of the 9 to 20 coordinates of zoo tensors


# -- the broken layer zoo: each a real layer with one classic mistake -----------------------------
class TransposedInputGradient(Dense):
    """dX = dZ @ W.T, a transpose too many; a square W lets it through every shape check."""

    def backward(self, dA):
        super().backward(dA)
        return self.dZ @ self.W.T


class MissingActivationDerivative(Dense):
    """dZ = dA: forgets the factor sigma'(Z) = A * (1 - A)."""

    def backward(self, dA):
        self.dZ = dA
        self.dW[...] = dA.T @ self.X
        self.db[...] = dA.sum(axis=0)
        return dA @ self.W


class UnsummedBias(Dense):
    """db from the first sample only, instead of summed over the batch."""

    def backward(self, dA):
        dX = super().backward(dA)
        self.db[...] = self.dZ[0]
        return dX


class MeanTwice(Dense):
    """Divides dW and db by the batch size, which a mean loss has already done: 1/n twice."""

    def backward(self, dA):
        dX = super().backward(dA)
        self.dW /= len(dA)
        self.db /= len(dA)
        return dX


class SignFlip(Dense):
    """dW with the wrong sign (the step would climb the loss)."""

    def backward(self, dA):
        dX = super().backward(dA)
        self.dW *= -1.0
        return dX


class StaleInput(Dense):
    """Keeps the first X it ever saw and differentiates with it from then on."""

    def forward(self, X):
        A = super().forward(X)
        if getattr(self, "_first_X", None) is None:
            self._first_X = self.X
        self.X = self._first_X
        return A


class WrongInputGradientOnly(Dense):
    """dW and db right, but dX = dA @ W skips sigma'(Z): only the input gradient is wrong."""

    def backward(self, dA):
        super().backward(dA)
        return dA @ self.W


class AccumulatingGradients(Dense):
    """Adds to dW and db instead of overwriting them: right only on the very first backward."""

    def backward(self, dA):
        old_dW, old_db = self.dW.copy(), self.db.copy()
        dX = super().backward(dA)
        self.dW += old_dW
        self.db += old_db
        return dX


class MeanTwiceMSE(minibp.MSE):
    """A loss whose backward divides by the batch size once more than its forward does."""

    def backward(self):
        dPred = super().backward()
        return dPred / len(dPred)


# name -> (broken layer class, failing alone, failing in the model, culprits in the model)
ZOO = {
    "missing transpose in dX": (TransposedInputGradient, {"input"},
                                {"model[0].W", "model[0].b", "input"}, ["model[1].input"]),
    "missing sigma' factor": (MissingActivationDerivative, {"layer.W", "layer.b", "input"},
                              {"model[0].W", "model[0].b", "model[1].W", "model[1].b", "input"},
                              ["model[1].W", "model[1].b", "model[1].input"]),
    "bias not summed over the batch": (UnsummedBias, {"layer.b"}, {"model[1].b"},
                                       ["model[1].b"]),
    "1/n applied twice": (MeanTwice, {"layer.W", "layer.b"}, {"model[1].W", "model[1].b"},
                          ["model[1].W", "model[1].b"]),
    "sign flip": (SignFlip, {"layer.W"}, {"model[1].W"}, ["model[1].W"]),
    "stale forward": (StaleInput, {"layer.W"}, {"model[1].W"}, ["model[1].W"]),
    "input gradient wrong, parameters right": (WrongInputGradientOnly, {"input"},
                                               {"model[0].W", "model[0].b", "input"},
                                               ["model[1].input"]),
    "gradients accumulated": (AccumulatingGradients, {"layer.W", "layer.b"},
                              {"model[1].W", "model[1].b"}, ["model[1].W", "model[1].b"]),
}


def batch(rows=5, cols=3, seed=0):
    return np.random.default_rng(seed).standard_normal((rows, cols))


def zoo_model(broken_class):
    """A tanh layer feeding the broken one, with a mean loss: the classic setting."""
    return minibp.Sequential(Dense(4, 3, "tanh", seed=1), broken_class(3, 3, "sigmoid", seed=2))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bug", ZOO)
def test_every_mode_catches_every_broken_layer_and_names_its_tensors(bug, mode):
    broken_class, failing, _, _ = ZOO[bug]
    report = gradcheck(broken_class(3, 3, "sigmoid", seed=2), batch(), mode=mode, k=K[mode])
    assert report.passed is False
    assert set(report.failed) == failing
    assert all(t.passed for t in report.tensors if t.name not in failing)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bug", ZOO)
def test_in_a_model_the_culprit_is_the_broken_layer(bug, mode):
    broken_class, _, failing, culprits = ZOO[bug]
    Y = np.random.default_rng(3).random((5, 3))
    report = gradcheck(zoo_model(broken_class), batch(cols=4), Y, loss=minibp.MSE(), mode=mode,
                       k=K[mode])
    assert report.passed is False
    assert set(report.failed) == failing
    assert report.culprits == culprits
    assert f": {', '.join(culprits)}" in str(report).splitlines()[-1]


@pytest.mark.parametrize("mode", MODES)
def test_a_broken_loss_is_caught_alone_and_named_as_the_culprit_in_a_model(mode):
    pred, Y = batch(), np.random.default_rng(3).random((5, 3))
    alone = gradcheck(MeanTwiceMSE(), pred, Y, mode=mode)
    assert alone.failed == ["pred"]
    model = minibp.mlp([4, 3, 3], "tanh", seed=0)
    report = gradcheck(model, batch(cols=4), Y, loss=MeanTwiceMSE(), mode=mode)
    assert set(report.failed) == {"model[0].W", "model[0].b", "model[1].W", "model[1].b", "input"}
    assert report.culprits == ["loss.pred"]


@pytest.mark.parametrize("mode", MODES)
def test_a_layer_that_ignores_its_upstream_gradient_is_caught_since_g_is_never_all_ones(mode):
    class IgnoresUpstream(minibp.Sigmoid):
        def backward(self, dA):
            super().backward(dA)
            return self.A * (1.0 - self.A)  # right only when dA is all ones

    assert gradcheck(IgnoresUpstream(), batch(), mode=mode).failed == ["input"]


def test_the_same_seed_gives_the_same_report_and_another_seed_other_samples():
    model, X = minibp.mlp([6, 5, 4], "tanh", seed=0), batch(cols=6)
    first, again = (str(gradcheck(model, X, mode="sample", k=3, seed=7)) for _ in range(2))
    other = str(gradcheck(model, X, mode="sample", k=3, seed=8))
    assert first == again != other


def test_fast_mode_narrows_a_single_wrong_coordinate_down_to_its_index():
    class OneWrongWeight(Dense):
        def backward(self, dA):
            dX = super().backward(dA)
            self.dW[2, 1] += 0.5
            return dX

    report = gradcheck(OneWrongWeight(6, 5, "tanh", seed=0), batch(cols=6), mode="fast")
    assert report.failed == ["layer.W"]
    assert report["layer.W"].worst == (2, 1)
    assert abs(report["layer.W"].analytic - report["layer.W"].numeric) == pytest.approx(0.5)


def test_raise_on_fail_raises_an_assertion_error_naming_tensor_index_values_and_tolerances():
    with pytest.raises(GradcheckError) as caught:
        gradcheck(SignFlip(3, 2, "sigmoid", seed=0), batch(), raise_on_fail=True)
    assert isinstance(caught.value, AssertionError)
    check = caught.value.report["layer.W"]
    message = str(caught.value)
    assert message.startswith("gradcheck failed: layer.W at [")
    assert repr(check.analytic) in message and repr(check.numeric) in message
    assert f"{ATOL:g} + {RTOL:g} * " in message
    assert check.analytic == pytest.approx(-check.numeric, rel=1e-6)


def test_raise_on_fail_is_silent_when_everything_passes():
    report = gradcheck(Dense(3, 2, "tanh", seed=0), batch(), raise_on_fail=True)
    assert report.passed


# -- everything minibp ships passes ----------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("activation", ["identity", "sigmoid", "tanh", "relu"])
def test_dense_passes_with_every_activation(activation, mode):
    report = gradcheck(Dense(4, 3, activation, seed=0), batch(cols=4), mode=mode)
    assert report.passed, str(report)
    assert [t.name for t in report.tensors] == ["layer.W", "layer.b", "input"]


@pytest.mark.parametrize("layer_class", [minibp.Sigmoid, minibp.Tanh, minibp.ReLU,
                                         minibp.Identity])
def test_activation_layers_pass(layer_class):
    report = gradcheck(layer_class(), batch(rows=7, cols=13))
    assert report.passed, str(report)
    assert report.failed == [] and [t.name for t in report.tensors] == ["input"]


LOSSES = {
    "squared": (minibp.SquaredError, lambda rng: rng.random((6, 3))),
    "mse": (minibp.MSE, lambda rng: rng.random((6, 3))),
    "xent labels": (minibp.SoftmaxCrossEntropy, lambda rng: rng.integers(0, 3, 6)),
    "xent probabilities": (minibp.SoftmaxCrossEntropy, lambda rng: rng.dirichlet(np.ones(3), 6)),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("loss_name", LOSSES)
def test_every_loss_passes_alone_in_every_reduction(loss_name, reduction):
    loss_class, target = LOSSES[loss_name]
    Y = target(np.random.default_rng(1))
    report = gradcheck(loss_class(reduction=reduction), batch(rows=6), Y)
    assert report.passed, str(report)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ["identity", "sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("loss_name", LOSSES)
def test_models_pass_in_float64_and_through_the_float64_copy_of_float32(loss_name, activation,
                                                                        dtype):
    loss_class, target = LOSSES[loss_name]
    output = None if loss_class is minibp.SoftmaxCrossEntropy else activation
    model = minibp.mlp([5, 7, 3], activation, output, seed=0, dtype=dtype)
    report = gradcheck(model, batch(rows=6, cols=5), target(np.random.default_rng(1)),
                       loss=loss_class())
    assert report.passed, str(report)
    assert ("float32" in report.precision) == (dtype == np.float32)


def test_a_model_of_separate_activation_layers_passes_in_every_mode():
    model = minibp.Sequential(Dense(4, 6), minibp.ReLU(), Dense(6, 5), minibp.Tanh(),
                              Dense(5, 2), minibp.Sigmoid())
    for mode in MODES:
        assert gradcheck(model, batch(cols=4), mode=mode).passed


def test_the_chapter_network_passes_and_its_frozen_biases_are_checked_too():
    X, Y = chapter_data()
    report = gradcheck(chapter_network(), X, Y, loss=minibp.SquaredError())
    assert report.passed, str(report)
    assert report["model[0].b"].frozen and report["model[0].b"].checked == 2
    assert "model[0].b (frozen)" in str(report)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("engine", ["numpy", "numba", "blas"])
def test_every_engine_passes(engine, loss_name, dtype):
    loss_class, target = LOSSES[loss_name]
    output = None if loss_class is minibp.SoftmaxCrossEntropy else "sigmoid"
    model = minibp.mlp([5, 7, 3], "tanh", output, seed=0, dtype=dtype)
    report = gradcheck(model, batch(rows=6, cols=5), target(np.random.default_rng(1)),
                       loss=loss_class(), engine=engine)
    assert report.passed, str(report)
    assert f"engine {engine!r}" in report.target


def test_an_engine_that_disagrees_with_the_layers_is_named_as_the_culprit():
    class WrongEngine(minibp.Sequential):
        def gradients(self, X, Y, loss, *, engine="auto"):
            loss.forward(self.forward(X), Y)
            self.backward(loss.backward())
            grads = {p.name: p.grad.copy() for p in self.parameters()}
            grads["model[1].b"] *= 2.0
            return grads

    model = WrongEngine(Dense(4, 3, "tanh", seed=0), Dense(3, 2, seed=1))
    Y = np.random.default_rng(1).random((5, 2))
    report = gradcheck(model, batch(cols=4), Y, loss=minibp.MSE(), engine="made-up")
    assert report.failed == ["model[1].b"]
    assert report.culprits == ["engine 'made-up'"]
    assert "culprit: engine 'made-up': the layers' own backward passes" in str(report)


# -- a layer of the user's own: the protocol, float64 copies, kinks --------------------------------
class Scale:
    """A = X * w, a user layer that does not subclass Layer. w (n,), X (batch, n)."""

    def __init__(self, n, dtype=np.float64):
        self.w = np.linspace(0.5, 1.5, n).astype(dtype)
        self.dw = np.zeros_like(self.w)

    def forward(self, X):
        self.X = np.asarray(X, dtype=self.w.dtype)
        return self.X * self.w

    def backward(self, dA):
        self.dw[...] = np.sum(dA * self.X, axis=0)
        return dA * self.w

    def parameters(self):
        return [minibp.Parameter("w", self.w, self.dw)]


def test_a_user_layer_following_the_protocol_passes_also_in_float32():
    for dtype in (np.float64, np.float32):
        layer = Scale(4, dtype)
        report = gradcheck(layer, batch(cols=4))
        assert report.passed and report.failed == []
        assert [t.name for t in report.tensors] == ["layer.w", "input"]
        assert layer.w.dtype == dtype


def test_float64_copy_casts_dense_and_user_layers_through_their_parameter_records():
    model = minibp.mlp([3, 4, 2], seed=0, dtype=np.float32)
    twin = float64_copy(model)
    for layer in twin:
        assert layer.dtype == np.float64
        assert {a.dtype for a in (layer.W, layer.b, layer.dW, layer.db)} == {np.dtype("float64")}
    assert {layer.W.dtype for layer in model} == {np.dtype("float32")}
    np.testing.assert_array_equal(twin[0].W, model[0].W.astype(np.float64))
    assert float64_copy(Scale(3, np.float32)).w.dtype == np.float64


def test_a_layer_whose_parameters_are_not_attributes_cannot_be_copied_and_says_why():
    class Hidden(Scale):
        def __init__(self):
            super().__init__(3, np.float32)
            self.store = {"w": self.w, "dw": self.dw}
            del self.w, self.dw

        def parameters(self):
            return [minibp.Parameter("w", self.store["w"], self.store["dw"])]

    with pytest.raises(TypeError, match="not an array attribute of the layer"):
        gradcheck(Hidden(), batch())


def test_a_layer_returning_copies_from_parameters_is_refused_with_the_fix():
    class Copies(Scale):
        def parameters(self):
            return [minibp.Parameter("w", self.w.copy(), self.dw)]

    with pytest.raises(TypeError, match="return the layer's own array"):
        gradcheck(Copies(3), batch())


def test_a_layer_computing_in_float32_despite_float64_parameters_is_refused_with_why():
    class Float32Inside(Scale):
        def forward(self, X):
            return super().forward(X).astype(np.float32)

    with pytest.raises(TypeError, match="computed in float32; its forward must follow"):
        gradcheck(Float32Inside(3), batch())


def test_a_scalar_that_is_not_finite_is_refused_before_any_difference_is_taken():
    with np.errstate(over="ignore"), pytest.raises(ValueError, match="scalar is inf at this X"):
        gradcheck(minibp.MSE(), np.full((2, 2), 1e200), np.zeros((2, 2)))


def test_a_gradient_of_the_wrong_shape_fails_that_tensor_with_the_shapes():
    class WrongShape(Scale):
        def backward(self, dA):
            super().backward(dA)
            return dA[:, :2]

    report = gradcheck(WrongShape(3), batch())
    assert report.failed == ["input"]
    assert "shape (5, 2), but the tensor has shape (5, 3)" in str(report)


def _layer_with_a_row_at_the_kink():
    """Dense(relu) on a batch whose row 0 is zeros, with b = 0: Z[0] is exactly 0."""
    X = batch(cols=4)
    X[0] = 0.0
    return Dense(4, 3, "relu", b=0.0, seed=0), X


def test_steps_across_a_relu_kink_are_skipped_with_the_reason_not_failed():
    layer, X = _layer_with_a_row_at_the_kink()
    report = gradcheck(layer, X)
    assert report.passed, str(report)
    assert report["layer.b"].skipped == 3 and report["layer.b"].checked == 0
    assert report["input"].skipped == 4  # the four inputs of row 0
    assert report["layer.W"].skipped == 0  # X[0] = 0: W does not move Z[0]
    reason = "the +/-eps step crosses a kink of Dense(4 -> 3, relu)"
    assert f"skipped layer.b[0], [1], [2]: {reason}" in str(report).splitlines()


def test_in_fast_mode_a_direction_across_a_kink_falls_back_to_coordinates():
    layer, X = _layer_with_a_row_at_the_kink()
    report = gradcheck(layer, X, mode="fast")
    assert report.passed, str(report)
    assert report["layer.W"].checked == 2  # W does not move Z[0]: two directions as usual
    assert (report["layer.b"].skipped, report["layer.b"].checked) == (3, 0)
    assert isinstance(report["input"].worst, tuple) and report["input"].skipped >= 1


def test_a_relu_layer_in_a_model_has_its_kinks_skipped_too():
    _, X = _layer_with_a_row_at_the_kink()
    model = minibp.Sequential(Dense(4, 3, b=0.0, seed=0), minibp.ReLU())
    report = gradcheck(model, X)
    assert report.passed, str(report)
    assert (report["model[0].b"].skipped, report["input"].skipped) == (3, 4)
    assert "crosses a kink of model[1] ReLU()" in str(report)


def test_without_kink_detection_the_same_steps_would_fail():
    """The reference for the skips: a relu layer with no kink hook fails exactly there."""
    class HiddenKinks(Dense):
        def gradcheck_kinks(self):
            return None  # declares no kinks, though relu has one at 0

    layer, X = _layer_with_a_row_at_the_kink()
    report = gradcheck(HiddenKinks(4, 3, "relu", b=0.0, seed=0), X)
    assert set(report.failed) == {"layer.b", "input"}
    assert report["layer.W"].passed


def test_a_user_layer_declares_its_kinks_with_the_gradcheck_kinks_hook():
    class Rectifier:
        """A = max(X, 0), taking its derivative at exactly 0 as 1: one-sided, as usual."""

        def forward(self, X):
            self.X = np.asarray(X, dtype=np.float64)
            return np.maximum(self.X, 0.0)

        def backward(self, dA):
            return dA * (self.X >= 0)

        def parameters(self):
            return []

    class DeclaredRectifier(Rectifier):
        def gradcheck_kinks(self):
            return self.X

    X = batch()
    X[1, 2] = 0.0
    assert gradcheck(Rectifier(), X).failed == ["input"]  # the central difference gives 1/2
    report = gradcheck(DeclaredRectifier(), X)
    assert report.passed and report["input"].skipped == 1


# -- the numbers themselves ------------------------------------------------------------------------
def test_numeric_derivatives_match_a_plain_central_difference_loop():
    pred, Y = batch(rows=4, cols=2), np.random.default_rng(5).random((4, 2))
    report = gradcheck(minibp.MSE(), pred, Y)

    def mse(P):  # written out here, independent of minibp
        return sum((P[i, j] - Y[i, j]) ** 2 for i in range(4) for j in range(2)) / 8

    i, j = report["pred"].worst
    plus, minus = pred.copy(), pred.copy()
    plus[i, j] += EPS
    minus[i, j] -= EPS
    numeric = (mse(plus) - mse(minus)) / (2 * EPS)
    assert report["pred"].numeric == pytest.approx(numeric, rel=1e-9, abs=1e-12)
    assert report["pred"].analytic == pytest.approx(2 * (pred[i, j] - Y[i, j]) / 8, rel=1e-12)


def test_finite_differences_reproduce_the_chapter_s_hand_worked_derivatives():
    """The chapter prints dE/dw5 = 0.082167041 and dE/dw1 = 0.000438568 (9 decimals)."""
    X, Y = chapter_data()
    scalar, tensors = prepare(chapter_network(), X, Y, minibp.SquaredError(), engine=None,
                              rng=np.random.default_rng(0))
    by_name = {t.name: t for t in tensors}
    for name, index, printed in (("model[1].W", (0, 0), 0.082167041),
                                 ("model[0].W", (0, 0), 0.000438568)):
        numeric, kink = central_difference(scalar, by_name[name].value, index, EPS)
        assert kink is None
        assert numeric == pytest.approx(printed, abs=5e-10)
        assert by_name[name].analytic[index] == pytest.approx(printed, abs=5e-10)


def test_central_difference_restores_the_exact_value_even_when_the_scalar_raises():
    values = np.array([0.1, 1e8 + 0.3, -2.5])
    saved = values.copy()

    class Exploding:
        calls = 0

        def __call__(self):
            self.calls += 1
            if self.calls == 2:
                raise FloatingPointError("boom")
            return float(values.sum())

        def kink_sides(self):
            return []

    with pytest.raises(FloatingPointError):
        central_difference(Exploding(), values, (1,), 1e-5)
    assert values.tobytes() == saved.tobytes()


def test_the_eps_sweep_draws_the_v_truncation_on_the_left_cancellation_on_the_right(capsys):
    model = minibp.mlp([3, 4, 2], "sigmoid", "sigmoid", seed=0)
    Y = np.random.default_rng(1).random((5, 2))
    sweep = minibp.gradcheck_sweep(model, batch(), Y, loss=minibp.SquaredError())
    errors = dict(zip(sweep.eps, sweep.max_abs_error))
    assert sweep.eps == [10.0 ** -p for p in range(1, 11)]
    assert 1e-7 <= sweep.best_eps <= 1e-4
    assert errors[1e-1] > 1e3 * errors[sweep.best_eps] < errors[1e-10]
    assert errors[1e-1] > errors[1e-2] > errors[1e-3]  # truncation: about eps**2
    assert errors[1e-10] > errors[1e-9] > errors[1e-8]  # cancellation: about 1 / eps
    shown = capsys.readouterr().out
    assert "<- smallest" in shown and "(default eps)" in shown and str(sweep) in shown


# -- the user's objects are never changed ----------------------------------------------------------
def _snapshot(model):
    return [(p.name, p.value.tobytes(), p.grad.tobytes()) for p in model.parameters()]


def test_the_model_is_bit_for_bit_unchanged_after_passing_failing_and_raising():
    Y = np.random.default_rng(3).random((5, 3))
    for broken_class in (Dense, SignFlip):
        model = zoo_model(broken_class)
        X = batch(cols=4)
        before, X_before = _snapshot(model), X.copy()
        gradcheck(model, X, Y, loss=minibp.MSE())
        assert _snapshot(model) == before
        assert X.tobytes() == X_before.tobytes()
        assert model[1].X is None  # not even a forward ran on it

    class FailsLater(Dense):
        calls = 0

        def forward(self, X):
            FailsLater.calls += 1
            if FailsLater.calls > 4:
                raise RuntimeError("a bug in forward")
            return super().forward(X)

    model = minibp.Sequential(FailsLater(4, 3, "tanh", seed=0))
    before = _snapshot(model)
    with pytest.raises(RuntimeError, match="a bug in forward"):
        gradcheck(model, batch(cols=4))
    assert _snapshot(model) == before


def test_a_float32_model_stays_float32_and_unchanged():
    model = minibp.mlp([4, 3, 2], "tanh", seed=0, dtype=np.float32)
    before = _snapshot(model)
    report = gradcheck(model, batch(cols=4))
    assert report.passed and "copy of float32" in report.precision
    assert _snapshot(model) == before and model[0].dtype == np.float32


# -- the report ------------------------------------------------------------------------------------
def test_the_report_is_an_aligned_table_with_one_row_per_tensor():
    report = gradcheck(UnsummedBias(3, 2, "tanh", seed=0), batch())
    lines = str(report).splitlines()
    assert lines[0].startswith("gradcheck FAILED: UnsummedBias(3 -> 2, tanh); s = sum(G * output)")
    header = next(line for line in lines if line.startswith("tensor"))
    rows = lines[lines.index(header) + 1:lines.index(header) + 4]
    assert [row.split()[0] for row in rows] == ["layer.W", "layer.b", "input"]
    end, start = header.index("max abs err") + len("max abs err"), header.index("result")
    for row in rows:  # numbers right-aligned under their heading, results left-aligned
        assert row[end - 1] != " " and row[end] == " "
        assert row[start - 1] == " " and row[start] in "oF"
    assert "FAIL" in rows[1] and rows[0].endswith("ok") and rows[2].endswith("ok")
    assert any(line.startswith("FAILED layer.b at [") for line in lines)
    assert repr(report) == ("GradcheckReport(passed=False, mode='full', tensors=3, "
                            "failed=['layer.b'])")


def test_failures_within_rounding_noise_of_a_huge_scalar_come_with_a_note():
    model = minibp.mlp([6, 10, 4], "relu", "relu", seed=1)
    X = np.random.default_rng(0).random((8, 6)) * 255  # raw pixel values, say
    Y = np.random.default_rng(1).random((8, 4))
    report = gradcheck(model, X, Y, loss=minibp.SquaredError(), atol=1e-12, rtol=0.0)
    assert not report.passed and report.scalar > 1e3
    assert "note: rounding in s alone" in str(report)


# -- arguments ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("call", "error", "words"), [
    (lambda: gradcheck(Dense(3, 2), batch(), mode="exact"), ValueError,
     "gradcheck: mode must be one of 'full', 'sample', 'fast', got 'exact'"),
    (lambda: gradcheck(Dense(3, 2), batch(), eps=0.0), ValueError,
     "gradcheck: eps must be a finite number > 0, got 0.0"),
    (lambda: gradcheck(Dense(3, 2), batch(), atol=-1.0), ValueError, "atol must be"),
    (lambda: gradcheck(Dense(3, 2), batch(), k=0), ValueError,
     "gradcheck: k must be at least 1, got 0"),
    (lambda: gradcheck(Dense(3, 2), batch(), np.zeros((5, 2))), ValueError, "without a loss"),
    (lambda: gradcheck(Dense(3, 2), batch(), loss=minibp.MSE()), ValueError, "needs its target"),
    (lambda: gradcheck(minibp.MSE(), batch()), ValueError, "give the target Y"),
    (lambda: gradcheck(42, batch()), TypeError, "expected a layer"),
    (lambda: gradcheck(Dense(3, 2), batch(), engine="numpy"), ValueError, "engine= checks"),
    (lambda: gradcheck(Dense(3, 2), np.full((5, 3), np.nan)), ValueError, "15 non-finite"),
])
def test_bad_arguments_are_refused_with_what_would_work(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_importing_minibp_and_the_gradcheck_help_never_import_numba():
    code = ("import sys, minibp, minibp.cli\n"
            "for args in (['--help'], ['gradcheck', '--help']):\n"
            "    try:\n        minibp.cli.main(args)\n    except SystemExit:\n        pass\n"
            "assert 'numba' not in sys.modules, 'numba was imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
