"""minibp.datasets.preprocessing: Standardizer.

References: means and standard deviations worked by hand, scikit-learn's StandardScaler
(when installed), and JSON and .npz files written and read back with the standard library
and NumPy.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from minibp.datasets import Standardizer

# columns: 1 2 3 6 (mean 3; squares of deviations 4 1 0 9, variance 14/4) and
# 10 20 30 40 (mean 25; squares 225 25 25 225, variance 500/4)
X = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [6.0, 40.0]])


def test_fit_learns_the_mean_and_the_population_std():
    scaler = Standardizer().fit(X)
    assert scaler.mean_.tolist() == [3.0, 25.0]
    np.testing.assert_allclose(scaler.scale_, [math.sqrt(3.5), math.sqrt(125.0)], rtol=1e-15)
    Z = scaler.transform(X)
    np.testing.assert_allclose(Z[:, 0], np.array([-2, -1, 0, 3]) / math.sqrt(3.5), rtol=1e-15)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-15)


def test_inverse_transform_undoes_transform_and_fit_transform_is_both():
    scaler = Standardizer()
    Z = scaler.fit_transform(X)
    assert np.array_equal(Z, Standardizer().fit(X).transform(X))
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-15)


def test_a_constant_column_gets_scale_one_even_with_rounding_in_its_mean():
    column = np.full((10, 1), 0.1)                  # sum of ten 0.1s is not exactly 1.0
    scaler = Standardizer().fit(np.hstack([column, X[[0, 1, 2, 3, 0, 1, 2, 3, 0, 1], :1]]))
    assert scaler.scale_[0] == 1.0 and scaler.scale_[1] != 1.0
    assert np.all(np.abs(scaler.transform(np.full((2, 2), 0.1))[:, 0]) < 1e-15)


def test_one_sample_and_integer_input_work():
    scaler = Standardizer().fit(np.array([[3, 4]]))
    assert scaler.scale_.tolist() == [1.0, 1.0]
    assert scaler.transform(np.array([[4, 6]])).tolist() == [[1.0, 2.0]]


def test_matches_scikit_learns_standard_scaler():
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    rng = np.random.default_rng(0)
    data = np.column_stack([rng.normal(5.0, 3.0, 50), rng.uniform(-1e3, 1e3, 50),
                            np.full(50, 0.7), rng.integers(0, 3, 50)])
    ours, theirs = Standardizer().fit(data), preprocessing.StandardScaler().fit(data)
    np.testing.assert_allclose(ours.mean_, theirs.mean_, rtol=1e-14)
    np.testing.assert_allclose(ours.scale_, theirs.scale_, rtol=1e-14)
    new = rng.normal(size=(7, 4))
    np.testing.assert_allclose(ours.transform(new), theirs.transform(new), rtol=1e-13)
    np.testing.assert_allclose(ours.inverse_transform(new), theirs.inverse_transform(new),
                               rtol=1e-13)


def test_to_dict_survives_json_and_state_survives_an_npz(tmp_path):
    scaler = Standardizer().fit(X)
    text = json.dumps(scaler.to_dict())
    assert json.loads(text) == {"mean": [3.0, 25.0], "scale": scaler.scale_.tolist()}
    from_json = Standardizer.from_dict(json.loads(text))
    np.savez(tmp_path / "scaler.npz", **scaler.state())
    with np.load(tmp_path / "scaler.npz") as arrays:
        from_npz = Standardizer.from_state(arrays)
    for restored in (from_json, from_npz):
        assert np.array_equal(restored.transform(X), scaler.transform(X))


def test_state_is_a_copy():
    scaler = Standardizer().fit(X)
    scaler.state()["mean"][0] = 99.0
    assert scaler.mean_[0] == 3.0


def test_repr_says_whether_it_is_fitted():
    assert repr(Standardizer()) == "Standardizer(not fitted)"
    assert repr(Standardizer().fit(X)) == "Standardizer(2 features)"


@pytest.mark.parametrize("method", ["transform", "inverse_transform", "to_dict", "state"])
def test_using_it_before_fit_is_refused(method):
    call = getattr(Standardizer(), method)
    with pytest.raises(RuntimeError) as caught:
        call(X) if "transform" in method else call()
    assert str(caught.value) == (f"Standardizer.{method} called before fit: there is no "
                                 "mean or scale yet; call fit(X_train) first")


@pytest.mark.parametrize("call, error, message", [
    (lambda s: s.transform(np.zeros((4, 3))), ValueError,
     "Standardizer.transform: X must have shape (samples, 2), got (4, 3)"),
    (lambda s: s.inverse_transform(np.zeros(2)), ValueError,
     "Standardizer.inverse_transform: X must have shape (samples, 2), got (2,) (for one "
     "sample use X.reshape(1, -1))"),
    (lambda s: s.fit(np.zeros((0, 2))), ValueError,
     "Standardizer.fit: X must have at least one sample, got shape (0, 2)"),
    (lambda s: s.fit(np.array([["a"]])), TypeError,
     "Standardizer.fit: X must hold numbers, got dtype <U1"),
    (lambda s: s.fit(np.array([[1.0], [np.nan]])), ValueError,
     "Standardizer.fit: X must be finite, got 1 NaN value (the first at row 1); clean "
     "or impute them first"),
])
def test_bad_input_is_refused_by_name(call, error, message):
    scaler = Standardizer().fit(X)
    with pytest.raises(error) as caught:
        call(scaler)
    assert str(caught.value) == message


@pytest.mark.parametrize("saved, error, message", [
    ({"mean": [1.0]}, ValueError, "Standardizer.from_dict: the saved state must have 'mean' "
     "and 'scale', missing ['scale']"),
    ({"mean": [1.0], "scale": [1.0, 2.0]}, ValueError, "Standardizer.from_dict: mean and "
     "scale must be vectors of one length, got shapes (1,) and (2,)"),
    ({"mean": [1.0], "scale": [0.0]}, ValueError, "Standardizer.from_dict: mean must be "
     "finite and scale finite and positive, got mean [1.0], scale [0.0]"),
    ([1.0, 2.0], TypeError, "Standardizer.from_dict: the saved state must be a mapping with "
     "'mean' and 'scale', got [1.0, 2.0] (list)"),
])
def test_a_bad_saved_state_is_refused(saved, error, message):
    with pytest.raises(error) as caught:
        Standardizer.from_dict(saved)
    assert str(caught.value) == message
