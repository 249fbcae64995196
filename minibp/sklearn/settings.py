"""The estimators' constructor arguments, checked at fit time and mapped to minibp's.

scikit-learn stores constructor arguments unchanged (get_params, clone and set_params rely
on it), so every check lives here and runs at the start of fit, with minibp's messages.

    activation "logistic" -> "sigmoid"; "identity", "tanh", "relu" as they are
    solver "adam" -> Adam(learning_rate_init, (beta_1, beta_2), epsilon, l2=alpha)
    solver "sgd"  -> SGD(learning_rate_init, momentum, nesterov=nesterovs_momentum, l2=alpha)
    batch_size "auto" -> min(200, n_samples); larger than n_samples -> n_samples, warned
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np

from minibp.errors import expect_choice, expect_int, expect_number, shown
from minibp.model import Sequential
from minibp.nn import Dense
from minibp.optim import SGD, Adam

ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
SOLVERS = ("adam", "sgd")
ENGINES = ("auto", "numpy", "numba", "blas")
AUTO_BATCH_ROWS = 200  # scikit-learn's batch_size="auto": min(200, n_samples)


# The numeric arguments and their bounds (scikit-learn's, except momentum < 1: minibp's SGD)
NUMBERS = {"alpha": {"least": 0.0}, "learning_rate_init": {"above": 0.0},
           "tol": {"least": 0.0}, "validation_fraction": {"above": 0.0, "below": 1.0},
           "momentum": {"least": 0.0, "below": 1.0}, "beta_1": {"least": 0.0, "below": 1.0},
           "beta_2": {"least": 0.0, "below": 1.0}, "epsilon": {"above": 0.0}}
COUNTS = ("max_iter", "n_iter_no_change")
SWITCHES = ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping")


def check_settings(estimator) -> None:
    """Refuse any constructor argument fit cannot use, naming it and what it may be."""
    who = type(estimator).__name__
    hidden_sizes(estimator.hidden_layer_sizes, who)
    expect_choice(estimator.activation, "activation", who, tuple(ACTIVATIONS))
    if estimator.solver == "lbfgs":
        raise ValueError(f"{who}: solver='lbfgs' is not supported (minibp trains by "
                         "minibatches); use solver='adam' or 'sgd'")
    expect_choice(estimator.solver, "solver", who, SOLVERS)
    expect_choice(estimator.engine, "engine", who, ENGINES)
    for name, bounds in NUMBERS.items():
        expect_number(getattr(estimator, name), name, who, **bounds)
    for name in COUNTS:
        expect_int(getattr(estimator, name), name, who, least=1)
    for name in SWITCHES:
        if not isinstance(getattr(estimator, name), (bool, np.bool_)):
            raise TypeError(f"{who}: {name} must be True or False, got "
                            f"{shown(getattr(estimator, name))}")
    if estimator.batch_size != "auto":
        expect_int(estimator.batch_size, "batch_size ('auto' or an int)", who, least=1)


def hidden_sizes(value, who: str) -> list[int]:
    """hidden_layer_sizes as a list of widths >= 1: an int is one hidden layer."""
    sizes = list(value) if isinstance(value, Iterable) and not isinstance(value, str) else [value]
    return [expect_int(size, "each of hidden_layer_sizes", who, least=1) for size in sizes]


def batch_rows(batch_size, n_samples: int) -> int:
    """Rows per minibatch, as scikit-learn: "auto" is min(200, n); more than n is n."""
    if batch_size == "auto":
        return min(AUTO_BATCH_ROWS, n_samples)
    if batch_size > n_samples:
        warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going "
                      "to be clipped", UserWarning, stacklevel=4)
    return int(min(batch_size, n_samples))


def make_optimizer(estimator):
    """The minibp optimizer for ``solver``; alpha is minibp's l2 (the same penalty)."""
    if estimator.solver == "adam":
        return Adam(estimator.learning_rate_init, betas=(estimator.beta_1, estimator.beta_2),
                    eps=estimator.epsilon, l2=estimator.alpha)
    momentum = float(estimator.momentum)
    return SGD(estimator.learning_rate_init, momentum,
               nesterov=bool(estimator.nesterovs_momentum) and momentum > 0,
               l2=estimator.alpha)


def initial_model(sizes: list[int], activation: str, rng: np.random.RandomState) -> Sequential:
    """Dense layers of widths ``sizes``, logits (no activation) out, drawn as scikit-learn
    draws them: per layer W then b, uniform in +-sqrt(factor / (fan_in + fan_out)), factor
    2 for logistic and 6 otherwise, from the estimator's RandomState. The same random_state
    so starts from scikit-learn's very weights (its coefs_[i] is our W transposed)."""
    factor = 2.0 if activation == "logistic" else 6.0
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coef = rng.uniform(-bound, bound, (fan_in, fan_out))        # (in, out)
        intercept = rng.uniform(-bound, bound, fan_out)             # (out,)
        last = i == len(sizes) - 2
        layers.append(Dense(fan_in, fan_out, None if last else ACTIVATIONS[activation],
                            W=np.ascontiguousarray(coef.T), b=intercept))
    return Sequential(*layers)
