"""Event-driven spike delivery: work is proportional to spikes x fan-out.

A spike of source ``s`` at step ``k`` adds each of its synapses' weights into the delay ring
buffer at row ``(k + 1 + delay) % D``; the row of step ``k`` is consumed (and cleared) at the
start of step ``k``. ``D = max_delay + 1`` rows suffice.

Note for developers: numba's on-disk cache keys a kernel on its own file only, so after
editing these inlined functions clear ``__pycache__`` (the kernels in ``floating.py`` and
``loihi.py`` otherwise keep the old code). CI starts from a fresh clone, without a cache.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, inline="always")
def deliver(src, b, k, n_rows, indptr, slot, weight, delay, buf):
    """Scatter the synapses of source ``src`` (batch element ``b``) into ``buf[row, b, slot]``."""
    for s in range(indptr[src], indptr[src + 1]):
        buf[(k + 1 + delay[s]) % n_rows, b, slot[s]] += weight[s]


@njit(cache=True)
def deliver_inputs(k, j, n_batch, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count):
    """Deliver the external input spikes of step ``k`` (row ``j`` of this chunk's input CSR)."""
    for b in range(n_batch):
        r = j * n_batch + b
        for t in range(in_ptr[r], in_ptr[r + 1]):
            src = in_src[t]
            spike_count[src] += 1
            deliver(src, b, k, n_rows, indptr, slot, weight, delay, buf)
