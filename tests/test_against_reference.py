"""minibp against an independent plain per-neuron loop (tests/reference_loop.py).

The reference is the chapter's NeuralNetwork / NeuronLayer / Neuron algorithm generalized to any
widths, depth, activations, batch size (gradient = mean over the batch) and three losses, with
no numpy in its arithmetic. It is itself checked here against the chapter's own numbers and
against central differences, so agreement with it means agreement with the math.

Tolerance is 1e-12, relative and absolute, after 100 training steps. That is only meaningful
when training is stable: in a diverging or chaotic run, the last-ulp differences between a
vectorized matrix product and a scalar loop (different summation order) grow exponentially,
and a relu unit sitting near its kink can flip. So the learning rates below are small (0.1
plain, 0.02 with momentum 0.9, an effective step of 0.2), and the weights are scaled so that
pre-activations stay O(1).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pytest
import reference_loop as ref

import minibp

TOL = {"rtol": 1e-12, "atol": 1e-12}  # np.testing.assert_allclose
APPROX = {"rel": 1e-12, "abs": 1e-12}  # pytest.approx, the same tolerance
STEPS = 100
LOSS_NAMES = ("squared_error", "mse", "softmax_xent")
MINIBP_LOSSES = {
    "squared_error": minibp.SquaredError,
    "mse": minibp.MSE,
    "softmax_xent": minibp.SoftmaxCrossEntropy,
}
LR = {0.0: 0.1, 0.9: 0.02}  # small, so 100 steps stay stable (see the module docstring)
# batch_size -> (samples, epochs): 100 steps each; 10 % 3 and 12 % 8 leave a short last batch.
SCHEDULES = {1: (10, 10), 3: (10, 25), 8: (12, 50)}
ENGINES = ("numpy", "numba", "blas")


# -- architectures ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Architecture:
    widths: tuple[int, ...]  # inputs first, outputs last
    activations: tuple[str, ...]  # one per layer

    def for_loss(self, loss_name: str) -> Architecture:
        """Cross-entropy reads logits (an identity output) over at least two classes."""
        if loss_name != "softmax_xent":
            return self
        widths = self.widths[:-1] + (max(2, self.widths[-1]),)
        return Architecture(widths, self.activations[:-1] + ("identity",))


def draw_architectures(seed: int, count: int) -> list[Architecture]:
    """Depth 1-3, widths 1-7, activations uniform over the four."""
    rng = np.random.default_rng(seed)
    architectures = []
    for _ in range(count):
        depth = int(rng.integers(1, 4))
        widths = tuple(int(w) for w in rng.integers(1, 8, size=depth + 1))
        activations = tuple(str(a) for a in rng.choice(ref.ACTIVATIONS, size=depth))
        architectures.append(Architecture(widths, activations))
    return architectures


# Seed 35 is the first whose draw covers depths 1, 2 and 3, every activation in a hidden
# layer (output layers turn identity under cross-entropy), and a width-1 layer;
# test_architectures_cover_the_cases keeps it honest.
ARCHITECTURES = draw_architectures(seed=35, count=4)


def arch_id(index: int) -> str:
    a = ARCHITECTURES[index]
    return "-".join(map(str, a.widths)) + "_" + "-".join(a.activations)


def test_architectures_cover_the_cases():
    hidden = {act for a in ARCHITECTURES for act in a.activations[:-1]}
    assert hidden == set(ref.ACTIVATIONS)
    assert {len(a.activations) for a in ARCHITECTURES} == {1, 2, 3}
    assert any(1 in a.widths for a in ARCHITECTURES)
    for batch_size, (n, epochs) in SCHEDULES.items():
        assert epochs * math.ceil(n / batch_size) == STEPS


# -- one case: weights and data drawn by the test ---------------------------------------------
def draw_case(arch: Architecture, loss_name: str, n: int, seed):
    """Initial (W, b) per layer, X (n, in) and targets: floats (n, out) or int labels (n,)."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(arch.widths[:-1], arch.widths[1:], strict=True):
        W = rng.normal(0.0, 1.0 / math.sqrt(n_in), size=(n_out, n_in))
        params.append((W, rng.normal(0.0, 0.5, size=n_out)))
    X = rng.normal(0.0, 1.0, size=(n, arch.widths[0]))
    if loss_name == "softmax_xent":
        Y = rng.integers(0, arch.widths[-1], size=n)
    else:
        Y = rng.uniform(0.0, 1.0, size=(n, arch.widths[-1]))
    return params, X, Y


