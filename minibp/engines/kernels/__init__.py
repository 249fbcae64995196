"""Compiled kernels: numba functions over arrays, the leaves of minibp.

- ``loop``: the numba engine's whole training run over one flat parameter buffer.
- ``fused``: the BLAS engine's elementwise work around its matrix products.

Rules (STYLE.md section 4): import only numpy, numba and math, nothing from minibp; outputs
passed in, nothing allocated in a step; ``@njit(cache=True)`` without signature strings, so
nothing compiles at import; no fastmath; kernels do not raise (the Python side validates,
then trusts them). The codes they branch on are given by minibp.engines.capabilities, and
tests/engines/test_capabilities.py checks the constants here against those tables.

Why the two modules each carry their own copy of the shared scalar math (``activate``,
``activation_derivative``, ``loss_forward_backward``, ``softmax_xent``): numba's on-disk
cache decides whether a cached kernel is stale from the source file of that kernel alone.
A kernel that called a helper from another file would, after that file changed, keep
loading machine code with the old helper inlined. So each file holds everything its kernels
inline, and tests/engines/kernels/test_shared_math.py proves the copies identical.
"""
