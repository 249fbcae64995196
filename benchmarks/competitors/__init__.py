"""The competitors: one module each, all with the same small protocol.

``module.prepare(workload, **options) -> Runner`` does the imports and builds the network.
Then ``runner.reset()`` puts the initial weights back (not timed), ``runner.train()`` runs the
whole workload (timed) and ``runner.weights()`` returns the final [W, b, W, b, ...] (not
timed), so the harness can check every competitor ended where the others did.
A competitor that cannot run here raises UnavailableError from prepare, with the reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field


class UnavailableError(Exception):
    """This competitor cannot run on this machine; the message says why."""


@dataclass
class Runner:
    reset: Callable[[], None]
    train: Callable[[], None]
    weights: Callable[[], list]


@dataclass(frozen=True)
class Competitor:
    """A name for the command line and the JSON, a label for the tables, where the code is."""

    name: str
    label: str
    module: str
    options: dict = field(default_factory=dict)

    def prepare(self, workload) -> Runner:
        module = importlib.import_module(f"benchmarks.competitors.{self.module}")
        return module.prepare(workload, **self.options)


BASELINE = "chapter"   # every ratio is against this one, measured in the same run
TORCH = "torch"

COMPETITORS = [
    Competitor("chapter", "chapter's pure Python (per-neuron objects)", "chapter_pure"),
    Competitor("numpy_loop", "plain NumPy loop", "numpy_loop"),
    Competitor("torch", "PyTorch autograd + optim.SGD", "torch_sgd"),
    Competitor("minibp_numpy", "minibp fit, engine='numpy'", "minibp_engines",
               {"engine": "numpy"}),
    Competitor("minibp", "minibp fit, default engine", "minibp_engines", {"engine": None}),
    Competitor("minibp_numba", "minibp fit, engine='numba'", "minibp_engines",
               {"engine": "numba"}),
    Competitor("numba_floor", "hand-written numba loop (the floor)", "numba_floor"),
]

BY_NAME = {c.name: c for c in COMPETITORS}


def select(names: list[str] | None) -> list[Competitor]:
    """The competitors named (all when None), in the table's order; unknown names refused."""
    if names is None:
        return list(COMPETITORS)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown competitor(s) {unknown}; expected some of {list(BY_NAME)}")
    return [c for c in COMPETITORS if c.name in names]
