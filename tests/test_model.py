"""minibp.model: Sequential and the contract of its entry points (fit, train_step, ...).

References: a plain per-neuron loop forward and loss (values), central differences of that
loop in float64 (gradients, the size of train_step's update), a manual loop of train_step
calls with orders from numpy.random.default_rng(seed).permutation(n) (fit), and hand-written
messages, tables and printouts. Every engine ("numpy", "numba", "blas") is held to the same
references.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from finite_diff import numeric_gradient, weighted_sum

from minibp import (
    MSE,
    SGD,
    Dense,
    ReLU,
    Sequential,
    Sigmoid,
    SoftmaxCrossEntropy,
    SquaredError,
    Tanh,
)
from minibp.errors import TrainingDivergedError

ENGINES = ["numpy", "numba", "blas"]
FUNCTIONS = {
    "identity": lambda z: z,
    "sigmoid": lambda z: 1.0 / (1.0 + math.exp(-z)),
    "tanh": math.tanh,
    "relu": lambda z: max(z, 0.0),
}


# -- the reference: a plain loop -----------------------------------------------------------------
def loop_forward(layers, X) -> list[list[float]]:
    """The Dense layers of a model applied neuron by neuron, reading W and b live."""
    rows = [[float(x) for x in row] for row in X]
    for layer in layers:
        f = FUNCTIONS[layer.activation]
        rows = [[f(float(layer.b[j]) + sum(float(layer.W[j, k]) * x[k] for k in range(len(x))))
                 for j in range(layer.out_features)] for x in rows]
    return rows


def loop_loss(name: str, P, Y) -> float:
    """The mean loss: 'squared' 1/2 sum over outputs, mean over rows; 'mse' mean over all;
    'xent' mean over rows of logsumexp - logit[label] with integer labels Y."""
    if name == "xent":
        terms = [math.log(math.fsum(math.exp(z) for z in row)) - row[int(y)]
                 for row, y in zip(P, Y)]
        return math.fsum(terms) / len(P)
    squares = [(p - float(y)) ** 2 for row, target in zip(P, Y) for p, y in zip(row, target)]
    if name == "mse":
        return math.fsum(squares) / len(squares)
    return 0.5 * math.fsum(squares) / len(P)


LOSS_CLASSES = {"squared": SquaredError, "mse": MSE, "xent": SoftmaxCrossEntropy}


def make_model(loss_name: str = "squared", seed: int = 0, dtype=np.float64) -> Sequential:
    out_activation = None if loss_name == "xent" else "sigmoid"
    return Sequential(Dense(3, 4, "tanh", seed=seed, dtype=dtype),
                      Dense(4, 3, out_activation, seed=seed + 1, dtype=dtype))


def make_data(loss_name: str = "squared", n: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    Y = rng.integers(0, 3, n) if loss_name == "xent" else rng.uniform(size=(n, 3))
    return X, Y


def manual_fit(model, X, Y, loss, optimizer, *, epochs, batch_size, seed, shuffle=True):
    """fit's documented contract as a loop of train_step calls on the NumPy engine."""
    rng = np.random.default_rng(seed)
    n = len(X)
    history = []
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        total = 0.0
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            total += model.train_step(X[rows], Y[rows], loss, optimizer, engine="numpy") * len(rows)
        history.append(total / n)
    return history


def weights(model) -> list[np.ndarray]:
    return [p.value.copy() for p in model.parameters()]


# -- construction --------------------------------------------------------------------------------
def test_width_mismatch_is_refused_naming_both_layers():
    with pytest.raises(ValueError) as info:
        Sequential(Dense(2, 3), Dense(4, 1))
    assert str(info.value) == ("Sequential: model[1] Dense(4 -> 1) expects 4 inputs, "
                               "but model[0] Dense(2 -> 3) gives 3")


