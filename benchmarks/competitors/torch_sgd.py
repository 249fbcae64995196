"""PyTorch as its tutorials write it: nn.Sequential, autograd, optim.SGD, one row per step.

float64 throughout, weights copied in from the workload (nn.Linear's weight is (out, in),
like minibp's W). Frozen biases get requires_grad=False and stay out of the optimizer.
With optimizer="adam" (the torch_adam competitor) the same with
``optim.Adam(lr=workload.adam_lr)``, torch's defaults otherwise; with optimizer="momentum"
(torch_momentum, W1/W2) ``optim.SGD(lr=workload.momentum_lr, momentum=workload.momentum)``.
"""

from __future__ import annotations

import numpy as np

from benchmarks.competitors import Runner, UnavailableError


def _torch():
    try:
        import torch
    except ImportError:
        raise UnavailableError("torch is not installed (pip install -e '.[bench]')") from None
    return torch


def make_optimizer(torch, parameters, workload, optimizer: str = "sgd"):
    """optim.SGD(lr=workload.lr), the same with momentum (workload.momentum_lr,
    workload.momentum) or optim.Adam(lr=workload.adam_lr) over `parameters`."""
    if optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=workload.lr)
    if optimizer == "momentum":
        return torch.optim.SGD(parameters, lr=workload.momentum_lr, momentum=workload.momentum)
    if optimizer == "adam":
        return torch.optim.Adam(parameters, lr=workload.adam_lr)
    raise ValueError("torch competitor: optimizer must be 'sgd', 'momentum' or 'adam', got "
                     f"{optimizer!r}")


def build(torch, workload, optimizer: str = "sgd"):
    """(model, optimizer) with the workload's initial weights."""
    modules = []
    for layer in workload.layers:
        out_features, in_features = layer.W.shape
        linear = torch.nn.Linear(in_features, out_features, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.W))
            linear.bias.copy_(torch.from_numpy(layer.b))
        linear.bias.requires_grad_(layer.train_bias)
        modules += [linear, torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*modules)
    trainable = [p for p in model.parameters() if p.requires_grad]
    return model, make_optimizer(torch, trainable, workload, optimizer)


def train(model, optimizer, X, Y, epochs, shuffle, seed) -> None:
    rng = np.random.default_rng(seed) if shuffle else None
    n = X.shape[0]
    for _ in range(epochs):
        order = rng.permutation(n).tolist() if shuffle else range(n)
        for i in order:
            optimizer.zero_grad()
            pred = model(X[i:i + 1])
            loss = 0.5 * ((pred - Y[i:i + 1]) ** 2).sum(dim=1).mean()
            loss.backward()
            optimizer.step()


def prepare(workload, optimizer: str = "sgd") -> Runner:
    torch = _torch()
    X, Y = torch.from_numpy(workload.X), torch.from_numpy(workload.Y)
    state = {}

    def reset():
        state["model"], state["optimizer"] = build(torch, workload, optimizer)

    def run():
        train(state["model"], state["optimizer"], X, Y, workload.epochs, workload.shuffle,
              workload.seed)

    def weights():
        return [p.detach().numpy().copy() for p in state["model"].parameters()]

    return Runner(reset, run, weights)
