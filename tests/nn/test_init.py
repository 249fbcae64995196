"""minibp.nn.init: the initializers, and Dense's init= (names and callables).

References: the formulas, written out here from the papers (Glorot and Bengio 2010, He et
al. 2015, LeCun et al. 1998) and PyTorch's nn.init, drawn with numpy's Generator in this file
from the same seed (exact, bit for bit); sample statistics against those formulas on a large
draw; hand-written messages.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from minibp import Dense, mlp
from minibp.nn.init import INITIALIZERS

# name -> (distribution, scale(fan_in, fan_out)): the limit of a uniform, the std of a normal
FORMULAS = {
    "xavier": ("uniform", lambda fan_in, fan_out: math.sqrt(6.0 / (fan_in + fan_out))),
    "xavier_uniform": ("uniform", lambda fan_in, fan_out: math.sqrt(6.0 / (fan_in + fan_out))),
    "xavier_normal": ("normal", lambda fan_in, fan_out: math.sqrt(2.0 / (fan_in + fan_out))),
    "he": ("uniform", lambda fan_in, fan_out: math.sqrt(6.0 / fan_in)),
    "he_uniform": ("uniform", lambda fan_in, fan_out: math.sqrt(6.0 / fan_in)),
    "he_normal": ("normal", lambda fan_in, fan_out: math.sqrt(2.0 / fan_in)),
    "lecun": ("normal", lambda fan_in, fan_out: math.sqrt(1.0 / fan_in)),
    "lecun_normal": ("normal", lambda fan_in, fan_out: math.sqrt(1.0 / fan_in)),
    "lecun_uniform": ("uniform", lambda fan_in, fan_out: math.sqrt(3.0 / fan_in)),
}
NAMES = sorted(FORMULAS)
FLOATS = [pytest.param(np.float32, id="float32"), pytest.param(np.float64, id="float64")]
# (in_features, out_features): (1, 1), a row, a column and an odd non-square size, so that
# swapping fan_in and fan_out changes the values
SIZES = [(1, 1), (13, 1), (1, 7), (13, 7)]


def expected_W(name: str, n_in: int, n_out: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """W (n_out, n_in) by the formula: a float64 draw from rng, cast to dtype."""
    distribution, scale = FORMULAS[name]
    spread = scale(n_in, n_out)
    if distribution == "uniform":
        return rng.uniform(-spread, spread, (n_out, n_in)).astype(dtype)
    return rng.normal(0.0, spread, (n_out, n_in)).astype(dtype)


def test_every_registered_name_has_a_formula_here():
    assert set(INITIALIZERS) == set(FORMULAS) | {"uniform01"}


# -- exact values, against the formulas drawn here ---------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}-to-{s[1]}")
@pytest.mark.parametrize("name", NAMES)
def test_dense_W_is_the_formula_drawn_from_the_seed(name, size, dtype):
    n_in, n_out = size
    layer = Dense(n_in, n_out, "tanh", init=name, seed=5, dtype=dtype)
    expected = expected_W(name, n_in, n_out, np.random.default_rng(5), dtype)
    assert layer.W.dtype == np.dtype(dtype) and np.array_equal(layer.W, expected)
    assert layer.b.dtype == np.dtype(dtype) and layer.b.tolist() == [0.0] * n_out


@pytest.mark.parametrize("name", NAMES)
def test_registry_functions_take_shape_rng_and_dtype(name):
    W = INITIALIZERS[name]((7, 13), np.random.default_rng(9), np.float32)
    assert np.array_equal(W, expected_W(name, 13, 7, np.random.default_rng(9), np.float32))


# The names that existed before this module: their draws are pinned, because mlp threads one
# Generator through every layer and any change would move every later layer's weights.
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize(("activation", "init", "limit"), [
    pytest.param("sigmoid", None, lambda n_in, n_out: math.sqrt(6.0 / (n_in + n_out)),
                 id="default-xavier"),
    pytest.param("relu", None, lambda n_in, n_out: math.sqrt(6.0 / n_in), id="relu-default-he"),
    pytest.param("tanh", "xavier", lambda n_in, n_out: math.sqrt(6.0 / (n_in + n_out)),
                 id="xavier"),
    pytest.param("tanh", "he", lambda n_in, n_out: math.sqrt(6.0 / n_in), id="he"),
])
def test_existing_names_draw_exactly_as_before(activation, init, limit, dtype):
    layer = Dense(13, 7, activation, init=init, seed=3, dtype=dtype)
    bound = limit(13, 7)
    W = np.random.default_rng(3).uniform(-bound, bound, (7, 13)).astype(dtype)
    assert np.array_equal(layer.W, W) and not layer.b.any()


@pytest.mark.parametrize("dtype", FLOATS)
def test_uniform01_draws_W_then_b_in_the_layer_dtype(dtype):
    layer = Dense(13, 7, init="uniform01", seed=3, dtype=dtype)
    rng = np.random.default_rng(3)
    W = rng.random((7, 13), dtype=dtype)
    b = rng.random((7,), dtype=dtype)
    assert np.array_equal(layer.W, W) and np.array_equal(layer.b, b)


@pytest.mark.parametrize(("init", "kinds"), [
    pytest.param(None, ["he", "he", "xavier"], id="defaults"),  # relu, relu, sigmoid
    pytest.param("uniform01", ["uniform01"] * 3, id="uniform01"),
])
def test_mlp_threads_one_generator_through_the_layers_in_order(init, kinds):
    model = mlp([3, 6, 4, 2], "relu", "sigmoid", init=init, seed=11)
    rng = np.random.default_rng(11)
    for layer, n_in, n_out, kind in zip(model, [3, 6, 4], [6, 4, 2], kinds):
        if kind == "uniform01":
            W, b = rng.random((n_out, n_in)), rng.random(n_out)
        else:
            bound = math.sqrt(6.0 / (n_in if kind == "he" else n_in + n_out))
            W, b = rng.uniform(-bound, bound, (n_out, n_in)), np.zeros(n_out)
        assert np.array_equal(layer.W, W) and np.array_equal(layer.b, b)


def test_mlp_he_normal_is_reproducible_and_follows_the_formula():
    first = mlp([4, 8, 3], "relu", init="he_normal", seed=0)
    second = mlp([4, 8, 3], "relu", init="he_normal", seed=0)
    rng = np.random.default_rng(0)
    for a, b, (n_in, n_out) in zip(first, second, [(4, 8), (8, 3)]):
        assert np.array_equal(a.W, b.W) and np.array_equal(a.b, b.b)
        assert np.array_equal(a.W, rng.normal(0.0, math.sqrt(2.0 / n_in), (n_out, n_in)))
        assert not a.b.any()
    assert not np.array_equal(first[0].W, mlp([4, 8, 3], "relu", init="he_normal", seed=1)[0].W)


# -- statistics on a large draw ------------------------------------------------------------------
# W (400, 600): n = 240,000 draws, fan_in 600, fan_out 400. Each tolerance is about 5 standard
# errors of its statistic, so a correct initializer passes (and the seed is fixed anyway) while
# a wrong one fails: at these fans the three families' stds differ by 9% or more (closest:
# LeCun's and Glorot's), swapping fan_in and fan_out moves He's and LeCun's by 22%, and within
# a family, where uniform and normal share the std, the share of draws within one std tells
# them apart: 0.577 (= 1/sqrt(3)) against 0.683.
FAN_OUT, FAN_IN = 400, 600
N = FAN_OUT * FAN_IN


@pytest.mark.parametrize("name", NAMES)
def test_statistics_follow_the_formula(name):
    distribution, scale = FORMULAS[name]
    W = INITIALIZERS[name]((FAN_OUT, FAN_IN), np.random.default_rng(2), np.float64)
    std = scale(FAN_IN, FAN_OUT) if distribution == "normal" else scale(FAN_IN, FAN_OUT) / 3**0.5
    # the mean's standard error is std / sqrt(N), about std / 490
    assert abs(W.mean()) < 5 * std / math.sqrt(N)
    # the sample std's relative standard error is sqrt((kurtosis - 1) / (4 N)): 0.0014 for a
    # normal (kurtosis 3), 0.0009 for a uniform (1.8); 1% is at least 7 of them
    assert W.std() == pytest.approx(std, rel=0.01)
    within_one_std = np.mean(np.abs(W) < std)  # binomial standard error below 0.001
    if distribution == "uniform":
        limit = scale(FAN_IN, FAN_OUT)
        # every draw is within the limit, and some reach its last 0.01%: the chance that none
        # of N does is (1 - 1e-4)**N = exp(-24)
        assert np.max(np.abs(W)) <= limit and np.max(np.abs(W)) > (1 - 1e-4) * limit
        assert within_one_std == pytest.approx(1 / math.sqrt(3), abs=0.005)
    else:
        # a normal reaches beyond 4 std (a uniform of this std stops at sqrt(3)): about 15 of
        # N draws do, and the chance that none does is exp(-15)
        assert np.max(np.abs(W)) > 4 * std
        assert within_one_std == pytest.approx(math.erf(1 / math.sqrt(2)), abs=0.005)


def test_uniform01_statistics():
    layer = Dense(FAN_IN, FAN_OUT, init="uniform01", seed=2)
    W = layer.W
    assert W.min() >= 0.0 and W.max() < 1.0
    assert W.min() < 1e-4 and W.max() > 1 - 1e-4  # missing either end: exp(-24), as above
    # U(0, 1): mean 1/2, std sqrt(1/12); tolerances as in the test above
    assert abs(W.mean() - 0.5) < 5 * math.sqrt(1 / 12) / math.sqrt(N)
    assert W.std() == pytest.approx(math.sqrt(1 / 12), rel=0.01)
    assert np.all((layer.b >= 0.0) & (layer.b < 1.0)) and layer.b.any()


# -- a callable init ------------------------------------------------------------------------
def test_callable_gets_W_shape_and_the_layers_generator():
    calls = []

    def scaled_normal(shape, rng):
        calls.append((shape, rng))
        return rng.normal(0.0, 0.1, shape)

    rng = np.random.default_rng(4)
    layer = Dense(13, 7, "tanh", init=scaled_normal, seed=rng)
    assert calls == [((7, 13), rng)]  # once, for W only, with the very Generator given
    assert np.array_equal(layer.W, np.random.default_rng(4).normal(0.0, 0.1, (7, 13)))
    assert layer.b.tolist() == [0.0] * 7


def test_callable_result_is_cast_and_copied():
    values = np.arange(6.0).reshape(2, 3) + 0.1
    layer = Dense(3, 2, init=lambda shape, rng: values, dtype=np.float32)
    assert layer.W.dtype == np.float32 and np.array_equal(layer.W, values.astype(np.float32))
    values[0, 0] = 100.0  # the layer owns its weights
    assert layer.W[0, 0] == np.float32(0.1)
    lists = Dense(2, 2, init=lambda shape, rng: [[1, 2], [3, 4]])
    assert lists.W.dtype == np.float64 and lists.W.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_explicit_W_wins_over_a_callable():
    def never(shape, rng):
        raise AssertionError("init called although W= was given")

    assert Dense(2, 1, W=[[1.0, 2.0]], init=never).W.tolist() == [[1.0, 2.0]]


def transposed(shape, rng):
    return np.zeros(shape[::-1])


def test_callable_wrong_shape_names_it_and_both_shapes():
    with pytest.raises(ValueError) as info:
        Dense(3, 2, init=transposed)
    assert str(info.value) == (
        "Dense(3 -> 2): the array init=transposed returned must have shape (2, 3), got (3, 2) "
        "(W is (out_features, in_features))")


@pytest.mark.parametrize(("value", "dtype", "count"), [
    pytest.param(np.nan, np.float64, 6, id="nan"),
    pytest.param(-np.inf, np.float64, 6, id="inf"),
    pytest.param(1e39, np.float32, 6, id="overflows-float32"),  # float32's largest is 3.4e38
])
def test_callable_non_finite_result_is_refused(value, dtype, count):
    def constant(shape, rng):
        return np.full(shape, value)

    with pytest.raises(ValueError) as info:
        Dense(3, 2, init=constant, dtype=dtype)
    assert str(info.value) == (
        f"Dense(3 -> 2): the array init=constant returned must be finite as "
        f"{np.dtype(dtype)}, got {count} NaN or infinite values (first at W[0, 0])")


def test_callable_finite_in_float64_is_accepted():
    assert Dense(3, 2, init=lambda shape, rng: np.full(shape, 1e39)).W[0, 0] == 1e39


def test_callable_non_numeric_result_is_type_error():
    with pytest.raises(TypeError, match=r"Dense\(3 -> 2\): the array init=<lambda> returned "
                                        r"must hold real numbers, got dtype <U1"):
        Dense(3, 2, init=lambda shape, rng: np.full(shape, "a"))


# -- names ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("init", "got"), [("normal", "'normal'"), (3, "3 (int)")])
def test_unknown_init_lists_every_name(init, got):
    with pytest.raises(ValueError) as info:
        Dense(2, 2, init=init)
    assert str(info.value) == (
        "Dense: init must be one of 'xavier', 'xavier_uniform', 'xavier_normal', 'he', "
        "'he_uniform', 'he_normal', 'lecun', 'lecun_normal', 'lecun_uniform', 'uniform01', "
        f"got {got}")
