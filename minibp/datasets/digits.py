"""scikit-learn's bundled 8x8 handwritten digits, ready for a network."""

from __future__ import annotations

import numpy as np

MISSING_SKLEARN = ("load_digits needs scikit-learn, the 'data' extra: "
                   "pip install 'minibp[data]'")


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 digits of UCI's optical recognition set, as shipped with scikit-learn.

    Each row is one 8x8 image read row by row, its pixels counts 0..16 divided by 16, so
    they lie in [0, 1] as the activations expect. No download: the data is in sklearn's wheel.

    Shapes: X (1797, 64) float64 in [0, 1], y (1797,) int64 labels 0..9.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError as error:
        raise ImportError(MISSING_SKLEARN, name="sklearn") from error
    X, y = sklearn_digits(return_X_y=True)
    return np.asarray(X, dtype=np.float64) / 16.0, np.asarray(y, dtype=np.int64)
