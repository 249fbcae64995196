"""The BLAS engine's compiled steps: a template, read as text, never imported.

minibp.engines.blas_compiled writes one Python file: the text of step.py, fused.py and
updates.py, then blas_sigmoid.py's and this file's texts below their markers, and imports
it (its name a hash of its text and of the versions, as minibp.engines.specialize names the
specialized loops, so a changed kernel makes a new file, never a stale one;
kernels/__init__.py says why files hold everything they inline). numba compiles
``train_steps`` once per dtype (for 1-4 layers, 5-8, ...: ``padded``), cached beside the file.

``train_steps`` runs a range of an epoch's steps as blas_engine.Session._steps does them:
gather the batch, per layer X @ W.T through NumPy's own ``cblas_?gemm`` (bound by
minibp.engines.blas_library), bias and activation, the loss and its gradient, dZ.T @ X and
dZ @ W, then the optimizer's update; with the step kernels of step.py, fused.py and
updates.py, called through their symbols (blas_external.py: each compiled once, not again
inside every parallel loop), which ``bind_steps`` and ``bind_predict`` bind before
``train_steps`` and ``forward_rows`` compile or load. Every phase but the loss runs in two
halves on numba's threads, OpenBLAS at one thread, so products and elementwise work share
one pool (two pools fight for the cores: docs/performance.md). The results differ from the
Python steps' in the last bits only: the products' halves, the bias gradients summed per
half, and sigmoid's exp (blas_sigmoid.py).
"""
# ruff: noqa: F821 - names from step.py, fused.py, updates.py, blas_sigmoid.py, blas_external.py

# -- template --------------------------------------------------------------------------------
from numba import prange, types
from numba.extending import overload

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112  # cblas' enums
STEPS_DONE, NOT_FINITE, OVERFLOW, WEIGHTLESS = 0, 1, 2, 3  # train_steps' status


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


@njit(cache=True, error_model="numpy")
def update_part(params, grads, m, v, blocks, adam, lr, t, settings):
    """The optimizer's update of params over blocks: updates.adam_update or sgd_update (m
    the momentum buffer), compiled once rather than inlined at every call."""
    if adam:
        return adam_update(params, grads, m, v, blocks, lr, t, settings)
    return sgd_update(params, grads, m, blocks, lr, settings)


@njit(cache=True, error_model="numpy")
def activate_rows(Z, b, rows, act, P, S):
    """Z[r] = act(Z[r] + b) for the first ``rows`` rows: sigmoid_rows, else
    step.add_bias_activate."""
    if act == SIGMOID:
        sigmoid_rows(Z, b, rows, P, S)
    else:
        add_bias_activate(Z[:rows], b, act)


# The kernels train_steps and forward_rows call, through their symbols (blas_external.py)
gather_x, activate_x, loss_x, derivative_x, update_x = (external(k) for k in (
    gather_batch, activate_rows, loss_backward, derivative_and_bias_gradient, update_part))


def padded(arrays, per_layer: int = 1) -> tuple:
    """``arrays`` (per_layer of them for each layer) as a tuple for 4, 8, 16, ... layers,
    empty slices of the last one after them (its type: dtype, dimensions, flags such as
    read-only): the driver's types then depend on the depth only through that size, so every
    model of up to 4 layers (5 to 8, ...) runs one compiled driver per dtype. The driver
    reads the depth from acts."""
    arrays, slots = tuple(arrays), 4
    while slots * per_layer < len(arrays):
        slots *= 2
    return arrays + (arrays[-1][:0],) * (slots * per_layer - len(arrays))


