"""NumPy's OpenBLAS thread count as threadpoolctl reads it, other BLAS libraries that the
process may load meanwhile (the suite's extras) left out."""

from __future__ import annotations

import os

import pytest

from minibp.engines import blas_library


def openblas_threads() -> list[int]:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    ours = {os.path.realpath(path) for path in blas_library.library_paths()}
    return [pool["num_threads"] for pool in threadpoolctl.threadpool_info()
            if os.path.realpath(pool["filepath"]) in ours]
