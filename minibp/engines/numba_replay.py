"""What the numba engine does when a compiled call stops after a step that changed the
weights wrongly: the copy taken before each call to undo it, the replay up to just before
that step (the weights of the last good step, exactly), and, for a fused step (kernels/
specialized.py: single rows, SGD's update inside the backward pass), what the generic loop
would have reported for it.
"""

from __future__ import annotations

import math

from minibp.engines.kernels import loop  # numba: imported with the engine that runs it

OVERFLOW = 3  # report[0] of loop.train_epochs after an update that made a value non-finite
FUSED_NOT_FINITE = 4  # report[0] of a specialized loop's fused step (kernels/specialized.py)


class Undo:
    """What a compiled call changes, saved before each call to undo it: parameters and
    optimizer state (into the FlatModel's saved_ buffers, made with it: no allocation a
    call), where the epoch stood, and the generator and order of a shuffled fit."""

    def __init__(self, session):  # a numba_engine.Session
        self.session = session

    def save(self) -> None:
        session, flat = self.session, self.session.flat
        flat.saved_params[...] = flat.params
        flat.saved_state[...] = flat.state
        self.resume, self.epoch = session.resume.tolist(), session.epoch
        if session.shuffle:
            self.generator = session.rng.bit_generator.state
            self.order = session.order.copy()

    def restore(self) -> None:
        session, flat = self.session, self.session.flat
        flat.params[...] = flat.saved_params
        flat.state[...] = flat.saved_state
        session.resume[:] = self.resume
        session.epoch = self.epoch
        session.report[:] = 0.0
        if session.shuffle:
            session.rng.bit_generator.state = self.generator
            session.order[...] = self.order


def replay(session, train, position: int) -> tuple[int, bool]:
    """Undo a call that stopped after a step changed the weights (OVERFLOW: its update
    made a value non-finite; FUSED_NOT_FINITE: a fused step went wrong, see
    kernels/specialized.py) and replay it from step ``position`` up to just before that
    step with ``train(budget, position)``: the weights of the last good step, exactly.
    Returns (epochs completed, whether the step's update overflowed); session.report then
    says what the generic loop reports for that step."""
    code, step, value = session.report[0], int(session.report[1]), float(session.report[2])
    session.undo.restore()
    finished = train(step - position, position)
    if code == FUSED_NOT_FINITE:
        code = _cause_of_fused_failure(session)
    session.report[:] = (1.0 if code == OVERFLOW else code, step, value)
    return finished, bool(code == OVERFLOW)


def _cause_of_fused_failure(session) -> int:
    """The step a replay stopped before, computed by the generic kernels: 1 when its loss
    or gradient is not finite (its gradients stay, as the generic loop leaves them), 2
    when its row weighs 0 (the gradients of the step before stay, as in the NumPy
    engine), OVERFLOW when only the update failed (the gradients of the step before are
    put back). Fused steps have single rows."""
    flat, at = session.flat, int(session.resume[0])
    if session.shuffle and at == 0:  # the step opens an epoch whose order is not drawn yet
        session.order[:] = session.rng.permutation(session.n)  # = shuffle_order's draws
    row = int(session.order[at]) if session.shuffle else at
    if len(session.w) and session.w[row] == 0.0:  # its one row weighs 0: refused before any
        return 2  # gradient, as the NumPy engine's loss refuses it
    before = flat.grads.copy()
    value, _, norm2 = loop.batch_loss_and_gradients(
        session.X, row * flat.n_inputs, session.T, row * flat.n_outputs, session.w, row, 1,
        flat.net, flat.acts, flat.deltas, session.loss_id)
    if math.isfinite(value) and math.isfinite(norm2):
        flat.grads[...] = before
        return OVERFLOW
    return 1
