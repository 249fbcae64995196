"""sigmoid in the BLAS engine's compiled steps: a template, read as text, never imported.

minibp.engines.blas_compiled pastes the text below the marker into the compiled steps' file,
between the kernels it pastes whole and kernels/blas_steps.py's driver, which calls
``sigmoid_rows`` through ``activate_rows``. The Python steps leave sigmoid's exp to NumPy's
SIMD loop, which compiled code cannot call; numba's own ``np.exp`` is a scalar libm call,
8-10x slower. So exp(-|z|) is written out here in loops LLVM vectorizes without fastmath:
within 2 ulp of NumPy's (tests/engines/test_blas_compiled.py), NaN kept, infinities and
numbers past the smallest subnormal taken to their limits. The float32 and float64 versions
are two functions of the same shape on purpose: each has its own typed constants (a float64
constant would turn float32 arithmetic into float64) and its own polynomial degree (7 and
13: the float32 one would pay 30% more for terms that add nothing).
"""
# ruff: noqa: F821 - np and math from the kernels pasted before this text

# -- template --------------------------------------------------------------------------------
from numba import types
from numba.extending import overload

# exp(v) for v <= 0 as p(r) * 2**n, v = n ln2 + r: n = round(v / ln2) and r by Cody and
# Waite's two-part ln2 (LN2_HI * n exact), p Taylor's series to the degree that leaves a
# tenth of an ulp on |r| <= ln2 / 2 (13 in float64, 7 in float32); 2**n as two factors, so
# that results down to the smallest subnormal round once. Below FLOOR, exp rounds to 0.
LOG2E, HALF, ONE = 1.4426950408889634, 0.5, 1.0
LN2_HI, LN2_LO, FLOOR = 6.93147180369123816490e-01, 1.90821492927058770002e-10, -746.0
K2, K3, K4, K5, K6, K7, K8, K9, K10, K11, K12, K13 = (1.0 / math.factorial(k)
                                                      for k in range(2, 14))
LOG2E_32, HALF_32, ONE_32 = np.float32(LOG2E), np.float32(HALF), np.float32(ONE)
LN2_HI_32, LN2_LO_32, FLOOR_32 = (np.float32(0.693145751953125),
                                  np.float32(1.428606765330187045e-06), np.float32(-104.0))
K2_32, K3_32, K4_32, K5_32, K6_32, K7_32 = (np.float32(k) for k in (K2, K3, K4, K5, K6, K7))
BIAS_32, SHIFT_32 = np.int32(127), np.int32(23)


def sigmoid_rows(Z, b, rows, P, S):
    """Z[r] = sigmoid(Z[r] + b) for the first ``rows`` rows of Z (rows, width), as
    step.add_bias_activate computes it but for exp; P (width,) in Z's dtype and S
    (2 * width,) integers of its size: scratch, the two factors of 2**n side by side (two
    halves of S instead: 4x slower, LLVM no longer vectorizes)."""


@overload(sigmoid_rows)
def _sigmoid_rows(Z, b, rows, P, S):
    """The implementation for Z's dtype (plain functions: numba compiles them into the
    caller, with the caller's error_model)."""
    return _sigmoid_rows_32 if Z.dtype == types.float32 else _sigmoid_rows_64


def _sigmoid_rows_64(Z, b, rows, P, S):
    width, F = Z.shape[1], S.view(np.float64)
    for r in range(rows):
        for j in range(width):
            z = Z[r, j] + b[j]
            Z[r, j] = z
            v = -abs(z)
            v = v if v >= FLOOR else FLOOR  # NaN too: put back below
            n = np.floor(v * LOG2E + HALF)
            q = (v - n * LN2_HI) - n * LN2_LO
            P[j] = ONE + q * (ONE + q * (K2 + q * (K3 + q * (K4 + q * (K5 + q * (K6 + q * (
                K7 + q * (K8 + q * (K9 + q * (K10 + q * (K11 + q * (K12 + q * K13))))))))))))
            k = np.int64(n)
            h = k >> 1
            S[2 * j], S[2 * j + 1] = (h + 1023) << 52, (k - h + 1023) << 52
        for j in range(width):
            e = P[j] * F[2 * j] * F[2 * j + 1]
            z = Z[r, j]
            a = (ONE if z >= 0 else e) / (ONE + e)
            Z[r, j] = a if z == z else z


def _sigmoid_rows_32(Z, b, rows, P, S):
    width, F = Z.shape[1], S.view(np.float32)
    for r in range(rows):
        for j in range(width):
            z = Z[r, j] + b[j]
            Z[r, j] = z
            v = -abs(z)
            v = v if v >= FLOOR_32 else FLOOR_32  # NaN too: put back below
            n = np.floor(v * LOG2E_32 + HALF_32)
            q = (v - n * LN2_HI_32) - n * LN2_LO_32
            P[j] = ONE_32 + q * (ONE_32 + q * (K2_32 + q * (K3_32 + q * (K4_32 + q * (
                K5_32 + q * (K6_32 + q * K7_32))))))
            k = np.int32(n)
            h = k >> np.int32(1)
            S[2 * j], S[2 * j + 1] = (h + BIAS_32) << SHIFT_32, (k - h + BIAS_32) << SHIFT_32
        for j in range(width):
            e = P[j] * F[2 * j] * F[2 * j + 1]
            z = Z[r, j]
            a = (ONE_32 if z >= 0 else e) / (ONE_32 + e)
            Z[r, j] = a if z == z else z
