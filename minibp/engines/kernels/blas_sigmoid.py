"""sigmoid in the BLAS engine's compiled steps: a template, read as text, never imported.

minibp.engines.blas_compiled pastes the text below the marker into the compiled steps' file,
between the kernels it pastes whole and kernels/blas_steps.py's driver, which calls
``sigmoid_rows`` through ``activate_rows``. The Python steps leave sigmoid's exp to NumPy's
SIMD loop, which compiled code cannot call; numba's own ``np.exp`` is a scalar libm call,
8-10x slower. So exp(-|z|) is written out here in loops LLVM vectorizes, with one fastmath
flag only, "contract" (multiply-adds fused: 1.6x faster, and each rounds once): within 2 ulp
of NumPy's (tests/engines/test_blas_compiled.py), NaN kept, infinities and
numbers past the smallest subnormal taken to their limits.
"""
# ruff: noqa: F821 - np and math from the kernels pasted before this text

# -- template --------------------------------------------------------------------------------
from numba import types
from numba.extending import overload

# exp(v) for v <= 0 as p(r) * 2**n, v = n ln2 + r: n = round(v / ln2) and r by Cody and
# Waite's two-part ln2 (LN2_HI * n exact), p Taylor's series to the degree that leaves a
# tenth of an ulp on |r| <= ln2 / 2 (13 in float64, 7 in float32); 2**n as two factors, so
# that results down to the smallest subnormal round once. Below FLOOR, exp rounds to 0.
# Each dtype has its own typed constants (a float64 one would turn float32 arithmetic into
# float64) and its own degree (the float32 one would pay 30% more for terms adding nothing).
K64 = tuple(1.0 / math.factorial(k) for k in range(14))
K32 = tuple(np.float32(k) for k in K64[:8])
FLAGS = {"fastmath": {"contract"}, "error_model": "numpy"}  # no reassociation, no NaN games


@njit(cache=True, inline="always")
def _taylor_64(q):
    return K64[0] + q * (K64[1] + q * (K64[2] + q * (K64[3] + q * (K64[4] + q * (K64[5] + q * (
        K64[6] + q * (K64[7] + q * (K64[8] + q * (K64[9] + q * (K64[10] + q * (K64[11] + q * (
            K64[12] + q * K64[13]))))))))))))


@njit(cache=True, inline="always")
def _taylor_32(q):
    return K32[0] + q * (K32[1] + q * (K32[2] + q * (K32[3] + q * (K32[4] + q * (K32[5] + q * (
        K32[6] + q * K32[7]))))))


def sigmoid_rows(Z, b, rows, P, S):
    """Z[r] = sigmoid(Z[r] + b) for the first ``rows`` rows of Z (rows, width), as
    step.add_bias_activate computes it but for exp; P (width,) in Z's dtype and S
    (2 * width,) integers of its size: scratch, the two factors of 2**n side by side (two
    halves of S instead: 4x slower, LLVM no longer vectorizes)."""


@overload(sigmoid_rows, jit_options=FLAGS)
def _sigmoid_rows(Z, b, rows, P, S):
    """The implementation for Z's dtype, its constants typed as Z, compiled with FLAGS."""
    if Z.dtype == types.float32:
        return _sigmoid_rows_of(np.float32, np.int32, 0.693145751953125,
                                1.428606765330187045e-06, -104.0, 127, 23, _taylor_32)
    return _sigmoid_rows_of(np.float64, np.int64, 6.93147180369123816490e-01,
                            1.90821492927058770002e-10, -746.0, 1023, 52, _taylor_64)


def _sigmoid_rows_of(real, whole, ln2_hi, ln2_lo, floor, bias, shift, taylor):
    """sigmoid_rows for one dtype: ``real`` its float type, ``whole`` the integer type of
    its size, ``bias`` and ``shift`` its exponent's bias and position."""
    log2e, half, one = real(1.4426950408889634), real(0.5), real(1.0)
    ln2_hi, ln2_lo, floor = real(ln2_hi), real(ln2_lo), real(floor)
    bias, shift, one_bit = whole(bias), whole(shift), whole(1)

    def impl(Z, b, rows, P, S):
        width, F = Z.shape[1], S.view(real)
        for r in range(rows):
            for j in range(width):
                z = Z[r, j] + b[j]
                Z[r, j] = z
                v = -abs(z)
                v = v if v >= floor else floor  # NaN too: put back below
                n = np.floor(v * log2e + half)
                P[j] = taylor((v - n * ln2_hi) - n * ln2_lo)
                k = whole(n)
                h = k >> one_bit
                S[2 * j], S[2 * j + 1] = (h + bias) << shift, (k - h + bias) << shift
            for j in range(width):
                e = P[j] * F[2 * j] * F[2 * j + 1]
                z = Z[r, j]
                a = (one if z >= 0 else e) / (one + e)
                Z[r, j] = a if z == z else z

    return impl
