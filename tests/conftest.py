"""Shared by every test: the hypothesis profiles.

"ci", loaded unless HYPOTHESIS_PROFILE names another, makes the property tests reproducible:
derandomize=True draws the same examples on every run (from each test's own name), with no
example database carried between runs and no deadline (a first call may compile a numba
kernel). "dev" is the random search, with more examples, for hunting new counterexamples:
HYPOTHESIS_PROFILE=dev pytest tests/nn/test_numerics.py
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, deadline=None,
                          max_examples=100, print_blob=True)
settings.register_profile("dev", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