def test_width_mismatch_is_seen_through_activation_layers():
    with pytest.raises(ValueError) as info:
        Sequential(Dense(2, 3), Tanh(), Dense(4, 1))
    assert str(info.value) == ("Sequential: model[2] Dense(4 -> 1) expects 4 inputs, "
                               "but model[0] Dense(2 -> 3) gives 3")


def test_non_layer_is_type_error():
    with pytest.raises(TypeError) as info:
        Sequential(Dense(2, 3), "relu")
    assert str(info.value) == ("Sequential: model[1] (str) is not a layer; it lacks forward, "
                               "backward, parameters")


def test_empty_model_is_value_error():
    with pytest.raises(ValueError, match="at least one layer"):
        Sequential()


def test_indexing_len_iter_and_repr():
    layers = [Dense(2, 3, "sigmoid"), ReLU(), Dense(3, 1)]
    model = Sequential(layers)  # a list is accepted as well as separate arguments
    assert len(model) == 3
    assert model[0] is layers[0] and model[-1] is layers[2]
    assert list(model) == layers
    assert repr(model) == ("Sequential(\n  (0) Dense(2 -> 3, sigmoid)\n  (1) ReLU()\n"
                           "  (2) Dense(3 -> 1)\n)")


def test_parameters_names_frozen_flags_and_arrays():
    model = Sequential(Dense(2, 3), ReLU(), Dense(3, 1))
    model[2].freeze("b")
    params = model.parameters()
    assert [(p.name, p.frozen) for p in params] == [
        ("model[0].W", False), ("model[0].b", False), ("model[2].W", False), ("model[2].b", True)
    ]
    assert params[0].value is model[0].W and params[0].grad is model[0].dW
    assert params[3].value is model[2].b and params[3].grad is model[2].db


# -- looking inside ------------------------------------------------------------------------------
def test_summary_prints_the_table_once_and_returns_nothing(capsys):
    model = Sequential(Dense(3, 4, "relu"), Sigmoid(), Dense(4, 2))
    model[2].freeze("b")
    assert model.summary() is None  # so a REPL shows the table once, not twice
    text = model.summary_text()
    assert capsys.readouterr().out == text + "\n"
    rows = [[cell for cell in line.split("  ") if cell.strip()]
            for line in text.splitlines()]
    cells = [[cell.strip() for cell in row] for row in rows]
    assert cells[0] == ["#", "layer", "output shape", "parameters"]
    # counts by hand: in * out + out; model[2]'s bias (2 values) frozen
    assert cells[1] == ["0", "Dense(3 -> 4, relu)", "(batch, 4)", str(3 * 4 + 4)]
    assert cells[2] == ["1", "Sigmoid()", "(batch, 4)", "0"]
    assert cells[3] == ["2", "Dense(4 -> 2)", "(batch, 2)", f"{4 * 2 + 2} (2 frozen)"]
    assert text.splitlines()[-1] == "Total parameters: 26 (24 trainable, 2 frozen)"


def test_inspect_prints_every_weight_and_bias_at_full_precision(capsys):
    model = Sequential(Dense(2, 2, "sigmoid", W=[[0.1 + 0.2, 1 / 3], [-2.5, 1e-20]],
                             b=[2 / 3, 0.0]),
                       Tanh(),
                       Dense(2, 1, W=[[0.7, -0.125]], b=1 / 7).freeze("b"))
    assert model.inspect() is None
    assert capsys.readouterr().out.splitlines() == [
        "------",
        "* Inputs: 2",
        "------",
        "model[0] Dense(2 -> 2, sigmoid)",
        "Neurons: 2",
        " Neuron 0",
        "  Weight: 0.30000000000000004",
        "  Weight: 0.3333333333333333",
        "  Bias: 0.6666666666666666",
        " Neuron 1",
        "  Weight: -2.5",
        "  Weight: 1e-20",
        "  Bias: 0.0",
        "------",
        "model[1] Tanh()",
        "------",
        "model[2] Dense(2 -> 1)",
        "Neurons: 1",
        " Neuron 0",
        "  Weight: 0.7",
        "  Weight: -0.125",
        "  Bias: 0.14285714285714285 (frozen)",
        "------",
    ]


