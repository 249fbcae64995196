"""The scalar math both kernel modules inline is one text, copied: the copies are identical.

Why copies exist (numba's cache watches only the cached function's own file) is written in
minibp/engines/kernels/__init__.py. Here each shared function's syntax tree, decorator
included, is compared between loop.py and fused.py, so an edit to one copy alone fails.
"""

import ast
from pathlib import Path

import pytest

from minibp.engines import kernels

SHARED = ("activate", "activation_derivative", "loss_forward_backward", "softmax_xent")
FOLDER = Path(kernels.__file__).parent


def functions(module: str) -> dict[str, str]:
    tree = ast.parse((FOLDER / module).read_text())
    return {node.name: ast.dump(node) for node in tree.body if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("name", SHARED)
def test_the_copies_are_identical(name):
    loop, fused = functions("loop.py"), functions("fused.py")
    assert name in loop and name in fused
    assert loop[name] == fused[name], f"{name} differs between loop.py and fused.py"


def test_each_module_inlines_only_its_own_functions():
    """No kernel module imports another: a cross-file call would go stale in numba's cache."""
    for module in ("loop.py", "fused.py"):
        tree = ast.parse((FOLDER / module).read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert imported <= {"numpy", "numba", "math"}, (module, imported)
