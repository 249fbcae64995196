"""Where the BLAS engine's two threads meet: a template, read as text, never imported.

minibp.engines.blas_compiled pastes the text below the marker into the compiled steps' file,
before kernels/blas_steps.py's driver. The driver runs on two threads at once, the caller's
and a helper's (minibp.engines.blas_threads), each doing its half of every phase of a step;
between phases they meet. A meeting is one atomic add to a counter that only grows and a
wait until both have added (0.3 us on the 2-vCPU machine of docs/performance.md, against
1.5-1.8 us for a numba ``prange(2)`` loop: numba's parallel loops each cost a function of
their own to compile, and the driver's six of them took 3-4 s of a first fit's 11-12 s).

``sync`` (int64) is the call's own: ARRIVED counts arrivals at meetings, ABORT is set when
a thread raised before it could arrive (the other then stops at the first meeting instead
of waiting for ever), FINISHED + k is thread k's verdict on its updates (1 all finite).
A thread that waits long yields its core (the other may be descheduled on a busy machine).
"""
# ruff: noqa: F821 - njit from the kernels pasted before this text

# -- template --------------------------------------------------------------------------------
import llvmlite.binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

ARRIVED, ABORT, FINISHED = 0, 1, 2  # sync's slots (FINISHED + k for thread k)
SPINS = 4096  # waits before a waiting thread starts yielding its core
yield_core = types.ExternalFunction("minibp_yield", types.int32())  # blas_library binds it


def _slot(context, builder, array_type, array, index):
    view = context.make_array(array_type)(context, builder, array)
    return cgutils.get_item_pointer(context, builder, array_type, view, [index])


@intrinsic
def atomic_load(typingctx, sync, index):
    """sync[index], read with acquire ordering."""
    def codegen(context, builder, sig, args):
        return builder.load_atomic(_slot(context, builder, sig.args[0], *args), "acquire", 8)

    return types.int64(sync, index), codegen


@intrinsic
def atomic_add(typingctx, sync, index, value):
    """sync[index] += value as one atomic step (acquire and release); the value before."""
    def codegen(context, builder, sig, args):
        slot = _slot(context, builder, sig.args[0], args[0], args[1])
        return builder.atomic_rmw("add", slot, args[2], "acq_rel")

    return types.int64(sync, index, types.int64), codegen


SPIN_HINT = "llvm.x86.sse2.pause" if llvm.get_process_triple().startswith("x86_64") else ""


@intrinsic
def spin_hint(typingctx):
    """x86's pause, the CPU's hint that this is a wait loop: the waiting thread then leaves
    the core's resources to the other and leaves the loop sooner (nothing elsewhere)."""
    def codegen(context, builder, sig, args):
        if SPIN_HINT:
            pause = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), []), SPIN_HINT)
            builder.call(pause, [])
        return context.get_dummy_value()

    return types.none(), codegen


@njit(cache=True)
def meet(sync, threads, met):
    """Wait until all ``threads`` have arrived at this meeting (the caller has been to
    ``met`` before); returns met + 1. What either thread wrote before the meeting, the other
    sees after it. Returns -1 at once when the call is aborted."""
    if threads == 1:
        return met + 1
    atomic_add(sync, ARRIVED, 1)
    everyone, waits = (met + 1) * threads, 0
    while atomic_load(sync, ARRIVED) < everyone:
        if atomic_load(sync, ABORT) != 0:
            return -1
        waits += 1
        if waits > SPINS:
            yield_core()
        else:
            spin_hint()
    return met + 1

