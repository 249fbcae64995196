"""JAX (CPU) for all four workloads, in two styles: jax_step and jax_loop.

``mode="step"`` (jax_step), as JAX's tutorials write it: the loss as a plain function,
``jax.grad`` of it, the SGD update, all in one ``jax.jit`` step that a Python loop calls once
per step (one row for W1/W2, one batch of 128 for W3/W4), the parameters donated to it.
``mode="loop"`` (jax_loop): the same step inside ``jax.lax.fori_loop`` in one jitted function,
so a whole run (W1/W2: all 10,000 steps; W3/W4: the epoch) is one call.

The order is everyone's, drawn inside train() (timed, as the other competitors draw it): W2's
``rng.permutation(n)`` per epoch from one ``default_rng(seed)``, W3/W4's
``default_rng(seed).permutation(samples)``; jax_loop takes it whole as an array, W3/W4's
batches sliced out of it inside the loop (the last, short batch a step of its own after it).
The sigmoid is ``jax.nn.sigmoid`` (XLA's 1 / (1 + exp(-z)), its derivative a * (1 - a));
W1/W2's loss is 1/2 squared error, W3/W4's the mean softmax cross-entropy of the logits.
Frozen biases (W1's) are not updated. The data go to the device in prepare, untimed; each
step gathers its rows from them inside the jitted code.
Float64 is on (``jax_enable_x64``, set when this module is imported, before any array is
made): W1, W2 and W4 run in float64, W3 in float32 (its arrays are float32, and a Python
float lr keeps them so).
``optimizer`` (W1/W2; W3/W4 run SGD only): "sgd" (jax_step, jax_loop), "momentum" and "adam"
(jax_loop_momentum, jax_loop_adam; jax_step takes them too), written by hand in JAX with
torch's semantics, as numba_floor writes them: momentum SGD with workload.momentum_lr and
workload.momentum (``buf = momentum * buf + g; p = p - lr * buf``, buf from zeros), Adam with
workload.adam_lr and torch's defaults, at step t = 1, 2, ... (``m = m + (1 - beta1) * (g - m)``,
``v = v * beta2 + (1 - beta2) * g * g``, ``p = p + (-lr / (1 - beta1**t)) * m /
(sqrt(v) / sqrt(1 - beta2**t) + eps)``). The optimizer's state (none for SGD) travels with the
parameters through the step, the loop and the donation; it starts afresh at each reset.
jit compiles in the first train() of a process (JAX keeps no compiled code across processes
here), which the harness reports as the first call; train() ends with block_until_ready, so
the timing holds the whole computation, not just its dispatch.
"""

from __future__ import annotations

import numpy as np

from benchmarks.competitors import Runner, UnavailableError

try:
    import jax
except ImportError:
    jax = None
else:
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

MODES = ("step", "loop")
OPTIMIZERS = ("sgd", "momentum", "adam")
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8        # torch.optim.Adam's defaults


def _require_jax() -> None:
    if jax is None:
        raise UnavailableError("jax is not installed (pip install -e '.[bench]')")


# -- W1/W2: single-sample SGD, 1/2 squared error ----------------------------------------------
def squared_error(params, x, y):
    """1/2 sum (a - y)**2 for one row x, through sigmoid layers [(W, b), ...]."""
    a = x
    for W, b in params:
        a = jax.nn.sigmoid(W @ a + b)
    return 0.5 * jnp.sum((a - y) ** 2)


def sgd(params, grads, lr, train_bias):
    """W -= lr * dW, and b -= lr * db where that layer's bias learns."""
    return [(W - lr * dW, b - lr * db if learns else b)
            for (W, b), (dW, db), learns in zip(params, grads, train_bias)]


def sgd_optimizer(workload):
    """(init, update) of plain SGD: no state; update(params, grads, ()) -> (params, ())."""
    lr, train_bias = workload.lr, tuple(layer.train_bias for layer in workload.layers)
    return (lambda params: (),
            lambda params, grads, state: (sgd(params, grads, lr, train_bias), ()))


def momentum_optimizer(workload):
    """(init, update) of torch's momentum SGD: a zero buffer per parameter at first."""
    lr, momentum = workload.momentum_lr, workload.momentum
    train_bias = tuple(layer.train_bias for layer in workload.layers)

    def init(params):
        return [(jnp.zeros_like(W), jnp.zeros_like(b)) for W, b in params]

    def update(params, grads, bufs):
        new_params, new_bufs = [], []
        for (W, b), (dW, db), (BW, Bb), learns in zip(params, grads, bufs, train_bias):
            BW = BW * momentum + dW
            W = W - lr * BW
            if learns:
                Bb = Bb * momentum + db
                b = b - lr * Bb
            new_params.append((W, b))
            new_bufs.append((BW, Bb))
        return new_params, new_bufs

    return init, update


def adam_optimizer(workload):
    """(init, update) of torch's Adam: the step count t and zero m, v per parameter at first."""
    lr, train_bias = workload.adam_lr, tuple(layer.train_bias for layer in workload.layers)

    def init(params):
        return jnp.zeros(()), [tuple(jnp.zeros_like(a) for a in (W, W, b, b)) for W, b in params]

    def one(p, g, m, v, step, root):
        m = m + (1.0 - BETA1) * (g - m)
        v = v * BETA2 + (1.0 - BETA2) * g * g
        return p + (step * m) / (jnp.sqrt(v) / root + EPS), m, v

    def update(params, grads, state):
        t, moments = state
        t = t + 1.0
        step, root = -(lr / (1.0 - BETA1 ** t)), jnp.sqrt(1.0 - BETA2 ** t)
        new_params, new_moments = [], []
        for (W, b), (dW, db), (mW, vW, mb, vb), learns in zip(params, grads, moments,
                                                              train_bias):
            W, mW, vW = one(W, dW, mW, vW, step, root)
            if learns:
                b, mb, vb = one(b, db, mb, vb, step, root)
            new_params.append((W, b))
            new_moments.append((mW, vW, mb, vb))
        return new_params, (t, new_moments)

    return init, update


