"""The BLAS engine's steps in one compiled call: what blas_engine.Session._steps does in
Python, run by kernels/blas_steps.py's ``train_steps`` over a block of steps at a time, each
phase of a step in two halves on two threads (blas_threads.call; docs/engines.md, "The BLAS
engine's compiled steps").

Used by a Session when NumPy's BLAS can be called from compiled code
(minibp.engines.blas_library) and the step is plain: SGD or Adam without l2, clipping or
frozen parameters (those sum gradients between the backward pass and the update, which the
Python steps keep doing). MINIBP_BLAS_STEPS=0 turns it off. The results are the Python
steps' to the last bits (the products' halves, the bias gradients' two partial sums,
sigmoid's exp within 2 ulp of NumPy's), and the same on any thread count
(tests/engines/test_blas_compiled.py).

blas_predict does the engine's predict the same way where ``can_predict``. ``to_compile``
says what a fit will compile before it times its first epoch.

Blocks: the first call runs BLOCK_START steps; each next one as many as took about
BLOCK_SECONDS, so Ctrl-C is seen within that (after whole steps, as ever), and the Python
between blocks costs nothing measurable. OpenBLAS runs at one thread from a Session's first
compiled chunk until it closes (blas_library.one_blas_thread, held by the Session).
"""

from __future__ import annotations

import copy
import functools
import os
import threading
import time
from pathlib import Path

import numpy as np

from minibp.engines import blas_library, blas_threads, macs_per_step, specialize
from minibp.engines.epochs import INTERRUPTED, Divergence, weightless_batch
from minibp.engines.flat import count_steps
from minibp.engines.loop_source import MARKER
from minibp.engines.update_settings import each_lr

KERNELS = Path(__file__).with_name("kernels")
PARTS = ("step.py", "fused.py", "updates.py")  # the kernels train_steps calls, pasted whole
TEMPLATES = ("blas_sigmoid.py", "blas_external.py", "blas_barrier.py", "blas_gemm.py",
             "blas_optimizer.py", "blas_steps.py")  # below their markers, in this order
ENABLED = os.environ.get("MINIBP_BLAS_STEPS", "1") != "0"
BLOCK_START, BLOCK_SECONDS = 4, 0.05
STEPS_DONE, NOT_FINITE, OVERFLOW, WEIGHTLESS, STOPPED = 0, 1, 2, 3, 4  # as in the template
_MODULE: list = []
_READY: set = set()  # what to_compile has compiled (or loaded)
_LOADING = threading.Lock()


def source() -> str:
    """The generated file's text: step.py, fused.py, updates.py, then the templates'
    texts below their markers (blas_sigmoid.py's sigmoid, blas_steps.py's driver)."""
    texts = [(KERNELS / name).read_text() for name in PARTS + TEMPLATES]
    parts, templates = texts[:len(PARTS)], texts[len(PARTS):]
    return "\n".join(parts + [text[text.index(MARKER):] for text in templates])


def kernels():
    """The generated module (written and imported once a process; compiled on first call)."""
    with _LOADING:
        if not _MODULE:
            _MODULE.append(specialize.import_source(source(), prefix="blas_steps"))
        return _MODULE[0]


def _why_not_here() -> str | None:
    """None when this process can run compiled code over NumPy's BLAS, else why not."""
    return "MINIBP_BLAS_STEPS=0" if not ENABLED else blas_library.register()


def why_not(session) -> str | None:
    """None when ``session``'s steps can run compiled, else why they cannot."""
    updater = session.updater
    return why_not_steps(updater.optimizer, updater.clip_norm is not None,
                         bool(updater.frozen))


def why_not_steps(optimizer, clipped: bool, frozen: bool) -> str | None:
    """None when steps with ``optimizer``, clipped or not, some parameters frozen or not,
    can run compiled in this process, else why not (also for engines.choose_engine, before
    any Session exists)."""
    if ENABLED and (optimizer.l2 or clipped or frozen):
        return "l2, clipping or frozen parameters: gradients are summed before the update"
    return _why_not_here()


