"""minibp's benchmark harness: every competitor timed in the same run, in its own process.

Run it with ``python benchmarks/run.py`` (or ``make bench``); docs/benchmarks.md says how to
read what it prints.
"""
