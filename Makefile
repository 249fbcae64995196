# Three entry points for a fresh machine with only Python 3.10+ and make:
#   make demo   - the chapter's worked example, computed by minibp
#   make test   - ruff, then the whole test suite
#   make bench  - the benchmark harness (installs the bench and plot extras: torch, jax,
#                 threadpoolctl, matplotlib);
#                 options through BENCH_ARGS, e.g. make bench BENCH_ARGS="--quick --write-docs"
# Each creates .venv if it is missing and (re)installs minibp into it when pyproject.toml
# changes, so nothing needs installing by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench,plot]'
	touch $@

demo: $(VENV)/.installed-base
	$(BIN)/minibp demo

# One pytest worker per core, each test file whole in one worker (in its own order): a run on
# empty caches is mostly numba compiling, one core at a time per process.
test: $(VENV)/.installed-test
	$(BIN)/ruff check minibp tests benchmarks
	$(BIN)/python -m pytest -n auto --dist loadfile

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
