"""Save and load: what comes back is what went in, bit for bit, on every engine; training
resumed from a file continues exactly as if it had never stopped.

References: the model before saving (its predictions, arrays, frozen flags, loss) and an
uninterrupted run of the same fit (10 epochs against 5 + save + load + 5).
"""

import numpy as np
import pytest

import minibp
from minibp import examples

ENGINES = ["numpy", "numba", "blas"]


def models():
    """Models a file can hold: dtypes, activations, frozen parts, separate activation layers."""
    relu = minibp.mlp([3, 6, 2], "relu", None, seed=1)
    relu[0].freeze("b")
    separate = minibp.Sequential(minibp.Dense(3, 4, seed=2), minibp.Tanh(),
                                 minibp.Dense(4, 2, "sigmoid", seed=3))
    return {"sigmoid": minibp.mlp([3, 5, 4, 2], "sigmoid", "sigmoid", seed=0),
            "relu-frozen": relu, "float32": minibp.mlp([3, 7, 2], "tanh", None, seed=4,
                                                       dtype=np.float32),
            "separate-activations": separate}


@pytest.fixture
def X():
    return np.random.default_rng(9).normal(size=(11, 3))


@pytest.mark.parametrize(("name", "engine"), [
    (name, engine) for name in models() for engine in ENGINES
    if engine == "numpy" or name != "separate-activations"])  # compiled: Dense layers only
def test_predictions_are_identical_after_a_round_trip(tmp_path, X, name, engine):
    model = models()[name]
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = minibp.load(path)
    before, after = model.predict(X, engine=engine), loaded.predict(X, engine=engine)
    assert after.dtype == before.dtype
    assert np.array_equal(after, before)
    assert repr(loaded) == repr(model)
    for p, q in zip(model.parameters(), loaded.parameters()):
        assert (q.name, q.frozen, q.value.dtype) == (p.name, p.frozen, p.value.dtype)
        assert np.array_equal(q.value, p.value) and q.value is not p.value


def test_the_chapter_network_comes_back_with_its_frozen_biases(tmp_path):
    model = examples.chapter_network()
    model.save(tmp_path / "chapter.npz")
    loaded = minibp.load(tmp_path / "chapter.npz")
    assert [p.frozen for p in loaded.parameters()] == [False, True, False, True]
    X, Y = examples.chapter_data()
    loaded.fit(X, Y, loss="squared", optimizer=minibp.SGD(0.5), epochs=1, verbose=0)
    assert loaded[1].W[0, 0] == pytest.approx(0.35891648, abs=1e-8)  # the chapter's w5+


def test_save_writes_exactly_the_path_given(tmp_path):
    model = minibp.mlp([2, 3, 1], seed=0)
    for name in ("model", "model.bin", "weights.npz"):
        model.save(tmp_path / name)
        assert (tmp_path / name).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "model.bin", "weights.npz"]
    model.save(str(tmp_path / "as-text"))
    assert (tmp_path / "as-text").is_file()


@pytest.mark.parametrize("loss", [minibp.SquaredError(), minibp.MSE(),
                                  minibp.SoftmaxCrossEntropy(),
                                  minibp.BinaryCrossEntropy(from_logits=False)], ids=repr)
def test_the_loss_of_the_last_fit_comes_back(tmp_path, loss):
    model = minibp.mlp([3, 4, 2], "tanh", "sigmoid", seed=0)
    model.loss = loss
    model.save(tmp_path / "m.npz")
    loaded = minibp.load(tmp_path / "m.npz")
    assert repr(loaded.loss) == repr(loss) and type(loaded.loss) is type(loss)
    X = np.random.default_rng(1).normal(size=(6, 3))
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert np.array_equal(loaded.predict_classes(X), model.predict_classes(X))


def test_a_model_never_fit_has_no_loss(tmp_path):
    minibp.mlp([2, 2], seed=0).save(tmp_path / "m.npz")
    assert minibp.load(tmp_path / "m.npz").loss is None


def test_load_weights_fills_the_existing_arrays_in_place(tmp_path):
    source = minibp.mlp([3, 5, 2], "sigmoid", seed=0)
    source.save(tmp_path / "m.npz")
    target = minibp.mlp([3, 5, 2], "sigmoid", seed=1)
    arrays = [p.value for p in target.parameters()]
    assert target.load_weights(tmp_path / "m.npz") is target
    for p, q, array in zip(target.parameters(), source.parameters(), arrays):
        assert p.value is array and np.array_equal(p.value, q.value)


