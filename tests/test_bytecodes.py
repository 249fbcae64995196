"""benchmarks/bytecodes.py: the Python work of an entry point, counted.

A count is deterministic, so what can be checked is what it must be: the same for the same
call twice, growing with the Python run, the breakdown summing to the total, nothing for C
functions, and the kept loop of a repeated fit (minibp.engines.repeat) doing less Python
than a new model's fit."""

from __future__ import annotations

import functools
import json

from benchmarks import bytecodes


def _python_loop(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def test_a_count_is_the_same_twice_and_grows_with_the_python_run():
    first, by_function = bytecodes.count(functools.partial(_python_loop, 10))
    again, _ = bytecodes.count(functools.partial(_python_loop, 10))
    longer, _ = bytecodes.count(functools.partial(_python_loop, 20))
    assert first == again > 0
    assert longer > first  # each turn of the loop adds its bytecodes
    assert sum(by_function.values()) == first
    assert [name for _, name in by_function] == ["_python_loop"]


def test_c_functions_count_nothing():
    assert bytecodes.count(functools.partial(sorted, range(100)))[0] == 0


def test_a_repeated_fit_runs_less_python_than_a_new_models(capsys):
    found = bytecodes.measure(["fit_same", "fit_new_sgd"])
    assert set(found) == {"fit_same", "fit_new_sgd"}
    assert 0 < found["fit_same"] < found["fit_new_sgd"]
    bytecodes.main(["predict"])
    assert set(json.loads(capsys.readouterr().out)) == {"predict"}


def test_top_lists_minibp_functions(capsys):
    bytecodes.top("fit_same", 5)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("fit_same: ") and len(lines) == 6
    assert all("minibp/" in line for line in lines[1:])
