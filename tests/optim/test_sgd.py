"""minibp.optim.sgd: SGD with momentum, Nesterov momentum and weight decay.

References: the update rules as plain Python float loops, and (when torch is installed)
torch.optim.SGD driven by the same gradients for 100 steps, and on the same network in
float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import minibp
from minibp import SGD, Dense, Parameter, Sequential


def parameter(seed: int, shape=(2, 3), frozen: bool = False) -> Parameter:
    rng = np.random.default_rng(seed)
    return Parameter("W", rng.normal(size=shape), rng.normal(size=shape), frozen)


def loop_momentum(values, gradients, lr, mu):
    """PyTorch's rule in plain floats: v = mu * v + g; p = p - lr * v, v starting at 0."""
    p = list(values)
    v = [0.0] * len(p)
    for g in gradients:
        for i in range(len(p)):
            v[i] = mu * v[i] + g[i]
            p[i] = p[i] - lr * v[i]
    return p, v


def test_plain_update_is_p_minus_lr_g():
    p = parameter(0)
    before, g = p.value.ravel().tolist(), p.grad.ravel().tolist()
    SGD(lr=0.3).step([p])
    assert p.value.ravel().tolist() == [x - 0.3 * d for x, d in zip(before, g)]


def test_update_is_in_place():
    p = parameter(1)
    array = p.value
    SGD(lr=0.1).step([p])
    SGD(lr=0.1, momentum=0.5).step([p])
    assert p.value is array


@pytest.mark.parametrize("mu", [0.5, 0.9], ids=["mu0.5", "mu0.9"])
def test_momentum_over_several_steps_matches_loop(mu):
    lr, steps = 0.05, 6
    p = parameter(2)
    start = p.value.ravel().tolist()
    rng = np.random.default_rng(3)
    gradients = [rng.normal(size=p.value.shape) for _ in range(steps)]
    optimizer = SGD(lr=lr, momentum=mu)
    for g in gradients:
        p.grad[...] = g  # a backward overwrites the gradient in place
        optimizer.step([p])
    expected_p, expected_v = loop_momentum(start, [g.ravel().tolist() for g in gradients], lr, mu)
    assert p.value.ravel().tolist() == expected_p
    assert optimizer.velocity(p).ravel().tolist() == expected_v


def test_velocity_is_per_parameter_and_starts_at_zero():
    a, b = parameter(4), parameter(5, shape=(3,))
    optimizer = SGD(lr=0.1, momentum=0.9)
    assert optimizer.velocity(a).tolist() == np.zeros((2, 3)).tolist()
    optimizer.step([a, b])
    assert optimizer.velocity(a).tolist() == a.grad.tolist()  # 0.9 * 0 + g
    assert optimizer.velocity(b).tolist() == b.grad.tolist()


@pytest.mark.parametrize("mu", [0.0, 0.9], ids=["plain", "momentum"])
def test_frozen_parameters_keep_value_and_velocity(mu):
    p, q = parameter(6), parameter(7)
    optimizer = SGD(lr=0.1, momentum=mu)
    optimizer.step([p, q])  # a first update, so the velocity is not zero
    value, velocity = p.value.copy(), optimizer.velocity(p).copy()
    frozen = Parameter(p.name, p.value, p.grad, frozen=True)
    q_before = q.value.copy()
    optimizer.step([frozen, q])
    assert np.array_equal(p.value, value)
    assert np.array_equal(optimizer.velocity(p), velocity)
    assert not np.array_equal(q.value, q_before)  # the others still move


def test_frozen_layer_parameter_untouched_through_a_layer():
    layer = Dense(3, 2, seed=0).freeze("b")
    layer.b[...] = [0.5, -0.5]
    layer.forward(np.ones((4, 3)))
    layer.backward(np.random.default_rng(8).normal(size=(4, 2)))
    W_before = layer.W.copy()
    SGD(lr=0.1, momentum=0.9).step(layer.parameters())
    assert layer.b.tolist() == [0.5, -0.5]
    assert not np.array_equal(layer.W, W_before)


