"""minibp.datasets.digits: load_digits.

References: scikit-learn's own arrays (divided by 16 in the test), and the message a user
without scikit-learn reads, written out in full.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from minibp.datasets import load_digits


def test_digits_are_scikit_learns_pixels_over_16():
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = load_digits()
    reference = datasets.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert np.array_equal(X, reference.data / 16.0)
    assert np.array_equal(y, reference.target)
    assert np.array_equal(X[5].reshape(8, 8), reference.images[5] / 16.0)   # row by row
    assert X.min() == 0.0 and X.max() == 1.0 and sorted(set(y.tolist())) == list(range(10))


def test_without_scikit_learn_the_message_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)          # import sklearn now fails
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError) as caught:
        load_digits()
    assert str(caught.value) == ("load_digits needs scikit-learn, the 'data' extra: "
                                 "pip install 'minibp[data]'")