def make_optimizer(workload, optimizer: str = "sgd"):
    """(init, update) of the named optimizer: init(params) is its starting state (a pytree),
    update(params, grads, state) -> (params, state)."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"jax competitor: optimizer must be one of {OPTIMIZERS}, got "
                         f"{optimizer!r}")
    return {"sgd": sgd_optimizer, "momentum": momentum_optimizer,
            "adam": adam_optimizer}[optimizer](workload)


def chapter_step(workload, update):
    """step((params, state), X, Y, i): one step of `update` on row i (lr, frozen biases
    fixed at trace time)."""
    grad = jax.grad(squared_error)

    def step(carry, X, Y, i):
        params, state = carry
        return update(params, grad(params, X[i], Y[i]), state)

    return step


def chapter_order(workload) -> np.ndarray:
    """Every step's row, epoch after epoch: 0..n-1, or rng.permutation(n) from one generator."""
    n = workload.X.shape[0]
    if not workload.shuffle:
        return np.tile(np.arange(n), workload.epochs)
    rng = np.random.default_rng(workload.seed)
    return np.concatenate([rng.permutation(n) for _ in range(workload.epochs)])


# -- W3/W4: minibatch SGD, softmax cross-entropy ----------------------------------------------
def cross_entropy(params, X, y):
    """Mean softmax cross-entropy of the logits, sigmoid hidden layers, a linear output."""
    A = X
    for W, b in params[:-1]:
        A = jax.nn.sigmoid(A @ W.T + b)
    W, b = params[-1]
    log_p = jax.nn.log_softmax(A @ W.T + b, axis=1)
    return -jnp.mean(jnp.take_along_axis(log_p, y[:, None], axis=1))


def mlp_step(workload, update):
    """step((params, state), X, y, rows): one step of `update` on the batch X[rows], y[rows]."""
    grad = jax.grad(cross_entropy)

    def step(carry, X, y, rows):
        params, state = carry
        return update(params, grad(params, X[rows], y[rows]), state)

    return step


def mlp_epoch(step, batch_size):
    """epoch(carry, X, y, order): fori_loop over the full batches, then the short one."""

    def epoch(carry, X, y, order):
        full = order.shape[0] // batch_size

        def body(k, carry):
            return step(carry, X, y, jax.lax.dynamic_slice(order, (k * batch_size,),
                                                           (batch_size,)))

        carry = jax.lax.fori_loop(0, full, body, carry)
        if order.shape[0] % batch_size:
            carry = step(carry, X, y, order[full * batch_size:])
        return carry

    return epoch


# -- the runner -----------------------------------------------------------------------------
def prepare(workload, mode: str = "step", optimizer: str = "sgd") -> Runner:
    if mode not in MODES:
        raise ValueError(f"jax competitor: mode must be one of {MODES}, got {mode!r}")
    if workload.group == "mlp" and optimizer != "sgd":
        raise ValueError(f"jax competitor: W3/W4 run SGD only, got optimizer={optimizer!r}")
    init, update = make_optimizer(workload, optimizer)
    _require_jax()
    if workload.group == "mlp":
        X, y = (jax.device_put(a) for a in workload.data())
        step = mlp_step(workload, update)
        if mode == "step":
            train = _mlp_step_loop(jax.jit(step, donate_argnums=0), X, y, workload)
        else:
            train = _whole_run(jax.jit(mlp_epoch(step, workload.batch_size), donate_argnums=0),
                               X, y, lambda: np.random.default_rng(workload.seed)
                               .permutation(workload.samples))
    else:
        X, Y = jax.device_put(workload.X), jax.device_put(workload.Y)
        step = chapter_step(workload, update)
        if mode == "step":
            train = _chapter_step_loop(jax.jit(step, donate_argnums=0), X, Y, workload)
        else:
            def whole(carry, X, Y, order):
                return jax.lax.fori_loop(0, order.shape[0],
                                         lambda k, c: step(c, X, Y, order[k]), carry)

            train = _whole_run(jax.jit(whole, donate_argnums=0), X, Y,
                               lambda: chapter_order(workload))
    state = {}

    def reset():
        params = [(jnp.array(layer.W), jnp.array(layer.b)) for layer in workload.layers]
        state["carry"] = (params, init(params))

    def run():
        state["carry"] = jax.block_until_ready(train(state["carry"]))

    def weights():
        return [np.array(a) for pair in state["carry"][0] for a in pair]

    return Runner(reset, run, weights)


def _chapter_step_loop(step, X, Y, workload):
    """A Python loop calling the jitted step once per row, as torch_sgd's loop does."""
    n = workload.X.shape[0]

    def train(carry):
        rng = np.random.default_rng(workload.seed) if workload.shuffle else None
        for _ in range(workload.epochs):
            for i in rng.permutation(n).tolist() if workload.shuffle else range(n):
                carry = step(carry, X, Y, i)
        return carry

    return train


def _mlp_step_loop(step, X, y, workload):
    """A Python loop calling the jitted step once per batch (numpy_mlp's order and slices)."""

    def train(carry):
        order = np.random.default_rng(workload.seed).permutation(workload.samples)
        for start in range(0, workload.samples, workload.batch_size):
            carry = step(carry, X, y, order[start:start + workload.batch_size])
        return carry

    return train


def _whole_run(run, X, Y, order):
    """One call of the jitted whole run, the order drawn (timed) and handed in as an array."""
    return lambda carry: run(carry, X, Y, order())