def bind_steps(data, order, params, buffers, acts, loss, update) -> None:
    """Bind the kernels train_steps calls, for the types of its arguments (as it passes
    them: a slice of rows of an array has the array's type, an integer is int64)."""
    (X, T, _), (W, b, _, db), last = data, params, len(acts) - 1
    x, t, A, dZ, wbuf, sq, P, S, db2 = buffers
    values, grads, state0, state1, halves, adam, settings = update
    bind(gather_batch, X, T, order, 0, x, t)
    bind_predict(W, b, A, acts, P[0], S[0])
    bind(loss_backward, A[last], t, wbuf, loss, acts[last], dZ[last], db[last], sq)
    for i in range(1, last + 1):
        bind(derivative_and_bias_gradient, dZ[i - 1], A[i - 1], acts[i - 1], db2[0])
    for p in range(len(values)):
        bind(update_part, values[p], grads[p], state0[p], state1[p], halves[0][p], adam, 0.0,
             0.0, settings)


def bind_predict(W, b, A, acts, P, S) -> None:
    """Bind the kernels forward_rows calls (P, S: one half's rows of the scratch)."""
    for i in range(len(acts)):
        bind(activate_rows, A[i], b[i], 0, acts[i], P, S)


PARALLEL = {"prange": True, "fusion": False}  # see train_steps: fusion would race
PARALLEL_UPDATE = 8192  # parameters smaller than this update on one thread


@njit(cache=True, inline="always")
def half(size, part):
    """[start, stop) of part 0 or 1 of range(size): the cut is always in two, whatever the
    thread count, so every result is the same on one thread or many."""
    return size * part // 2, size * (part + 1) // 2


@njit(cache=True, error_model="numpy")
def forward_half(part, rows, x, W, b, A, acts, P, S):
    """Part 0 or 1 of x's first ``rows`` rows (half(rows, part)) through every layer: per
    layer A = act(source @ W.T + b) on those rows, the source x and then the layer
    before's A. No row depends on another, so the halves need no barrier between layers."""
    r0, r1 = half(rows, part)
    for i in range(acts.shape[0]):
        source, Wi, Ai = x if i == 0 else A[i - 1], W[i], A[i]
        n_out, n_in = Wi.shape
        gemm(NO_TRANS, TRANS, r1 - r0, n_out, n_in, source, r0 * n_in, Wi, 0, Ai, r0 * n_out)
        activate_x(Ai[r0:r1], b[i], r1 - r0, acts[i], P, S)


@njit(cache=True, error_model="numpy", parallel=PARALLEL)
def forward_rows(x, rows, W, b, A, acts, P, S):
    """The layers' output for x[:rows] (x (rows or more, in)) into A[last][:rows], each half
    of the rows on one of numba's threads: the BLAS engine's predict (blas_compiled.
    predict). W, b, A: tuples over the layers; P, S: sigmoid_rows' scratch, a row per half."""
    for part in prange(2):
        forward_half(part, rows, x, W, b, A, acts, P[part], S[part])


