"""minibp.explain.trace: one sample's forward, backward and update, read from the layers.

References: the chapter's float64 values (../shared/CHAPTER.md, typed in below, to 1e-12);
on random networks the product of every parameter's factors against the gradient minibp's
model.gradients computes and against a plain central-difference loop written here; the
first SGD and Adam updates written out by hand; a tampered trace that check() must catch.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from chapter_values import GOLDEN  # tests/support, on pytest's path

import minibp
from minibp import Dense, Sequential
from minibp.examples import chapter_data, chapter_network
from minibp.explain import Trace, trace
from minibp.nn import ReLU, Sigmoid, Tanh

TOL = 1e-12

# The chapter's numbers (tests/support/chapter_values.py), in the trace's names.
CHAPTER = {**{k: v for k, v in GOLDEN.items() if "after" not in k},
           "E_total+": GOLDEN["E_total after 1 step"],
           "dnet_o1/dw5": 0.5932699921071872,  # = out_h1
           "dnet_h1/dw1": 0.05}                # = i1


@pytest.fixture(scope="module")
def chapter_trace():
    X, Y = chapter_data()
    return trace(chapter_network(), X[0], Y[0], minibp.SquaredError(), minibp.SGD(lr=0.5))


@pytest.mark.parametrize("name", CHAPTER)
def test_the_chapter_s_network_gives_the_chapter_s_numbers(chapter_trace, name):
    assert chapter_trace.values()[name] == pytest.approx(CHAPTER[name], rel=TOL, abs=TOL)


def test_the_chapter_s_text_reads_like_the_chapter(chapter_trace):
    text = str(chapter_trace)
    for line in ["net_h1 = w1*i1 + w2*i2 + b_h1 = 0.3775",
                 "E_total = E_o1 + E_o2 = 0.2983711087600027",
                 "dout_o1/dnet_o1 = out_o1 * (1 - out_o1) = 0.18681560180895948",
                 "dE/dw5 = dE/dout_o1 * dout_o1/dnet_o1 * dnet_o1/dw5 = 0.08216704056423078",
                 "dE/dout_h1 = dE_o1/dout_h1 + dE_o2/dout_h1 = ",
                 "w5+ = 0.35891647971788465", "b_o1+ = 0.6  (frozen: unchanged)"]:
        assert line in text
    assert "sum over" not in text  # a note of the index notation only
    assert text.index("Backward, output layer") < text.index("Backward, hidden layer")
    markdown = chapter_trace.to_markdown()
    assert "| `dE/dw5` | `dE/dout_o1 * dout_o1/dnet_o1 * dnet_o1/dw5` | 0.08216704056423078 |" \
        in markdown


def test_tracing_changes_neither_the_model_nor_the_optimizer():
    model, (X, Y) = chapter_network(), chapter_data()
    optimizer = minibp.SGD(lr=0.5, momentum=0.9)
    grads = model.gradients(X, Y, minibp.SquaredError(), engine="numpy")  # the user's own
    saved = [(layer.W.copy(), layer.b.copy(), layer.dW.copy(), layer.Z.copy())
             for layer in model]
    traced = trace(model, X, Y, minibp.SquaredError(), optimizer)
    for layer, (W, b, dW, Z) in zip(model, saved):
        for now, before in [(layer.W, W), (layer.b, b), (layer.dW, dW), (layer.Z, Z)]:
            assert np.array_equal(now, before)
    assert optimizer.steps == 0 and not optimizer.has_state(model.parameters()[0])
    assert traced.values()["w5+"] != model[1].W[0, 0]
    assert grads["model[1].W"][0, 0] == pytest.approx(CHAPTER["dE/dw5"], rel=TOL)


# -- random networks: the factors against the framework's gradient and finite differences ----
def _relu_then_sigmoid():
    rng = np.random.default_rng(3)
    return Sequential(Dense(3, 4, seed=rng), ReLU(), Dense(4, 2, seed=rng), Sigmoid())


NETWORKS = {
    "2-3-2 sigmoid, squared": (lambda: minibp.mlp([2, 3, 2], "sigmoid", "sigmoid", seed=1),
                               "squared"),
    "3-5-4-2 tanh, mse": (lambda: minibp.mlp([3, 5, 4, 2], "tanh", "tanh", seed=2), "mse"),
    "4-6-3 relu, xent": (lambda: minibp.mlp([4, 6, 3], "relu", None, seed=3), "xent"),
    "3-4-1 tanh, bce": (lambda: minibp.mlp([3, 4, 1], "tanh", None, seed=4), "bce"),
    "5-3 sigmoid, one layer": (lambda: minibp.mlp([5, 3], "sigmoid", "sigmoid", seed=5),
                               "squared"),
    "dense + relu + dense + sigmoid layers": (_relu_then_sigmoid, "squared"),
    "2-7-6-5-3 tanh deep": (lambda: minibp.mlp([2, 7, 6, 5, 3], "tanh", "sigmoid", seed=6),
                            "squared"),
}


def _sample(model, loss_name, seed=0):
    rng = np.random.default_rng(seed)
    dense = [layer for layer in model if isinstance(layer, Dense)]
    x = rng.standard_normal(dense[0].in_features)
    outputs = dense[-1].out_features
    if loss_name == "xent":
        return x, int(rng.integers(outputs))
    if loss_name == "bce":
        return x, rng.integers(0, 2, outputs).astype(float)
    return x, rng.random(outputs)


def _loss_at(model, loss_name, x, y) -> float:
    return minibp.nn.get_loss(loss_name).forward(model.forward(x.reshape(1, -1)),
                                                 np.asarray(y).reshape(1, -1)
                                                 if np.ndim(y) else np.array([y]))


def _central_difference(model, loss_name, x, y, layer, name, index, h=1e-6) -> float:
    """(E(p + h) - E(p - h)) / 2h for one coordinate, on a copy of the model."""
    work = copy.deepcopy(model)
    array = getattr(work[layer], name)
    original = array[index]
    array[index] = original + h
    up = _loss_at(work, loss_name, x, y)
    array[index] = original - h
    down = _loss_at(work, loss_name, x, y)
    return (up - down) / (2 * h)


@pytest.mark.parametrize("network", NETWORKS)
def test_every_factor_product_is_the_gradient_minibp_computes(network):
    build, loss_name = NETWORKS[network]
    model = build()
    x, y = _sample(model, loss_name)
    traced = trace(model, x, y, loss_name)
    Y = np.asarray(y).reshape(1, -1) if np.ndim(y) else np.array([y])
    grads = model.gradients(x.reshape(1, -1), Y, loss_name, engine="numpy")
    dense = [i for i, layer in enumerate(model) if isinstance(layer, Dense)]
    for i, layer in zip(dense, traced.layers):
        inputs = model[i].in_features
        for index, p in enumerate(layer.parameters):
            n = layer.neurons[p.neuron]
            product = n.dE_dout * n.dout_dnet * p.dnet_dparam
            if p.is_weight:
                expected = grads[f"model[{i}].W"][p.neuron, index % inputs]
                numeric = _central_difference(model, loss_name, x, y, i, "W",
                                              (p.neuron, index % inputs))
            else:
                expected = grads[f"model[{i}].b"][p.neuron]
                numeric = _central_difference(model, loss_name, x, y, i, "b", p.neuron)
            assert product == pytest.approx(expected, rel=1e-12, abs=1e-15), p.place
            assert p.gradient == expected, p.place
            assert product == pytest.approx(numeric, rel=1e-6, abs=1e-8), p.place
    assert traced.check(), str(traced.check())


@pytest.mark.parametrize("network", NETWORKS)
def test_a_hidden_neuron_s_dE_dout_is_the_sum_over_the_next_layer(network):
    build, loss_name = NETWORKS[network]
    model = build()
    traced = trace(model, *_sample(model, loss_name, seed=1), loss_name)
    for layer, after in zip(traced.layers, traced.layers[1:]):
        W = np.array([[p.value for p in after.parameters if p.is_weight]]).reshape(
            len(after.neurons), len(layer.neurons))
        delta = np.array([n.dE_dnet for n in after.neurons])
        for j, n in enumerate(layer.neurons):
            assert n.terms == pytest.approx(list(delta * W[:, j]), rel=TOL)
            assert n.dE_dout == pytest.approx(sum(delta * W[:, j]), rel=1e-12, abs=1e-15)


def test_updates_are_the_optimizer_s_first_step_written_out():
    model = minibp.mlp([3, 4, 2], "tanh", "sigmoid", seed=7)
    x, y = _sample(model, "squared")
    sgd = trace(model, x, y, "squared", minibp.SGD(lr=0.3))
    adam = trace(model, x, y, "squared", minibp.Adam(lr=0.01))
    for plain, adaptive in zip(sgd.layers, adam.layers):
        for p, q in zip(plain.parameters, adaptive.parameters):
            g = p.gradient
            assert p.updated == pytest.approx(p.value - 0.3 * g, rel=TOL, abs=TOL)
            # Adam's first step: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps)
            assert q.updated == pytest.approx(p.value - 0.01 * g / (abs(g) + 1e-8), rel=1e-9)
    assert sgd.loss_after < sgd.loss_total
    assert trace(model, x, y, "squared").layers[0].parameters[0].updated is None


# -- check(): a learner's sanity check that can fail ------------------------------------------
def test_check_passes_on_a_real_trace_and_names_what_was_tampered(chapter_trace):
    report = chapter_trace.check()
    assert report and report.passed and "passed" in str(report)
    tampered = copy.deepcopy(chapter_trace)
    tampered.layers[1].parameters[0].gradient *= 1.001           # dE/dw5
    tampered.layers[0].neurons[0].dE_dout += 1e-6                  # dE/dout_h1
    report = tampered.check()
    assert not report and not report.passed
    text = str(report)
    assert "FAILED" in text and "dE/dw5:" in text and "dE/dout_h1:" in text
    assert "model[1].dW[0, 0]" in text


def test_check_catches_a_wrong_factor_too(chapter_trace):
    tampered = copy.deepcopy(chapter_trace)
    tampered.layers[1].neurons[1].dout_dnet = 0.25                # dout_o2/dnet_o2
    failures = tampered.check().failures
    assert any(f.startswith("dE/dnet_o2:") for f in failures)
    assert any(f.startswith("dE/dw7:") for f in failures)


# -- plain data, names, refusals --------------------------------------------------------------
def _plain(value) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or type(value) in (float, int, str, bool)


def test_to_dict_is_plain_and_round_trips_through_json(chapter_trace):
    data = chapter_trace.to_dict()
    assert _plain(data)
    assert json.loads(json.dumps(data)) == data
    again = Trace.from_dict(json.loads(chapter_trace.to_json()))
    assert again.to_dict() == data and str(again) == str(chapter_trace)
    assert again.check()


@pytest.mark.parametrize(("sizes", "notation"), [
    ([2, 2, 2], "chapter"), ([4, 4, 4], "chapter"), ([3, 1], "chapter"),
    ([5, 2], "index"), ([2, 5, 2], "index"), ([2, 2, 2, 2], "index"), ([10, 8, 3], "index"),
])
def test_the_chapter_s_names_for_small_networks_indices_beyond(sizes, notation):
    model = minibp.mlp(sizes, "sigmoid", "sigmoid", seed=0)
    traced = trace(model, np.full(sizes[0], 0.5), np.full(sizes[-1], 0.5), "squared", "sgd")
    values = traced.values()
    assert traced.notation == notation
    last = len(sizes) - 2
    if notation == "chapter":
        assert "w1" in values and "dE/dw1" in values and "w1+" in values
        assert f"out_o{sizes[-1]}" in values and "E_o1" in values
    else:
        place = f"model[{last}].W[0, 1]"
        assert values[place] == model[last].W[0, 1]
        assert f"dE/d{place}" in values and f"{place}+" in values
        assert f"model[{last}].Z[0, 0]" in values and "E[0, 0]" in values
        assert place in str(traced) and "w1" not in values


def test_a_large_network_is_cut_short_in_text_but_whole_in_data():
    model = minibp.mlp([40, 12, 3], "relu", "sigmoid", seed=0)
    traced = trace(model, np.linspace(-1, 1, 40), [0.0, 1.0, 0.5], "squared")
    assert "more parameters of model[0][0]" in str(traced)
    assert "more" not in traced.text(limit=None)
    assert len(traced.layers[0].parameters) == 40 * 12 + 12
    assert "model[0].W[11, 39]" in traced.values()


def test_a_model_it_cannot_trace_is_refused_with_a_reason():
    model = minibp.mlp([2, 3, 1], seed=0)
    with pytest.raises(ValueError, match=r"one sample x of shape \(2,\) or \(1, 2\), got \(4, 2\)"):
        trace(model, np.zeros((4, 2)), np.zeros((4, 1)), "squared")
    with pytest.raises(TypeError, match="Sequential"):
        trace(list(model), [0.1, 0.2], [0.5], "squared")
    with pytest.raises(TypeError, match=r"model\[0\] Tanh\(\) comes before any Dense"):
        trace(Sequential(Tanh(), Dense(2, 1)), [0.1, 0.2], [0.5], "squared")