def minibp_model(arch: Architecture, params, frozen_biases=()) -> minibp.Sequential:
    layers = []
    for index, (activation, (W, b)) in enumerate(zip(arch.activations, params, strict=True)):
        layer = minibp.Dense(W.shape[1], W.shape[0], activation, W=W, b=b)
        if index in frozen_biases:
            layer.freeze("b")
        layers.append(layer)
    return minibp.Sequential(*layers)


def reference_network(arch: Architecture, params, loss_name, momentum, frozen_biases=()):
    return ref.build([W for W, _ in params], [b for _, b in params], arch.activations,
                     loss=loss_name, lr=LR[momentum], momentum=momentum,
                     frozen_biases=frozen_biases)


def assert_matches(model: minibp.Sequential, network: ref.NeuralNetwork, initial):
    """Every weight and bias agrees to 1e-12, and training moved them (not a vacuous pass)."""
    moved = 0.0
    for index, (layer, (W_ref, b_ref), (W0, b0)) in enumerate(
            zip(model, network.parameters(), initial, strict=True)):
        np.testing.assert_allclose(layer.W, np.array(W_ref), **TOL, err_msg=f"model[{index}].W")
        np.testing.assert_allclose(layer.b, np.array(b_ref), **TOL, err_msg=f"model[{index}].b")
        moved = max(moved, np.max(np.abs(layer.W - W0)), np.max(np.abs(layer.b - b0)))
    assert moved > 1e-3


# -- the reference checks itself --------------------------------------------------------------
def chapter_network(lr: float = 0.5) -> ref.NeuralNetwork:
    """The chapter's 2-2-2 example: its weights, biases 0.35 / 0.60 frozen, sigmoid, lr 0.5."""
    return ref.build([[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45], [0.50, 0.55]]],
                     [[0.35, 0.35], [0.60, 0.60]], ["sigmoid", "sigmoid"],
                     loss="squared_error", lr=lr, frozen_biases=(0, 1))


CHAPTER_SAMPLE = [([0.05, 0.10], [0.01, 0.99])]


def test_reference_reproduces_the_chapter_first_step():
    network = chapter_network()
    assert network.batch_loss(CHAPTER_SAMPLE) == pytest.approx(0.2983711087600027, **APPROX)
    network.train_batch(CHAPTER_SAMPLE)
    (hidden_W, hidden_b), (output_W, output_b) = network.parameters()
    np.testing.assert_allclose(output_W, [[0.35891647971788465, 0.4086661860762334],
                                          [0.5113012702387375, 0.5613701211079891]], **TOL)
    np.testing.assert_allclose(hidden_W, [[0.1497807161327628, 0.19956143226552567],
                                          [0.24975114363236958, 0.29950228726473915]], **TOL)
    assert hidden_b == [0.35, 0.35] and output_b == [0.60, 0.60]
    assert network.batch_loss(CHAPTER_SAMPLE) == pytest.approx(0.29102777369359933, **APPROX)


def test_reference_reproduces_the_chapter_after_10000_steps():
    network = chapter_network()
    for _ in range(10_000):
        network.train_batch(CHAPTER_SAMPLE)
    assert network.batch_loss(CHAPTER_SAMPLE) == pytest.approx(3.510187782978859e-05, **APPROX)
    np.testing.assert_allclose(network.feed_forward([0.05, 0.10]),
                               [0.01591362044355068, 0.9840642735146238], **TOL)


@pytest.mark.parametrize("loss_name", LOSS_NAMES)
def test_reference_gradients_match_central_differences(loss_name):
    """Beyond the chapter (sigmoid, squared error), the reference's backward is checked by
    central differences of its own forward, for every activation and loss, on a batch of 3."""
    arch = Architecture((3, 4, 5, 3), ("tanh", "relu", "sigmoid")).for_loss(loss_name)
    params, X, Y = draw_case(arch, loss_name, n=3, seed=7)
    network = reference_network(arch, params, loss_name, momentum=0.0)
    samples = ref.samples_of(network, X, Y)
    network.compute_gradients(samples)
    h = 1e-6
    for layer in network.layers:
        for neuron in layer.neurons:
            for i, analytic in enumerate(neuron.grad_weights):
                original = neuron.weights[i]
                neuron.weights[i] = original + h
                up = network.batch_loss(samples)
                neuron.weights[i] = original - h
                down = network.batch_loss(samples)
                neuron.weights[i] = original
                assert analytic == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-8)
            original = neuron.bias
            neuron.bias = original + h
            up = network.batch_loss(samples)
            neuron.bias = original - h
            down = network.batch_loss(samples)
            neuron.bias = original
            assert neuron.grad_bias == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-8)


