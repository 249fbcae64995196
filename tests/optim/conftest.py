"""Shared by the optimizer tests: drive one of ours and one of torch.optim's with the same
gradients for many steps, and report how far their weights drifted apart.

The gradient of step k is h * (p - c) + noise[k] (a random quadratic bowl plus noise), made
from each side's own weights with elementwise products and sums only, which are exact IEEE
operations in NumPy and torch alike: any difference comes from the optimizers themselves.
"""

from __future__ import annotations

import numpy as np
import pytest

from minibp import Parameter

SHAPES = ((4, 3), (4,), (2, 4), (2,))


def drift_from_torch(optimizer, make_torch, *, steps: int = 100, seed: int = 0,
                     frozen: tuple[int, ...] = ()) -> float:
    """max |ours - torch| / max |torch| over all weights after ``steps`` updates.

    ``make_torch(params)`` returns a torch optimizer, or (optimizer, lr scheduler) to step
    the scheduler once after each update. Parameters whose index is in ``frozen`` are frozen
    here and given no gradient there (torch skips those).
    """
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    start = [rng.normal(size=s) for s in SHAPES]
    h = [rng.uniform(0.5, 2.0, size=s) for s in SHAPES]
    c = [rng.normal(size=s) for s in SHAPES]
    noise = [[rng.normal(scale=0.3, size=s) for s in SHAPES] for _ in range(steps)]
    ours = [Parameter(f"p{i}", v.copy(), np.zeros_like(v), frozen=i in frozen)
            for i, v in enumerate(start)]
    theirs = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in start]
    made = make_torch(theirs)
    torch_optimizer, scheduler = made if isinstance(made, tuple) else (made, None)
    for k in range(steps):
        for i, (p, t) in enumerate(zip(ours, theirs)):
            p.grad[...] = h[i] * (p.value - c[i]) + noise[k][i]
            if i not in frozen:
                t.grad = torch.from_numpy(h[i]) * (t.detach() - torch.from_numpy(c[i])) + \
                    torch.from_numpy(noise[k][i])
        optimizer.step(ours)
        torch_optimizer.step()
        if scheduler is not None:
            scheduler.step()
    return max(float(np.max(np.abs(p.value - t.detach().numpy())))
               / float(np.max(np.abs(t.detach().numpy()))) for p, t in zip(ours, theirs))


@pytest.fixture
def torch_drift():
    """drift_from_torch, for the tests of each optimizer."""
    return drift_from_torch
