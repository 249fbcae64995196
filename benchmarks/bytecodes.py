"""The Python work of minibp's entry points, counted: bytecodes executed per call.

    python benchmarks/bytecodes.py                     # a JSON line of counts
    python benchmarks/bytecodes.py --top 25 fit_same   # where one call's bytecodes go
    python benchmarks/bytecodes.py --against /path/to/other/checkout

A fit's fixed cost on a small model is interpreter time, and the clock of a shared 2-vCPU
guest moves by 1.5x between processes (docs/performance.md, "fit's fixed cost"), so a
change of a few percent cannot be timed there. ``sys.settrace`` with ``f_trace_opcodes``
counts every bytecode one call executes: the same count on every machine and in every
process for the same code and Python, so two versions compare in one run of each. It sees
only Python: the compiled call, NumPy's C and the interpreter's own calls into C are
outside it, so a count is a proxy for time (about 20-26 ns a bytecode in place on the
2-vCPU guests measured), not a time; call_overhead.py times the same calls.

The calls, on the chapter's 2-2-2 network (numba engine, float64, after a warm-up):
``fit_same`` is fit(epochs=1) again with the same objects (minibp.engines.repeat keeps its
loop); ``fit_new_sgd``, ``fit_new_momentum`` and ``fit_new_adam`` fit a new model with a new
SquaredError and optimizer made inside the counted call, as the harness's W1 samples do;
then ``predict``, ``train_step`` and ``gradients``.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import os
import subprocess
import sys
from pathlib import Path

WARM_UP_CALLS = 6  # the same call first: compiled, cached, and (fit_same) its loop kept
OPTIMIZERS = {"sgd": ("SGD", {"lr": 0.5}), "momentum": ("SGD", {"lr": 0.1, "momentum": 0.9}),
              "adam": ("Adam", {"lr": 0.01})}


def entry_points() -> dict:
    """{name: a function of no arguments making one call}, each call with the objects it
    would have in a user's loop."""
    import minibp
    from minibp.examples import chapter_data, chapter_network

    X, Y = chapter_data()
    loss, model, sgd = minibp.SquaredError(), chapter_network(), minibp.SGD(0.5)

    def fit_new(optimizer: str):
        name, settings = OPTIMIZERS[optimizer]
        models = [chapter_network() for _ in range(WARM_UP_CALLS + 1)]  # made uncounted
        return lambda: models.pop().fit(
            X, Y, loss=minibp.SquaredError(), optimizer=getattr(minibp, name)(**settings),
            epochs=1, batch_size=1, shuffle=False)

    return {
        "fit_same": lambda: model.fit(X, Y, loss=loss, optimizer=sgd, epochs=1, batch_size=1,
                                      shuffle=False),
        **{f"fit_new_{name}": fit_new(name) for name in OPTIMIZERS},
        "predict": lambda: model.predict(X),
        "train_step": lambda: model.train_step(X, Y, loss, sgd),
        "gradients": lambda: model.gradients(X, Y, loss),
    }


def count(call) -> tuple[int, collections.Counter]:
    """(bytecodes one call of ``call`` executes, those bytecodes by (file, function)); the
    call's own frame (a lambda of this file) is left out."""
    by_function: collections.Counter = collections.Counter()
    here = __file__

    def on_call(frame, event, arg):
        if frame.f_code.co_filename == here:
            return None
        frame.f_trace_opcodes = True
        key = (_short(frame.f_code.co_filename), frame.f_code.co_name)

        def on_event(frame, event, arg):
            if event == "opcode":
                by_function[key] += 1
            return on_event
        return on_event

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        call()
    finally:
        sys.settrace(previous)
    return sum(by_function.values()), by_function


@functools.cache
def _short(filename: str) -> str:
    """minibp's files by their path in the package ("minibp/engines/flat.py"), others by
    their name."""
    import minibp

    package = Path(minibp.__file__).resolve().parent
    path = Path(filename).resolve()
    if package in path.parents:
        return path.relative_to(package.parent).as_posix()
    return path.name


def measure(names=None) -> dict[str, int]:
    """{entry point: bytecodes of one call}, each after WARM_UP_CALLS of the same call."""
    found = {}
    for name, call in entry_points().items():
        if not names or name in names:
            found[name] = count_warm(call)[0]
    return found


def count_warm(call) -> tuple[int, collections.Counter]:
    """count(call) after WARM_UP_CALLS of the same call."""
    for _ in range(WARM_UP_CALLS):
        call()
    return count(call)


def top(name: str, rows: int) -> None:
    total, by_function = count_warm(entry_points()[name])
    print(f"{name}: {total} bytecodes")
    for (filename, function), n in by_function.most_common(rows):
        print(f"{n:6d} {n / total:6.1%}  {filename}: {function}")


def compare(other: str) -> None:
    """One process of this checkout and one of ``other`` (counts do not drift)."""
    trees = {"this": str(Path(__file__).resolve().parents[1]), "other": other}
    found = {}
    for name, tree in trees.items():
        env = dict(os.environ, PYTHONPATH=tree)
        out = subprocess.run([sys.executable, __file__], env=env, capture_output=True,
                             text=True, check=True, cwd=tree)
        found[name] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{'bytecodes a call':18s} {'this':>8s} {'other':>8s}  this/other")
    for key, this in found["this"].items():
        that = found["other"].get(key)
        ratio = f"{this / that:10.2f}" if that else "         -"
        print(f"{key:18s} {this:8d} {that if that is not None else '-':>8}  {ratio}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="another checkout to compare with")
    parser.add_argument("--top", type=int, metavar="ROWS",
                        help="with an entry point's name: its functions by bytecodes")
    parser.add_argument("name", nargs="?", help="an entry point (see the module's doc)")
    args = parser.parse_args(argv)
    if args.against:
        compare(args.against)
    elif args.top:
        top(args.name or "fit_same", args.top)
    else:
        print(json.dumps(measure([args.name] if args.name else None)))


if __name__ == "__main__":
    main()