# -- forward, backward, gradients, predict --------------------------------------------------------
def test_forward_matches_loop():
    model = make_model()
    X, _ = make_data()
    np.testing.assert_allclose(model.forward(X), loop_forward(model, X), rtol=1e-13, atol=1e-15)


def test_backward_matches_central_differences():
    model = Sequential(Dense(3, 4, "tanh", seed=0), Sigmoid(), Dense(4, 2, seed=1))
    rng = np.random.default_rng(1)
    X, G = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    model.forward(X)
    dX = model.backward(G)
    analytic = [p.grad.copy() for p in model.parameters()]

    def F():
        return weighted_sum(model.forward(X), G)

    for p, grad in zip(model.parameters(), analytic):
        np.testing.assert_allclose(grad, numeric_gradient(F, p.value), rtol=1e-6, atol=1e-8,
                                   err_msg=p.name)
    np.testing.assert_allclose(dX, numeric_gradient(F, X), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("loss_name", list(LOSS_CLASSES))
def test_gradients_match_central_differences_of_the_loop_loss(loss_name, engine):
    model = make_model(loss_name)
    X, Y = make_data(loss_name, n=6)
    grads = model.gradients(X, Y, LOSS_CLASSES[loss_name](), engine=engine)
    assert list(grads) == ["model[0].W", "model[0].b", "model[1].W", "model[1].b"]

    def F():
        return loop_loss(loss_name, loop_forward(model, X), Y)

    for p in model.parameters():
        np.testing.assert_allclose(grads[p.name], numeric_gradient(F, p.value), rtol=1e-6,
                                   atol=1e-8, err_msg=p.name)


@pytest.mark.parametrize("engine", ENGINES)
def test_predict_matches_loop(engine):
    model = make_model()
    X, _ = make_data(n=7)
    np.testing.assert_allclose(model.predict(X, engine=engine), loop_forward(model, X),
                               rtol=1e-13, atol=1e-15)


# -- train_step ----------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("loss_name", list(LOSS_CLASSES))
def test_train_step_returns_loss_before_update_and_steps_by_minus_lr_grad(loss_name, engine):
    lr = 0.3
    model = make_model(loss_name)
    X, Y = make_data(loss_name, n=5)

    def F():
        return loop_loss(loss_name, loop_forward(model, X), Y)

    expected_loss = F()
    numeric = [numeric_gradient(F, p.value) for p in model.parameters()]
    before = weights(model)
    value = model.train_step(X, Y, LOSS_CLASSES[loss_name](), SGD(lr=lr), engine=engine)
    assert value == pytest.approx(expected_loss, rel=1e-12, abs=1e-14)
    for p, old, grad in zip(model.parameters(), before, numeric):
        assert np.array_equal(p.value, old - lr * p.grad), p.name  # exactly the SGD rule
        np.testing.assert_allclose((old - p.value) / lr, grad, rtol=1e-6, atol=1e-8,
                                   err_msg=p.name)


# -- fit -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffle", "in-order"])
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("loss_name", "momentum"), [
    pytest.param("squared", 0.0, id="squared"),
    pytest.param("mse", 0.9, id="mse-momentum"),
    pytest.param("xent", 0.5, id="xent-labels-momentum"),
])
def test_fit_history_matches_manual_train_step_loop(loss_name, momentum, engine, shuffle):
    X, Y = make_data(loss_name, n=10)  # batch_size 4: batches of 4, 4 and a short 2
    schedule = {"epochs": 3, "batch_size": 4, "seed": 11, "shuffle": shuffle}
    reference = make_model(loss_name)
    expected = manual_fit(reference, X, Y, LOSS_CLASSES[loss_name](),
                          SGD(lr=0.2, momentum=momentum), **schedule)
    model = make_model(loss_name)
    history = model.fit(X, Y, loss=LOSS_CLASSES[loss_name](),
                        optimizer=SGD(lr=0.2, momentum=momentum), engine=engine, **schedule)
    assert history.epoch == [0, 1, 2]
    np.testing.assert_allclose(history.history["loss"], expected, rtol=1e-12, atol=1e-12)
    for got, want in zip(weights(model), weights(reference)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_fit_without_shuffle_draws_no_randomness(engine):
    X, Y = make_data()
    rng = np.random.default_rng(5)
    state = rng.bit_generator.state
    make_model().fit(X, Y, loss=SquaredError(), optimizer=SGD(lr=0.1), epochs=2, batch_size=3,
                     shuffle=False, seed=rng, engine=engine)
    assert rng.bit_generator.state == state


def test_fit_zero_epochs_changes_nothing():
    model = make_model()
    before = weights(model)
    history = model.fit(*make_data(), loss=SquaredError(), optimizer=SGD(lr=0.1), epochs=0)
    assert history.history == {"loss": []} and history.epoch == []
    assert all(np.array_equal(a, b) for a, b in zip(weights(model), before))


@pytest.mark.parametrize("engine", ENGINES)
def test_fit_float32_end_to_end(engine):
    X, Y = make_data(n=8)
    schedule = {"epochs": 2, "batch_size": 3, "seed": 1}
    model = make_model(dtype=np.float32)
    reference = make_model()  # float64 twin with the float32 weights
    for twin, layer in zip(reference, model):
        twin.W[...], twin.b[...] = layer.W, layer.b
    expected = manual_fit(reference, X, Y, SquaredError(), SGD(lr=0.5), **schedule)
    history = model.fit(X, Y, loss=SquaredError(), optimizer=SGD(lr=0.5), engine=engine,
                        **schedule)
    assert {p.value.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    np.testing.assert_allclose(history.history["loss"], expected, rtol=1e-5)
    for got, want in zip(weights(model), weights(reference)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("first", "second"), [
    ("numba", "numba"), ("numba", "numpy"), ("numpy", "numba"),
], ids=["numba-numba", "numba-numpy", "numpy-numba"])
def test_momentum_carries_over_between_fit_calls_and_engines(first, second):
    X, Y = make_data("mse")
    reference, reference_optimizer = make_model("mse"), SGD(lr=0.2, momentum=0.9)
    model, optimizer = make_model("mse"), SGD(lr=0.2, momentum=0.9)
    expected = []
    for seed, engine in ((1, first), (2, second)):
        expected += manual_fit(reference, X, Y, MSE(), reference_optimizer, epochs=1,
                               batch_size=4, seed=seed)
        history = model.fit(X, Y, loss=MSE(), optimizer=optimizer, epochs=1, batch_size=4,
                            seed=seed, engine=engine)
        np.testing.assert_allclose(history.history["loss"], expected[-1:], rtol=1e-12)
    for got, want in zip(weights(model), weights(reference)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    pytest.param({"epochs": 1.5}, TypeError,
                 r"fit: epochs must be an int, got 1.5 \(float\)", id="epochs-float"),
    pytest.param({"epochs": True}, TypeError,
                 r"fit: epochs must be an int, got True \(bool\)", id="epochs-bool"),
    pytest.param({"epochs": -1}, ValueError, "epochs must be at least 0, got -1",
                 id="epochs-negative"),
    pytest.param({"batch_size": 0}, ValueError, "batch_size must be at least 1, got 0",
                 id="batch-zero"),
    pytest.param({"batch_size": "4"}, TypeError, "fit: batch_size must be an int, got '4'",
                 id="batch-str"),
    pytest.param({"loss": MSE(reduction="sum")}, ValueError,
                 "fit: the loss's reduction must be one of 'mean', got 'sum'", id="loss-sum"),
    pytest.param({"loss": MSE(reduction="none")}, ValueError,
                 "reduction must be one of 'mean', got 'none'",
                 id="loss-none"),
    pytest.param({"engine": "bogus"}, ValueError,
                 "fit: engine must be one of 'auto', 'numpy', 'numba', 'blas', got 'bogus'",
                 id="engine-bogus"),
])
def test_fit_bad_arguments(kwargs, error, match):
    arguments = {"loss": SquaredError(), "optimizer": SGD(lr=0.1), **kwargs}
    with pytest.raises(error, match=match):
        make_model().fit(*make_data(), **arguments)


@pytest.mark.parametrize(("good", "bad", "error", "match"), [
    ({"shuffle": True}, {"shuffle": 1}, TypeError, "shuffle must be True or False, got 1"),
    ({"epochs": 2}, {"epochs": 2.0}, TypeError, r"epochs must be an int, got 2.0 \(float\)"),
    ({"epochs": 1}, {"epochs": True}, TypeError, r"epochs must be an int, got True"),
    ({"epochs": 1}, {"epochs": [1]}, TypeError, r"epochs must be an int, got \[1\]"),
    ({"verbose": 1}, {"verbose": 1.5}, ValueError, "verbose must be one of"),
    ({"clip_norm": 1.0}, {"clip_norm": -1.0}, ValueError, "clip_norm must be a finite"),
    ({"validation_split": 0.25}, {"validation_split": [0.25]}, TypeError,
     "validation_split must be a number"),
])
def test_fit_checks_its_scalars_on_every_call_even_after_a_good_one(good, bad, error, match):
    """fit remembers scalar arguments it has checked (a loop of fits skips the checks):
    what equals a remembered value but is of another type, or is unhashable, is still
    checked and refused."""
    model, (X, Y) = make_model(), make_data()
    arguments = {"loss": SquaredError(), "optimizer": SGD(lr=0.1), "verbose": 0}
    model.fit(X, Y, **{**arguments, **good})
    model.fit(X, Y, **{**arguments, **good})  # remembered now
    with pytest.raises(error, match=match):
        model.fit(X, Y, **{**arguments, **bad})


@pytest.mark.parametrize(("X", "Y", "match"), [
    pytest.param(np.zeros(3), np.zeros((1, 3)),
                 r"X must have shape \(samples, features\), got \(3,\) \(for one sample use "
                 r"X.reshape\(1, -1\)\)", id="X-1d"),
    pytest.param(np.zeros((4, 3)), np.zeros((5, 3)),
                 r"Y must have one row per sample of X \(4\), got shape \(5, 3\)",
                 id="row-mismatch"),
    pytest.param(np.zeros((0, 3)), np.zeros((0, 3)),
                 r"X must have at least one sample, got shape \(0, 3\)",
                 id="X-empty"),
])
@pytest.mark.parametrize("entry", ["fit", "train_step"])
def test_bad_training_data(entry, X, Y, match):
    model = make_model()
    with pytest.raises(ValueError, match=match):
        if entry == "fit":
            model.fit(X, Y, loss=SquaredError(), optimizer=SGD(lr=0.1))
        else:
            model.train_step(X, Y, SquaredError(), SGD(lr=0.1))


def test_numba_engine_refuses_standalone_activation_layer_and_says_why():
    model = Sequential(Dense(3, 4), Sigmoid(), Dense(4, 3))
    with pytest.raises(ValueError) as info:
        model.fit(*make_data(), loss=SquaredError(), optimizer=SGD(lr=0.1), engine="numba")
    message = str(info.value)
    assert "engine='numba'" in message and "model[1] is a Sigmoid" in message
    assert "Dense" in message


def test_auto_engine_silently_runs_a_standalone_activation_layer():
    def build():
        return Sequential(Dense(3, 4, seed=0), Sigmoid(), Dense(4, 3, seed=1))

    X, Y = make_data()
    model = build()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model.fit(X, Y, loss=SquaredError(), optimizer=SGD(lr=0.1), epochs=2, seed=0,
                            engine="auto")
    reference = build()
    expected = manual_fit(reference, X, Y, SquaredError(), SGD(lr=0.1), epochs=2,
                          batch_size=32, seed=0)
    np.testing.assert_allclose(history.history["loss"], expected, rtol=1e-12)


# -- divergence ------------------------------------------------------------------------------------
def make_diverging():
    """relu and identity layers with MSE: at lr=1e6 the loss overflows within some steps."""
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    return Sequential(Dense(3, 4, "relu", seed=0), Dense(4, 2, seed=1)), X, Y


def diverge(engine):
    model, X, Y = make_diverging()
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(TrainingDivergedError) as info:
        model.fit(X, Y, loss=MSE(), optimizer=SGD(lr=1e6), epochs=50, batch_size=4, seed=3,
                  engine=engine)
    return model, info.value


def replay(steps: int) -> Sequential:
    """A fresh model after `steps` train_step calls in fit's order (NumPy engine)."""
    model, X, Y = make_diverging()
    rng, optimizer, done = np.random.default_rng(3), SGD(lr=1e6), 0
    while done < steps:
        order = rng.permutation(len(X))
        for start in range(0, len(X), 4):
            if done == steps:
                break
            rows = order[start:start + 4]
            model.train_step(X[rows], Y[rows], MSE(), optimizer, engine="numpy")
            done += 1
    return model


@pytest.mark.parametrize("engine", ENGINES)
def test_divergence_raises_and_keeps_the_last_finite_weights(engine):
    model, error = diverge(engine)
    assert isinstance(error, FloatingPointError)
    assert error.step > 1 and error.lr == 1e6 and not math.isfinite(error.loss)
    message = str(error)
    assert f"at step {error.step}" in message
    assert f"loss is {error.loss}" in message and "lr=1000000.0" in message
    assert f"weights are those after step {error.step - 1}" in message
    assert all(np.all(np.isfinite(w)) for w in weights(model))
    expected = weights(replay(error.step - 1))
    for got, want in zip(weights(model), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    epoch = (error.step - 1) // 3  # three batches per epoch; completed epochs are recorded
    assert len(error.history.history["loss"]) == epoch


@pytest.mark.parametrize("engine", ["numba", "blas"])
def test_every_engine_stops_at_the_same_step(engine):
    _, numpy_error = diverge("numpy")
    _, compiled_error = diverge(engine)
    assert numpy_error.step == compiled_error.step
    assert str(numpy_error) == str(compiled_error)


def test_numpy_engine_divergence_is_silent_until_the_guard():
    model, X, Y = make_diverging()
    with warnings.catch_warnings(), pytest.raises(TrainingDivergedError):
        warnings.simplefilter("error")
        model.fit(X, Y, loss=MSE(), optimizer=SGD(lr=1e6), epochs=50, batch_size=4, seed=3,
                  engine="numpy")


@pytest.mark.parametrize("engine", ENGINES)
def test_nan_in_X_is_reported_as_bad_data_not_divergence(engine):
    X, Y = make_data()
    X[7, 1] = X[8, 0] = X[9, 2] = np.nan
    with np.errstate(invalid="ignore"), pytest.raises(ValueError, match=r"3 NaN.*row 7"):
        make_model().fit(X, Y, loss=SquaredError(), optimizer=SGD(lr=0.1), engine=engine)


def test_huge_but_finite_data_is_accepted():
    """The NaN check first sums the data; a sum that merely overflows is not an error."""
    X = np.full((4, 2), 3e38, np.float32)
    model = Sequential(Dense(2, 1, W=[[0.0, 0.0]], b=0.0, dtype=np.float32))
    with np.errstate(all="raise"):
        model.fit(X, np.zeros((4, 1), np.float32), loss=MSE(), optimizer=SGD(lr=0.0),
                  engine="numpy")
