"""The scalar math and update kernels the kernel modules share are one text, copied: the
copies are identical.

Why copies exist (numba's cache watches only the cached function's own file) is written in
minibp/engines/kernels/__init__.py. Here each shared function's syntax tree, decorator
included, is compared between loop.py and each module holding a copy for the BLAS engine,
so an edit to one copy alone fails; and the constants they read are compared too.
"""

import ast
from pathlib import Path

import pytest

from minibp.engines import kernels
from minibp.engines.kernels import fused, loop, step, updates

COPIES = [  # (function, a module besides loop.py holding a copy of it)
    ("activate", "fused.py"), ("activation_derivative", "fused.py"),
    ("activate", "step.py"), ("activation_derivative", "step.py"),
    ("loss_forward_backward", "fused.py"), ("elementwise_loss", "fused.py"),
    ("softmax_xent", "fused.py"),
    ("sgd_update", "updates.py"), ("adam_update", "updates.py"), ("l2_penalty", "updates.py"),
]
CONSTANTS = {  # the names the shared functions read, per module holding copies
    fused: ("IDENTITY", "SIGMOID", "TANH", "RELU", "SQUARED_ERROR", "MSE", "SOFTMAX_XENT",
            "BCE_LOGITS"),
    step: ("IDENTITY", "SIGMOID", "TANH", "RELU"),
    updates: ("MOMENTUM", "NESTEROV", "WEIGHT_DECAY", "BETA1", "BETA2", "EPS", "DECOUPLED"),
}
FOLDER = Path(kernels.__file__).parent


def functions(module: str) -> dict[str, str]:
    tree = ast.parse((FOLDER / module).read_text())
    return {node.name: ast.dump(node) for node in tree.body if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("name,module", COPIES, ids=[f"{n}-{m}" for n, m in COPIES])
def test_the_copies_are_identical(name, module):
    ours, theirs = functions("loop.py"), functions(module)
    assert name in ours and name in theirs
    assert ours[name] == theirs[name], f"{name} differs between loop.py and {module}"


@pytest.mark.parametrize("module", list(CONSTANTS), ids=lambda m: m.__name__)
def test_the_constants_they_read_are_equal(module):
    for name in CONSTANTS[module]:
        assert getattr(module, name) == getattr(loop, name), (module.__name__, name)


def test_each_module_inlines_only_its_own_functions():
    """No kernel module imports another: a cross-file call would go stale in numba's cache."""
    for module in ("loop.py", "fused.py", "updates.py", "step.py"):
        tree = ast.parse((FOLDER / module).read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        packages = {name.split(".")[0] for name in imported}  # numba's own random_interval
        assert packages <= {"numpy", "numba", "math"}, (module, imported)
