"""Delivery in any order, for integer arithmetic: a worker adds its own spikes while the
window's exchange is in flight.

:func:`~neuro.parallel.window.deliver_window` adds a window's spikes in the single-process
order (step, global source, CSR position) because float sums depend on the order. Integer sums
do not: the ring buffer :math:`B[r, i] \\mathrel{+}= w_s` over any order of the same synapses
gives the same :math:`B`, bit for bit (two's-complement addition is associative and
commutative, wraps included). So under an integer target (``Target.integer``) that does not
learn, a worker splits the window's delivery in two:

1. :func:`deliver_own`: its own neurons' spikes and the inputs (every synapse with
   ``delay >= k0 + d - 1 - k``, the part :func:`~neuro.parallel.window.advance` left), right after
   it has posted its spikes to the other workers;
2. :func:`deliver_received`: the other workers' spikes, once they have arrived.

The wait for the others then starts only after step 1, so a worker that is late by less than
another's own delivery (a preempted process, a slower core for a moment) costs nobody a wait:
the classic overlap of communication with computation (split-phase exchange). The MPI
transport posts non-blocking point-to-point messages, one per window to each rank that has
synapses from the worker's neurons and from each rank it has synapses from, none between
others (:func:`pack_messages`: ``[n, c_0 .. c_{D-1}, ids]``, ``c_w`` the step-``w`` count); the thread
transport arrives at its barrier before step 1 and waits after it
(:func:`~neuro.parallel.spin.barrier_arrive`, :func:`~neuro.parallel.spin.barrier_await`).
A learning network keeps the ordered, one-phase path (its rules need the step's pre-synaptic
sources in order), and so does float arithmetic.
"""

from __future__ import annotations

from numba import njit

from neuro.parallel.window import _deliver_part, _deliver_step


@njit(cache=True, nogil=True)
def deliver_own(k0, d, j0, state, csr, tabs, in_ptr, in_src, out_src, win_ptr):
    """Add the rest (``delay >= k0 + d - 1 - k``) of the synapses of the window's own spikes
    (``out_src[win_ptr[w]:win_ptr[w + 1]]``, step ``k0 + w``) and input spikes."""
    for w in range(d):
        k = k0 + w
        lim = k0 + d - 1 - k
        first, last = win_ptr[w], win_ptr[w + 1]
        _deliver_step(k, lim, False, first, last, out_src, j0 + w, in_ptr, in_src, tabs, csr, state.buf)


@njit(cache=True, nogil=True)
def deliver_received(k0, d, me, state, csr, tabs, recv_ptr, recv_ids):
    """Add every synapse of the other workers' spikes of the window onto this worker: row
    ``q``'s step-``w`` global ids at ``recv_ids[recv_ptr[q, w]:recv_ptr[q, w + 1]]`` (row ``me``,
    the worker's own, skipped; -1: every row is another worker's). Returns how many of them
    have synapses here."""
    buf = state.buf
    indptr, slot, weight, delay = csr.indptr, csr.slot, csr.weight, csr.delay
    mirror_of = tabs.mirror_of
    n_rows = buf.shape[0]
    needed = 0
    for q in range(recv_ptr.shape[0]):
        if q == me:
            continue
        for w in range(d):
            k = k0 + w
            lim = k0 + d - 1 - k
            for t in range(recv_ptr[q, w], recv_ptr[q, w + 1]):
                s = mirror_of[recv_ids[t]]
                if s >= 0:
                    needed += 1
                    _deliver_part(s, k, lim, False, n_rows, indptr, slot, weight, delay, buf)
    return needed


@njit(cache=True, nogil=True)
def pack_messages(d, window, peers, out_src, win_ptr, tabs, msg, length):
    """A worker's message to each worker ``q = peers[r]`` that has synapses from its neurons,
    for a ``d``-step window, in row ``msg[r]``: ``msg[r, 0]`` = the number ``n`` of ids,
    ``msg[r, 1 + w]`` = step ``w``'s count, the global ids of the spikes ``q`` needs (ascending
    per step) from ``msg[r, 1 + window]`` on; ``length[r] = 1 + window + n``. Returns the ids
    packed, all peers."""
    local_gid, needed_by = tabs.local_gid, tabs.needed_by
    total = 0
    for r in range(peers.shape[0]):
        q = peers[r]
        pos = 1 + window
        for w in range(d):
            c = 0
            for t in range(win_ptr[w], win_ptr[w + 1]):
                i = out_src[t]
                if needed_by[i, q]:
                    msg[r, pos] = local_gid[i]
                    pos += 1
                    c += 1
            msg[r, 1 + w] = c
        msg[r, 0] = pos - 1 - window
        length[r] = pos
        total += pos - 1 - window
    return total


@njit(cache=True, nogil=True)
def inbox_pointers(d, window, inbox, recv_ptr):
    """``recv_ptr[r, w]``: the position in ``inbox.ravel()`` of the first step-``w`` id of the
    message in row ``r`` (:func:`pack_messages`), ``recv_ptr[r, d]`` its end."""
    row = inbox.shape[1]
    for r in range(inbox.shape[0]):
        pos = r * row + 1 + window
        for w in range(d):
            recv_ptr[r, w] = pos
            pos += inbox[r, 1 + w]
        recv_ptr[r, d] = pos
