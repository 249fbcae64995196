"""Each epoch's order of rows: ``rng.permutation(n)`` of NumPy, drawn inside a compiled loop.

``shuffle_order(rng, order)`` writes into order (n,) int64 what
``numpy.random.default_rng(seed).permutation(n)`` gives, the generator advancing as NumPy's
does: the Fisher-Yates loop of NumPy's Generator.shuffle, one ``random_interval(i)`` draw
for i = n-1 down to 1, each j in [0, i] swapped with i.

Why not ``rng.shuffle(order)`` in the loop: numba's Generator.shuffle takes any array and
axis, and typing and lowering that (swapaxes, transpose, its error messages) took about 6 s
in every process that compiled a shuffled loop (its machine code is not cached on disk),
against about 0.4 s for this loop over numba's ``random_interval``, the same function its
shuffle calls (numba 0.68; the test against NumPy in tests/engines/test_specialized.py
would see a change). Called from Python
(``NUMBA_DISABLE_JIT=1``, ``py_func``), shuffle_order is NumPy's own shuffle; compiled, it
is the loop below, given through ``numba.extending.overload``.

minibp.engines.specialize copies this file's text into each generated loop file (a compiled
function must not call into another file: kernels/__init__.py says why); nothing imports it
but the tests. loop.py's generic train_epochs writes the same loop out in place, for the
same reason (the engines' tests hold the two loops' weights equal, shuffled, bit for bit).
"""

import numpy as np
from numba.extending import overload
from numba.np.random.random_methods import random_interval


def shuffle_order(rng, order):
    """order = rng.permutation(order.shape[0]), written in place."""
    order[:] = np.arange(order.shape[0])
    rng.shuffle(order)


@overload(shuffle_order, jit_options={"cache": True})
def _compiled_shuffle_order(rng, order):
    def shuffle(rng, order):
        n = order.shape[0]
        for i in range(n):
            order[i] = i
        for i in range(n - 1, 0, -1):
            j = np.intp(random_interval(rng.bit_generator, i))
            order[i], order[j] = order[j], order[i]

    return shuffle
