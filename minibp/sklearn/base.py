"""What MLPClassifier and MLPRegressor share: the fit loop over Sequential.fit.

One fit is one call of Sequential.fit for up to max_iter epochs (one epoch for
partial_fit), with a ToleranceRule callback for scikit-learn's stopping rule. A subclass
says how targets become minibp's (``_targets``), which loss it trains, and how a validation
score is computed.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from minibp.datasets.split import train_test_split
from minibp.sklearn import settings
from minibp.sklearn.convergence import ToleranceRule, initial_best

SEED_LIMIT = 2**31 - 1  # seeds drawn from the RandomState for the split and the shuffling


class MLPBase(BaseEstimator):
    """Constructor and fit shared by the two estimators (their docstrings describe them).

    Fitted attributes, scikit-learn's: ``loss_curve_``, ``n_iter_`` (epochs of the last
    fit), ``t_`` (samples seen), ``best_loss_``, ``validation_scores_``,
    ``best_validation_score_``, ``n_features_in_``, ``n_outputs_``, ``n_layers_``,
    ``out_activation_``, ``coefs_`` and ``intercepts_`` (views of the weights: coefs_[i] is
    ``model_[i].W.T``); minibp's: ``model_`` (the Sequential) and ``optimizer_``.
    """

    _stratify = False  # early stopping's validation split: stratified for classifiers

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate_init=0.001, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, engine="auto"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.engine = engine

    # -- what a subclass provides ----------------------------------------------------------
    def _targets(self, X, y, *, first: bool, incremental: bool):
        """(X (n, features) float64, Y for the loss, n_outputs), validated."""
        raise NotImplementedError

    def _loss(self):
        raise NotImplementedError

    def _validation_score(self, X, Y) -> float:
        raise NotImplementedError

    # -- fitting ----------------------------------------------------------------------------
    def _fit(self, X, y, *, incremental: bool):
        """fit (up to max_iter epochs) or partial_fit (one), from new or current weights."""
        settings.check_settings(self)
        if incremental and self.early_stopping:
            raise ValueError(f"{type(self).__name__}: partial_fit does not support "
                             "early_stopping=True")
        first = not hasattr(self, "model_") or not (self.warm_start or incremental)
        X, Y, n_outputs = self._targets(X, y, first=first, incremental=incremental)
        rng = check_random_state(self.random_state)
        if first:
            self._initialize(X.shape[1], n_outputs, rng)
        elif n_outputs != self.n_outputs_:
            raise ValueError(f"{type(self).__name__}: y must have {self.n_outputs_} outputs "
                             f"as in the previous fit, got {n_outputs}")
        if not incremental or not hasattr(self, "optimizer_"):
            self.optimizer_ = settings.make_optimizer(self)
        X_train, Y_train, rule = self._split_and_rule(X, Y, rng)
        epochs = 1 if incremental else self.max_iter
        history = self.model_.fit(
            X_train, Y_train, loss=self._loss(), optimizer=self.optimizer_, epochs=epochs,
            batch_size=settings.batch_rows(self.batch_size, len(X_train)),
            shuffle=bool(self.shuffle), seed=int(rng.randint(SEED_LIMIT)), callbacks=[rule],
            verbose=0, engine=self.engine)
        self._record(history.history["loss"], len(X_train), rule)
        if not incremental and not rule.stopped:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                          "reached and the optimization hasn't converged yet.",
                          ConvergenceWarning, stacklevel=3)
        return self

    def _initialize(self, n_features: int, n_outputs: int, rng) -> None:
        """A new model drawn from rng, and the bookkeeping scikit-learn starts from."""
        hidden = settings.hidden_sizes(self.hidden_layer_sizes, type(self).__name__)
        sizes = [n_features, *hidden, n_outputs]
        self.model_ = settings.initial_model(sizes, self.activation, rng)
        self.n_outputs_, self.n_layers_ = n_outputs, len(sizes)
        self.loss_curve_, self.t_, self._no_improvement_count = [], 0, 0
        self.best_loss_, self.best_validation_score_ = initial_best(self.early_stopping)
        self.validation_scores_ = [] if self.early_stopping else None

    def _split_and_rule(self, X, Y, rng):
        """(X_train, Y_train, the ToleranceRule): with early stopping, validation_fraction
        of the rows held out (stratified for a classifier) and scored after every epoch."""
        early = bool(self.early_stopping)
        score = None
        if early:
            X, X_val, Y, Y_val = train_test_split(X, Y, test_size=self.validation_fraction,
                                                  seed=int(rng.randint(SEED_LIMIT)),
                                                  stratify=self._stratify)
            if len(X_val) < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")

            def score():
                return self._validation_score(X_val, Y_val)
        rule = ToleranceRule(tol=float(self.tol), n_iter_no_change=int(self.n_iter_no_change),
                             count=self._no_improvement_count, best_loss=self.best_loss_,
                             best_score=self.best_validation_score_, score=score,
                             first_iteration=len(self.loss_curve_) + 1,
                             verbose=bool(self.verbose))
        return X, Y, rule

    def _record(self, losses, rows: int, rule: ToleranceRule) -> None:
        """The fitted attributes after one Sequential.fit of len(losses) epochs."""
        self.n_iter_ = len(losses)
        self.t_ += rows * len(losses)
        self.loss_curve_.extend(float(loss) for loss in losses)
        self._no_improvement_count = rule.count
        if self.early_stopping:
            self.validation_scores_.extend(rule.scores)
            self.best_validation_score_ = rule.best_score
        else:
            self.best_loss_ = rule.best_loss

    # -- predicting ---------------------------------------------------------------------------
    def _outputs(self, X) -> np.ndarray:
        """The network's outputs (n, n_outputs_) for X, after scikit-learn's checks."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.model_.predict(X, engine=self.engine)

    @property
    def coefs_(self) -> list[np.ndarray]:
        """scikit-learn's layout: coefs_[i] (fan_in, fan_out), a view of model_[i].W.T."""
        return [layer.W.T for layer in self.model_]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """intercepts_[i] (fan_out,): model_[i].b itself."""
        return [layer.b for layer in self.model_]

    @property
    def loss_(self) -> float:
        """The last epoch's mean training loss, as scikit-learn's loss_."""
        check_is_fitted(self)
        return self.loss_curve_[-1]
