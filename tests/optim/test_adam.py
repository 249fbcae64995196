"""minibp.optim.adam: Adam and AdamW.

References: the textbook update (Kingma and Ba; Loshchilov and Hutter for AdamW) as a plain
Python loop with the math module, bias-corrected moments written out; torch.optim.Adam and
torch.optim.AdamW driven by the same gradients for 100 steps; and a whole fit on the NumPy
engine against torch training the same network on the same batches.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import minibp
from minibp import MSE, Adam, AdamW, Parameter


def parameter(seed: int, shape=(2, 3), frozen: bool = False) -> Parameter:
    rng = np.random.default_rng(seed)
    return Parameter("W", rng.normal(size=shape), np.zeros(shape), frozen)


def loop_adam(values, gradients, lr, b1, b2, eps, weight_decay=0.0, decoupled=False):
    """The papers' algorithm with bias-corrected m_hat and v_hat, in plain floats."""
    p = list(values)
    m, v = [0.0] * len(p), [0.0] * len(p)
    for t, g in enumerate(gradients, start=1):
        for i in range(len(p)):
            d = g[i]
            if decoupled:
                p[i] = p[i] - lr * weight_decay * p[i]
            else:
                d = d + weight_decay * p[i]
            m[i] = b1 * m[i] + (1 - b1) * d
            v[i] = b2 * v[i] + (1 - b2) * d * d
            m_hat, v_hat = m[i] / (1 - b1**t), v[i] / (1 - b2**t)
            p[i] = p[i] - lr * m_hat / (math.sqrt(v_hat) + eps)
    return p, m, v


@pytest.mark.parametrize(("cls", "kwargs"), [
    (Adam, {}), (Adam, {"weight_decay": 0.1}), (AdamW, {}), (AdamW, {"weight_decay": 0.3}),
    (Adam, {"betas": (0.5, 0.9), "eps": 1e-3}), (AdamW, {"betas": (0.0, 0.0), "eps": 0.1}),
], ids=["adam", "adam-decay", "adamw", "adamw-0.3", "adam-betas-eps", "adamw-zero-betas"])
def test_several_steps_match_loop(cls, kwargs):
    lr, steps = 0.1, 8
    p = parameter(0, shape=(3, 2))
    start = p.value.ravel().tolist()
    rng = np.random.default_rng(1)
    gradients = [rng.normal(size=p.value.shape) for _ in range(steps)]
    optimizer = cls(lr, **kwargs)
    array = p.value
    for g in gradients:
        p.grad[...] = g
        optimizer.step([p])
    b1, b2 = optimizer.betas
    expected_p, expected_m, expected_v = loop_adam(
        start, [g.ravel().tolist() for g in gradients], lr, b1, b2, optimizer.eps,
        optimizer.weight_decay, decoupled=cls is AdamW)
    assert p.value is array
    assert p.value.ravel().tolist() == pytest.approx(expected_p, rel=1e-12, abs=1e-14)
    state = optimizer.state(p)
    assert state["exp_avg"].ravel().tolist() == pytest.approx(expected_m, rel=1e-12, abs=1e-14)
    assert state["exp_avg_sq"].ravel().tolist() == pytest.approx(expected_v, rel=1e-12)


def test_first_step_moves_each_weight_by_lr_against_its_gradient_sign():
    """At t = 1, m_hat = g and v_hat = g**2, so the step is lr * g / (|g| + eps)."""
    p = parameter(2)
    p.value[...] = 0.0  # so p.value is the step itself, with no cancellation
    p.grad[...] = [[3.0, -0.5, 1e-3], [-2.0, 4.0, -7.0]]
    Adam(0.01, eps=0.0).step([p])
    np.testing.assert_allclose(p.value, -0.01 * np.sign(p.grad), rtol=1e-15)


@pytest.mark.parametrize("cls", [Adam, AdamW])
def test_frozen_parameter_is_skipped_and_gets_no_state(cls):
    p, frozen = parameter(3), parameter(4, frozen=True)
    p.grad[...] = frozen.grad[...] = 1.0
    before = frozen.value.copy()
    optimizer = cls(0.1, weight_decay=0.5)
    for _ in range(3):
        optimizer.step([p, frozen])
    assert np.array_equal(frozen.value, before)
    assert optimizer.has_state(p) and not optimizer.has_state(frozen)
    assert optimizer.steps == 3
    assert cls.state_names == ("exp_avg", "exp_avg_sq")


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Adam(lr=-1e-3), "Adam: lr must be a finite number >= 0, got -0.001"),
    (lambda: Adam(betas=(1.0, 0.999)),
     "Adam: betas[0] must be a finite number >= 0 and < 1, got 1.0"),
    (lambda: AdamW(betas=(0.9, -0.1)),
     "AdamW: betas[1] must be a finite number >= 0 and < 1, got -0.1"),
    (lambda: Adam(eps=-1e-8), "Adam: eps must be a finite number >= 0, got -1e-08"),
    (lambda: AdamW(weight_decay=-0.01),
     "AdamW: weight_decay must be a finite number >= 0, got -0.01"),
    (lambda: Adam(l2=float("nan")), "Adam: l2 must be a finite number >= 0, got nan"),
], ids=["lr", "beta1", "beta2", "eps", "weight-decay", "l2"])
def test_invalid_values_exact_messages(make, message):
    with pytest.raises(ValueError) as caught:
        make()
    assert str(caught.value) == message


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Adam(betas=0.9), "Adam: betas must be a pair (beta1, beta2), got 0.9 (float)"),
    (lambda: Adam(betas=(0.9,)), "Adam: betas must be a pair (beta1, beta2), got (0.9,) (tuple)"),
    (lambda: Adam(betas=(0.9, "x")), "Adam: betas[1] must be a number, got 'x'"),
], ids=["number", "one", "word"])
def test_invalid_kinds_exact_messages(make, message):
    with pytest.raises(TypeError) as caught:
        make()
    assert str(caught.value) == message


