"""The specialized training loop's driver: a template, read as text, never imported.

minibp.engines.specialize writes, for each model structure, one Python file: the text of
loop.py and of shuffle.py, then the structure's facts as module constants, then this file's
text below the marker, with the calls to forward_layers and backward_layers replaced by
each layer's own call (dense_forward_at, dense_backward_at with its sizes and activation;
for single rows, the two steps dense_backward_at takes when rows is 1).
numba compiles that file with ``cache=True``: the constants fold, the branches they decide
vanish, and loop.py's kernels inline with each layer's sizes and activation fixed. The file
holds everything it inlines, as loop.py does (kernels/__init__.py says why), and its name
is a hash of its text, so a changed loop.py or template makes a new file, never a stale
kernel. The layer calls are pasted in place rather than made functions of their own:
numba inlines a function by running its front end and copying its IR at every call, and a
level of functions wrapping the layers cost about 0.6 s of each compile (1.7 s for three
large layers); so did dense_backward_at's batched path, copied and then pruned, 0.2 s a
layer (loop_source._backward_call). Measured with numba's compile events
(docs/performance.md, "Compiling a structure").

The constants (each True or False unless said): SHUFFLED, WEIGHTED (sample weights),
WITH_L2, WITH_CLIP, WITH_ADAM (else SGD), CONSTANT_SCHEDULE, ALL_TRAINABLE (nothing frozen),
SINGLE_ROW (batch_size 1: the batched paths fold away), GATHERED (shuffled batches of
several rows, copied into buffers), ROWS_OF_ONE (replacing loop.py's True: False when no
batch can have one row, n % batch_size != 1, so dense_backward_at's one-row path folds
away), LOSS_CODE (a loss code), FUSED (single rows, SGD without l2 or clipping: each layer's
update is applied as its gradient is made, in the backward pass, see
_dense_backward_update_one_row) with SGD_MOMENTUM, SGD_NESTEROV and SGD_DECAY (which of
SGD's terms it has); loop.py gives the rest.
``train_epochs`` takes loop.train_epochs's arguments and returns what it returns, computed
by the same operations in the same order (tests/engines/test_specialized.py holds the two
together).
"""
# ruff: noqa: F821, F841 - names from loop.py, the generated constants and the pasted calls

# -- template --------------------------------------------------------------------------------
FUSED_NOT_FINITE = 4.0  # report[0]: a fused step went wrong; numba_engine finds out how


@njit(cache=True, inline="always")
def _sgd_one(params, buf, i, g, rate, momentum, decay):
    """sgd_update's step of one parameter, its terms fixed by SGD_DECAY, SGD_MOMENTUM and
    SGD_NESTEROV (the same operations in the same order). Returns the updated value times
    0.0: 0 when it is finite, NaN when it is not (no fastmath here, so nothing folds it)."""
    if SGD_DECAY:
        g = g + decay * params[i]
    if SGD_MOMENTUM:
        buf[i] = buf[i] * momentum + g
        g = g + momentum * buf[i] if SGD_NESTEROV else buf[i]
    params[i] -= rate * g
    return params[i] * 0.0


@njit(cache=True, inline="always")
def _dense_backward_update_one_row(src, src_off, params, grads, n_in, n_out, w_off, b_off,
                                   deltas, d_off, s_off, input_gradient, sgd, train_w,
                                   train_b):
    """_dense_backward_one_row with SGD's update folded in (FUSED): the input gradient
    first, from W before its update, then each gradient written and, where its parameter
    trains, applied at once (_sgd_one): sgd_update's values without reading the gradients
    back. sgd = (momentum buffer, rate, momentum, decay). Returns whether every updated
    value is finite: the sum of each times 0.0 is 0 only then. A multiply and an add a
    value; a comparison and an AND a value cost W1's loop 3-4% more (docs/performance.md)."""
    real = grads.dtype.type
    buf, rate, momentum, decay = sgd
    if input_gradient:
        input_gradient_rows(params, n_in, n_out, w_off, deltas, d_off, s_off, 1)
    zeros = 0.0  # the updated values times 0.0, summed: NaN once one is not finite
    for j in range(n_out):
        dZ = np.float64(deltas[d_off + j])  # as _dense_backward_one_row rounds them
        w = w_off + j * n_in
        for k in range(n_in):
            grads[w + k] = g = real(dZ * src[src_off + k])
            if train_w:
                zeros += _sgd_one(params, buf, w + k, g, rate, momentum, decay)
        grads[b_off + j] = g = real(dZ)
        if train_b:
            zeros += _sgd_one(params, buf, b_off + j, g, rate, momentum, decay)
    return zeros == 0.0


@njit(cache=True, inline="always")
def trained_parts(layout, blocks):
    """(layers, 2) booleans: whether each layer's W and b are among blocks' rows."""
    trains = np.zeros((layout.shape[0], 2), np.bool_)
    for k in range(blocks.shape[0]):
        for i in range(layout.shape[0]):
            trains[i, 0] |= blocks[k, 0] == layout[i, W_OFF]
            trains[i, 1] |= blocks[k, 0] == layout[i, B_OFF]
    return trains


