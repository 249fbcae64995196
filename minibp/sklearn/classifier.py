"""MLPClassifier: scikit-learn's multi-layer perceptron classifier, trained by minibp."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from minibp.nn import BinaryCrossEntropy, SoftmaxCrossEntropy, stable_sigmoid
from minibp.sklearn.base import MLPBase


class MLPClassifier(ClassifierMixin, MLPBase):
    """A multi-layer perceptron trained on the log-loss, as sklearn.neural_network's.

    Two classes: one output, the logit of classes_[1], trained with binary cross-entropy
    (scikit-learn's own choice: its logistic output and binary log-loss); k > 2 classes: k
    logits and softmax cross-entropy. predict_proba is (n, n_classes) either way.

    Shapes: X (n, n_features) -> predict (n,) labels from classes_, predict_proba
    (n, n_classes). Arguments and attributes: MLPBase and docs/interop.md.
    """

    _stratify = True

    def _targets(self, X, y, *, first: bool, incremental: bool):
        """(X, class codes (n,) into classes_, outputs): 1 for two classes, else k."""
        X, y = validate_data(self, X, y, dtype=np.float64, reset=first)
        check_classification_targets(y)
        found = np.unique(y)
        if first and not incremental:
            self.classes_ = found
        elif self.warm_start and not incremental and not np.array_equal(found, self.classes_):
            raise ValueError("warm_start can only be used where `y` has the same classes as "
                             f"in the previous call to fit. Previously got {self.classes_}, "
                             f"`y` has {found}")
        unknown = np.setdiff1d(found, self.classes_)
        if len(unknown):
            raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                             f"{self.classes_}. 'y' has {found}.")
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__}: y must hold at least 2 classes to "
                             f"learn from, got 1 class ({self.classes_[0]!r})")
        codes = np.searchsorted(self.classes_, y)
        outputs = 1 if len(self.classes_) == 2 else len(self.classes_)
        return X, codes, outputs

    def _loss(self):
        return BinaryCrossEntropy() if self.n_outputs_ == 1 else SoftmaxCrossEntropy()

    @property
    def out_activation_(self) -> str:
        return "logistic" if self.n_outputs_ == 1 else "softmax"

    def _validation_score(self, X, codes) -> float:
        """Accuracy on held-out rows, from the model's current weights."""
        return float(np.mean(self._codes(self.model_.predict(X, engine=self.engine)) == codes))

    @staticmethod
    def _codes(outputs: np.ndarray) -> np.ndarray:
        """Class indices (n,) from logits: logit > 0 for one output, argmax for several."""
        if outputs.shape[1] == 1:
            return (outputs[:, 0] > 0).astype(np.intp)
        return np.argmax(outputs, axis=1)

    def fit(self, X, y):
        """Train on X (n, n_features) and labels y (n,) for up to max_iter epochs; self."""
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One epoch over X and y; ``classes`` (every label there will be) on the first call."""
        if getattr(self, "classes_", None) is None or not hasattr(self, "model_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self.classes_ = np.unique(classes)
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"`classes={np.unique(classes)!r}` is not the same as on last "
                             f"call to partial_fit, was: {self.classes_!r}")
        return self._fit(X, y, incremental=True)

    def predict(self, X) -> np.ndarray:
        """Labels (n,) from classes_: the most probable class of each row of X."""
        codes = self._codes(self._outputs(X))  # _outputs first: NotFittedError before fit
        return self.classes_[codes]

    def predict_proba(self, X) -> np.ndarray:
        """(n, n_classes) class probabilities in the order of classes_; rows sum to 1."""
        outputs = self._outputs(X)
        if outputs.shape[1] == 1:
            positive = stable_sigmoid(outputs[:, 0])
            return np.column_stack([1.0 - positive, positive])
        shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X) -> np.ndarray:
        """log(predict_proba(X)), (n, n_classes)."""
        return np.log(self.predict_proba(X))

