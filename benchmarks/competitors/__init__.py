"""The competitors: one module each, all with the same small protocol.

``module.prepare(workload, **options) -> Runner`` does the imports and builds the network.
Then ``runner.reset()`` puts the initial weights back (not timed), ``runner.train()`` runs the
whole workload (timed) and ``runner.weights()`` returns the final [W, b, W, b, ...] (not
timed), so the harness can check every competitor ended where the others did (the GEMM-only
bound trains nothing and returns []).
A competitor that cannot run here raises UnavailableError from prepare, with the reason.
Each competitor names the workloads it runs: the chapter's (W1, W2), the MLP's (W3, W4),
or both; and the optimizer it trains with, "sgd", "momentum" or "adam" (the workload's lr,
momentum_lr with its momentum, or adam_lr).
A momentum or Adam competitor's module takes ``optimizer=`` in prepare; modules that run SGD
only take no optimizer argument. Its weights are held to a reference with the same optimizer
(REFERENCES: ADAM_REFERENCE, MOMENTUM_REFERENCE; MLP_ADAM_REFERENCE), its time to its SGD
twin's (sgd_twin: the same code with SGD).
The opt-in competitors (opt_in) run only when --competitors names them, so a full run's time
stays what it was: the hand-written floor and JAX's whole-run loop with momentum and Adam,
minibp and PyTorch with momentum (the speed issue's momentum and Adam targets need them).
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
    """A name for the command line and the JSON, a label for the tables, where the code is,
    the workloads it runs and the optimizer it trains them with."""

    name: str
    label: str
    module: str
    options: dict = field(default_factory=dict)
    workloads: tuple[str, ...] = ("W1", "W2")
    optimizer: str = "sgd"
    sgd_twin: str | None = None       # momentum or Adam: the same code training with SGD
    opt_in: bool = False              # runs only when --competitors names it

    def prepare(self, workload) -> Runner:
        module = importlib.import_module(f"benchmarks.competitors.{self.module}")
        if self.optimizer == "sgd":
            return module.prepare(workload, **self.options)
        return module.prepare(workload, **self.options, optimizer=self.optimizer)


BASELINE = "chapter"   # W1/W2: every ratio is against this one, measured in the same run
TORCH = "torch"
JAX = "jax_step"       # W1/W2: the "vs JAX" ratios are against this one (JAX as tutorials write it)
MLP_BASELINE = "gemm_bound"      # W3/W4: every ratio is against this one
MLP_NEEDED = "gemm_needed"       # W3/W4: and against the products a step really needs
MLP_REFERENCE = "numpy_mlp"      # W3/W4: every competitor's weights are compared with its
MLP_TORCH = "torch_mlp"
ADAM_REFERENCE = "torch_adam"    # W1/W2: every Adam competitor's weights are compared with its
MOMENTUM_REFERENCE = "torch_momentum"   # W1/W2: and every momentum competitor's with its
REFERENCES = {"momentum": MOMENTUM_REFERENCE, "adam": ADAM_REFERENCE}   # W1/W2, by optimizer
MLP_ADAM_REFERENCE = "torch_mlp_adam"   # W3/W4: the same (when absent: see analysis.py)
OPTIMIZERS = ("sgd", "momentum", "adam")
CHAPTER, MLP, ALL = ("W1", "W2"), ("W3", "W4"), ("W1", "W2", "W3", "W4")
# Adam runs the W1, W2 and W3. W4 with Adam would add about a minute to a full run
# (measured: PyTorch's Adam takes 2.3 s an epoch in float64, minibp's about as long, and a run
# takes 14 epochs of each: samples, first calls, calibration), already past make bench's budget.
MLP_ADAM = ("W3",)

COMPETITORS = [
    Competitor("chapter", "chapter's pure Python (per-neuron objects)", "chapter_pure"),
    Competitor("gemm_bound", "GEMM-only bound (the issue's products, NumPy)", "gemm_bound",
               workloads=MLP),
    Competitor("gemm_needed", "GEMM-only, without layer 1's dZ @ W (what a step needs)",
               "gemm_bound", {"first_layer_dA": False}, workloads=MLP),
    Competitor("numpy_loop", "plain NumPy loop", "numpy_loop"),
    Competitor("numpy_mlp", "plain NumPy", "numpy_mlp", workloads=MLP),
    Competitor("torch", "PyTorch autograd + optim.SGD", "torch_sgd"),
    Competitor("torch_mlp", "PyTorch nn + optim.SGD", "torch_mlp", workloads=MLP),
    Competitor("minibp_numpy", "minibp fit, engine='numpy'", "minibp_engines",
               {"engine": "numpy"}, workloads=ALL),
    Competitor("minibp", "minibp fit, default engine", "minibp_engines", {"engine": None},
               workloads=ALL),
    Competitor("minibp_blas", "minibp fit, engine='blas'", "minibp_engines",
               {"engine": "blas"}, workloads=ALL),
    Competitor("minibp_numba", "minibp fit, engine='numba'", "minibp_engines",
               {"engine": "numba"}),
    Competitor("numba_floor", "hand-written numba loop (the floor)", "numba_floor"),
    Competitor("jax_step", "JAX jit step + Python loop", "jax_sgd", {"mode": "step"},
               workloads=ALL),
    Competitor("jax_loop", "JAX whole run (lax.fori_loop)", "jax_sgd", {"mode": "loop"},
               workloads=ALL),
    Competitor("torch_adam", "PyTorch autograd + optim.Adam", "torch_sgd", optimizer="adam",
               sgd_twin="torch"),
    Competitor("torch_mlp_adam", "PyTorch nn + optim.Adam", "torch_mlp", workloads=MLP_ADAM,
               optimizer="adam", sgd_twin="torch_mlp"),
    Competitor("minibp_adam", "minibp fit, default engine, Adam", "minibp_engines",
               {"engine": None}, workloads=CHAPTER + MLP_ADAM, optimizer="adam",
               sgd_twin="minibp"),
    Competitor("minibp_numba_adam", "minibp fit, engine='numba', Adam", "minibp_engines",
               {"engine": "numba"}, optimizer="adam", sgd_twin="minibp_numba"),
    # Opt-in: the speed issue's W1/W2 targets with momentum SGD and with Adam.
    Competitor("torch_momentum", "PyTorch autograd + optim.SGD(momentum=0.9)", "torch_sgd",
               optimizer="momentum", sgd_twin="torch", opt_in=True),
    Competitor("minibp_momentum", "minibp fit, default engine, momentum SGD", "minibp_engines",
               {"engine": None}, optimizer="momentum", sgd_twin="minibp", opt_in=True),
    Competitor("numba_floor_momentum", "hand-written numba loop (the floor), momentum SGD",
               "numba_floor", optimizer="momentum", sgd_twin="numba_floor", opt_in=True),
    Competitor("numba_floor_adam", "hand-written numba loop (the floor), Adam", "numba_floor",
               optimizer="adam", sgd_twin="numba_floor", opt_in=True),
    Competitor("jax_loop_momentum", "JAX whole run (lax.fori_loop), momentum SGD", "jax_sgd",
               {"mode": "loop"}, optimizer="momentum", sgd_twin="jax_loop", opt_in=True),
    Competitor("jax_loop_adam", "JAX whole run (lax.fori_loop), Adam", "jax_sgd",
               {"mode": "loop"}, optimizer="adam", sgd_twin="jax_loop", opt_in=True),
]

BY_NAME = {c.name: c for c in COMPETITORS}


def for_workload(chosen: list[Competitor], key: str) -> list[Competitor]:
    """Those of the chosen competitors that run workload `key`, in the table's order."""
    return [c for c in chosen if key in c.workloads]


def select(names: list[str] | None) -> list[Competitor]:
    """The competitors named (when None, all but the opt-in ones), in the table's order;
    unknown names refused."""
    if names is None:
        return [c for c in COMPETITORS if not c.opt_in]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown competitor(s) {unknown}; expected some of {list(BY_NAME)}")
    return [c for c in COMPETITORS if c.name in names]
