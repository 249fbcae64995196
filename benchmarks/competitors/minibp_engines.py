"""minibp itself, called exactly as a user writes it.

W1 is the user's line from the issue, fit's default verbosity included:
``model.fit(X, Y, loss=SquaredError(), optimizer=SGD(lr=0.5), epochs=10_000, batch_size=1,
shuffle=False)``, plus ``engine=...`` for the engine variants. W2 adds shuffle=True, seed=.
W3/W4: ``model.fit(X, y, loss=SoftmaxCrossEntropy(), optimizer=SGD(0.05), epochs=1,
batch_size=128, seed=0)``, integer labels y, the model from ``mlp(..., dtype=...)``.
With optimizer="adam" the same calls take ``optimizer=Adam(lr=workload.adam_lr)`` instead;
with optimizer="momentum" (W1/W2) ``SGD(lr=workload.momentum_lr, momentum=workload.momentum)``.
An engine that cannot run the optimizer refuses in fit, which the harness reports as the
competitor's reason for being unavailable.
"""

from __future__ import annotations

import inspect

import numpy as np

from benchmarks.competitors import Runner, UnavailableError


def engine_keyword(engine: str | None) -> dict:
    """fit's engine= argument (none for the default engine), or UnavailableError if fit lacks it."""
    if engine is None:
        return {}
    from minibp import Sequential

    if "engine" not in inspect.signature(Sequential.fit).parameters:
        raise UnavailableError("this minibp's fit has no engine= keyword")
    return {"engine": engine}


def make_optimizer(workload, optimizer: str = "sgd"):
    """SGD(lr=workload.lr), SGD(lr=workload.momentum_lr, momentum=workload.momentum) or
    Adam(lr=workload.adam_lr), a fresh one for each fit."""
    from minibp import SGD, Adam

    if optimizer == "sgd":
        return SGD(lr=workload.lr)
    if optimizer == "momentum":
        return SGD(lr=workload.momentum_lr, momentum=workload.momentum)
    if optimizer == "adam":
        return Adam(lr=workload.adam_lr)
    raise ValueError("minibp competitor: optimizer must be 'sgd', 'momentum' or 'adam', got "
                     f"{optimizer!r}")


def fit(model, workload, optimizer: str = "sgd", **engine):
    from minibp import SoftmaxCrossEntropy, SquaredError

    step = make_optimizer(workload, optimizer)
    if workload.group == "mlp":
        X, y = workload.data()
        return model.fit(X, y, loss=SoftmaxCrossEntropy(), optimizer=step, epochs=1,
                         batch_size=workload.batch_size, seed=workload.seed, **engine)
    X, Y = workload.X, workload.Y
    if workload.shuffle:
        return model.fit(X, Y, loss=SquaredError(), optimizer=step, epochs=workload.epochs,
                         batch_size=1, shuffle=True, seed=workload.seed, **engine)
    return model.fit(X, Y, loss=SquaredError(), optimizer=step, epochs=workload.epochs,
                     batch_size=1, shuffle=False, **engine)


def model_weights(model) -> list[np.ndarray]:
    return [a.copy() for layer in model for a in (layer.W, layer.b)]


def prepare(workload, engine: str | None = None, optimizer: str = "sgd") -> Runner:
    keyword = engine_keyword(engine)
    make_optimizer(workload, optimizer)           # an unknown name fails here, not timed
    state = {}

    def reset():
        state["model"] = workload.minibp_model()

    reset()
    _check_same_start(model_weights(state["model"]), workload.initial_weights())
    if workload.group == "mlp":
        workload.data()       # made (and cached) here, outside the timed runs

    def run():
        fit(state["model"], workload, optimizer, **keyword)

    return Runner(reset, run, lambda: model_weights(state["model"]))


def _check_same_start(ours, theirs) -> None:
    for a, b in zip(ours, theirs):
        if a.shape != b.shape or not np.array_equal(a, b):
            raise RuntimeError("the minibp model does not start from the workload's weights")
