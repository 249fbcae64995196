"""A writable folder for numba's cache, chosen before any kernel module is imported.

The kernels are compiled with ``cache=True``: numba keeps the machine code beside the
source (``__pycache__``) or in the user's cache folder, and refuses to decorate them at all
(``RuntimeError: cannot cache function ...``) when neither is writable, as in a read-only
container. The engines import this module first; where numba finds no place of its own, it
points numba's CACHE_DIR at a folder of the system's temporary directory and warns once, so
the compiled engines still run (and stay cached across processes on that machine).
NUMBA_CACHE_DIR, when set, is the user's choice and is left alone.
"""

from __future__ import annotations

import os
import tempfile
import warnings

from numba.core import config
from numba.core.caching import FunctionCache


def _probe():
    """A function to ask numba about: it lives in this package, as the kernels do."""


def numba_has_a_place() -> bool:
    """Whether numba can cache a function of this package where it looks by itself."""
    try:
        FunctionCache(_probe)
    except RuntimeError:
        return False
    return True


def fallback_folder(name: str = "numba-cache") -> str:
    """A per-user folder ``minibp-<name>-<user>`` in the temporary directory (a fresh one if
    that is taken); minibp.engines.specialize falls back on it too."""
    user = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    folder = os.path.join(tempfile.gettempdir(), f"minibp-{name}-{user}")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if os.access(folder, os.W_OK):
            return folder
    except OSError:
        pass
    return tempfile.mkdtemp(prefix=f"minibp-{name}-")


def choose() -> str | None:
    """Point numba at fallback_folder() when it has no cache location; returns the folder
    chosen, or None when numba's own choice (or NUMBA_CACHE_DIR) stands."""
    if config.CACHE_DIR or numba_has_a_place():
        return None
    folder = fallback_folder()
    config.CACHE_DIR = folder
    warnings.warn(f"minibp: numba cannot write its cache beside minibp or in your cache "
                  f"folder; compiled kernels are cached in {folder} instead (set "
                  "NUMBA_CACHE_DIR to choose a folder)", RuntimeWarning, stacklevel=2)
    return folder


CHOSEN = choose()