@njit(cache=True, error_model="numpy")
def train_epochs(data, order, rng, shuffle, batch_size, epochs, first_step, net, scratch,
                 loss, optimizer, epoch_losses, report, budget, resume):
    """loop.train_epochs for this structure: shuffle and loss are fixed by SHUFFLED and
    LOSS_CODE (the arguments are kept so both loops take the same call). Unshuffled, rng may
    be None: numba types a Generator argument in Python at every call (about 20 us)."""
    X, Y, w = data
    params, grads, layout, blocks = net
    acts, x_buf, y_buf, w_buf, deltas = scratch
    settings, state0, state1, lrs = optimizer
    l2, clip_norm = settings[L2], settings[CLIP_NORM]
    lr = settings[LR_0] * settings[LR_SCALE]
    counter = int(settings[STEPS])
    n_in, n_out = layout[0, N_IN], layout[layout.shape[0] - 1, N_OUT]
    n = X.shape[0] // n_in
    half = deltas.shape[0] // 2
    everything = np.zeros((1, 3), np.int64)
    everything[0, 1] = params.shape[0]
    updated = everything if ALL_TRAINABLE else blocks
    # The batch's arrays, bound once: rebinding an array in the loop costs two atomic
    # reference-count updates per step. Shuffled batches of several rows are gathered into
    # the buffers; a single row, and unshuffled batches, are read in place from the data.
    x, y = (x_buf, y_buf) if GATHERED else (X, Y)
    weight = w_buf if GATHERED and WEIGHTED else w
    if FUSED:  # what fused steps read: which parts train, SGD's scalars as sgd_update rounds them
        trains = trained_parts(layout, blocks)  # (the pasted calls read it if any is frozen)
        real = params.dtype.type
        sgd = (state0, real(lr), real(settings[MOMENTUM]), real(settings[WEIGHT_DECAY]))
    step = first_step
    for e in range(epochs):
        first_row, total, seen = int(resume[0]), resume[1], resume[2]
        for start in range(first_row, n, batch_size):
            if step - first_step == budget:
                resume[0], resume[1], resume[2] = start, total, seen
                return e
            rows = 1 if SINGLE_ROW else min(batch_size, n - start)  # 1: no row loops
            if SHUFFLED:  # unshuffled, the branch is pruned before typing: rng may be None
                if start == 0:  # a new epoch's order, drawn only once it runs
                    shuffle_order(rng, order)  # rng.permutation(n), as loop.py draws it
            if GATHERED:
                gather_rows(X, n_in, order, start, rows, x_buf)
                gather_rows(Y, n_out, order, start, rows, y_buf)
                if WEIGHTED:
                    gather_rows(w, 1, order, start, rows, w_buf)
                x_off, y_off, w_off = 0, 0, 0
            else:
                row = order[start] if SHUFFLED else start
                x_off, y_off, w_off = row * n_in, row * n_out, row
            forward_layers(x, x_off, rows, params, layout, acts)  # pasted: each layer's call
            value, share = loss_forward_backward(acts, layout[layout.shape[0] - 1, A_OFF], y,
                                                 y_off, weight, w_off, rows, n_out, LOSS_CODE,
                                                 deltas)
            k = step - first_step
            if not CONSTANT_SCHEDULE:
                lr = scheduled_lr(settings, lrs, k, counter + k)
                if FUSED:
                    sgd = (state0, real(lr), sgd[2], sgd[3])
            if FUSED:  # backward and update in one pass; whatever goes wrong (a loss that
                # is not finite, a batch weighing 0, a gradient or update that is not)
                # returns FUSED_NOT_FINITE, and numba_engine undoes the call and asks the
                # generic kernels what the step would have reported
                if not np.isfinite(value) or (WEIGHTED and share == 0.0):
                    report[0], report[1], report[2] = FUSED_NOT_FINITE, step, value
                    return e
                finite = backward_update_layers(x, x_off, params, grads, acts, deltas, half)
                if not finite:
                    report[0], report[1], report[2] = FUSED_NOT_FINITE, step, value
                    return e
            else:
                norm2 = backward_layers(x, x_off, rows, params, grads, layout, acts, deltas, half)
                if WEIGHTED and share == 0.0:
                    report[0], report[1], report[2] = 2.0, step, value
                    return e
                if WITH_L2:
                    value += 0.5 * l2 * l2_penalty(params, grads, blocks, l2, rows) / rows
                    norm2 = squared_norm(grads, everything)
                if not (np.isfinite(value) and np.isfinite(norm2)):
                    report[0], report[1], report[2] = 1.0, step, value
                    return e
                if WITH_CLIP:
                    clip_gradients(grads, blocks, clip_norm)
                if WITH_ADAM:  # inlined: SGD's steps fold away here (cf. loop.adam_step)
                    t = float(counter + k + 1)
                    finite = adam_update(params, grads, state0, state1, updated, lr, t,
                                         settings)
                else:
                    finite = sgd_update(params, grads, state0, updated, lr, settings)
                if not finite:
                    report[0], report[1], report[2] = 3.0, step, value
                    return e
            total += value * share
            seen += share
            step += 1
        resume[0] = resume[1] = resume[2] = 0.0
        epoch_losses[e] = total / seen
    return epochs
