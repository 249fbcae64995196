"""The optimizer's update in the BLAS engine's compiled steps: a template, read as text,
never imported.

minibp.engines.blas_compiled pastes the text below the marker into the compiled steps' file,
before kernels/blas_steps.py's driver, whose ``train_steps`` calls ``update_layers`` once a
step on each of its two threads. Each parameter of PARALLEL_UPDATE values or more is
updated in two halves, thread k doing half k; smaller ones by thread 0 alone. The halves'
blocks are rows of one array, ``halves[part, p]`` = [start, stop, is_matrix] of the flat
parameter p (2i: layer i's weights, 2i + 1: its biases, as blas_update.Updater's views),
so that the driver takes one array for them, not a tuple per half (each array a compiled
function takes adds to its compile).
"""
# ruff: noqa: F821 - names from the kernels and the templates pasted before this text

# -- template --------------------------------------------------------------------------------
PARALLEL_UPDATE = 8192  # parameters smaller than this are updated by thread 0 alone


@njit(cache=True, error_model="numpy")
def update_part(params, grads, m, v, halves, part, p, adam, lr, t, settings):
    """The optimizer's update of parameter p's half ``part``: updates.adam_update or
    sgd_update (m the momentum buffer) over the block halves[part, p] [start, stop,
    is_matrix] of the flat params, compiled once rather than inlined at every call."""
    blocks = halves[part, p:p + 1]
    if adam:
        return adam_update(params, grads, m, v, blocks, lr, t, settings)
    return sgd_update(params, grads, m, blocks, lr, settings)


@njit(cache=True, error_model="numpy")
def update_layers(W, b, dW, db, state0, state1, halves, depth, adam, lr, t, settings, me,
                  threads):
    """Thread ``me``'s share of a step's updates (train_steps), layer by layer: the weights
    (parameter 2i, flat) and the biases (2i + 1). 1 when every value it wrote is finite."""
    ok = True
    for i in range(depth):
        p = 2 * i
        ok &= update_half(W[i].reshape(W[i].size), dW[i].reshape(dW[i].size), state0[p],
                          state1[p], halves, p, adam, lr, t, settings, me, threads)
        ok &= update_half(b[i], db[i], state0[p + 1], state1[p + 1], halves, p + 1, adam, lr,
                          t, settings, me, threads)
    return 1 if ok else 0


@njit(cache=True, error_model="numpy")
def update_half(value, grad, m, v, halves, p, adam, lr, t, settings, me, threads):
    """Thread ``me``'s half of parameter p's update, or for thread 0 the whole of one under
    PARALLEL_UPDATE values; whether every value it wrote is finite."""
    if value.shape[0] < PARALLEL_UPDATE:
        if me != 0:
            return True
        first = update_x(value, grad, m, v, halves, 0, p, adam, lr, t, settings)
        return update_x(value, grad, m, v, halves, 1, p, adam, lr, t, settings) and first
    ok = True
    for part in range(me, 2, threads):
        ok &= update_x(value, grad, m, v, halves, part, p, adam, lr, t, settings)
    return ok
