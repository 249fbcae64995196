"""The BLAS engine's compiled steps call their kernels through symbols
(minibp/engines/kernels/blas_external.py): the driver's code holds no copy of a kernel, a
kernel called before it is bound fails to compile instead of crashing at load, and a new
process binds before it loads the cached driver.

References: the driver's LLVM IR as numba reports it; the same fit in a fresh process
against this one (exact to the bit: the same machine code either way)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from numba import errors, njit

import minibp
from minibp.engines import blas_compiled, blas_library

pytestmark = pytest.mark.skipif(blas_library.register() is not None,
                                reason="NumPy's BLAS cannot be called from compiled code")

def fitted(dtype="float64"):
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(50, 6)).astype(dtype), rng.integers(0, 3, 50)
    model = minibp.mlp([6, 8, 5, 3], "sigmoid", None, seed=2, dtype=dtype)
    model.fit(X, y, loss="xent", optimizer=minibp.SGD(0.2), epochs=2, batch_size=16, seed=4,
              engine="blas", verbose=0)
    return model


def test_a_caller_calls_its_kernel_and_holds_no_copy_of_it():
    """forward_rows compiled afresh here (numba shows no IR for code from its cache): its
    IR declares the bound activate_rows and defines no copy of it."""
    module = blas_compiled.kernels()
    rng = np.random.default_rng(1)
    W = (rng.normal(size=(5, 3)), rng.normal(size=(2, 5)))
    b, A = (np.zeros(5), np.zeros(2)), (np.zeros((4, 5)), np.zeros((4, 2)))
    acts, (P, S) = np.array([1, 0]), blas_compiled.sigmoid_scratch(np.float64, 5)
    module.bind_predict(W, b, A, acts, P[0], S[0])
    fresh = njit(error_model="numpy", nogil=True)(module.forward_rows.py_func)
    fresh(rng.normal(size=(4, 3)), 4, 4, W, b, A, acts, P, S, np.zeros((4, 2)),
          np.zeros(4, np.int64), 0, 1)
    lines = fresh.inspect_llvm(fresh.signatures[0]).splitlines()
    assert not any("activate_rows" in line for line in lines if line.startswith("define"))
    assert any(f"{module.__name__}_activate_rows_" in line
               for line in lines if line.startswith("declare"))


def test_a_kernel_called_before_it_is_bound_fails_to_compile():
    module = blas_compiled.kernels()
    activate = module.activate_x

    @njit
    def call(Z, b, P, S):  # int32 rows and act: types no fit binds
        activate(Z, b, np.int32(1), np.int32(1), P, S)

    Z, b = np.zeros((2, 3), np.float16), np.zeros(3, np.float16)
    with pytest.raises(errors.TypingError, match="before it is bound"):
        call(Z, b, np.zeros(3, np.float16), np.zeros(6, np.int16))


def test_symbols_differ_by_argument_types_and_module():
    module = blas_compiled.kernels()
    names = {module.symbol(module.gather_batch, (module.typeof(np.zeros((2, 2), dtype)),))
             for dtype in ("float32", "float64")}
    assert len(names) == 2
    assert all(name.startswith(module.__name__) for name in names)


FRESH_PROCESS = """
import json, sys
import numpy as np
sys.path.insert(0, {tests!r})
from test_blas_external import fitted
print(json.dumps([p.value.tolist() for p in fitted({dtype!r}).parameters()]))
"""


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_new_process_binds_then_loads_the_cached_driver(dtype):
    """This process compiled (or loaded) the driver; a new one loads it from the cache,
    after binding its kernels, and trains to the same bits."""
    here = [p.value for p in fitted(dtype).parameters()]
    code = FRESH_PROCESS.format(tests=os.path.dirname(__file__), dtype=dtype)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    there = json.loads(done.stdout)
    for mine, theirs in zip(here, there):
        np.testing.assert_array_equal(mine, np.asarray(theirs, mine.dtype))


def test_models_of_one_to_four_layers_share_one_compiled_driver():
    """blas_steps.padded: the driver's tuples over layers hold 4 (then 8, ...) entries, so
    a new depth of up to 4 layers compiles nothing; a fifth layer compiles once more."""
    module = blas_compiled.kernels()
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 5)), rng.integers(0, 3, 40)

    def fit(sizes):
        model = minibp.mlp(sizes, "tanh", None, seed=1)
        model.fit(X, y, loss="xent", optimizer=minibp.SGD(0.1), epochs=1, batch_size=8,
                  engine="blas", verbose=0)
        return len(module.train_steps.signatures), len(module.forward_rows.signatures)

    first = fit([5, 3])
    assert all(fit(sizes) == first for sizes in ([5, 4, 3], [5, 6, 4, 3], [5, 6, 4, 4, 3]))
    fit([5, 6, 6, 4, 4, 3])
    slots = {signature[5][0].count for signature in module.train_steps.signatures}
    assert 8 in slots and slots <= {4, 8, 16}


def test_read_only_weights_predict_through_the_padded_driver():
    """scikit-learn's pickle check unpickles a model into read-only memory: padding fills
    the tuples with entries of the weights' own type, read-only too."""
    model = fitted()
    X = np.random.default_rng(3).normal(size=(30, 6))
    want = model.predict(X, engine="numpy")
    for layer in model.layers:
        layer.W.flags.writeable = layer.b.flags.writeable = False
    got = model.predict(X, engine="blas")
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())