def test_zero_lr_and_zero_momentum_are_allowed():
    p = parameter(9)
    before = p.value.copy()
    SGD(lr=0.0, momentum=0.0).step([p])
    assert np.array_equal(p.value, before)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    pytest.param({"lr": -0.1}, ValueError, r"lr must be a finite number >= 0, got -0.1",
                 id="lr-negative"),
    pytest.param({"lr": float("nan")}, ValueError, "lr must be a finite", id="lr-nan"),
    pytest.param({"lr": float("inf")}, ValueError, "lr must be a finite", id="lr-inf"),
    pytest.param({"momentum": 1.0}, ValueError,
                 "SGD: momentum must be a finite number >= 0 and < 1, got 1.0", id="momentum-one"),
    pytest.param({"momentum": 1.5}, ValueError,
                 "momentum must be a finite number >= 0 and < 1, got 1.5", id="momentum-1.5"),
    pytest.param({"momentum": -0.5}, ValueError, "momentum must be a finite number >= 0",
                 id="momentum-negative"),
    pytest.param({"lr": "fast"}, TypeError, "lr must be a number or a schedule", id="lr-word"),
    pytest.param({"lr": None}, TypeError, "lr must be a number or a schedule", id="lr-None"),
    pytest.param({"momentum": [0.9]}, TypeError, "momentum must be a number",
                 id="momentum-list"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        SGD(**kwargs)


@pytest.mark.parametrize("kwargs", [{"lr": "0.1"}, {"lr": True}, {"momentum": "0.9"}],
                         ids=["lr-string", "lr-bool", "momentum-string"])
def test_non_number_kinds_are_type_error(kwargs):
    with pytest.raises(TypeError):
        SGD(**kwargs)


def loop_sgd(values, gradients, lr, mu=0.0, nesterov=False, weight_decay=0.0):
    """torch.optim.SGD's rule (dampening 0) in plain floats, one entry at a time."""
    p = list(values)
    buf = [0.0] * len(p)
    for g in gradients:
        for i in range(len(p)):
            d = g[i] + weight_decay * p[i]
            if mu:
                buf[i] = mu * buf[i] + d
                d = d + mu * buf[i] if nesterov else buf[i]
            p[i] = p[i] - lr * d
    return p, buf


@pytest.mark.parametrize(("mu", "nesterov", "weight_decay"), [
    (0.0, False, 0.1), (0.9, True, 0.0), (0.5, True, 0.2), (0.9, False, 0.05),
], ids=["decay", "nesterov", "nesterov-decay", "momentum-decay"])
def test_nesterov_and_weight_decay_match_loop(mu, nesterov, weight_decay):
    lr, steps = 0.05, 7
    p = parameter(11, shape=(3, 2))
    start = p.value.ravel().tolist()
    rng = np.random.default_rng(12)
    gradients = [rng.normal(size=p.value.shape) for _ in range(steps)]
    optimizer = SGD(lr, mu, nesterov=nesterov, weight_decay=weight_decay)
    for g in gradients:
        p.grad[...] = g
        optimizer.step([p])
    expected_p, expected_buf = loop_sgd(start, [g.ravel().tolist() for g in gradients], lr, mu,
                                        nesterov, weight_decay)
    assert p.value.ravel().tolist() == pytest.approx(expected_p, rel=1e-14, abs=1e-15)
    if mu:
        assert optimizer.state(p)["momentum_buffer"].ravel().tolist() == pytest.approx(
            expected_buf, rel=1e-14, abs=1e-15)
    assert optimizer.steps == steps


def test_state_names_follow_momentum():
    p = parameter(13)
    assert SGD(0.1).state_names == ()
    assert SGD(0.1).state(p) == {}
    optimizer = SGD(0.1, momentum=0.9)
    assert optimizer.state_names == ("momentum_buffer",)
    assert optimizer.state(p)["momentum_buffer"] is optimizer.velocity(p)


def test_frozen_parameter_gets_no_state_and_weight_decay_leaves_it_alone():
    p, frozen = parameter(14), parameter(15, frozen=True)
    before = frozen.value.copy()
    optimizer = SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.5)
    for _ in range(3):
        optimizer.step([p, frozen])
    assert np.array_equal(frozen.value, before)
    assert optimizer.has_state(p) and not optimizer.has_state(frozen)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"nesterov": True}, ValueError,
     "SGD: nesterov=True needs momentum > 0, got momentum=0.0; pass e.g. momentum=0.9"),
    ({"momentum": 0.9, "nesterov": "yes"}, TypeError,
     "SGD: nesterov must be True or False, got 'yes'"),
    ({"weight_decay": -1}, ValueError,
     "SGD: weight_decay must be a finite number >= 0, got -1.0"),
    ({"l2": -0.1}, ValueError, "SGD: l2 must be a finite number >= 0, got -0.1"),
    ({"lr": -0.1}, ValueError, "SGD: lr must be a finite number >= 0, got -0.1"),
    ({"lr": "fast"}, TypeError,
     "SGD: lr must be a number or a schedule (a callable step -> lr), got 'fast'"),
    ({"momentum": 1.0}, ValueError, "SGD: momentum must be a finite number >= 0 and < 1, got 1.0"),
], ids=["nesterov-without-momentum", "nesterov-word", "weight-decay", "l2", "lr", "lr-word",
        "momentum"])