# -- minibp against the reference -------------------------------------------------------------
@functools.cache
def reference_fit(arch_index: int, loss_name: str, batch_size: int, momentum: float):
    """The reference's (parameters, history) for one fit case; cached, as engines share it."""
    arch = ARCHITECTURES[arch_index].for_loss(loss_name)
    n, epochs = SCHEDULES[batch_size]
    params, X, Y = draw_case(arch, loss_name, n, seed=[arch_index, batch_size, len(loss_name)])
    network = reference_network(arch, params, loss_name, momentum)
    history = ref.fit(network, X, Y, epochs=epochs, batch_size=batch_size, seed=arch_index)
    return network, history


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("momentum", [0.0, 0.9], ids=["plain", "momentum"])
@pytest.mark.parametrize("loss_name", LOSS_NAMES)
@pytest.mark.parametrize("batch_size", sorted(SCHEDULES), ids=lambda b: f"batch{b}")
@pytest.mark.parametrize("arch_index", range(len(ARCHITECTURES)), ids=arch_id)
def test_fit_matches_reference(arch_index, batch_size, loss_name, momentum, engine):
    kwargs = {"engine": engine}
    arch = ARCHITECTURES[arch_index].for_loss(loss_name)
    n, epochs = SCHEDULES[batch_size]
    params, X, Y = draw_case(arch, loss_name, n, seed=[arch_index, batch_size, len(loss_name)])
    model = minibp_model(arch, params)
    history = model.fit(X, Y, loss=MINIBP_LOSSES[loss_name](),
                        optimizer=minibp.SGD(LR[momentum], momentum), epochs=epochs,
                        batch_size=batch_size, seed=arch_index, **kwargs)
    network, ref_history = reference_fit(arch_index, loss_name, batch_size, momentum)
    np.testing.assert_allclose(history.history["loss"], ref_history, **TOL)
    assert_matches(model, network, params)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("loss_name", LOSS_NAMES)
@pytest.mark.parametrize("batch_size", sorted(SCHEDULES), ids=lambda b: f"batch{b}")
def test_train_step_matches_reference(batch_size, loss_name, engine):
    """100 direct train_steps on random minibatches (drawn without replacement each step)."""
    kwargs = {"engine": engine}
    arch = ARCHITECTURES[1].for_loss(loss_name)  # the deepest: 3 layers, a width-1 output
    params, X, Y = draw_case(arch, loss_name, n=12, seed=[batch_size, len(loss_name), 1])
    model = minibp_model(arch, params)
    loss, optimizer = MINIBP_LOSSES[loss_name](), minibp.SGD(LR[0.9], 0.9)
    network = reference_network(arch, params, loss_name, momentum=0.9)
    samples = ref.samples_of(network, X, Y)
    rng = np.random.default_rng(batch_size)
    for step in range(STEPS):
        rows = rng.choice(len(X), size=batch_size, replace=False)
        value = model.train_step(X[rows], Y[rows], loss, optimizer, **kwargs)
        expected = network.train_batch([samples[i] for i in rows])
        assert value == pytest.approx(expected, **APPROX), f"step {step}"
    assert_matches(model, network, params)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("loss_name", ["squared_error", "softmax_xent"])
@pytest.mark.parametrize("frozen", [(0,), (1,), (0, 1)], ids=lambda f: f"frozen{f}")
def test_frozen_bias_matches_reference(frozen, loss_name, engine):
    """A frozen layer bias never moves, its momentum included, and the rest still matches.

    Unshuffled, batches of 3 over 10 samples (a short last batch), 25 epochs: 100 steps.
    """
    kwargs = {"engine": engine}
    arch = Architecture((4, 5, 3), ("tanh", "sigmoid")).for_loss(loss_name)
    params, X, Y = draw_case(arch, loss_name, n=10, seed=[len(frozen), *frozen])
    model = minibp_model(arch, params, frozen_biases=frozen)
    history = model.fit(X, Y, loss=MINIBP_LOSSES[loss_name](), optimizer=minibp.SGD(0.02, 0.9),
                        epochs=25, batch_size=3, shuffle=False, **kwargs)
    network = reference_network(arch, params, loss_name, 0.9, frozen_biases=frozen)
    ref_history = ref.fit(network, X, Y, epochs=25, batch_size=3, shuffle=False)
    np.testing.assert_allclose(history.history["loss"], ref_history, **TOL)
    for index in frozen:
        np.testing.assert_array_equal(model[index].b, params[index][1])
    assert_matches(model, network, params)
