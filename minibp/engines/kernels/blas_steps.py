"""The BLAS engine's compiled steps: a template, read as text, never imported.

minibp.engines.blas_compiled writes one Python file: the text of step.py, fused.py and
updates.py, then the texts of blas_sigmoid.py, blas_external.py, blas_barrier.py,
blas_gemm.py, blas_optimizer.py and this file below their markers, and imports it (its
name a hash of its text and of the versions, as minibp.engines.specialize names the
specialized loops, so a changed kernel makes a new file, never a stale one;
kernels/__init__.py says why files hold everything they inline). numba compiles
``train_steps`` once per dtype (for 1-4 layers, 5-8, ...: ``padded``), cached beside the
file.

``train_steps`` runs a range of an epoch's steps as blas_engine.Session._steps does them:
gather the batch, per layer X @ W.T through NumPy's own ``cblas_?gemm`` (blas_gemm.py),
bias and activation, the loss and its gradient, dZ.T @ X and dZ @ W, then the optimizer's
update (blas_optimizer.py); with the step kernels of step.py, fused.py and updates.py,
called through their symbols (blas_external.py: each compiled once, not again in every
caller), which ``bind_steps`` and ``bind_predict`` bind before ``train_steps`` and
``forward_rows`` compile or load. Two threads run it at once
(minibp.engines.blas_threads), each doing its half of every phase but the loss, OpenBLAS
at one thread, so products and elementwise work share the cores (two pools fight for them:
docs/performance.md), and meet between phases (blas_barrier.py). The results differ from
the Python steps' in the last bits only: the products' halves, the bias gradients summed
per half, and sigmoid's exp (blas_sigmoid.py).
"""
# ruff: noqa: F821 - names from the kernels and the templates pasted before this text

# -- template --------------------------------------------------------------------------------
STEPS_DONE, NOT_FINITE, OVERFLOW, WEIGHTLESS, STOPPED = 0, 1, 2, 3, 4  # train_steps' status


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
    state0, state1, halves, adam, settings = update
    bind(gather_batch, X, T, order, 0, x, t)
    bind_predict(W, b, A, acts, P[0], S[0])
    bind(loss_backward, A[last], t, wbuf, loss, acts[last], dZ[last], db[last], sq)
    for i in range(1, last + 1):
        bind(derivative_and_bias_gradient, dZ[i - 1], A[i - 1], acts[i - 1], db2[0])
    if last == 0:  # one layer: train_steps' code calls it all the same (a driver loaded
        bind(derivative_and_bias_gradient, dZ[0], x, acts[0], db2[0])  # unbound crashes)
    for i in range(last + 1):  # parameter 2i: layer i's weights, 2i + 1 its biases
        for p, value in ((2 * i, W[i].reshape(-1)), (2 * i + 1, b[i])):
            bind(update_part, value, value, state0[p], state1[p], halves, 0, p, adam, 0.0,
                 0.0, settings)


def bind_predict(W, b, A, acts, P, S) -> None:
    """Bind the kernels forward_rows calls (P, S: one half's rows of the scratch)."""
    for i in range(len(acts)):
        bind(activate_rows, A[i], b[i], 0, acts[i], P, S)


@njit(cache=True, inline="always")
def half(size, part):
    """[start, stop) of part 0 or 1 of range(size): the cut is always in two, whatever the
    thread count, so every result is the same on one thread or two."""
    return size * part // 2, size * (part + 1) // 2


@njit(cache=True, inline="always")
def forward_product(part, rows, source, Wi, Ai, spare, by_inputs):
    """Part 0 or 1 of A = source @ Wi.T for ``rows`` rows. ``by_inputs`` (float64): by
    halves of the inputs (Wi's columns), part 0's sums into A and part 1's into ``spare``
    (the layer's dZ, unused until the backward pass) for add_rows; else by blocks of A's
    columns. W4 trains at 1.11-1.18x the needed products with the first cut, 1.21-1.25x
    with the second; W3 (float32) at 1.16-1.18x and 1.10-1.14x (docs/performance.md)."""
    n_out, n_in = Wi.shape
    if by_inputs:
        k0, k1 = half(n_in, part)
        gemm(NO_TRANS, TRANS, rows, n_out, k1 - k0, source, k0, Wi, k0,
             Ai if part == 0 else spare, 0)
    else:
        c0, c1 = half(n_out, part)
        gemm(NO_TRANS, TRANS, rows, c1 - c0, n_in, source, 0, Wi, c0 * n_in, Ai, c0)


