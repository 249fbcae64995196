"""How long a model structure takes to compile, and to load from the cache, in fresh processes.

For each structure below, three processes share an empty NUMBA_CACHE_DIR and an empty
MINIBP_CACHE_DIR (so nothing from an earlier run counts):

1. the first compiled fit of a process: numba's own start (LLVM, typing tables) plus the
   structure's loop: what a user's very first fit waits;
2. in that same process, after a fit of another structure: the structure's compile alone;
3. a new process, the cache now filled: the first fit loads the loop from disk.

The same is measured for the generic loop (MINIBP_SPECIALIZE=0) beside it, and for the BLAS
engine's compiled steps and predict (one structure, per dtype and depth). Each figure is
the median over ``--repeats`` rounds (fresh folders each round). Run:
``python benchmarks/compile_times.py --repeats 3 [--write-docs]``.

``--against DIR`` (a copy of the repository as it was, e.g. ``git worktree add DIR HEAD``)
times the specialized loop of each structure there and here, alternating round by round on
the shared machine, and prints the figures side by side with their ratios instead.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):          # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import REPO  # noqa: E402
from benchmarks.machine import cpu_line  # noqa: E402

PROBE = """
import json, sys, time
import numpy as np
import minibp
X, Y = minibp.examples.chapter_data()
Xw, Yw = np.random.default_rng(0).normal(size=(256, 784)), np.arange(256) % 10
FITS = {
    "W1 SGD": lambda: (minibp.examples.chapter_network(), X, Y, "squared", minibp.SGD(0.5),
                       dict(batch_size=1, shuffle=False)),
    "W1 Adam": lambda: (minibp.examples.chapter_network(), X, Y, "squared",
                        minibp.Adam(0.01), dict(batch_size=1, shuffle=False)),
    "W2 momentum": lambda: (minibp.mlp([2, 5, 1], "sigmoid", "sigmoid", seed=0),
                            minibp.examples.xor_data()[0], minibp.examples.xor_data()[1],
                            "squared", minibp.SGD(0.5, 0.9), dict(batch_size=1, seed=0)),
    "784-256-128-10 xent SGD": lambda: (
        minibp.mlp([784, 256, 128, 10], "sigmoid", None, seed=0), Xw, Yw, "xent",
        minibp.SGD(0.05), dict(batch_size=128, seed=0)),
    "BLAS 784-256-128-10 float32, validation": lambda: (
        minibp.mlp([784, 256, 128, 10], "sigmoid", None, seed=0, dtype="float32"),
        Xw.astype(np.float32), Yw, "xent", minibp.SGD(0.05),
        dict(batch_size=128, seed=0, validation_split=0.25, engine="blas")),
    "BLAS 64-32-10 float32": lambda: (
        minibp.mlp([64, 32, 10], "sigmoid", None, seed=0, dtype="float32"),
        Xw[:, :64].astype(np.float32), Yw, "xent", minibp.SGD(0.05),
        dict(batch_size=128, seed=0, engine="blas")),
}
def first_fit(name):
    model, X_, Y_, loss, optimizer, options = FITS[name]()
    engine = options.pop("engine", "numba")
    start = time.perf_counter()
    model.fit(X_, Y_, loss=loss, optimizer=optimizer, epochs=1, engine=engine, verbose=0,
              **options)
    return time.perf_counter() - start
