"""A barrier for worker threads inside compiled (nogil) kernels: atomics and a spin-then-yield wait.

numba has no CPU atomics, so the three used here are emitted as LLVM instructions
(``atomicrmw add`` and ``load atomic``, sequentially consistent / acquire: on x86 a ``lock
xadd`` and a plain load). A worker's stores before :func:`barrier_wait` (its spikes of the
window) are visible to every worker after it (the release is the ``atomicrmw``, the acquire
the load of the generation).

The barrier word ``bar`` (int64 array, shared by the workers) holds

* ``bar[COUNT]``: workers arrived in the current generation,
* ``bar[GENERATION]``: incremented by the last worker to arrive, which releases the others,
* ``bar[ABORT]``: set (by Python, :func:`abort`) when a worker failed; waiting workers return.

* ``bar[SLEEPERS]``: workers asleep in the kernel (``futex``) on the generation.

A waiting worker spins with the CPU's ``pause`` for :data:`SPIN_CYCLES` cycles (~0.4 ms: the
usual wait when every worker has a core and one finishes its window before the other; waking a
sleeping thread costs tens of microseconds, more in a virtual machine), then sleeps on the
generation word with Linux's ``futex`` until the last worker wakes it, so workers that wait do
not take cores from the ones that work (more workers than cores, or a machine busy with other
processes).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

COUNT, GENERATION, ABORT, SLEEPERS = 0, 8, 16, 24  # separate cache lines
SPIN_CYCLES = 1_000_000  # ~0.4 ms of spinning before sleeping (waking a sleeper costs tens of us)
SYS_FUTEX, FUTEX_WAIT_PRIVATE, FUTEX_WAKE_PRIVATE = 202, 128, 129  # x86-64 Linux
SLEEP_NS = 2_000_000  # a sleeper re-checks the abort flag at least this often


def _item_pointer(context, builder, aryty, ary_value, idx):
    ary = context.make_array(aryty)(context, builder, ary_value)
    return cgutils.get_item_pointer(context, builder, aryty, ary, [idx])


@intrinsic
def atomic_add(typingctx, arr, idx, val):
    """``arr[idx] += val`` atomically (sequentially consistent); returns the old value."""
    sig = types.int64(arr, types.intp, types.int64)

    def codegen(context, builder, sig, args):
        ptr = _item_pointer(context, builder, sig.args[0], args[0], args[1])
        return builder.atomic_rmw("add", ptr, args[2], "seq_cst")

    return sig, codegen


@intrinsic
def atomic_load(typingctx, arr, idx):
    """``arr[idx]`` read atomically with acquire ordering."""
    sig = types.int64(arr, types.intp)

    def codegen(context, builder, sig, args):
        ptr = _item_pointer(context, builder, sig.args[0], args[0], args[1])
        return builder.load_atomic(ptr, "acquire", 8)

    return sig, codegen


@intrinsic
def cpu_pause(typingctx):
    """The CPU's spin-wait hint (x86 ``pause``)."""
    sig = types.void()

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause"
        )
        builder.call(fn, [])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def cycles(typingctx):
    """The CPU's cycle counter (x86 ``rdtsc``: constant rate, ~2.6 GHz on the 2-core machine)."""
    sig = types.int64()

    def codegen(context, builder, sig, args):
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(64), []), "llvm.readcyclecounter"
        )
        return builder.call(fn, [])

    return sig, codegen


@intrinsic
def futex(typingctx, arr, idx, op, val, timeout_ns):
    """Linux ``futex(&arr[idx], op, val, timeout)`` on the low 32 bits of the int64 ``arr[idx]``
    (``FUTEX_WAIT``: sleep while they equal the low 32 bits of ``val``, at most ``timeout_ns``;
    ``FUTEX_WAKE``: wake up to ``val`` sleepers)."""
    sig = types.int64(arr, types.intp, types.int64, types.int64, types.int64)

    def codegen(context, builder, sig, args):
        i32, i64 = ir.IntType(32), ir.IntType(64)
        voidp = ir.IntType(8).as_pointer()
        ptr = _item_pointer(context, builder, sig.args[0], args[0], args[1])
        ts = cgutils.alloca_once(builder, ir.ArrayType(i64, 2))  # struct timespec
        billion = ir.Constant(i64, 1_000_000_000)
        builder.store(
            builder.sdiv(args[4], billion), builder.gep(ts, [ir.Constant(i32, 0), ir.Constant(i32, 0)])
        )
        builder.store(
            builder.srem(args[4], billion), builder.gep(ts, [ir.Constant(i32, 0), ir.Constant(i32, 1)])
        )
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(i64, [i64], var_arg=True), "syscall"
        )
        futex_args = [
            ir.Constant(i64, SYS_FUTEX),
            builder.bitcast(ptr, voidp),
            builder.trunc(args[2], i32),
            builder.trunc(args[3], i32),
            builder.bitcast(ts, voidp),
            ir.Constant(voidp, None),
            ir.Constant(i32, 0),
        ]
        return builder.call(fn, futex_args)

    return sig, codegen


def new_barrier() -> np.ndarray:
    """A fresh barrier word (all counters 0)."""
    return np.zeros(SLEEPERS + 8, dtype=np.int64)


def abort(bar: np.ndarray) -> None:
    """Release every worker waiting at ``bar`` (and every later wait) with a failure."""
    bar[ABORT] = 1


@njit(cache=True, nogil=True)
def barrier_arrive(bar, n_workers):
    """Arrive at the barrier without waiting (the first half of :func:`barrier_wait`): the
    worker's stores before it are visible to every worker after their :func:`barrier_await`.
    Returns the generation to pass to :func:`barrier_await`."""
    gen = atomic_load(bar, GENERATION)
    if atomic_add(bar, COUNT, 1) == n_workers - 1:
        atomic_add(bar, COUNT, -n_workers)
        atomic_add(bar, GENERATION, 1)
        if atomic_load(bar, SLEEPERS) > 0:
            futex(bar, GENERATION, FUTEX_WAKE_PRIVATE, n_workers, 0)
    return gen


@njit(cache=True, nogil=True)
def barrier_await(bar, gen):
    """Wait until every worker has arrived in generation ``gen`` (:func:`barrier_arrive`);
    False when the barrier was aborted. A worker must await before it arrives again."""
    t0 = cycles()
    while atomic_load(bar, GENERATION) == gen:
        if atomic_load(bar, ABORT) != 0:
            return False
        if cycles() - t0 < SPIN_CYCLES:
            cpu_pause()
        else:
            atomic_add(bar, SLEEPERS, 1)
            futex(bar, GENERATION, FUTEX_WAIT_PRIVATE, gen, SLEEP_NS)  # the low 32 bits
            atomic_add(bar, SLEEPERS, -1)
    return atomic_load(bar, ABORT) == 0


@njit(cache=True, nogil=True)
def barrier_wait(bar, n_workers):
    """Wait until all ``n_workers`` workers have called this; False when the barrier was aborted."""
    return barrier_await(bar, barrier_arrive(bar, n_workers))
