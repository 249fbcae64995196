"""minibp.callbacks: EarlyStopping and ReduceLROnPlateau against sequences of logged values
worked through by hand, and through fit against the same fit run for a fixed number of
epochs (which epoch was best, which weights it had)."""

from __future__ import annotations

import numpy as np
import pytest

import minibp
from minibp.callbacks import Callback


def drive(callback, values, model=None, key="val_loss"):
    """Feed logged values epoch by epoch; return the epoch fit would stop after, or None."""
    model = model or minibp.mlp([2, 1], seed=0)
    model.optimizer = minibp.SGD(0.1)
    callback.set_model(model)
    callback.on_train_begin({})
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {key: value})
        if model.stop_training:
            return epoch
    return None


@pytest.mark.parametrize(("patience", "min_delta", "values", "stops_after"), [
    (0, 0.0, [3, 2, 2.5], 2),            # the first epoch without improvement
    (2, 0.0, [3, 2, 2.5, 2.4, 2.6], 3),  # two in a row after the best (epoch 1)
    (2, 0.0, [3, 2, 2.5, 1.0, 1.5], None),
    (0, 0.5, [3, 2.6, 2.0], 1),          # 2.6 is not better by more than 0.5
    (1, 0.0, [1, float("nan"), 2], 1),   # NaN never improves
])
def test_early_stopping_stops_where_worked_out_by_hand(patience, min_delta, values,
                                                       stops_after):
    stopper = minibp.EarlyStopping(patience=patience, min_delta=min_delta)
    assert drive(stopper, values) == stops_after


def test_early_stopping_watches_accuracy_upwards():
    stopper = minibp.EarlyStopping(monitor="val_accuracy", patience=0)
    assert drive(stopper, [0.5, 0.75, 0.7], key="val_accuracy") == 2
    assert stopper.best == 0.75 and stopper.best_epoch == 1


def test_a_monitor_that_is_not_logged_names_what_is():
    stopper = minibp.EarlyStopping(monitor="val_loss")
    with pytest.raises(ValueError, match=r"monitor must name a logged quantity, got "
                                         r"'val_loss'; this fit logs \['loss'\]"):
        drive(stopper, [1.0], key="loss")


def test_fit_with_early_stopping_restores_the_best_epochs_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 2))
    Y = X @ np.array([[1.0], [-2.0]])
    Xv, Yv = X, -Y  # the better the model learns Y, the worse it does on -Y
    kwargs = dict(loss="mse", optimizer=minibp.SGD(0.05), batch_size=8, shuffle=False)
    stopper = minibp.EarlyStopping(patience=2, restore_best_weights=True)
    stopped = minibp.mlp([2, 1], seed=1)
    history = stopped.fit(X, Y, epochs=50, validation_data=(Xv, Yv), callbacks=[stopper],
                          **kwargs)
    best = int(np.argmin(history["val_loss"]))
    assert history.stopped_reason == "early_stopping"
    assert len(history) == best + 3 and stopper.stopped_epoch == best + 2
    reference = minibp.mlp([2, 1], seed=1)
    reference.fit(X, Y, epochs=best + 1, **kwargs)
    for p, q in zip(stopped.parameters(), reference.parameters()):
        np.testing.assert_array_equal(p.value, q.value)


def test_reduce_lr_on_plateau_scales_the_rate_where_worked_out_by_hand():
    reducer = minibp.ReduceLROnPlateau(factor=0.5, patience=1, min_lr=0.02, cooldown=2)
    model = minibp.mlp([2, 1], seed=0)
    drive(reducer, [1.0] * 7, model=model)
    # Keras' rule: epoch 0 is the best; 1 is a first epoch without improvement, and
    # patience 1 reduces there (0.1 -> 0.05), then cools down 2 epochs, the second of which
    # already counts again: 3 reduces to 0.025, 5 to max(0.0125, min_lr) = 0.02.
    assert [epoch for epoch, _ in reducer.reductions] == [1, 3, 5]
    assert model.optimizer.current_lr() == pytest.approx(0.02, rel=1e-15)


def test_reduce_lr_on_plateau_never_goes_below_min_lr():
    reducer = minibp.ReduceLROnPlateau(factor=0.1, patience=0, min_lr=0.03)
    model = minibp.mlp([2, 1], seed=0)
    drive(reducer, [1.0] * 6, model=model)
    assert model.optimizer.current_lr() == pytest.approx(0.03, rel=1e-15)


def test_stop_training_from_a_callback_ends_fit_after_that_epoch():
    class StopAtTwo(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch == 2

    X, Y = minibp.examples.xor_data()
    history = minibp.mlp([2, 3, 1], seed=0).fit(X, Y, loss="mse", optimizer="sgd", epochs=10,
                                                  callbacks=[StopAtTwo()])
    assert len(history) == 3 and history.stopped_reason == "callback"


@pytest.mark.parametrize("engine", ["numpy", "numba", "blas"])
def test_hooks_run_in_order_with_each_epochs_logs_on_every_engine(engine):
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            calls.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            calls.append(f"begin {epoch}")

        def on_epoch_end(self, epoch, logs=None):
            calls.append(f"end {epoch} {sorted(logs)}")

        def on_train_end(self, logs=None):
            calls.append("train_end")

    X, Y = minibp.examples.xor_data()
    history = minibp.mlp([2, 3, 1], seed=0).fit(X, Y, loss="mse", optimizer="sgd", epochs=2,
                                                  callbacks=[Recorder()], engine=engine)
    assert calls == ["train_begin", "begin 0", "end 0 ['loss']", "begin 1", "end 1 ['loss']",
                     "train_end"]
    assert len(history) == 2
