"""Event-driven spike delivery: work is proportional to spikes x fan-out.

A spike of source ``s`` at step ``k`` adds each of its synapses' weights into the delay ring
buffer at row ``(k + 1 + delay) % D``; the row of step ``k`` is consumed (and cleared) at the
start of step ``k``. ``D = max_delay + 1`` rows suffice.

The row is computed without a division per synapse (``base + delay``, wrapped once), and a
network without delays (``D = 1``) does not read the delay array at all: this loop is the
engine's hot path.

numba's on-disk cache is keyed by a hash of the engine's sources (``neuro/__init__.py``), so
editing these inlined functions recompiles the kernels that use them.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, inline="always")
def deliver(src, b, k, n_rows, indptr, slot, weight, delay, buf):
    """Scatter the synapses of source ``src`` (batch element ``b``) into ``buf[row, b, slot]``."""
    if n_rows == 1:
        row = buf[0, b]
        for s in range(indptr[src], indptr[src + 1]):
            row[slot[s]] += weight[s]
        return
    base = (k + 1) % n_rows
    for s in range(indptr[src], indptr[src + 1]):
        r = base + delay[s]
        if r >= n_rows:
            r -= n_rows
        buf[r, b, slot[s]] += weight[s]


@njit(cache=True)
def deliver_inputs(k, j, n_batch, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count):
    """Deliver the external input spikes of step ``k`` (row ``j`` of this chunk's input CSR)."""
    for b in range(n_batch):
        r = j * n_batch + b
        for t in range(in_ptr[r], in_ptr[r + 1]):
            src = in_src[t]
            spike_count[src] += 1
            deliver(src, b, k, n_rows, indptr, slot, weight, delay, buf)
