"""NumPy's own BLAS, made callable from compiled code: the BLAS engine's compiled steps call
the same ``cblas_sgemm``/``cblas_dgemm`` that ``np.matmul`` calls, without Python between.

NumPy's wheels carry OpenBLAS built with 64-bit integers and its symbols renamed
(``scipy_cblas_dgemm64_``; older wheels ``cblas_dgemm64_``), in ``numpy.libs`` (Linux,
Windows) or ``numpy/.dylibs`` (macOS). ``register()`` finds that library, the one NumPy
has loaded already, and gives numba its two functions under names of minibp's own
(``SYMBOLS``), which the compiled steps declare as external functions: the machine code
numba caches on disk refers to those names, and each process binds them again here before
loading it. A NumPy built against another BLAS (MKL, Accelerate, a system OpenBLAS with
32-bit integers) has none of these symbols: ``register()`` then says why, and the BLAS
engine steps in Python, calling ``np.matmul``, as before (docs/engines.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import threading

import numpy as np

SYMBOLS = {"float32": "minibp_cblas_sgemm", "float64": "minibp_cblas_dgemm"}
YIELD = "minibp_yield"  # the OS's "let another thread run", for kernels/blas_barrier.py
CANDIDATES = (("scipy_", "64_"),  # NumPy 2 wheels: scipy_cblas_dgemm64_
              ("", "64_"))        # NumPy 1.22 - 1.26 wheels: cblas_dgemm64_
_LOCK = threading.Lock()
_FOUND: list = []  # [None] once registered, [reason] once known not to be
_THREADS: dict = {}  # "get", "set": NumPy's OpenBLAS's thread count, once registered
_HELD = {"users": 0, "previous": 0}  # one_blas_thread: fits inside it, the count to restore


def register() -> str | None:
    """Bind SYMBOLS to NumPy's OpenBLAS (once per process). None when done, else why it
    cannot be (the BLAS engine then steps in Python)."""
    with _LOCK:
        if not _FOUND:
            _FOUND.append(_bind())
        return _FOUND[0]


def library_paths() -> list[str]:
    """Where NumPy's wheels keep their OpenBLAS."""
    numpy_dir = os.path.dirname(np.__file__)
    patterns = [os.path.join(numpy_dir, os.pardir, "numpy.libs", "*openblas*"),
                os.path.join(numpy_dir, ".dylibs", "*openblas*")]
    return sorted(path for pattern in patterns for path in glob.glob(pattern))


@contextlib.contextmanager
def one_blas_thread():
    """``with one_blas_thread():`` NumPy's OpenBLAS runs every product on the thread that
    calls it, then its thread count is put back. The compiled steps cut each product in
    two and give the halves to two threads (blas_threads); OpenBLAS's own threads would
    fight them for the cores (docs/performance.md). Process-wide while it lasts: NumPy's
    products in other threads meanwhile run on one thread too. Fits in several threads at
    once share it: the first in sets it, the last out puts the count back."""
    with _LOCK:
        if _HELD["users"] == 0:
            _HELD["previous"] = _THREADS["get"]()
            _THREADS["set"](1)
        _HELD["users"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _HELD["users"] -= 1
            if _HELD["users"] == 0:
                _THREADS["set"](_HELD["previous"])


def _bind() -> str | None:
    import llvmlite.binding as llvm

    for path in library_paths():
        try:
            library = ctypes.CDLL(path)  # NumPy loaded it already: the same handle
        except OSError:
            continue
        for prefix, suffix in CANDIDATES:
            names = {key: f"{prefix}{name}{suffix}" for key, name in (
                ("float32", "cblas_sgemm"), ("float64", "cblas_dgemm"),
                ("get", "openblas_get_num_threads"), ("set", "openblas_set_num_threads"))}
            if all(hasattr(library, name) for name in names.values()):
                for key in ("float32", "float64"):
                    address = ctypes.cast(getattr(library, names[key]), ctypes.c_void_p).value
                    llvm.add_symbol(SYMBOLS[key], address)
                _THREADS["get"], _THREADS["set"] = (getattr(library, names[key])
                                                    for key in ("get", "set"))
                _THREADS["get"].restype, _THREADS["set"].argtypes = ctypes.c_int, [ctypes.c_int]
                llvm.add_symbol(YIELD, _yield_address())
                return None
    return ("NumPy's BLAS is not the OpenBLAS of NumPy's wheels (no cblas_dgemm64_ found "
            f"in {library_paths() or 'numpy.libs or numpy/.dylibs'})")


def _yield_address() -> int:
    """The address of the OS's call that gives the core to another thread: sched_yield
    (POSIX), SwitchToThread (Windows); both take nothing and return an int."""
    if os.name == "nt":
        function = ctypes.WinDLL("kernel32").SwitchToThread
    else:
        function = ctypes.CDLL(None).sched_yield
    return ctypes.cast(function, ctypes.c_void_p).value
