"""MLPRegressor: scikit-learn's multi-layer perceptron regressor, trained by minibp."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import column_or_1d, validate_data

from minibp.nn import SquaredError
from minibp.sklearn.base import MLPBase


class MLPRegressor(RegressorMixin, MLPBase):
    """A multi-layer perceptron trained on the squared error, as sklearn.neural_network's.

    The loss is minibp's SquaredError, the mean over rows of 1/2 * sum over targets of
    (pred - y)^2 (plus alpha's penalty): scikit-learn's gradient exactly. For one target
    loss_curve_ is scikit-learn's figure too; for k targets scikit-learn reports the mean over
    targets instead of the sum (its loss is k times smaller than the one whose gradient it
    follows), so ours reads k times larger there.

    Shapes: X (n, n_features), y (n,) or (n, k) -> predict (n,) or (n, k).
    """

    def _targets(self, X, y, *, first: bool, incremental: bool):
        """(X, Y (n, k) float64, k)."""
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True,
                             reset=first)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # scikit-learn's DataConversionWarning, as its MLP
        Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        return X, Y, Y.shape[1]

    def _loss(self):
        return SquaredError()

    out_activation_ = "identity"

    def _validation_score(self, X, Y) -> float:
        """R^2 on held-out rows (averaged over targets), from the model's current weights."""
        predicted = self.model_.predict(X, engine=self.engine)
        if not np.all(np.isfinite(predicted)):
            return float("nan")
        return float(r2_score(Y, predicted))

    def fit(self, X, y):
        """Train on X (n, n_features) and y (n,) or (n, k) for up to max_iter epochs; self."""
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y):
        """One epoch over X and y, continuing from the current weights (or new ones)."""
        return self._fit(X, y, incremental=True)

    def predict(self, X) -> np.ndarray:
        """(n,) for one target, (n, k) for k."""
        outputs = self._outputs(X)
        return outputs[:, 0].copy() if self.n_outputs_ == 1 else outputs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y of shape (n, k) trains k outputs
        return tags