result = {name: first_fit(name) for name in sys.argv[1:]}
print(json.dumps(result))
"""

BLAS = "BLAS 784-256-128-10 float32, validation"  # the compiled steps and predict (depth 3)
STRUCTURES = ("W1 SGD", "W1 Adam", "W2 momentum", "784-256-128-10 xent SGD", BLAS)
WARM = "W2 momentum"   # compiled first in step 2, so the structure's own compile is alone
BLAS_WARM = "BLAS 64-32-10 float32"  # the same for BLAS: another depth's compiled steps


def run_probe(names, numba_dir, minibp_dir, specialize: bool, repo=REPO) -> dict[str, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=numba_dir, MINIBP_CACHE_DIR=minibp_dir,
               MINIBP_SPECIALIZE="1" if specialize else "0", PYTHONPATH=str(repo))
    out = subprocess.run([sys.executable, "-c", PROBE, *names], env=env, check=True,
                         capture_output=True, text=True, cwd=repo).stdout  # -c: cwd first
    return json.loads(out.splitlines()[-1])


def measure(name: str, specialize: bool, repo=REPO) -> dict[str, float]:
    """The three figures for one structure, fresh folders, minibp imported from repo."""
    with tempfile.TemporaryDirectory() as numba_dir, tempfile.TemporaryDirectory() as mine:
        first = run_probe([name], numba_dir, mine, specialize, repo)[name]
    with tempfile.TemporaryDirectory() as numba_dir, tempfile.TemporaryDirectory() as mine:
        warm = BLAS_WARM if name == BLAS else "W1 SGD" if name == WARM else WARM
        alone = run_probe([warm, name], numba_dir, mine, specialize, repo)[name]
        loaded = run_probe([name], numba_dir, mine, specialize, repo)[name]
    return {"first fit of a process": first, "compile alone": alone, "load": loaded}


def compare(against: Path, repeats: int, structures=STRUCTURES) -> None:
    """The specialized loop's figures with minibp from ``against`` and from here, the two
    alternating in every round; medians and here/there ratios."""
    rounds = {(name, repo): [] for name in structures for repo in (against, REPO)}
    for _ in range(repeats):
        for name in structures:
            for repo in (against, REPO):
                rounds[name, repo].append(measure(name, True, repo))
    print(f"| structure | figure | {against} | here | here / there |\n| --- | --- | --- | --- "
          "| --- |")
    for name in structures:
        for figure in rounds[name, REPO][0]:
            there, here = (statistics.median(r[figure] for r in rounds[name, repo])
                           for repo in (against, REPO))
            print(f"| {name} | {figure} | {there:.2f} | {here:.2f} | {here / there:.2f} |")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--against", type=Path, help="another copy of the repository")
    parser.add_argument("--structures", type=lambda text: text.split(";"), default=STRUCTURES,
                        help=f"with --against: some of {'; '.join(STRUCTURES)}, separated "
                        "by semicolons")
    args = parser.parse_args(argv)
    if args.against:
        if unknown := set(args.structures) - set(STRUCTURES):
            parser.error(f"--structures: no structure {sorted(unknown)}; known: {STRUCTURES}")
        return compare(args.against.resolve(), args.repeats, args.structures)
    rows = []
    for name in STRUCTURES:
        for specialize in (True, False) if name != BLAS else (True,):
            rounds = [measure(name, specialize) for _ in range(args.repeats)]
            medians = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
            loop = "compiled steps" if name == BLAS else "specialized" if specialize \
                else "generic"
            rows.append((name, loop, medians))
            print(name, rows[-1][1], {k: round(v, 2) for k, v in medians.items()}, flush=True)
    table = [f"Measured by `python benchmarks/compile_times.py --repeats {args.repeats}` on "
             f"{cpu_line()} ({os.cpu_count()} cores); seconds, medians of "
             f"{args.repeats} rounds, each in fresh processes with empty caches.", "",
             "| structure (one epoch) | loop | first fit of a process | compile alone "
             "| load from the cache |", "| --- | --- | --- | --- | --- |"]
    table += [f"| {name} | {loop} | {m['first fit of a process']:.2f} | "
              f"{m['compile alone']:.2f} | {m['load']:.2f} |" for name, loop, m in rows]
    text = "\n".join(table)
    print(text)
    if args.write_docs:
        from benchmarks.report import replace_section

        page = REPO / "docs" / "performance.md"
        page.write_text(replace_section(page.read_text(), "compile-times", text + "\n"))


if __name__ == "__main__":
    main()