@njit(cache=True, error_model="numpy", parallel=PARALLEL)
def train_steps(data, order, first, stop, batch_size, params, buffers, acts, loss, update,
                lrs, steps_before, result):
    """Steps first .. stop-1 (0-based) of the epoch in ``order``; returns (status, made):
    STEPS_DONE, or why the step after the ``made`` ones stopped, as Session._steps stops:
    WEIGHTLESS (its weights sum to 0), NOT_FINITE (its loss), OVERFLOW (its update made a
    value non-finite; the values are then partly updated). result[0], result[1]: the
    running (weighted) sum of the epoch's losses and their share, carried on from the
    values they hold, in Session._steps's order; result[2] the last step's loss.

    Each phase of a step runs in two halves, ``prange(2)``: a product by blocks of its
    output (OpenBLAS at one thread: blas_library.one_blas_thread), the batch gather, the
    activations and the derivatives by rows, each update by its parameter's two halves. A
    phase ends before the next starts; numba's loop fusion is off, since it cannot see a
    product writing its output through a pointer and would merge phases that depend on each
    other. The derivatives' bias gradients are summed per half, then the halves added.

    data: (X, T, w) (n, in), (n, out), the sample weights (n,) or empty. params: (W, b, dW,
    db), each a tuple over the layers. buffers: (x, t, A, dZ, wbuf, sq, P, S, db2): the
    Buffers' arrays, sigmoid_rows' scratch per half (P, S: 2 rows) and the halves' bias
    gradients (db2: 2 rows). update: (values, grads, state0, state1, halves, adam,
    settings), as blas_update.Updater's views, halves[part] the blocks of each parameter's
    half; lrs[s - first] the lr of step s."""
    X, T, w = data
    W, b, dW, db = params
    x, t, A, dZ, wbuf, sq, P, S, db2 = buffers
    values, grads, state0, state1, halves, adam, settings = update
    n, last = X.shape[0], acts.shape[0] - 1
    total, seen = result[0], result[1]
    finite = np.empty(2, np.bool_)  # written by each parallel update before it is read
    for s in range(first, stop):
        start = s * batch_size
        rows = min(batch_size, n - start)
        for part in prange(2):
            r0, r1 = half(rows, part)
            gather_x(X, T, order, start + r0, x[r0:r1], t[r0:r1])
        weight = wbuf[:0]
        if w.shape[0] > 0:
            for r in range(rows):
                wbuf[r] = w[order[start + r]]
            weight = wbuf[:rows]
        for i in range(last + 1):  # (prange bodies take arrays, not tuples: bound here)
            source, Wi, bi, Ai, act = x if i == 0 else A[i - 1], W[i], b[i], A[i], acts[i]
            n_out, n_in = Wi.shape
            for part in prange(2):  # A = source @ W.T, by blocks of output columns
                c0, c1 = half(n_out, part)
                gemm(NO_TRANS, TRANS, rows, c1 - c0, n_in, source, 0, Wi, c0 * n_in, Ai, c0)
            for part in prange(2):
                r0, r1 = half(rows, part)
                activate_x(Ai[r0:r1], bi, r1 - r0, act, P[part], S[part])
        value, share, _ = loss_x(A[last][:rows], t[:rows], weight, loss, acts[last],
                                 dZ[last][:rows], db[last], sq)
        result[2] = value
        for i in range(last, -1, -1):
            source, Wi, dWi, dZi = x if i == 0 else A[i - 1], W[i], dW[i], dZ[i]
            below = dZ[i - 1] if i > 0 else dZi
            n_out, n_in = Wi.shape
            for part in prange(2):  # dW by blocks of its rows; dZ @ W by blocks of columns
                u0, u1 = half(n_out, part)
                gemm(TRANS, NO_TRANS, u1 - u0, n_in, rows, dZi, u0, source, 0, dWi, u0 * n_in)
                if i > 0:
                    c0, c1 = half(n_in, part)
                    gemm(NO_TRANS, NO_TRANS, rows, c1 - c0, n_out, dZi, 0, Wi, c0, below, c0)
            if i > 0:
                act = acts[i - 1]
                for part in prange(2):
                    r0, r1 = half(rows, part)
                    derivative_x(below[r0:r1], source[r0:r1], act, db2[part][:n_in])
                dbi = db[i - 1]
                for j in range(n_in):
                    dbi[j] = db2[0, j] + db2[1, j]
        if w.shape[0] > 0 and share == 0.0:
            return WEIGHTLESS, s - first
        if not np.isfinite(value):
            return NOT_FINITE, s - first
        lr, t_adam, ok = lrs[s - first], float(steps_before + s - first + 1), True
        for p in range(len(values)):
            value_p, grad, m, v = values[p], grads[p], state0[p], state1[p]
            first_half, second_half = halves[0][p], halves[1][p]
            if value_p.shape[0] == 0:  # padded() past the model's parameters
                continue
            if value_p.shape[0] < PARALLEL_UPDATE:
                ok &= update_x(value_p, grad, m, v, first_half, adam, lr, t_adam, settings)
                ok &= update_x(value_p, grad, m, v, second_half, adam, lr, t_adam, settings)
                continue
            for part in prange(2):
                finite[part] = update_x(value_p, grad, m, v,
                                        first_half if part == 0 else second_half, adam, lr,
                                        t_adam, settings)
            ok &= finite[0] and finite[1]
        if not ok:
            return OVERFLOW, s - first
        total, seen = total + value * share, seen + share
        result[0], result[1] = total, seen
    return STEPS_DONE, stop - first
