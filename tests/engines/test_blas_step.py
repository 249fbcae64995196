"""The BLAS engine's step kernels (minibp/engines/kernels/step.py) and the divergence guard
they leave to the update.

References: plain NumPy and loops written here; the guard-summing kernels they replaced
(the same operations, so equal bit for bit); the NumPy engine's divergence guard; the same
fit stopped before the bad step.
"""

from __future__ import annotations

import numpy as np
import pytest

import minibp
from minibp.engines import blas_engine
from minibp.engines.capabilities import ACTIVATION_CODES as CODES_BY_CLASS
from minibp.engines.kernels import fused as F  # noqa: N812 - the kernels they replaced
from minibp.engines.kernels import step as S  # noqa: N812 - the module under test

SHAPES = [(1, 1), (1, 6), (5, 1), (7, 13), (128, 40)]
CODES = {cls.name: code for cls, code in CODES_BY_CLASS.items()}
DTYPES = [np.float64, np.float32]


def variants(kernel):
    return [pytest.param(kernel, id="compiled"), pytest.param(kernel.py_func, id="py_func")]


def twin(kernel, old):
    """The guard-summing kernel ``old`` as ``kernel`` runs: compiled, or as py_func (whose
    float32 arithmetic is NumPy's scalars', not numba's)."""
    return old if hasattr(kernel, "py_func") else old.py_func


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", variants(S.gather_batch))
def test_gather_batch_copies_the_rows_of_x_and_t(kernel, dtype):
    rng = np.random.default_rng(0)
    X, T = rng.normal(size=(50, 7)).astype(dtype), rng.normal(size=(50, 3)).astype(dtype)
    order = rng.permutation(50)
    x, t = np.full((9, 7), np.nan, dtype), np.full((9, 3), np.nan, dtype)
    kernel(X, T, order, 20, x, t)
    np.testing.assert_array_equal(x, X[order[20:29]])
    np.testing.assert_array_equal(t, T[order[20:29]])


def test_gather_batch_reads_a_read_only_array():
    X = np.arange(12.0).reshape(4, 3)
    T = np.eye(4)
    X.flags.writeable = False
    x, t = np.empty((2, 3)), np.empty((2, 4))
    S.gather_batch(X, T, np.array([3, 1, 0, 2]), 1, x, t)
    np.testing.assert_array_equal(x, X[[1, 0]])
    np.testing.assert_array_equal(t, T[[1, 0]])


def numpy_activation(Z, name):
    if name == "sigmoid":
        return np.where(Z >= 0, 1 / (1 + np.exp(-np.abs(Z))),
                        np.exp(-np.abs(Z)) / (1 + np.exp(-np.abs(Z))))
    return {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}.get(name, lambda z: z)(Z)


def numpy_derivative(A, name):
    return {"sigmoid": A * (1 - A), "tanh": 1 - A * A, "relu": (A > 0) * 1.0}.get(
        name, np.ones_like(A))


@pytest.mark.parametrize("name", list(CODES))
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kernel", variants(S.add_bias_activate))
def test_add_bias_activate_against_numpy_and_the_summing_kernel(kernel, shape, name):
    rng = np.random.default_rng(1)
    Z, b = rng.normal(size=shape) * 3, rng.normal(size=shape[1])
    expected = numpy_activation(Z + b, name)
    old = Z.copy()
    twin(kernel, F.bias_activation)(old, b, CODES[name], np.empty(shape[1]))
    kernel(Z, b, CODES[name])
    np.testing.assert_allclose(Z, expected, rtol=1e-14, atol=1e-300)
    np.testing.assert_array_equal(Z, old)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kernel", variants(S.sigmoid_of_exp))
def test_sigmoid_of_exp_in_three_passes(kernel, shape, dtype):
    rng = np.random.default_rng(2)
    Z, b = (rng.normal(size=shape) * 20).astype(dtype), rng.normal(size=shape[1]).astype(dtype)
    expected = numpy_activation((Z + b).astype(np.float64), "sigmoid")
    E = np.empty_like(Z)
    F.bias_and_exp_argument(Z, b, E)
    np.exp(E, out=E)
    old = Z.copy()
    twin(kernel, F.sigmoid_from_exp)(old, E, Z.dtype.type(1), np.empty(shape[1]))
    kernel(Z, E, Z.dtype.type(1))
    assert Z.dtype == dtype
    np.testing.assert_allclose(Z, expected, rtol=1e-14 if dtype == np.float64 else 1e-6)
    np.testing.assert_array_equal(Z, old)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CODES))
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kernel", variants(S.derivative_and_bias_gradient))
def test_derivative_and_bias_gradient(kernel, shape, name, dtype):
    rng = np.random.default_rng(3)
    A = rng.uniform(-0.9, 0.9, size=shape).astype(dtype)
    dA = rng.normal(size=shape).astype(dtype)
    dZ = dA.astype(np.float64) * numpy_derivative(A.astype(np.float64), name)
    old, old_db = dA.copy(), np.empty(shape[1], dtype)
    twin(kernel, F.activation_backward)(old, A, CODES[name], old_db, np.empty(shape[1]))
    db = np.full(shape[1], np.nan, dtype)
    kernel(dA, A, CODES[name], db)
    tolerance = 1e-14 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(dA, dZ, rtol=tolerance)
    np.testing.assert_allclose(db, dZ.sum(axis=0), rtol=tolerance * 10, atol=tolerance)
    np.testing.assert_array_equal(dA, old)
    np.testing.assert_array_equal(db, old_db)


