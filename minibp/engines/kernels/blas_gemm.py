"""NumPy's own matrix product in the BLAS engine's compiled steps: a template, read as
text, never imported.

minibp.engines.blas_compiled pastes the text below the marker into the compiled steps' file,
before kernels/blas_steps.py's driver. ``gemm`` calls the ``cblas_sgemm``/``cblas_dgemm``
that ``np.matmul`` calls, bound by minibp.engines.blas_library under minibp's own names, on
parts of arrays given as flat offsets: each of the driver's threads computes one block of a
product's output.
"""

# -- template --------------------------------------------------------------------------------
from numba import types
from numba.extending import overload

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112  # cblas' enums


def _gemm_type(real):
    """cblas_?gemm(order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc),
    64-bit integers, pointers as addresses."""
    i, p = types.int64, types.uintp
    return types.void(types.int32, types.int32, types.int32, i, i, i, real, p, i, p, i, real,
                      p, i)


sgemm = types.ExternalFunction("minibp_cblas_sgemm", _gemm_type(types.float32))
dgemm = types.ExternalFunction("minibp_cblas_dgemm", _gemm_type(types.float64))


def gemm(trans_a, trans_b, m, n, k, a, a_off, b, b_off, c, c_off):
    """C = op(A) @ op(B) on parts of C-contiguous 2-D arrays: op(A) (m, k), op(B) (k, n) and
    C (m, n) start at the flat offsets a_off, b_off, c_off of a, b, c, each array's width its
    leading dimension (so a part is a block of columns, or of rows, of the whole)."""


@overload(gemm)
def _gemm(trans_a, trans_b, m, n, k, a, a_off, b, b_off, c, c_off):
    call = sgemm if a.dtype == types.float32 else dgemm
    real = a.dtype

    def impl(trans_a, trans_b, m, n, k, a, a_off, b, b_off, c, c_off):
        size = a.itemsize
        call(ROW_MAJOR, trans_a, trans_b, m, n, k, real(1.0), a.ctypes.data + a_off * size,
             a.shape[1], b.ctypes.data + b_off * size, b.shape[1], real(0.0),
             c.ctypes.data + c_off * size, c.shape[1])

    return impl