def test_repr_shows_only_settings_that_differ():
    assert repr(Adam()) == "Adam(lr=0.001)"
    assert repr(AdamW()) == "AdamW(lr=0.001)"
    assert repr(AdamW(weight_decay=0.0)) == "AdamW(lr=0.001, weight_decay=0.0)"
    assert repr(Adam(0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, l2=0.5)) == \
        "Adam(lr=0.01, betas=(0.8, 0.99), eps=1e-06, weight_decay=0.1, l2=0.5)"


# -- against PyTorch --------------------------------------------------------------------------
@pytest.mark.parametrize(("cls", "kwargs"), [
    ("Adam", {}), ("Adam", {"weight_decay": 0.05}), ("Adam", {"betas": (0.5, 0.8), "eps": 1e-4}),
    ("AdamW", {}), ("AdamW", {"weight_decay": 0.2, "betas": (0.8, 0.99)}),
], ids=["adam", "adam-decay", "adam-betas", "adamw", "adamw-decay"])
def test_100_steps_match_torch(torch_drift, cls, kwargs):
    torch = pytest.importorskip("torch")
    optimizer = getattr(minibp, cls)(0.01, **kwargs)
    drift = torch_drift(optimizer, lambda params: getattr(torch.optim, cls)(
        params, lr=0.01, **kwargs))
    assert drift <= 1e-12


@pytest.mark.parametrize("cls", ["Adam", "AdamW"])
def test_frozen_parameter_matches_torch_skipping_it(torch_drift, cls):
    torch = pytest.importorskip("torch")
    drift = torch_drift(getattr(minibp, cls)(0.01, weight_decay=0.1), lambda params: getattr(
        torch.optim, cls)(params, lr=0.01, weight_decay=0.1), frozen=(0, 3))
    assert drift <= 1e-12


def torch_twin(torch, model):
    """torch Linear layers (tanh between) holding a copy of a float64 minibp mlp's weights."""
    modules = []
    for i, layer in enumerate(model):
        linear = torch.nn.Linear(layer.in_features, layer.out_features).double()
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.W))  # both (out, in)
            linear.bias.copy_(torch.from_numpy(layer.b))
        modules += [linear] + ([torch.nn.Tanh()] if i < len(model) - 1 else [])
    return torch.nn.Sequential(*modules)


@pytest.mark.parametrize(("cls", "kwargs"), [
    ("Adam", {"weight_decay": 0.01}), ("AdamW", {"weight_decay": 0.1}),
], ids=["adam", "adamw"])
def test_fit_on_numpy_engine_matches_torch_training(cls, kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))
    model = minibp.mlp([3, 6, 5, 2], "tanh", seed=6)
    net = torch_twin(torch, model)
    epochs, batch = 6, 8
    history = model.fit(X, Y, loss=MSE(), optimizer=getattr(minibp, cls)(0.02, **kwargs),
                        epochs=epochs, batch_size=batch, shuffle=False, engine="numpy")
    torch_optimizer = getattr(torch.optim, cls)(net.parameters(), lr=0.02, **kwargs)
    torch_losses = []
    for _ in range(epochs):
        total = 0.0
        for start in range(0, len(X), batch):
            torch_optimizer.zero_grad()
            value = torch.nn.functional.mse_loss(net(torch.from_numpy(X[start:start + batch])),
                                                 torch.from_numpy(Y[start:start + batch]))
            value.backward()
            torch_optimizer.step()
            total += value.item() * batch
        torch_losses.append(total / len(X))
    np.testing.assert_allclose(history["loss"], torch_losses, rtol=1e-10)
    theirs = [m for m in net if isinstance(m, torch.nn.Linear)]
    for layer, linear in zip(model, theirs):
        for ours, their in ((layer.W, linear.weight), (layer.b, linear.bias)):
            their = their.detach().numpy()
            assert np.max(np.abs(ours - their)) <= 1e-10 * np.max(np.abs(their))
