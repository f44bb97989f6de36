"""The step loop shared by every arithmetic: deliver → update → record → route → learn.

One compiled loop serves every arithmetic. What differs — the neuron update and the learning
applier — is chosen at compile time from the *type* of the arguments: each arithmetic module
registers an implementation of :func:`neuron_update` for its parameter namedtuple and of
:func:`apply_learning` for its learning-table namedtuple (``numba.extending.overload``), so
numba specializes this loop once per arithmetic with no branch on a name at run time. A new
arithmetic adds its own namedtuples and two overloads, nothing here.

Per step ``k`` (row ``k % D`` of the delay ring buffer holds the input that arrives now):

1. for every batch element ``b``: ``update`` consumes the row, integrates, thresholds and
   resets every neuron, sets ``fired[i] = spiked + 2 * active + 4 * membrane``; the spikes are
   recorded and probed;
2. the step's neuron spikes, then the external input spikes, are routed through the CSR into
   rows ``k + 1 + delay`` (:mod:`neuro.dynamics.routing`);
3. the learning applier sees the step's spikes (batch 1 only); the input rows' pre-spike
   terms may instead be applied while they are delivered (:func:`learn_inputs`, same results).

Compile time: the small helpers are inlined into this loop at numba's IR level
(``inline="always"``), but the learning appliers (``learn_float``, ``learn_loihi``,
``learn_inputs_float``) are compiled as functions of their own and called. Numba's IR inliner
copies a callee's whole variable scope once per block, so inlining those large functions made
the first D&C training image compile for 143 s (120 s of it in this loop); called, it is 24 s,
and a training image costs about 2 % more (the call passes every table's array; ``python
bench/train_speed.py``). The float overloads skip the call on a step without spikes.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from neuro.dynamics.routing import (
    ACTIVE_FLUSH,
    count_active,
    deliver,
    deliver_graded_inputs,
    deliver_inputs,
    flush_active,
    probe,
    record,
    route_counted,
)

#: The simulator's state: delay ring buffer (D, B, C*N), v (B, N), currents (B, 2, N),
#: refractory counters (B, N), adaptive thresholds (B, N).
State = namedtuple("State", ("buf", "v", "cur", "ref", "theta"))
#: Synapses in CSR by source: row pointers, slot (channel * N + target), weight, delay (steps).
Synapses = namedtuple("Synapses", ("indptr", "slot", "weight", "delay"))
#: A chunk's inputs and outputs: input spikes (CSR by step and batch element), spike output
#: buffers, probes, spike counts per source, update counts per neuron ((B, 2, N): active,
#: membrane; see routing.count_active) and ``new_sample`` (1: step k0 starts a sample).
#: ``in_pay``: the payload of every input spike (aligned with ``in_src``; empty when no
#: input is graded).
ChunkIO = namedtuple(
    "ChunkIO",
    (
        "in_ptr",
        "in_src",
        "out_step",
        "out_b",
        "out_src",
        "probe_idx",
        "probe_v",
        "probe_i",
        "spike_count",
        "update_counts",
        "new_sample",
        "in_pay",
    ),
)


def neuron_update(params, q, u0, u1, vb, rb, th, fired, two):
    """Update every neuron of one batch element; return the overflow counts ``(q, u, u2)``.

    A compile-time generic: each arithmetic registers its implementation for its parameter
    namedtuple type (see :mod:`neuro.dynamics.floating`, :mod:`neuro.dynamics.loihi`).
    """
    raise NotImplementedError("neuron_update runs only inside compiled kernels")


def apply_learning(lrn, k, n, out_src, first, n_out, in_src, i0, i1, slot, weight):
    """Apply the plastic projections' rules to step ``k``'s spikes (compile-time generic on
    the learning-table namedtuple, see :mod:`neuro.learning.floating` and
    :mod:`neuro.learning.loihi`)."""
    raise NotImplementedError("apply_learning runs only inside compiled kernels")


def learn_inputs(lrn, k, j, n, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count):
    """Deliver step ``k``'s input spikes and apply their pre-spike terms in one pass per row
    (batch 1); False, with nothing done, where the step must run the two passes (compile-time
    generic on the learning-table namedtuple, see :mod:`neuro.learning.fused`)."""
    raise NotImplementedError("learn_inputs runs only inside compiled kernels")


@overload(learn_inputs, inline="always")
def _no_fused_inputs(lrn, k, j, n, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count):
    if isinstance(lrn, types.NoneType):
        return lambda lrn, k, j, n, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count: (
            False
        )
    return None


@overload(apply_learning, inline="always")
def _no_learning(lrn, k, n, out_src, first, n_out, in_src, i0, i1, slot, weight):
    """Frozen weights (``lrn`` is None): nothing to apply, and no learning code is compiled
    into this specialization of the step loop (a plain run compiles much less)."""
    if isinstance(lrn, types.NoneType):
        return lambda lrn, k, n, out_src, first, n_out, in_src, i0, i1, slot, weight: None
    return None


@njit(cache=True, nogil=True)  # nogil: worker threads (neuro.parallel) step their cores in parallel
def run_chunk(k0, n_steps, state, params, csr, io, learn, lrn, overflow):
    """Advance ``n_steps`` steps from step ``k0``; return (steps done, spikes written).

    ``state`` is a :data:`State`, ``params`` the arithmetic's per-neuron constants (its
    namedtuple), ``csr`` the :data:`Synapses`, ``io`` the :data:`ChunkIO`; ``learn``
    (1: apply ``lrn``, the arithmetic's learning tables; 2: the same, delivering and learning
    the input rows in one pass where that is exact, :func:`learn_inputs`); ``overflow`` counts register wraps
    (q, u, u2). Stops early (at a step boundary) when the spike output buffers could overflow.
    """
    buf, v, cur, ref, theta = state.buf, state.v, state.cur, state.ref, state.theta
    indptr, slot, weight, delay = csr.indptr, csr.slot, csr.weight, csr.delay
    in_ptr, in_src, out_step, out_b, out_src = io.in_ptr, io.in_src, io.out_step, io.out_b, io.out_src
    in_pay = io.in_pay
    probe_idx, probe_v, probe_i, spike_count, active = (
        io.probe_idx,
        io.probe_v,
        io.probe_i,
        io.spike_count,
        io.update_counts,
    )
    n_rows, n_batch = buf.shape[0], buf.shape[1]
    n = v.shape[1]
    two = buf.shape[2] == 2 * n  # a second current channel exists (dual-current populations)
    cap = out_step.shape[0]
    n_out = 0
    fired = np.zeros(n, dtype=np.uint8)
    acc = np.zeros((n_batch, 2, n), dtype=np.uint8)  # update counts (see routing.count_active)
    for j in range(n_steps):
        k = k0 + j
        if n_out + n_batch * n > cap or j % ACTIVE_FLUSH == ACTIVE_FLUSH - 1:
            for b in range(n_batch):
                flush_active(acc[b], active[b])
        if n_out + n_batch * n > cap:
            return j, n_out
        row = k % n_rows
        first = n_out
        for b in range(n_batch):
            oq, ou, ou2 = neuron_update(
                params, buf[row, b], cur[b, 0], cur[b, 1], v[b], ref[b], theta[b], fired, two
            )
            overflow[0] += oq
            overflow[1] += ou
            overflow[2] += ou2
            count_active(fired, acc[b], io.new_sample != 0 and j == 0)
            n_out = record(fired, k, b, out_step, out_b, out_src, n_out)
            probe(j, b, v, cur, probe_idx, probe_v, probe_i)
        for t in range(first, n_out):
            spike_count[out_src[t]] += 1
            deliver(out_src[t], out_b[t], k, n_rows, indptr, slot, weight, delay, buf)
        i0, i1 = in_ptr[j], in_ptr[j + 1]  # this step's input spikes (batch 1, as learning needs)
        if in_pay.size:  # graded inputs carry payloads; binary inputs take the unchanged path
            deliver_graded_inputs(
                k, j, n_batch, in_ptr, in_src, in_pay, n_rows, indptr, slot, weight, delay, buf, spike_count
            )
        elif learn == 2 and learn_inputs(
            lrn, k, j, n, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count
        ):
            i0 = i1  # delivered and learned in one pass
        else:
            deliver_inputs(
                k, j, n_batch, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count
            )
        if learn:
            apply_learning(lrn, k, n, out_src, first, n_out, in_src, i0, i1, slot, weight)
    for b in range(n_batch):
        flush_active(acc[b], active[b])
    return n_steps, n_out


@njit(cache=True, parallel=True)
def run_counts(k0, n_steps, state, params, csr, in_ptr, in_src, counts, overflow_b, active, new_sample):
    """Batched run without learning or spike lists: batch elements advance in parallel
    threads (they share only the read-only weights); ``counts[b, s]`` accumulates the spikes
    of every source ``s`` (neurons, then inputs) of element ``b``, ``overflow_b[b]`` its
    register wraps, ``active[b, 0, i]`` / ``active[b, 1, i]`` the active / membrane updates of
    neuron ``i`` (``new_sample``: step ``k0`` starts a sample)."""
    buf, v, cur, ref, theta = state.buf, state.v, state.cur, state.ref, state.theta
    indptr, slot, weight, delay = csr.indptr, csr.slot, csr.weight, csr.delay
    n_rows, n_batch = buf.shape[0], buf.shape[1]
    n = v.shape[1]
    two = buf.shape[2] == 2 * n
    for b in prange(n_batch):
        fired = np.zeros(n, dtype=np.uint8)
        acc = np.zeros((2, n), dtype=np.uint8)
        for j in range(n_steps):
            k = k0 + j
            if j % ACTIVE_FLUSH == ACTIVE_FLUSH - 1:
                flush_active(acc, active[b])
            oq, ou, ou2 = neuron_update(
                params, buf[k % n_rows, b], cur[b, 0], cur[b, 1], v[b], ref[b], theta[b], fired, two
            )
            overflow_b[b, 0] += oq
            overflow_b[b, 1] += ou
            overflow_b[b, 2] += ou2
            count_active(fired, acc, new_sample != 0 and j == 0)
            route_counted(
                fired, b, k, j, n_batch, in_ptr, in_src, counts, n_rows, indptr, slot, weight, delay, buf
            )
        flush_active(acc, active[b])
