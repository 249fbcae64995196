"""scikit-learn's convergence rule for its stochastic solvers, as a minibp callback.

After each epoch (scikit-learn's _update_no_improvement_count, to the comparison):

    without early stopping:  count += 1 if loss > best_loss - tol else count = 0
                             best_loss = min(best_loss, loss)
    with early stopping:     count += 1 if score < best_score + tol else count = 0
                             best_score = max(best_score, score), keeping those weights
    stop when count > n_iter_no_change

so training stops after n_iter_no_change + 1 epochs in a row without an improvement of tol.
With early stopping the weights of the best validation score are put back at the end. One
Sequential.fit runs every epoch: while this callback listens, a compiled fit returns to
Python after each epoch, which costs nothing measurable on the blas engine and about 75 us
an epoch on the numba engine's tiny networks (measured for docs/interop.md).
"""

from __future__ import annotations

import math

from minibp.callbacks import Callback


class ToleranceRule(Callback):
    """Stop fit by scikit-learn's tol / n_iter_no_change rule (module docstring).

    ``count``, ``best_loss`` and ``best_score`` start from the estimator's, so warm_start
    and partial_fit carry them on as scikit-learn does; ``score`` is None (watch the
    training loss) or a function of no arguments giving the validation score of the model's
    current weights. ``scores`` collects those scores, ``stopped_epoch`` is the 0-based
    epoch that stopped fit (None if it ran out of epochs).
    """

    stop_reason = "tol"

    def __init__(self, *, tol: float, n_iter_no_change: int, count: int, best_loss,
                 best_score, score=None, first_iteration: int = 1, verbose: bool = False):
        self.tol, self.n_iter_no_change = tol, n_iter_no_change
        self.count, self.best_loss, self.best_score = count, best_loss, best_score
        self.score, self.first_iteration, self.verbose = score, first_iteration, verbose
        self.scores: list[float] = []
        self.stopped_epoch = None
        self._best_weights = None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        loss = logs["loss"]
        if self.verbose:
            print(f"Iteration {self.first_iteration + epoch}, loss = {loss:.8f}")
        if self.score is None:
            self._watch_loss(loss)
        else:
            self._watch_score(self.score())
        if self.count > self.n_iter_no_change:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.verbose:
                watched = "Validation score" if self.score else "Training loss"
                print(f"{watched} did not improve more than tol={self.tol:f} for "
                      f"{self.n_iter_no_change} consecutive epochs. Stopping.")

    def _watch_loss(self, loss: float) -> None:
        self.count = self.count + 1 if loss > self.best_loss - self.tol else 0
        if loss < self.best_loss:
            self.best_loss = loss

    def _watch_score(self, score: float) -> None:
        self.scores.append(score)
        if self.verbose:
            print(f"Validation score: {score:f}")
        self.count = self.count + 1 if score < self.best_score + self.tol else 0
        if score > self.best_score:  # False for NaN, as in scikit-learn
            self.best_score = score
            self._best_weights = [p.value.copy() for p in self.model.parameters()]

    def on_train_end(self, logs=None) -> None:
        """With a validation score: back to the weights of the best one seen in this fit."""
        if self._best_weights is not None:
            for p, best in zip(self.model.parameters(), self._best_weights):
                p.value[...] = best  # in place: the optimizer holding the arrays stays attached

    @property
    def stopped(self) -> bool:
        return self.stopped_epoch is not None

    def __repr__(self) -> str:
        watched = "validation score" if self.score else "training loss"
        return (f"ToleranceRule({watched}, tol={self.tol}, "
                f"n_iter_no_change={self.n_iter_no_change})")


def initial_best(early_stopping: bool) -> tuple[float | None, float | None]:
    """(best_loss_, best_validation_score_) before the first epoch, as scikit-learn sets
    them: the one not watched is None."""
    return (None, -math.inf) if early_stopping else (math.inf, None)
