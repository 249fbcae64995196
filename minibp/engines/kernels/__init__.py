"""Compiled kernels: numba functions over arrays, the leaves of minibp.

- ``loop``: the numba engine's whole training run over one flat parameter buffer.
- ``fused``: the BLAS engine's elementwise work around its matrix products.
- ``updates``: the BLAS engine's work on the gradients: norms, l2, the optimizers' updates.
- ``step``: the BLAS engine's batch-wide work in a plain step (gather, bias and activation,
  derivatives), as fused.py computes it but without the guard's sums, so it vectorizes.
- ``specialized``: the numba engine's driver template for loops specialized to one model
  (read as text by minibp.engines.specialize, never imported).
- ``shuffle``: each epoch's order, NumPy's ``rng.permutation(n)`` drawn in compiled code;
  its text is pasted into each specialized loop's file (imported only by the tests).
- ``blas_steps``, ``blas_sigmoid``, ``blas_external``, ``blas_barrier``, ``blas_gemm`` and
  ``blas_optimizer``: the BLAS engine's compiled steps (every phase in two halves on two
  threads, NumPy's own BLAS called from them), their vectorized sigmoid, the calls to their
  kernels through symbols (each kernel compiled once, not again in every caller:
  blas_external imports numba's llvmlite, which binds the symbols), where the two threads
  meet between phases, the product, and the optimizer's update by halves; templates read
  as text by minibp.engines.blas_compiled, which pastes them below step.py, fused.py and
  updates.py into one generated file (never imported).

Rules (STYLE.md section 4): import only numpy, numba (and its llvmlite) and math, nothing
from minibp; outputs passed in, nothing allocated in a step; ``@njit(cache=True)`` without
signature strings, so nothing compiled at import; no fastmath; kernels do not raise (the
Python side validates, then trusts them). Where a user's settings can make a kernel divide
by zero (a batch whose sample weights sum to 0, Adam with eps=0), it is compiled with
``error_model="numpy"``: the division gives inf or nan as NumPy's does, and the engine
reports it as the NumPy engine would. Loops over a range of a flat array taken from a table
(``blocks``) run over unsigned indices, ``range(np.uint64(start), np.uint64(stop))``: numba
then skips its negative-index wraparound, which otherwise keeps LLVM from vectorizing the
loop (an SGD update of 4096 values: 4.4 us signed, 1.5 us unsigned). The codes they branch
on are given by minibp.engines.capabilities, and tests/engines/test_capabilities.py checks
the constants here against those tables.

Why the modules each carry their own copy of the shared scalar math and update kernels
(``activate``, ``activation_derivative``, the loss functions, ``sgd_update``,
``adam_update``, ``l2_penalty``): numba's on-disk cache decides whether a cached kernel is
stale from the source file of that kernel alone. A kernel that called a helper from another
file would, after that file changed, keep loading machine code with the old helper inlined.
So each file holds everything its kernels inline, and
tests/engines/kernels/test_shared_math.py proves the copies identical.
"""
