"""Kernels called through a symbol in the BLAS engine's compiled steps: a template, read as
text, never imported.

minibp.engines.blas_compiled pastes the text below the marker into the compiled steps'
file, before kernels/blas_steps.py's driver. A numba function that calls another links the
callee's code into its own and has LLVM optimize it again; each of the driver's parallel
loops was then a function of its own, so every kernel was optimized again in each loop
that called it and in the driver (the driver's own compile: 8.8 s of 13.5). Called through
``external(kernel)``, a kernel is compiled once, on its own, and its callers only call its
address, found by a symbol name: the generated module's name, the kernel's, and its
argument types (a first BLAS fit: 14.7 s before, 10.2 s after; docs/performance.md).

``bind(kernel, *arguments)`` compiles (or loads from the cache) the kernel for the types of
the arguments and gives numba's linker its address under that name. Every name a caller
uses must be bound in the process before the caller compiles or loads from the cache (an
unbound name would crash the process at load): the driver's ``bind_steps`` and
``bind_predict`` bind what ``train_steps`` and ``forward_rows`` call, and compiling a call
whose name is not bound fails with a TypingError instead.
"""
# -- template --------------------------------------------------------------------------------
import llvmlite.binding as llvm
import numpy as np
from numba import typeof, types
from numba.core import cgutils, errors
from numba.extending import intrinsic

BOUND: set = set()  # the symbol names bound in this process
DONE: set = set()  # bind's (kernel, fingerprints) done: typeof takes 7 us an array, a fit
# binds at every chunk


def symbol(kernel, argument_types) -> str:
    """The name under which ``kernel`` compiled for ``argument_types`` is called: the
    module's, the kernel's and the types' (as letters, digits and underscores)."""
    text = repr(tuple(types.unliteral(t) for t in argument_types))
    return "_".join((__name__, kernel.__name__, "".join(c if c.isalnum() else "_" for c in text)))


def fingerprint(value):
    """What numba's typeof reads of a value (0.2 us): for an array its class, dtype,
    dimensions and flags (layout, read-only, aligned); else its class."""
    if isinstance(value, np.ndarray):
        flags = value.flags
        return (type(value), value.dtype, value.ndim, flags.c_contiguous, flags.f_contiguous,
                flags.writeable, flags.aligned)
    return type(value)


def bind(kernel, *arguments) -> None:
    """Compile (or load) ``kernel`` for the types of ``arguments``, and bind its symbol."""
    done = (kernel, *map(fingerprint, arguments))
    if done in DONE:
        return
    argument_types = tuple(typeof(argument) for argument in arguments)
    name = symbol(kernel, argument_types)
    if name not in BOUND:
        kernel.compile(argument_types)
        compiled = kernel.overloads[argument_types]
        llvm.add_symbol(name, compiled.library.get_pointer_to_function(
            compiled.fndesc.llvm_func_name))
        BOUND.add(name)
    DONE.add(done)


def external(kernel):
    """A function calling ``kernel`` through its bound symbol, in numba's calling convention,
    with the kernel's arguments and result. Kernels do not raise (kernels/__init__.py), so
    the call's status is not read."""

    @intrinsic
    def call(typingctx, *argument_types):
        argument_types = tuple(types.unliteral(t) for t in argument_types)
        name = symbol(kernel, argument_types)
        if name not in BOUND:
            raise errors.TypingError(f"{kernel.__name__}{argument_types} is called before "
                                     "it is bound (blas_external.bind)")
        result_type = kernel.overloads[argument_types].signature.return_type

        def codegen(context, builder, sig, args):  # args: the star-arguments' tuple
            values = cgutils.unpack_tuple(builder, args[0], len(argument_types))
            function_type = context.call_conv.get_function_type(result_type, argument_types)
            function = cgutils.get_or_insert_function(builder.module, function_type, name)
            _, result = context.call_conv.call_function(builder, function, result_type,
                                                        argument_types, values)
            return result

        return result_type(types.StarArgTuple.from_types(argument_types)), codegen

    return call