def test_load_weights_keeps_an_attached_optimizer_attached(tmp_path):
    """Momentum lives in the optimizer keyed by the arrays: loading in place keeps it, so
    2 epochs, save, load_weights and 2 more equal 4 epochs straight."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(8, 3)), rng.uniform(size=(8, 2))
    runs = []
    for reload in (False, True):
        model, optimizer = minibp.mlp([3, 4, 2], seed=0), minibp.SGD(0.1, momentum=0.9)
        model.fit(X, Y, loss="mse", optimizer=optimizer, epochs=2, seed=0, verbose=0)
        if reload:
            model.save(tmp_path / "m.npz")
            model[0].W[...] = 0.0  # what the file must put back
            model.load_weights(tmp_path / "m.npz")
        model.fit(X, Y, loss="mse", optimizer=optimizer, epochs=2, seed=0, verbose=0)
        runs.append(model)
    for p, q in zip(runs[0].parameters(), runs[1].parameters()):
        assert np.array_equal(p.value, q.value)


def test_load_weights_refuses_another_architecture_and_changes_nothing(tmp_path):
    minibp.mlp([3, 5, 2], seed=0).save(tmp_path / "m.npz")
    target = minibp.mlp([3, 6, 2], seed=1)
    before = [p.value.copy() for p in target.parameters()]
    with pytest.raises(minibp.CheckpointError, match=r"model\[0\] is Dense\(3 -> 5, sigmoid\) "
                       r"in the file, Dense\(3 -> 6, sigmoid\) in the model"):
        target.load_weights(tmp_path / "m.npz")
    assert all(np.array_equal(p.value, b) for p, b in zip(target.parameters(), before))


OPTIMIZERS = {
    "sgd": lambda: minibp.SGD(0.2),
    "momentum": lambda: minibp.SGD(0.1, momentum=0.9, weight_decay=1e-3),
    "nesterov-cosine": lambda: minibp.SGD(minibp.optim.CosineDecay(0.1, total_steps=30),
                                          momentum=0.8, nesterov=True),
    "adam": lambda: minibp.Adam(0.01, l2=1e-3),
    "adamw-step": lambda: minibp.AdamW(minibp.optim.StepDecay(0.02, step_size=7, gamma=0.5)),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("make", list(OPTIMIZERS))
def test_five_epochs_save_load_five_more_equal_ten_epochs(tmp_path, make, engine):
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(24, 4)), rng.integers(0, 3, size=24)
    fit = {"loss": "xent", "batch_size": 8, "shuffle": False, "verbose": 0, "engine": engine}
    straight = minibp.mlp([4, 6, 3], "tanh", None, seed=2)
    straight.fit(X, y, optimizer=OPTIMIZERS[make](), epochs=10, **fit)

    first = minibp.mlp([4, 6, 3], "tanh", None, seed=2)
    optimizer = OPTIMIZERS[make]()
    first.fit(X, y, optimizer=optimizer, epochs=5, **fit)
    first.save(tmp_path / "half.npz", optimizer=optimizer)
    resumed = minibp.load(tmp_path / "half.npz")
    restored = minibp.load_optimizer(tmp_path / "half.npz", resumed)
    assert repr(restored) == repr(optimizer) and restored.steps == optimizer.steps == 15
    resumed.fit(X, y, optimizer=restored, epochs=5, **fit)
    for p, q in zip(resumed.parameters(), straight.parameters()):
        assert np.array_equal(p.value, q.value), p.name


def test_a_reduced_lr_scale_and_a_callable_schedule_come_back(tmp_path):
    def schedule(step):
        return 0.1 / (1 + step)

    model = minibp.mlp([2, 3, 1], seed=0)
    optimizer = minibp.SGD(schedule, momentum=0.5)
    optimizer.lr_scale, optimizer.steps = 0.25, 7
    model.save(tmp_path / "m.npz", optimizer=optimizer)
    with pytest.raises(minibp.CheckpointError, match=r"lr was a function \(<function .*"
                       r"schedule.*pass it again, load_optimizer\(path, model, lr=\.\.\.\)"):
        minibp.load_optimizer(tmp_path / "m.npz", model)
    restored = minibp.load_optimizer(tmp_path / "m.npz", model, lr=schedule)
    assert (restored.lr_scale, restored.steps, restored.current_lr()) == (0.25, 7, 0.1 / 8 / 4)


def test_load_optimizer_without_one_saved_says_so(tmp_path):
    model = minibp.mlp([2, 3, 1], seed=0)
    model.save(tmp_path / "m.npz")
    with pytest.raises(minibp.CheckpointError, match="holds no optimizer; save with "
                       r"model.save\(path, optimizer=...\)"):
        minibp.load_optimizer(tmp_path / "m.npz", model)


def test_load_optimizer_refuses_a_model_of_another_shape(tmp_path):
    model = minibp.mlp([2, 3, 1], seed=0)
    model.save(tmp_path / "m.npz", optimizer=minibp.Adam())
    with pytest.raises(minibp.CheckpointError, match=r"model\[0\].W has shape \(4, 2\) in "
                       r"the model, shape \(3, 2\) in the file"):
        minibp.load_optimizer(tmp_path / "m.npz", minibp.mlp([2, 4, 1], seed=0))


def test_a_registered_activation_round_trips_and_an_unregistered_one_is_named(tmp_path):
    class Softsign(minibp.ActivationLayer):
        name = "softsign_saving_test"

        @staticmethod
        def function(Z):
            return Z / (1 + np.abs(Z))

        @staticmethod
        def derivative(A):
            return (1 - np.abs(A)) ** 2

    from minibp.nn.activations import ACTIVATIONS

    minibp.register_activation(Softsign)
    try:
        model = minibp.mlp([2, 3, 1], "softsign_saving_test", seed=0)
        model.save(tmp_path / "m.npz")
        X = np.ones((2, 2))
        assert np.array_equal(minibp.load(tmp_path / "m.npz").predict(X), model.predict(X))
    finally:
        del ACTIVATIONS["softsign_saving_test"]
    with pytest.raises(minibp.CheckpointError, match="activation 'softsign_saving_test' is "
                       "not registered in this process .* minibp.register_activation first"):
        minibp.load(tmp_path / "m.npz")


def test_a_layer_a_file_cannot_hold_is_refused_when_saving(tmp_path):
    class Scale(minibp.Layer):
        def forward(self, X):
            return 2 * X

        def backward(self, dA):
            return 2 * dA

    model = minibp.Sequential(minibp.Dense(2, 2, seed=0), Scale())
    with pytest.raises(TypeError, match=r"save: model\[1\] is a Scale; a minibp file holds "
                       "Dense layers and registered activation layers only"):
        model.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []
