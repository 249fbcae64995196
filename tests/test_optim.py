"""minibp.optim: SGD with and without momentum.

References: the update rules as plain Python float loops, and (when torch is installed)
torch.optim.SGD on the same network in float64.
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
    pytest.param({"lr": "fast"}, TypeError, "lr must be a number, got 'fast'", id="lr-word"),
    pytest.param({"lr": None}, TypeError, "lr must be a number, got None", id="lr-None"),
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


def test_repr():
    assert repr(SGD(lr=0.5)) == "SGD(lr=0.5)"
    assert repr(SGD(lr=0.5, momentum=0.9)) == "SGD(lr=0.5, momentum=0.9)"


# -- against PyTorch --------------------------------------------------------------------------
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
