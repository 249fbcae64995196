"""minibp.optim (the package): its public names, get_optimizer, and what it may import.

References: hand-written expectations and messages; the package's source read with ast.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import minibp
import minibp.optim
from minibp.optim import (
    SGD,
    Adam,
    AdamW,
    CosineDecay,
    ExponentialDecay,
    Optimizer,
    StepDecay,
    get_optimizer,
)

NAMES_MESSAGE = "'sgd', 'momentum', 'adam', 'adamw'"


def test_public_names():
    assert minibp.SGD is SGD and minibp.Adam is Adam and minibp.AdamW is AdamW
    assert {"SGD", "Adam", "AdamW"} <= set(minibp.__all__)
    assert all(issubclass(cls, Optimizer) for cls in (SGD, Adam, AdamW))
    assert all(callable(s) for s in (StepDecay(1, 1), CosineDecay(1, 1), ExponentialDecay(1, 1)))


@pytest.mark.parametrize(("name", "expected"), [
    ("sgd", "SGD(lr=0.01)"), ("momentum", "SGD(lr=0.01, momentum=0.9)"),
    ("adam", "Adam(lr=0.001)"), ("adamw", "AdamW(lr=0.001)"),
])
def test_names_make_new_optimizers(name, expected):
    made = get_optimizer(name)
    assert repr(made) == expected
    assert get_optimizer(name) is not made  # each call its own state


def test_an_instance_passes_through():
    optimizer = Adam(0.1)
    assert get_optimizer(optimizer) is optimizer


@pytest.mark.parametrize(("value", "error", "message"), [
    ("rmsprop", ValueError, f"optimizer must be one of {NAMES_MESSAGE}, got 'rmsprop'"),
    ("SGD", ValueError, f"optimizer must be one of {NAMES_MESSAGE}, got 'SGD'"),
    (Adam, TypeError, "optimizer: got the class Adam; pass an instance, e.g. Adam()"),
    (SGD, TypeError, "optimizer: got the class SGD; pass an instance, e.g. SGD()"),
    (0.1, TypeError, f"optimizer must be an Optimizer or one of {NAMES_MESSAGE}, got 0.1 (float)"),
    (None, TypeError, f"optimizer must be an Optimizer or one of {NAMES_MESSAGE}, got None"),
], ids=["unknown", "capitals", "class-adam", "class-sgd", "number", "None"])
def test_refusals_exact_messages(value, error, message):
    with pytest.raises(error) as caught:
        get_optimizer(value)
    assert str(caught.value) == message


def test_the_package_imports_only_errors_and_nn_of_minibp():
    """docs/architecture.md: optim sits above errors and nn and below everything else."""
    package = Path(minibp.optim.__file__).parent
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("minibp"):
                assert node.module.split(".")[1] in {"errors", "nn", "optim"}, (
                    f"{path.name} imports {node.module}")
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("minibp") for a in node.names), path.name
