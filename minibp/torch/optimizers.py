"""An optimizer and its state across the bridge: minibp's SGD, Adam and AdamW are
torch.optim's rules (minibp.optim), so settings and state arrays copy across one to one.

    minibp                                  torch
    SGD(lr, momentum, nesterov=, weight_decay=)    SGD(..., dampening=0), state momentum_buffer
    Adam / AdamW(lr, betas, eps, weight_decay)      Adam / AdamW (amsgrad off), state exp_avg,
    optimizer.steps (one count for all)             exp_avg_sq and step (a count per parameter)

Parameters pair up layer by layer: the i-th Dense's W and b with the i-th Linear's weight and
bias (a Linear without bias pairs with the frozen zero b that from_torch made). What has no
exact counterpart is refused rather than approximated: a learning-rate schedule, minibp's
l2, torch's dampening, maximize, amsgrad, several parameter groups, and Adam step counts
that differ between parameters.
"""

from __future__ import annotations

import numpy as np
import torch

from minibp.errors import shown
from minibp.model import Sequential
from minibp.nn import Dense
from minibp.optim import SGD, Adam, AdamW

TORCH_OPTIMIZERS = {SGD: torch.optim.SGD, Adam: torch.optim.Adam, AdamW: torch.optim.AdamW}


def to_torch_optimizer(optimizer, model: Sequential,
                       torch_module: torch.nn.Module) -> torch.optim.Optimizer:
    """A torch.optim optimizer over ``torch_module``'s parameters (made by to_torch(model))
    with ``optimizer``'s settings and state, so torch's next step is the one minibp would
    have taken. lr is optimizer.lr * lr_scale; a schedule is refused (set one up with
    torch.optim.lr_scheduler instead), and so is a non-zero l2."""
    who = "to_torch_optimizer"
    kind = type(optimizer)
    if kind not in TORCH_OPTIMIZERS:
        raise TypeError(f"{who}: optimizer must be minibp's SGD, Adam or AdamW, got "
                        f"{shown(optimizer)}")
    if callable(optimizer.lr):
        raise ValueError(f"{who}: {optimizer!r} has a learning-rate schedule, which cannot "
                         "cross; give minibp a constant lr and schedule torch's with "
                         "torch.optim.lr_scheduler")
    if optimizer.l2:
        raise ValueError(f"{who}: l2={optimizer.l2!r} (scikit-learn's alpha) has no torch "
                         "counterpart; use l2=0, or weight_decay")
    pairs = _paired(model, torch_module, who)
    lr = optimizer.lr * optimizer.lr_scale  # the product minibp's next step computes
    if kind is SGD:
        theirs = torch.optim.SGD(torch_module.parameters(), lr=lr, momentum=optimizer.momentum,
                                 nesterov=optimizer.nesterov,
                                 weight_decay=optimizer.weight_decay)
    else:
        theirs = TORCH_OPTIMIZERS[kind](torch_module.parameters(), lr=lr, betas=optimizer.betas,
                                        eps=optimizer.eps, weight_decay=optimizer.weight_decay)
    for p, tensor in pairs:
        if tensor is not None:
            _state_to_torch(optimizer, p, theirs.state[tensor])
    return theirs


def from_torch_optimizer(torch_optimizer: torch.optim.Optimizer, torch_module: torch.nn.Module,
                         model: Sequential):
    """A minibp SGD, Adam or AdamW over ``model``'s parameters (made by
    from_torch(torch_module)) with ``torch_optimizer``'s settings and state, so minibp's
    next step is the one torch would have taken. The optimizer must hold every trainable
    parameter of the module, in one parameter group."""
    who = "from_torch_optimizer"
    group = _single_group(torch_optimizer, who)
    pairs = _paired(model, torch_module, who)
    _check_membership(group, pairs, who)
    ours = _minibp_optimizer(torch_optimizer, group, who)
    states = {id(t): torch_optimizer.state.get(t, {}) for _, t in pairs if t is not None}
    if isinstance(ours, Adam):
        ours.steps = _adam_steps(pairs, states, who)
    for p, tensor in pairs:
        state = {} if tensor is None else states[id(tensor)]
        for name in ours.state_names:
            if state.get(name) is not None:
                ours.state(p)[name][...] = state[name].numpy(force=True)
    return ours


# -- minibp -> torch -----------------------------------------------------------------------
def _state_to_torch(optimizer, p, state: dict) -> None:
    """Fill torch's state of one parameter from minibp's. minibp's SGD buffer starts at zero
    (so its first buffer is the gradient, torch's first), and Adam counts steps for all
    parameters at once: every parameter gets step = optimizer.steps, with zero moments
    where minibp has none yet, which is what minibp's next step would use."""
    held = optimizer.state(p) if optimizer.has_state(p) else None
    if isinstance(optimizer, SGD):
        if held is not None and optimizer.momentum:
            state["momentum_buffer"] = torch.from_numpy(held["momentum_buffer"].copy())
        return
    if optimizer.steps == 0:
        return  # torch makes zeros and step 0 on its first step, as minibp would
    for name in ("exp_avg", "exp_avg_sq"):
        values = held[name] if held is not None else np.zeros_like(p.value)
        state[name] = torch.from_numpy(values.copy())
    scalar = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
    state["step"] = torch.tensor(float(optimizer.steps), dtype=scalar)  # torch's own type


