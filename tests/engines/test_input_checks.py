"""The one validation step in front of every engine (minibp.engines.resolve): what comes in
as data or as parameters set by hand is refused with the precise error class, or converted
so the answer equals the float copy's, on every engine alike.

References: the same call on a clean float64 C-contiguous copy, and the NumPy engine.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import minibp
from minibp import DTypeError, NonFiniteInputError, ShapeError

ENGINES = ["numpy", "numba", "blas"]


def model(activation="sigmoid", dtype=np.float64):
    return minibp.mlp([3, 4, 2], activation, seed=0, dtype=dtype)


def data(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), rng.integers(0, 2, n)


def calls(m, X, Y, engine):
    """Every entry point that reads data, as (name, zero-argument call)."""
    return {
        "predict": lambda: m.predict(X, engine=engine),
        "fit": lambda: m.fit(X, Y, loss="xent", optimizer="sgd", epochs=1, engine=engine,
                             verbose=0),
        "train_step": lambda: m.train_step(X, Y, "xent", "sgd", engine=engine),
        "gradients": lambda: m.gradients(X, Y, "xent", engine=engine),
        "evaluate": lambda: m.evaluate(X, Y, loss="xent", engine=engine),
    }


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("bad, kind", [(np.nan, "NaN"), (np.inf, "infinite"),
                                       (-np.inf, "infinite")])
def test_nan_or_inf_in_x_is_named_with_its_kind_count_and_first_row(engine, bad, kind):
    X, Y = data()
    X[4, 1] = X[5, 2] = bad
    for name, call in calls(model(), X, Y, engine).items():
        with pytest.raises(NonFiniteInputError) as info:
            call()
        text = str(info.value)
        assert text.startswith(f"{name}: X must be finite, got 2 {kind} values"), text
        assert "the first at row 4" in text


@pytest.mark.parametrize("engine", ENGINES)
def test_nan_in_targets_is_refused_before_training(engine):
    X, _ = data()
    Y = np.zeros((6, 2))
    Y[3, 0] = np.nan
    m = model()
    before = m[0].W.copy()
    for name in ("fit", "train_step", "gradients", "evaluate"):
        with pytest.raises(NonFiniteInputError, match=f"^{name}: Y must be finite.*row 3"):
            calls(m, X, Y, engine)[name]()
    assert np.array_equal(m[0].W, before)


@pytest.mark.parametrize("engine", ENGINES)
def test_shapes_are_shape_errors(engine):
    X, Y = data()
    m = model()
    for bad_X, says in [(X[0], "X must have shape (samples, features), got (3,)"),
                        (X[:, :2], "must have shape (batch, 3), got (6, 2)"),
                        (X[None], "got (1, 6, 3)")]:
        for call in calls(m, bad_X, Y, engine).values():
            with pytest.raises(ShapeError, match=re.escape(says)):
                call()
    with pytest.raises(ShapeError, match=r"Y must have one row per sample of X \(6\)"):
        m.fit(X, Y[:5], loss="xent", optimizer="sgd", engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_an_empty_batch_predicts_nothing_and_training_names_the_zero_samples(engine):
    m = model()
    out = m.predict(np.zeros((0, 3)), engine=engine)
    assert out.shape == (0, 2) and out.dtype == np.float64
    for name in ("fit", "train_step", "gradients", "evaluate"):
        with pytest.raises(ShapeError, match=f"^{name}: X must have at least one sample, got "
                                             r"shape \(0, 3\)"):
            calls(m, np.zeros((0, 3)), np.zeros(0, int), engine)[name]()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("values, what", [
    (np.array([[1 + 2j, 0, 0]]), "complex numbers"),
    (np.array([["1", "2", "3"]]), "strings"),
    (np.array([[b"1", b"2", b"3"]]), "bytes"),
    (np.array([["2020-01-01"] * 3], dtype="datetime64[D]"), "dates"),
    (np.array([[1, 2, 3]], dtype="timedelta64[s]"), "durations"),
    (np.zeros((1, 3), dtype=[("a", float)]), "structured records"),
])
def test_data_that_is_not_real_numbers_is_a_dtype_error(engine, values, what):
    m = model()
    with pytest.raises(DTypeError, match=f"predict: X must hold real numbers.*got {what}"):
        m.predict(values, engine=engine)
    with pytest.raises(DTypeError, match="fit: Y must hold real numbers"):
        m.fit(np.zeros((1, 3)), values[:, :2] if values.ndim == 2 else values, loss="mse",
              optimizer="sgd", engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_object_arrays_are_read_as_numbers_or_refused_by_element(engine):
    X, _ = data(2)
    m = model()
    as_objects = X.astype(object)
    assert np.array_equal(m.predict(as_objects, engine=engine), m.predict(X, engine=engine))
    as_objects[1, 2] = None
    with pytest.raises(DTypeError, match="predict: X must hold numbers, got an object array "
                                         "holding None"):
        m.predict(as_objects, engine=engine)
    as_objects[1, 2] = float("nan")
    with pytest.raises(NonFiniteInputError, match="1 NaN value"):
        m.predict(as_objects, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.uint8, np.bool_, np.float16,
                                   np.float32])
def test_other_numeric_inputs_give_the_float_copys_results(engine, dtype):
    X = np.array([[0, 1, 2], [1, 0, 1], [2, 2, 0]]).astype(dtype)
    Y = np.array([0, 1, 1])
    exact = X.astype(np.float64)
    a, b = model(), model()
    assert np.array_equal(a.predict(X, engine=engine), b.predict(exact, engine=engine))
    a.fit(X, Y, loss="xent", optimizer="sgd", epochs=2, batch_size=2, seed=0, engine=engine)
    b.fit(exact, Y, loss="xent", optimizer="sgd", epochs=2, batch_size=2, seed=0,
          engine=engine)
    assert all(np.array_equal(p.value, q.value) for p, q in zip(a.parameters(),
                                                                b.parameters()))


def layouts(X):
    """Arrays equal to X that are not C-contiguous, native, writeable copies."""
    fortran = np.asfortranarray(X)
    strided = np.repeat(X, 2, axis=0)[::2]
    reversed_rows = X[::-1].copy()[::-1]
    big_endian = X.astype(">f8")
    read_only = X.copy()
    read_only.flags.writeable = False
    return {"fortran": fortran, "strided": strided, "reversed": reversed_rows,
            "big-endian": big_endian, "read-only": read_only}


@pytest.mark.parametrize("engine", ENGINES)
def test_any_memory_layout_equals_the_c_contiguous_copy_without_compiling_again(engine):
    X, Y = data(8)
    reference = model()
    expected_out = reference.predict(X, engine=engine)
    reference.fit(X, Y, loss="xent", optimizer="sgd", epochs=2, batch_size=3, seed=1,
                  engine=engine)
    from minibp.engines import specialize
    from minibp.engines.kernels import fused, loop, step
    kernels = [loop.train_epochs, loop.predict_rows, fused.gather_rows] + [
        module.train_epochs for module in specialize._LOADED.values()]
    compiled = [len(k.signatures) for k in kernels]
    # The blas engine reads C-contiguous read-only data in place (no copy of the whole data
    # per fit): its gather compiles one version more, for read-only arrays, once.
    gathers = len(step.gather_batch.signatures)
    for name, variant in layouts(X).items():
        m = model()
        assert np.array_equal(m.predict(variant, engine=engine), expected_out), name
        m.fit(variant, Y, loss="xent", optimizer="sgd", epochs=2, batch_size=3, seed=1,
              engine=engine)
        for p, q in zip(m.parameters(), reference.parameters()):
            assert np.array_equal(p.value, q.value), (name, p.name)
    assert [len(k.signatures) for k in kernels] == compiled
    assert len(step.gather_batch.signatures) <= gathers + 1


# -- parameters set by hand ---------------------------------------------------------------
def test_a_parameter_of_the_wrong_shape_is_refused_when_assigned():
    m = model()
    with pytest.raises(ShapeError, match=r"model\[0\]: W must have shape \(4, 3\), got "
                                         r"\(3, 4\) \(W is \(out_features, in_features\)\)"):
        m[0].W = np.zeros((3, 4))
    with pytest.raises(ShapeError, match=r"b must have shape \(4,\), got \(3,\)"):
        m[0].b = np.zeros(3)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.complex128])
def test_a_parameter_of_a_non_float_dtype_is_refused_when_assigned(dtype):
    m = model()
    with pytest.raises(DTypeError, match=f"W must be float32 or float64, got dtype "
                                         f"{np.dtype(dtype)}"):
        m[0].W = np.ones((4, 3), dtype)


def test_an_assigned_parameter_becomes_the_layers_own_contiguous_array():
    m = minibp.mlp([3, 3, 2], "tanh", seed=0)
    square = np.random.default_rng(1).normal(size=(3, 3))
    m[0].W = square.T  # a transposed view: the values of square.T, not its memory read flat
    X, _ = data()
    assert m[0].W.flags.c_contiguous and np.array_equal(m[0].W, square.T)
    expected = m.predict(X, engine="numpy")
    for engine in ("numba", "blas"):
        np.testing.assert_allclose(m.predict(X, engine=engine), expected, rtol=1e-12)
    m[0].W = np.ones((3, 3), np.float32)  # another float precision: converted
    assert m[0].W.dtype == np.float64
    m[0].W = [[0.5, 0.0, 0.0]] * 3  # a list of numbers
    assert m[0].W.dtype == np.float64


@pytest.mark.parametrize("engine", ENGINES)
def test_parameters_changed_in_place_are_checked_before_any_kernel_runs(engine):
    X, Y = data()
    m = model()
    m[1].W[0, 1] = np.nan
    for name, call in calls(m, X, Y, engine).items():
        with pytest.raises(NonFiniteInputError, match=rf"^{name}: model\[1\].W must be "
                                                      r"finite, got 1 NaN value"):
            call()
    m = model()
    m[0].W.shape = (3, 4)  # reshaped in place, behind the setter's back
    with pytest.raises(ShapeError, match=r"predict: model\[0\].W must have shape \(4, 3\)"):
        m.predict(X, engine=engine)
    m = model()
    m[0].__dict__["_W"] = np.asfortranarray(m[0].W)
    with pytest.raises(DTypeError, match=r"model\[0\].W must be a C-contiguous float64"):
        m.predict(X, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_gradient_replaced_by_a_wrong_shape_or_a_list_is_refused(engine):
    X, Y = data()
    m = model()
    m[1].dW = np.zeros((3, 3))
    with pytest.raises(ShapeError, match=r"fit: model\[1\].W's gradient must have its shape "
                                         r"\(2, 4\), got \(3, 3\)"):
        m.fit(X, Y, loss="mse", optimizer="sgd", engine=engine)
    m = model()
    m[0].db = [0.0] * 4  # the right shape, but not an array the engines can write into
    with pytest.raises(DTypeError, match=r"fit: model\[0\].W's and b's gradients must be "
                                         r"arrays, got ndarray and list"):
        m.fit(X, Y, loss="mse", optimizer="sgd", engine=engine)


def test_a_bias_of_the_wrong_length_never_reaches_a_kernel():
    m = model()
    m[0].__dict__["_b"] = np.zeros(2)  # what `layer.b = ...` refuses
    for engine in ENGINES:
        with pytest.raises(ShapeError, match=r"model\[0\].b must have shape \(4,\), got \(2,\)"):
            m.predict(np.zeros((1, 3)), engine=engine)


# -- targets ------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_bad_targets_are_named_by_their_row_in_the_data_not_in_a_batch(engine):
    X = np.zeros((40, 3))
    labels = np.zeros(40, int)
    labels[29] = 5
    with pytest.raises(ValueError, match="row 29"):
        model().fit(X, labels, loss="xent", optimizer="sgd", batch_size=8, shuffle=False,
                    engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_soft_targets_outside_zero_one_are_refused(engine):
    X = np.zeros((2, 3))
    soft = np.array([[0.5, 0.5], [1.5, -0.5]])
    with pytest.raises(ValueError, match=r"target probabilities must lie in \[0, 1\], got "
                                         r"1.5 at row 1, column 0"):
        model().fit(X, soft, loss="xent", optimizer="sgd", engine=engine)
