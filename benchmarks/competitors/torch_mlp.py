"""PyTorch for W3/W4 as its tutorials write it: nn.Sequential, CrossEntropyLoss, optim.SGD
(optim.Adam with optimizer="adam", the torch_mlp_adam competitor).

Linear + Sigmoid hidden layers and a Linear output, in the workload's dtype, weights copied
in from the workload (nn.Linear's weight is (out, in), like minibp's W). The data become
tensors in prepare, outside the timing (sharing the arrays' memory: nothing writes to them);
each step indexes its batch out of them with the same permutation as everyone's.
torch.set_num_threads(n) with n the CPUs this process may use, the thread count NumPy's
BLAS takes by default.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from benchmarks.competitors import Runner
from benchmarks.competitors.torch_sgd import _torch, make_optimizer


def build(torch, workload, optimizer: str = "sgd"):
    """(model, optimizer) with the workload's initial weights, in its dtype."""
    dtype = getattr(torch, workload.dtype)
    modules = []
    for i, layer in enumerate(workload.layers):
        out_features, in_features = layer.W.shape
        linear = torch.nn.Linear(in_features, out_features, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.W))
            linear.bias.copy_(torch.from_numpy(layer.b))
        modules.append(linear)
        if i < len(workload.layers) - 1:
            modules.append(torch.nn.Sigmoid())
    model = torch.nn.Sequential(*modules)
    return model, make_optimizer(torch, model.parameters(), workload, optimizer)


def train(torch, model, optimizer, X, y, batch_size, order) -> None:
    """One epoch of minibatch steps over the rows of X in `order` (a tensor of indices)."""
    loss_function = torch.nn.CrossEntropyLoss()
    for start in range(0, X.shape[0], batch_size):
        rows = order[start:start + batch_size]
        optimizer.zero_grad()
        loss = loss_function(model(X[rows]), y[rows])
        loss.backward()
        optimizer.step()


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def prepare(workload, optimizer: str = "sgd") -> Runner:
    torch = _torch()
    torch.set_num_threads(usable_cpus())
    with warnings.catch_warnings():    # the arrays are read-only; torch would warn of it
        warnings.simplefilter("ignore", UserWarning)
        X, y = (torch.from_numpy(a) for a in workload.data())
    state = {}

    def reset():
        state["model"], state["optimizer"] = build(torch, workload, optimizer)

    def run():
        order = torch.from_numpy(np.random.default_rng(workload.seed).permutation(len(X)))
        train(torch, state["model"], state["optimizer"], X, y, workload.batch_size, order)

    def weights():
        return [p.detach().numpy().copy() for p in state["model"].parameters()]

    return Runner(reset, run, weights)
