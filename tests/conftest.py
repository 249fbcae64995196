"""Shared by every test: the hypothesis profiles, and no compile notice (see below).

"ci", loaded unless HYPOTHESIS_PROFILE names another, makes the property tests reproducible:
derandomize=True draws the same examples on every run (from each test's own name), with no
example database carried between runs and no deadline (a first call may compile a numba
kernel). "dev" is the random search, with more examples, for hunting new counterexamples:
HYPOTHESIS_PROFILE=dev pytest tests/nn/test_numerics.py
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from minibp.engines import progress

settings.register_profile("ci", derandomize=True, database=None, deadline=None,
                          max_examples=100, print_blob=True)
settings.register_profile("dev", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def no_compile_notice(monkeypatch):
    """Whether a fit's first compile takes over progress.NOTICE_SECONDS (and so prints its
    notice) depends on the machine and on what the caches hold: tests that read fit's output
    would pass or fail by it. tests/engines/test_compile_first.py sets it where it tests the
    notice."""
    monkeypatch.setattr(progress, "NOTICE_SECONDS", None)  # None: never
