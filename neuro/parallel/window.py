"""A worker's step loop in windows of ``D`` steps, between two exchanges of spikes.

``D = d_min + 1`` where ``d_min`` is the smallest delay (in steps) of a synapse from a neuron of
one worker onto a neuron of another: a spike of step ``k`` reaches another worker's ring buffer
at row ``k + 1 + delay >= k + D``, so a window ``k0 .. k0+D-1`` needs no spike of another worker
emitted inside it, and the workers exchange a window's spikes once, after it.

**Float sums stay bit-identical.** The single-process engine adds into a ring-buffer row in the
order (emission step, global source, CSR position). A worker keeps that order per row:

* :func:`advance` steps the window; after each step ``k`` it adds the synapses of its own
  neurons' and the inputs' spikes that arrive *inside* the window (``k + 1 + delay < k0 + D``,
  i.e. ``delay < k0 + D - 1 - k``; no other worker's spike reaches those rows during the window);
* :func:`deliver_window`, after the exchange, goes through the window's steps in order and adds
  every remaining synapse (``delay >= k0 + D - 1 - k``) of the step's spikes — its own and the
  received ones merged in ascending global order, then the step's input spikes.

A row below ``k0 + D`` thus receives the earlier windows' spikes first and then the window's in
step order; a row at or past ``k0 + D`` receives all of the window's spikes in step order, after
the earlier windows' — the single-process order in both cases. With ``D = 1`` (delay-0
synapses between workers) :func:`advance` delivers nothing and this is per-step exchange.

Learning applies the rules of step ``k`` after step ``k``'s deliveries (as one process does),
which needs every worker's spikes of step ``k`` before step ``k + 1``: a learning network runs
with ``D = 1``.

:func:`~neuro.parallel.thread_loop.thread_chunk` runs a chunk of windows on one worker thread
(the exchange is shared memory and one spin barrier per window, :mod:`neuro.parallel.spin`; no
Python and no GIL per step); the MPI transport calls :func:`advance`, :func:`pack_window`,
:func:`unpack_header` and :func:`deliver_window` once per window around its collectives
(:mod:`neuro.parallel.exchange`). Integer arithmetic without learning delivers in any order
instead, the own spikes while the exchange is in flight (:mod:`neuro.parallel.overlap`).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from neuro.dynamics.routing import ACTIVE_FLUSH, count_active, deliver, flush_active, probe, record
from neuro.dynamics.step import apply_learning, neuron_update

#: Largest window (steps between exchanges); bounds the per-window spike buffers.
MAX_WINDOW = 16

#: A worker's lookup tables: ``local_src[i]``: sub-network source of local neuron ``i`` (its
#: mirror row, -1 when it has no synapse onto this worker); ``mirror_of[g]``: sub-network source
#: of global source ``g`` (-1: no synapse onto this worker); ``local_gid[i]``: global index of
#: local neuron ``i``; ``needed_by[i, q]``: worker ``q`` has a synapse from local neuron ``i``.
Tables = namedtuple("Tables", ("local_src", "mirror_of", "local_gid", "needed_by"))

#: What a chunk's kernels write: spikes (step, batch 0, local neuron) from position ``n_out``
#: on, probes by chunk row, spike counts per sub-network source, update counts, register wraps
#: and the update-count accumulator (``acc``, bytes, flushed every ACTIVE_FLUSH - 1 steps).
Outputs = namedtuple(
    "Outputs",
    (
        "out_step",
        "out_b",
        "out_src",
        "probe_idx",
        "probe_v",
        "probe_i",
        "spike_count",
        "update_counts",
        "overflow",
        "acc",
    ),
)


@njit(cache=True, inline="always")
def _deliver_part(src, k, lim, early, n_rows, indptr, slot, weight, delay, buf):
    """Add the synapses of source ``src`` (spike of step ``k``) with ``delay < lim`` (``early``)
    or ``delay >= lim`` (not ``early``) into rows ``k + 1 + delay`` of ``buf`` (batch 0)."""
    if not early and lim == 0:  # every synapse (per-step exchange, or the window's last step)
        deliver(src, 0, k, n_rows, indptr, slot, weight, delay, buf)
        return
    row0 = buf[0, 0]
    if n_rows == 1:  # no delays: every synapse arrives at k + 1, inside the window iff lim > 0
        if early == (lim > 0):
            for s in range(indptr[src], indptr[src + 1]):
                row0[slot[s]] += weight[s]
        return
    base = (k + 1) % n_rows
    for s in range(indptr[src], indptr[src + 1]):
        d = np.int64(delay[s])
        if (d < lim) == early:
            r = base + d
            if r >= n_rows:
                r -= n_rows
            buf[r, 0, slot[s]] += weight[s]


@njit(cache=True, inline="always")
def _deliver_step(k, lim, early, first, last, out_src, j, in_ptr, in_src, tabs, csr, buf):
    """Step ``k``'s own spikes (``out_src[first:last]``), then its input spikes (chunk row
    ``j``): their synapses with ``delay < lim`` (``early``) or ``delay >= lim``."""
    indptr, slot, weight, delay = csr.indptr, csr.slot, csr.weight, csr.delay
    local_src, mirror_of = tabs.local_src, tabs.mirror_of
    n_rows = buf.shape[0]
    for t in range(first, last):
        s = local_src[out_src[t]]
        if s >= 0:
            _deliver_part(s, k, lim, early, n_rows, indptr, slot, weight, delay, buf)
    for t in range(in_ptr[j], in_ptr[j + 1]):
        s = mirror_of[in_src[t]]
        if s >= 0:
            _deliver_part(s, k, lim, early, n_rows, indptr, slot, weight, delay, buf)


@njit(cache=True, nogil=True)
def advance(k0, d, j0, last_j, whole, state, params, csr, tabs, in_ptr, in_src, out, n_out, win_ptr, fired):
    """Step the worker's neurons through steps ``k0 .. k0+d-1`` (chunk rows ``j0 ..``) and add
    the in-window part of its own and the inputs' spikes; return the new spike count ``n_out``.

    ``win_ptr[w] .. win_ptr[w + 1]`` are the positions in ``out.out_src`` of step ``k0 + w``'s
    spikes; ``whole``: chunk row 0 starts a sample; ``last_j``: the chunk's last row (the
    update counts are flushed there)."""
    buf, v, cur, ref, theta = state.buf, state.v, state.cur, state.ref, state.theta
    out_src, spike_count, overflow, acc = out.out_src, out.spike_count, out.overflow, out.acc
    n_rows = buf.shape[0]
    two = buf.shape[2] == 2 * v.shape[1]
    kend = k0 + d
    win_ptr[0] = n_out
    for w in range(d):
        k = k0 + w
        j = j0 + w
        oq, ou, ou2 = neuron_update(
            params, buf[k % n_rows, 0], cur[0, 0], cur[0, 1], v[0], ref[0], theta[0], fired, two
        )
        overflow[0] += oq
        overflow[1] += ou
        overflow[2] += ou2
        count_active(fired, acc, whole and j == 0)
        if (j + 1) % (ACTIVE_FLUSH - 1) == 0 or j == last_j:
            flush_active(acc, out.update_counts[0])
        first = n_out
        n_out = record(fired, k, 0, out.out_step, out.out_b, out_src, n_out)
        probe(j, 0, v, cur, out.probe_idx, out.probe_v, out.probe_i)
        win_ptr[w + 1] = n_out
        for t in range(first, n_out):
            spike_count[out_src[t]] += 1
        lim = kend - 1 - k
        if lim > 0:  # the synapses that arrive inside the window: own neurons, then inputs
            _deliver_step(k, lim, True, first, n_out, out_src, j, in_ptr, in_src, tabs, csr, buf)
    return n_out


@njit(cache=True, nogil=True)
def deliver_window(
    k0,
    d,
    j0,
    me,
    state,
    csr,
    tabs,
    in_ptr,
    in_src,
    out_src,
    win_ptr,
    recv_ptr,
    recv_ids,
    learn,
    lrn,
    pre,
    n_local,
):
    """Add the rest of the window's spikes (``delay >= k0 + d - 1 - k``) step by step: own
    (``out_src[win_ptr[w]:win_ptr[w+1]]``) and received (worker ``q``'s global ids
    ``recv_ids[recv_ptr[q, w]:recv_ptr[q, w+1]]``, ascending; row ``me`` unused) merged in
    ascending global order, then the step's inputs; then the learning rules of the step.
    Returns how many received ids have synapses onto this worker."""
    buf = state.buf
    indptr, slot, weight, delay = csr.indptr, csr.slot, csr.weight, csr.delay
    local_src, mirror_of, local_gid = tabs.local_src, tabs.mirror_of, tabs.local_gid
    n_rows = buf.shape[0]
    n_q = recv_ptr.shape[0]
    heads = np.zeros(n_q, dtype=np.int64)
    big = np.iinfo(np.int64).max
    needed = 0
    kend = k0 + d
    for w in range(d):
        k = k0 + w
        j = j0 + w
        lim = kend - 1 - k
        for q in range(n_q):
            heads[q] = recv_ptr[q, w]
        own = win_ptr[w]
        own_end = win_ptr[w + 1]
        n_pre = 0
        while True:
            best = big
            who = -1
            if own < own_end:
                best = local_gid[out_src[own]]
            for q in range(n_q):
                if q != me and heads[q] < recv_ptr[q, w + 1] and recv_ids[heads[q]] < best:
                    best = recv_ids[heads[q]]
                    who = q
            if best == big:
                break
            if who < 0:
                s = local_src[out_src[own]]
                own += 1
            else:
                s = mirror_of[best]
                heads[who] += 1
                if s >= 0:
                    needed += 1
            if s >= 0:
                _deliver_part(s, k, lim, False, n_rows, indptr, slot, weight, delay, buf)
                if learn:
                    pre[n_pre] = s
                    n_pre += 1
        for t in range(in_ptr[j], in_ptr[j + 1]):
            s = mirror_of[in_src[t]]
            if s >= 0:
                _deliver_part(s, k, lim, False, n_rows, indptr, slot, weight, delay, buf)
                if learn:
                    pre[n_pre] = s
                    n_pre += 1
        if learn:
            apply_learning(lrn, k, n_local, out_src, win_ptr[w], win_ptr[w + 1], pre, 0, n_pre, slot, weight)
    return needed


@njit(cache=True, nogil=True)
def pack_window(d, me, out_src, win_ptr, tabs, header, send, counts):
    """Worker ``me``'s spikes of a ``d``-step window for every other worker ``q``: ``header[q,
    1 + w]`` = the number of step ``w``'s spikes ``q`` needs, and their global ids (ascending per
    step) at ``send[counts[1, q]:]``, workers in order, ``counts[0, q]`` of them; returns how many
    ids in all."""
    local_gid, needed_by = tabs.local_gid, tabs.needed_by
    n_q = header.shape[0]
    pos = 0
    for q in range(n_q):
        counts[1, q] = pos
        if q == me:
            for w in range(d):
                header[q, 1 + w] = 0
            counts[0, q] = 0
            continue
        for w in range(d):
            c = 0
            for t in range(win_ptr[w], win_ptr[w + 1]):
                i = out_src[t]
                if needed_by[i, q]:
                    send[pos] = local_gid[i]
                    pos += 1
                    c += 1
            header[q, 1 + w] = c
        counts[0, q] = pos - counts[1, q]
    return pos


@njit(cache=True, nogil=True)
def unpack_header(d, header, counts, recv_ptr):
    """From every worker ``q``'s ``header[q, 1 + w]`` (its step ``w`` spike counts for this
    worker): ``counts[2, q]`` ids from ``q`` at ``counts[3, q]`` of the receive buffer, workers in
    order, and ``recv_ptr[q, w]`` the position of step ``w``'s first id from ``q``
    (``recv_ptr[q, d]`` its end)."""
    pos = 0
    for q in range(header.shape[0]):
        counts[3, q] = pos
        for w in range(d):
            recv_ptr[q, w] = pos
            pos += header[q, 1 + w]
        recv_ptr[q, d] = pos
        counts[2, q] = pos - counts[3, q]