@njit(cache=True, inline="always")
def add_rows(Ai, spare, r0, r1):
    """Ai[r0:r1] += spare[r0:r1]: the second half of a product cut by its inputs, added
    (always part 0's sums plus part 1's: the same on one thread or two)."""
    for r in range(r0, r1):
        for j in range(Ai.shape[1]):
            Ai[r, j] += spare[r, j]


@njit(cache=True, error_model="numpy")
def forward_half(part, rows, x, x_row, W, b, A, acts, P, S):
    """Part 0 or 1 of the ``rows`` rows of x from row x_row on through every layer: per
    layer A = act(source @ W.T + b) on those rows, the source x and then the layer
    before's A. No row depends on another, so the halves need no meeting between layers."""
    r0, r1 = half(rows, part)
    for i in range(acts.shape[0]):
        source, Wi, Ai = x if i == 0 else A[i - 1], W[i], A[i]
        n_out, n_in = Wi.shape
        first = (x_row + r0) * n_in if i == 0 else r0 * n_in
        gemm(NO_TRANS, TRANS, r1 - r0, n_out, n_in, source, first, Wi, 0, Ai, r0 * n_out)
        activate_x(Ai[r0:r1], b[i], r1 - r0, acts[i], P, S)


@njit(cache=True, error_model="numpy", nogil=True)
def forward_rows(x, n, rows, W, b, A, acts, P, S, out, sync, me, threads):
    """out[:n] = the layers' output for x[:n] (x (n or more, in)), ``rows`` rows at a time
    (A's rows): the BLAS engine's predict (blas_compiled.predict). Thread ``me`` of
    ``threads`` (blas_threads.call) takes its half of every batch's rows, 0 and 1 alone;
    the threads meet only before a shorter last batch, whose halves cut A elsewhere.
    W, b, A: tuples over the layers; P, S: sigmoid_rows' scratch, a row per half."""
    last, met = acts.shape[0] - 1, 0
    for start in range(0, n, rows):
        count = min(rows, n - start)
        if start > 0 and count < rows:  # the last batch's halves take other rows of A
            met = meet(sync, threads, met)
        for part in range(me, 2, threads):
            forward_half(part, count, x, start, W, b, A, acts, P[part], S[part])
            r0, r1 = half(count, part)
            result = A[last]
            for r in range(r0, r1):  # loops: a slice assignment compiles its error's text
                for c in range(out.shape[1]):
                    out[start + r, c] = result[r, c]


