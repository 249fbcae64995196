"""The house rules of minibp's layout, read off the source with ast (nothing is imported).

Every module belongs to a part, and every part has a rank. A module may import its own part
and parts of lower rank only, so no import runs back up: the NumPy math (nn) knows nothing
of engines, the engines nothing of the model, the model nothing of the checker or the
command line. The kernels import only numpy, numba and math. No module of the library
imports the command line or the benchmarks. Modules stay under about 250 lines.

``python tests/test_architecture.py`` prints the parts, their ranks and every module's
imports of minibp: the import rules as they stand.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "minibp"

# part -> rank; a module belongs to the longest part its dotted name starts with.
RANKS = {
    "minibp.errors": 0,           # exceptions and the one validation step: imports nothing
    "minibp.version": 0,
    "minibp.engines.kernels": 0,  # numba functions over arrays: import nothing of minibp
    "minibp.history": 1,
    "minibp.history_plot": 0,     # History.plot, matplotlib imported on use
    "minibp.nn": 1,               # the math objects, the NumPy reference
    "minibp.optim": 2,
    "minibp.callbacks": 2,
    "minibp.engines": 3,          # resolve, capabilities, the engines, the training loop
    "minibp.fit_plan": 4,         # fit's arguments, checked
    "minibp.outputs": 4,          # probabilities and classes by the loss
    "minibp.model_text": 4,       # summary and inspect
    "minibp.checkpoint": 4,       # the file format: layers, loss, optimizer <-> npz + JSON
    "minibp.model": 5,            # Sequential: one call down, engines.resolve
    "minibp.builders": 6,
    "minibp.examples": 6,
    "minibp.datasets": 7,         # data to train on: generators, files, scaling, splits
    "minibp.check": 6,            # the gradient checker, through the public protocol
    "minibp.loading": 6,          # minibp.load and friends: build a Sequential from a file
    "minibp.datasets.preprocessing": 1,  # Standardizer: NumPy only, below the loader
    "minibp.explain": 6,          # trace, draw, Diagnostics: through the public protocol
    "minibp.torch": 6,            # the PyTorch bridge: Sequential <-> torch.nn.Sequential
    "minibp.sklearn": 8,          # scikit-learn estimators over minibp (and its datasets)
    "minibp.demo": 7,
    "minibp.cli": 9,
    "minibp.__main__": 10,
    "minibp": 10,                 # the public names; no library module imports it
}
MAX_LINES = 250
LONGER_ON_PURPOSE = {
    "minibp/errors.py": "the exceptions and the checks every part shares, at rank 0 so that "
    "all may import it: a second module at that rank could not import the exceptions",
    "minibp/engines/kernels/loop.py": "numba's cache watches only the cached function's own "
    "file, so everything the training loop inlines has to live in this one file",
}
KERNEL_IMPORTS = {"numpy", "numba", "llvmlite", "math"}  # llvmlite: numba's, binds symbols
MAX_TRACKED_BYTES = 1_000_000


def modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(path: Path) -> set[str]:
    """Every module name path imports anywhere (top level or inside functions): for
    ``from a import b`` both a.b (when b is a module) and a are candidates, so a.b is
    recorded when it is a module of ours and a otherwise."""
    known = modules()
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name in known else node.module)
    return found


def part(name: str) -> str | None:
    matches = [p for p in RANKS if name == p or name.startswith(p + ".")]
    return max(matches, key=len) if matches else None


def ours(names: set[str]) -> set[str]:
    return {n for n in names if n == "minibp" or n.startswith("minibp.")}


MODULES = modules()


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_belongs_to_a_part(name):
    assert part(name) is not None, f"{name} is in no part of RANKS; give it one"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_import_runs_back_up(name):
    here = part(name)
    for target in sorted(ours(imports(MODULES[name]))):
        there = part(target)
        if there == here:
            continue
        assert there is not None and RANKS[there] < RANKS[here], (
            f"{name} ({here}, rank {RANKS[here]}) imports {target} "
            f"({there}, rank {RANKS.get(there)}): imports must go down")


@pytest.mark.parametrize("name", [n for n in sorted(MODULES) if part(n) == "minibp.nn"])
def test_nn_imports_nothing_above_it(name):
    allowed = {"minibp.nn", "minibp.errors"}
    assert {part(t) for t in ours(imports(MODULES[name]))} <= allowed


@pytest.mark.parametrize("name", [n for n in sorted(MODULES)
                                  if part(n) == "minibp.engines.kernels"])
def test_kernels_import_only_numpy_numba_and_math(name):
    top_level = {n.split(".")[0] for n in imports(MODULES[name])}
    assert top_level <= KERNEL_IMPORTS, f"{name} imports {top_level - KERNEL_IMPORTS}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_the_library_never_imports_the_command_line_or_the_benchmarks(name):
    found = imports(MODULES[name])
    assert not any(n == "benchmarks" or n.startswith("benchmarks.") for n in found)
    if name != "minibp.__main__":
        assert "minibp.cli" not in found, f"{name} imports minibp.cli"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_short(name):
    path = MODULES[name]
    relative = path.relative_to(ROOT).as_posix()
    lines = len(path.read_text(encoding="utf-8").splitlines())
    if relative in LONGER_ON_PURPOSE:
        assert lines <= 2 * MAX_LINES, f"{relative}: {lines} lines, even for an exception"
        return
    assert lines <= MAX_LINES, (f"{relative} has {lines} lines; split it by concept, or list "
                                "it in LONGER_ON_PURPOSE with the reason")


def test_no_tracked_file_exceeds_one_megabyte():
    """Raw measurements and other large files stay out of git (benchmarks/results/raw/)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    sizes = {name: (ROOT / name).stat().st_size for name in listed
             if name and (ROOT / name).is_file()}
    assert sizes, "git ls-files listed nothing"
    large = {name: size for name, size in sizes.items() if size > MAX_TRACKED_BYTES}
    assert not large, f"tracked files over 1 MB: {large}"


def test_the_rules_can_be_printed():
    printed = subprocess.run([sys.executable, __file__], capture_output=True, text=True,
                             check=True).stdout
    assert "minibp.nn (rank 1)" in printed and "minibp.model -> minibp.engines" in printed


def print_rules() -> None:
    """The parts by rank, then what each module imports of minibp."""
    print("Parts, lowest first; a module imports only its own part and lower ranks:")
    for name, rank in sorted(RANKS.items(), key=lambda item: (item[1], item[0])):
        print(f"  {name} (rank {rank})")
    print("\nImports of minibp, module by module:")
    for name, path in sorted(MODULES.items()):
        for target in sorted(ours(imports(path))):
            print(f"  {name} -> {target}")


if __name__ == "__main__":
    print_rules()