# -- torch -> minibp -----------------------------------------------------------------------
def _single_group(torch_optimizer, who: str) -> dict:
    if not isinstance(torch_optimizer, torch.optim.Optimizer):
        raise TypeError(f"{who}: torch_optimizer must be a torch.optim.Optimizer, got "
                        f"{shown(torch_optimizer)}")
    groups = torch_optimizer.param_groups
    if len(groups) != 1:
        raise ValueError(f"{who}: minibp's optimizers have one set of settings for every "
                         f"parameter; {type(torch_optimizer).__name__} has {len(groups)} "
                         "parameter groups")
    return groups[0]


def _minibp_optimizer(torch_optimizer, group: dict, who: str):
    """minibp's optimizer with the group's settings; what minibp lacks is refused."""
    kind = type(torch_optimizer)
    name = kind.__name__
    lr = float(group["lr"])
    unsupported = {"maximize": group.get("maximize", False)}
    if kind is torch.optim.SGD:
        unsupported["dampening"] = group["dampening"]
    elif kind in (torch.optim.Adam, torch.optim.AdamW):
        unsupported["amsgrad"] = group["amsgrad"]
    else:
        raise TypeError(f"{who}: minibp has torch.optim.SGD, Adam and AdamW only, got {name}")
    for setting, value in unsupported.items():
        if value:
            raise ValueError(f"{who}: {name} with {setting}={value!r} has no minibp "
                             f"counterpart; minibp's {name} has {setting} off")
    if kind is torch.optim.SGD:
        return SGD(lr, float(group["momentum"]), nesterov=bool(group["nesterov"]),
                   weight_decay=float(group["weight_decay"]))
    betas = tuple(float(beta) for beta in group["betas"])
    decoupled = group.get("decoupled_weight_decay", kind is torch.optim.AdamW)
    return (AdamW if decoupled else Adam)(lr, betas, float(group["eps"]),
                                          float(group["weight_decay"]))


def _adam_steps(pairs, states: dict, who: str) -> int:
    """The one step count minibp's Adam needs: torch's per-parameter counts must agree, and
    a trainable parameter without state is refused once others have stepped (torch would
    start its count at 1, minibp continues the common one)."""
    counts = {name: int(state["step"]) for name, state in _named_states(pairs, states)
              if "step" in state}
    if len(set(counts.values())) > 1:
        raise ValueError(f"{who}: torch's Adam counted different steps per parameter "
                         f"({counts}); minibp's counts one for all, so this state cannot "
                         "cross exactly")
    steps = next(iter(counts.values()), 0)
    missing = [p.name for p, t in pairs if t is not None and t.requires_grad
               and "step" not in states[id(t)]]
    if steps and missing:
        raise ValueError(f"{who}: {', '.join(missing)} has no Adam state while the others "
                         f"are at step {steps}; torch would restart its count at 1 and "
                         "minibp would not, so this state cannot cross exactly")
    return steps


def _named_states(pairs, states: dict):
    return [(p.name, states[id(t)]) for p, t in pairs if t is not None]


def _check_membership(group: dict, pairs, who: str) -> None:
    """Every trainable parameter of the module in the group, and nothing else."""
    held = {id(t) for t in group["params"]}
    ours = {id(t) for _, t in pairs if t is not None}
    left_out = [p.name for p, t in pairs if t is not None and t.requires_grad
                and id(t) not in held]
    if left_out:
        raise ValueError(f"{who}: the torch optimizer does not hold {', '.join(left_out)} "
                         "(their torch tensors), so torch never updates them and minibp "
                         "would; freeze them (requires_grad_(False)) or give the optimizer "
                         "all of torch_module.parameters()")
    if held - ours:
        raise ValueError(f"{who}: the torch optimizer holds {len(held - ours)} tensor(s) "
                         "that are not parameters of torch_module")


# -- pairing -------------------------------------------------------------------------------
def _paired(model: Sequential, torch_module: torch.nn.Module, who: str) -> list:
    """[(minibp Parameter, torch tensor or None)] in model.parameters() order: the i-th
    Dense's W and b with the i-th Linear's weight and bias (None for a missing bias)."""
    if not isinstance(model, Sequential):
        raise TypeError(f"{who}: model must be a minibp.Sequential, got {shown(model)}")
    if not isinstance(torch_module, torch.nn.Module):
        raise TypeError(f"{who}: torch_module must be a torch.nn.Module, got "
                        f"{shown(torch_module)}")
    others = [f"model[{i}] {layer!r}" for i, layer in enumerate(model.layers)
              if type(layer) is not Dense and layer.parameters()]
    if others:
        raise TypeError(f"{who}: only Dense layers' parameters cross; got {others[0]}")
    linears = [m for m in torch_module.modules() if type(m) is torch.nn.Linear]
    denses = [layer for layer in model.layers if type(layer) is Dense]
    if len(linears) != len(denses):
        raise ValueError(f"{who}: model has {len(denses)} Dense layers, torch_module "
                         f"{len(linears)} Linear modules; convert one into the other first")
    tensors = [t for linear in linears for t in (linear.weight, linear.bias)]
    pairs = list(zip(model.parameters(), tensors))
    for p, tensor in pairs:
        if tensor is not None and tuple(tensor.shape) != p.value.shape:
            raise ValueError(f"{who}: {p.name} has shape {p.value.shape}, its torch "
                             f"counterpart {tuple(tensor.shape)}; the two models differ")
    return pairs