@njit(cache=True, error_model="numpy", nogil=True)
def train_steps(data, order, first, stop, batch_size, params, buffers, acts, loss, update,
                lrs, steps_before, result, sync, me, threads):
    """Steps first .. stop-1 (0-based) of the epoch in ``order``; returns (status, made):
    STEPS_DONE, or why the step after the ``made`` ones stopped, as Session._steps stops:
    WEIGHTLESS (its weights sum to 0), NOT_FINITE (its loss), OVERFLOW (its update made a
    value non-finite; the values are then partly updated), STOPPED (the other thread
    raised). result[0], result[1]: the running (weighted) sum of the epoch's losses and
    their share, carried on from the values they hold, in Session._steps's order; result[2]
    the last step's loss.

    Run by ``threads`` threads at once (blas_threads.call), this one ``me``: each phase of a
    step is cut in two halves, thread k doing half k (one thread alone does both), and the
    threads meet (blas_barrier.meet) before the next phase reads what it wrote. A forward
    product by halves of its inputs or blocks of its output (forward_product), the others
    by blocks of their output (OpenBLAS at one thread: blas_library.one_blas_thread), the
    batch gather, the activations and the derivatives by rows, each update by its
    parameter's two halves; the loss, the bias gradients' two halves added, and the small
    parameters' updates by thread 0. Every branch depends only on values both threads read
    after a meeting, so both meet as often and return the same.

    data: (X, T, w) (n, in), (n, out), the sample weights (n,) or empty. params: (W, b, dW,
    db), each a tuple over the layers. buffers: (x, t, A, dZ, wbuf, sq, P, S, db2): the
    Buffers' arrays, sigmoid_rows' scratch per half (P, S: 2 rows) and the halves' bias
    gradients (db2: 2 rows). update: (state0, state1, halves, adam, settings): the
    optimizer's state per parameter as blas_update.Updater's views (2i layer i's weights,
    2i + 1 its biases), halves[part, p] the block of parameter p's half [start, stop,
    is_matrix]; lrs[s - first] the lr of step s. sync: blas_barrier's counters, zero at the
    call."""
    X, T, w = data
    W, b, dW, db = params
    x, t, A, dZ, wbuf, sq, P, S, db2 = buffers
    state0, state1, halves, adam, settings = update
    n, last, met = X.shape[0], acts.shape[0] - 1, 0
    total, seen = result[0], result[1]
    by_inputs = x.itemsize == 8  # how the forward products are cut: see forward_product
    for s in range(first, stop):
        start = s * batch_size
        rows = min(batch_size, n - start)
        for part in range(me, 2, threads):
            r0, r1 = half(rows, part)
            gather_x(X, T, order, start + r0, x[r0:r1], t[r0:r1])
            if w.shape[0] > 0:
                for r in range(r0, r1):
                    wbuf[r] = w[order[start + r]]
        met = meet(sync, threads, met)
        if met < 0:
            return STOPPED, s - first
        for i in range(last + 1):
            source, Ai, spare = x if i == 0 else A[i - 1], A[i], dZ[i]
            for part in range(me, 2, threads):
                forward_product(part, rows, source, W[i], Ai, spare, by_inputs)
            met = meet(sync, threads, met)
            for part in range(me, 2, threads):
                r0, r1 = half(rows, part)
                if by_inputs:
                    add_rows(Ai, spare, r0, r1)
                activate_x(Ai[r0:r1], b[i], r1 - r0, acts[i], P[part], S[part])
            met = meet(sync, threads, met)
        if me == 0:
            weight = wbuf[:rows] if w.shape[0] > 0 else wbuf[:0]
            result[2], result[3], _ = loss_x(A[last][:rows], t[:rows], weight, loss,
                                             acts[last], dZ[last][:rows], db[last], sq)
        met = meet(sync, threads, met)
        value, share = result[2], result[3]
        for i in range(last, -1, -1):
            source, Wi, dWi, dZi = x if i == 0 else A[i - 1], W[i], dW[i], dZ[i]
            below = dZ[i - 1] if i > 0 else dZi
            n_out, n_in = Wi.shape
            for part in range(me, 2, threads):  # dW by blocks of rows, dZ @ W of columns
                u0, u1 = half(n_out, part)
                gemm(TRANS, NO_TRANS, u1 - u0, n_in, rows, dZi, u0, source, 0, dWi, u0 * n_in)
                if i > 0:
                    c0, c1 = half(n_in, part)
                    gemm(NO_TRANS, NO_TRANS, rows, c1 - c0, n_out, dZi, 0, Wi, c0, below, c0)
            met = meet(sync, threads, met)
            if i > 0:
                for part in range(me, 2, threads):
                    r0, r1 = half(rows, part)
                    derivative_x(below[r0:r1], source[r0:r1], acts[i - 1], db2[part][:n_in])
                met = meet(sync, threads, met)
                if me == 0:  # read after the next meeting, written again after two more
                    dbi = db[i - 1]
                    for j in range(n_in):
                        dbi[j] = db2[0, j] + db2[1, j]
        if w.shape[0] > 0 and share == 0.0:
            return WEIGHTLESS, s - first
        if not np.isfinite(value):
            return NOT_FINITE, s - first
        lr, t_adam = lrs[s - first], float(steps_before + s - first + 1)
        sync[FINISHED + me] = update_layers(W, b, dW, db, state0, state1, halves, last + 1,
                                            adam, lr, t_adam, settings, me, threads)
        met = meet(sync, threads, met)
        if sync[FINISHED] == 0 or (threads == 2 and sync[FINISHED + 1] == 0):
            return OVERFLOW, s - first
        total, seen = total + value * share, seen + share
        if me == 0:
            result[0], result[1] = total, seen
    return STEPS_DONE, stop - first
