"""Shared by the checkpoint tests: the numba engine's generic loop.

These tests are about files (what a save holds, what a load restores, what a resumed fit
does with it), and they fit many small models of different structures. The loop specialized
to a structure would compile for each of them, a few seconds apiece on empty caches (about
a minute of a fresh clone's test run), and computes what the generic loop computes to the
bit (tests/engines/test_specialized.py holds the two together). So here every numba fit
runs the generic loop, compiled once.
"""

from __future__ import annotations

import pytest

from minibp.engines import specialize


@pytest.fixture(autouse=True)
def generic_loop(monkeypatch):
    monkeypatch.setattr(specialize, "ENABLED", False)