# -- the engine: read-only data, and the guard left to the update ----------------------------
def test_read_only_data_is_trained_on_as_it_is_without_a_copy():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 6))
    y = rng.integers(0, 3, 40)
    layers = minibp.mlp([6, 5, 3], "sigmoid", seed=0).layers
    X_read_only = X.copy()
    X_read_only.flags.writeable = False
    source, _ = blas_engine.batch_sources(layers, X_read_only, y, minibp.SoftmaxCrossEntropy())
    assert source is X_read_only
    models = []
    for data in (X, X_read_only):
        model = minibp.mlp([6, 5, 3], "sigmoid", seed=0)
        model.fit(data, y, loss="xent", optimizer=minibp.SGD(0.1), epochs=2, batch_size=8,
                  seed=1, engine="blas", verbose=0)
        models.append(model)
    for p, q in zip(*(m.parameters() for m in models)):
        assert np.array_equal(p.value, q.value)


def huge_last_rows(dtype):
    """Dense(1, 1) data whose last two rows make the float32 gradient overflow as it is
    stored (the loss, summed in float64, stays finite); the rows before are ordinary."""
    X = np.array([[0.5], [-1.0], [2.0], [0.25], [1.5], [-0.5], [3e19], [3e19]], dtype)
    return X, np.zeros((8, 1), dtype)


@pytest.mark.parametrize("optimizer", [lambda: minibp.SGD(0.01),
                                       lambda: minibp.SGD(0.01, momentum=0.9),
                                       lambda: minibp.Adam(0.01)],
                         ids=["sgd", "momentum", "adam"])
def test_a_non_finite_gradient_mid_epoch_is_refused_as_the_numpy_engine_refuses_it(optimizer):
    """No bound is summed before the update: the update sees the inf, the epoch is restored
    and replayed, and the step is reported as a non-finite gradient (not an overflow) at the
    step the NumPy engine reports, with the weights of the steps before it."""
    X, Y = huge_last_rows(np.float32)
    errors, models, optimizers = {}, {}, {}
    for engine in ("numpy", "blas"):
        model = minibp.Sequential(minibp.Dense(1, 1, W=[[1.0]], b=0.0, dtype=np.float32))
        optimizers[engine] = optimizer()
        with pytest.raises(minibp.TrainingDivergedError) as info:
            model.fit(X, Y, loss="squared", optimizer=optimizers[engine], epochs=2,
                      batch_size=2, shuffle=False, engine=engine, verbose=0)
        errors[engine], models[engine] = info.value, model
    assert errors["blas"].step == errors["numpy"].step == 4
    assert errors["blas"].epoch == errors["numpy"].epoch == 1
    assert not errors["blas"].overflow and not errors["numpy"].overflow
    assert errors["blas"].loss == pytest.approx(errors["numpy"].loss, rel=1e-6)
    assert optimizers["blas"].steps == optimizers["numpy"].steps == 3

    before = minibp.Sequential(minibp.Dense(1, 1, W=[[1.0]], b=0.0, dtype=np.float32))
    before.fit(X[:6], Y[:6], loss="squared", optimizer=optimizer(), epochs=1, batch_size=2,
               shuffle=False, engine="blas", verbose=0)
    for p, q, r in zip(models["blas"].parameters(), before.parameters(),
                       models["numpy"].parameters()):
        assert np.array_equal(p.value, q.value), p.name
        np.testing.assert_allclose(p.value, r.value, rtol=1e-6)


def test_a_frozen_parameters_non_finite_gradient_still_stops_the_step_before_its_update():
    """Nothing updates a frozen parameter, so its gradient is summed before the update."""
    X, Y = huge_last_rows(np.float32)
    errors, values = {}, {}
    for engine in ("numpy", "blas"):
        layer = minibp.Dense(1, 1, W=[[1.0]], b=0.0, dtype=np.float32)
        model = minibp.Sequential(layer.freeze("W"))
        with pytest.raises(minibp.TrainingDivergedError) as info:
            model.fit(X[6:], Y[6:], loss="squared", optimizer=minibp.SGD(0.01), epochs=1,
                      batch_size=2, engine=engine, verbose=0)
        errors[engine], values[engine] = info.value, [p.value for p in model.parameters()]
    assert errors["blas"].step == errors["numpy"].step == 1
    assert not errors["blas"].overflow
    for p, q in zip(values["blas"], values["numpy"]):
        assert np.array_equal(p, q)