def test_invalid_settings_exact_messages(kwargs, error, message):
    with pytest.raises(error) as caught:
        SGD(**kwargs)
    assert str(caught.value) == message


def test_repr_shows_only_settings_that_differ():
    assert repr(SGD()) == "SGD(lr=0.01)"
    assert repr(SGD(lr=0.5, momentum=0.9)) == "SGD(lr=0.5, momentum=0.9)"
    assert repr(SGD(lr=0.1, momentum=0.9, nesterov=True)) == \
        "SGD(lr=0.1, momentum=0.9, nesterov=True)"
    assert repr(SGD(0.1, weight_decay=1e-4, l2=0.5)) == "SGD(lr=0.1, weight_decay=0.0001, l2=0.5)"


# -- against PyTorch --------------------------------------------------------------------------
@pytest.mark.parametrize(("mu", "nesterov", "weight_decay"), [
    (0.0, False, 0.0), (0.9, False, 0.0), (0.9, True, 0.0), (0.0, False, 0.01),
    (0.8, False, 0.01), (0.9, True, 0.05),
], ids=["plain", "momentum", "nesterov", "decay", "momentum-decay", "nesterov-decay"])
def test_100_steps_match_torch(torch_drift, mu, nesterov, weight_decay):
    torch = pytest.importorskip("torch")
    optimizer = SGD(0.05, mu, nesterov=nesterov, weight_decay=weight_decay)
    drift = torch_drift(optimizer, lambda params: torch.optim.SGD(
        params, lr=0.05, momentum=mu, nesterov=nesterov, weight_decay=weight_decay))
    assert drift <= 1e-12


def test_frozen_parameter_matches_torch_skipping_it(torch_drift):
    torch = pytest.importorskip("torch")
    optimizer = SGD(0.05, 0.9, nesterov=True)
    drift = torch_drift(optimizer, lambda params: torch.optim.SGD(
        params, lr=0.05, momentum=0.9, nesterov=True), frozen=(1,))
    assert drift <= 1e-12


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_momentum_sgd_matches_torch(engine):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    model = Sequential(Dense(3, 4, "tanh", seed=1), Dense(4, 2, "sigmoid", seed=2,
                                                         init="uniform01"))
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2),
                              torch.nn.Sigmoid()).double()
    with torch.no_grad():
        for linear, layer in zip((net[0], net[2]), model):
            linear.weight.copy_(torch.from_numpy(layer.W))  # both (out, in)
            linear.bias.copy_(torch.from_numpy(layer.b))
    optimizer = SGD(lr=0.5, momentum=0.9)
    torch_optimizer = torch.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
    for _ in range(5):
        X, Y = rng.normal(size=(6, 3)), rng.uniform(size=(6, 2))
        value = model.train_step(X, Y, minibp.MSE(), optimizer, engine=engine)
        torch_optimizer.zero_grad()
        torch_loss = torch.nn.functional.mse_loss(net(torch.from_numpy(X)), torch.from_numpy(Y))
        torch_loss.backward()
        torch_optimizer.step()
        assert value == pytest.approx(torch_loss.item(), rel=1e-12, abs=1e-12)
        for linear, layer in zip((net[0], net[2]), model):
            np.testing.assert_allclose(layer.W, linear.weight.detach().numpy(), rtol=1e-12,
                                       atol=1e-12)
            np.testing.assert_allclose(layer.b, linear.bias.detach().numpy(), rtol=1e-12,
                                       atol=1e-12)