def sigmoid_scratch(dtype, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(P, S): sigmoid_rows' scratch for each of the two halves, for layers up to ``width``
    wide: P (2, width) in the dtype, S (2, 2 * width) integers of its size."""
    whole = np.int32 if dtype == np.float32 else np.int64
    return np.empty((2, width), dtype), np.empty((2, 2 * width), whole)


def can_predict() -> bool:
    """Whether predict can run here: the compiled steps on and NumPy's BLAS bound."""
    return _why_not_here() is None


def to_compile(session) -> list:
    """What ``session`` (a blas_engine.Session) will run compiled that this process has not
    compiled or loaded yet, as calls that compile it by running it for no step (nothing
    changes): train_steps when its steps can run so, else one step of a copy, for the
    Python steps' kernels (_twin_step). Per dtype and depth (numba_engine.Session.to_compile
    says why fit asks; blas_predict.to_compile adds predict's)."""
    key = ("steps", session.buffers.x.dtype, len(session.buffers.layers))
    key, call = ((key, lambda: Steps(session).run_no_step(session))
                 if why_not(session) is None else
                 (_python_steps(session), lambda: _twin_step(session)))
    return [] if key in _READY else [functools.partial(_compile, key, call)]


def _compile(key: tuple, call) -> None:
    call()
    _READY.add(key)


def _python_steps(session) -> tuple:
    """What decides which kernels the Python steps call, with which types."""
    updater = session.updater
    return ("python", session.X.dtype, session.X.flags.writeable, tuple(session.buffers.acts),
            session.loss_id, updater.adam, bool(updater.optimizer.l2),
            updater.clip_norm is not None, bool(updater.frozen), session.w is not None)


def _twin_step(session) -> None:
    """One step of copies of the layers and the optimizer on the data's first rows, through
    a Session like ``session``: the Python steps' kernels compiled (or loaded) for the types
    they will see, nothing of the fit touched. Whatever the copy's step meets (a batch
    weighing 0, a divergence) is the fit's to meet on its own data, not here's."""
    rows = min(session.batch_size, len(session.X))
    weights = None if session.w is None else session.w[:rows, 0]
    twin = type(session)(copy.deepcopy(session.buffers.layers), session.X[:rows],
                         session.T[:rows], loss=session.loss,
                         optimizer=copy.deepcopy(session.optimizer), batch_size=rows,
                         shuffle=False, seed=None, sample_weight=weights,
                         clip_norm=session.updater.clip_norm)
    try:
        twin.run(1)
    except (ArithmeticError, ValueError):  # the copy's step only compiles (see above)
        pass
    finally:
        twin.close()


class Steps:
    """A Session's arrays as train_steps takes them (made when a chunk starts: which
    parameters train may change between chunks), and its block size."""

    def __init__(self, session):
        buffers, updater, layers = session.buffers, session.updater, session.buffers.layers
        dtype, width = layers[0].W.dtype, max(a.shape[1] for a in buffers.A)  # scratch
        weights = np.empty(0) if session.w is None else session.w.reshape(-1)
        self.data = (session.X, session.T, weights)
        padded = kernels().padded  # tuples over layers: one driver for 1-4 layers (5-8, ...)
        self.params = tuple(padded(getattr(layer, name) for layer in layers)
                            for name in ("W", "b", "dW", "db"))
        self.buffers = (buffers.x, buffers.t, padded(buffers.A), padded(buffers.dZ), buffers.w,
                        buffers.sq, *sigmoid_scratch(dtype, width), np.empty((2, width), dtype))
        views = updater.views  # W, b of each layer: nothing is frozen here (why_not)
        state0, state1 = (padded((view[i] for view in views), 2) for i in (2, 3))
        self.update = (state0, state1, _halves(views, len(state0)), updater.adam,
                       updater.settings)
        self.acts = np.array(buffers.acts, np.int64)
        self.macs = macs_per_step(buffers, buffers.rows)  # a step's
        self.result = np.zeros(4)
        self.block = BLOCK_START
        kernels().bind_steps(self.data, session.order, self.params, self.buffers, self.acts,
                             session.loss_id, self.update)

    def run_no_step(self, session) -> None:
        """train_steps for no step: compiled (or loaded), nothing changed."""
        optimizer = session.optimizer
        blas_threads.alone(kernels().train_steps, (
            self.data, session.order, 0, 0, session.batch_size, self.params, self.buffers,
            self.acts, session.loss_id, self.update, each_lr(optimizer, 0), optimizer.steps,
            self.result))

    def run(self, session, interrupt, last_step: int | None):
        """Session._steps's contract: (mean loss, None) or (None, why it stopped)."""
        stop = -(-len(session.X) // session.batch_size)
        if last_step is not None:
            stop = min(stop, last_step - session.step)
        self.result[:2] = 0.0
        return self._blocks(session, interrupt, kernels().train_steps, stop)

    def _blocks(self, session, interrupt, train, stop: int):
        """run's blocks of steps, OpenBLAS at one thread (the Session holds it:
        blas_engine.Session._hold_one_blas_thread)."""
        n, batch_size, result = len(session.X), session.batch_size, self.result
        optimizer, first = session.optimizer, 0
        while first < stop:
            count = min(self.block, stop - first)
            started = time.perf_counter()
            status, made = blas_threads.call(train, (
                self.data, session.order, first, first + count, batch_size, self.params,
                self.buffers, self.acts, session.loss_id, self.update,
                each_lr(optimizer, count), optimizer.steps, result), self.macs)
            count_steps(optimizer, made + (status == OVERFLOW))
            session.step += made
            if status != STEPS_DONE:
                session.step += 1
                if status == WEIGHTLESS:
                    raise weightless_batch(session.loss)
                return None, Divergence(session.step, session.epoch, float(result[2]),
                                        overflow=status == OVERFLOW)
            first += count
            self._resize(count, time.perf_counter() - started)
            if interrupt is not None and interrupt.requested:
                return None, INTERRUPTED
        if first < -(-n // batch_size):  # stopped at last_step (a replay)
            return None, None
        return result[0] / result[1], None

    def _resize(self, count: int, seconds: float) -> None:
        self.block = max(1, min(1 << 20, int(count * BLOCK_SECONDS / max(seconds, 1e-9))))


def _halves(views, slots: int) -> np.ndarray:
    """(2, slots, 3): [part, p] the part (0 or 1) of parameter p's one block [[0, size,
    is_matrix]] (zeros past the last), cut as the kernels' half() cuts a range."""
    halves = np.zeros((2, slots, 3), np.int64)
    for p, view in enumerate(views):
        _, size, is_matrix = (int(v) for v in view[4][0])
        for part in (0, 1):
            halves[part, p] = (size * part // 2, size * (part + 1) // 2, is_matrix)
    return halves
