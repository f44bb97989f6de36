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


@njit(cache=True, nogil=True)
def deliver_inputs(k, j, n_batch, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count):
    """Deliver the external input spikes of step ``k`` (row ``j`` of this chunk's input CSR)."""
    for b in range(n_batch):
        r = j * n_batch + b
        for t in range(in_ptr[r], in_ptr[r + 1]):
            src = in_src[t]
            spike_count[src] += 1
            deliver(src, b, k, n_rows, indptr, slot, weight, delay, buf)


@njit(cache=True)
def deliver_graded_inputs(
    k, j, n_batch, in_ptr, in_src, in_pay, n_rows, indptr, slot, weight, delay, buf, spike_count
):
    """:func:`deliver_inputs` for graded spikes: spike ``t`` adds ``weight * in_pay[t]``."""
    for b in range(n_batch):
        r = j * n_batch + b
        for t in range(in_ptr[r], in_ptr[r + 1]):
            src = in_src[t]
            pay = in_pay[t]
            spike_count[src] += 1
            base = (k + 1) % n_rows
            for s in range(indptr[src], indptr[src + 1]):
                row = base + delay[s]
                if row >= n_rows:
                    row -= n_rows
                buf[row, b, slot[s]] += weight[s] * pay


@njit(cache=True)
def route_counted(fired, b, k, j, n_batch, in_ptr, in_src, counts, n_rows, indptr, slot, weight, delay, buf):
    """Route step ``k``'s spikes of batch element ``b`` (neurons with bit 0 of ``fired``,
    then its external inputs), counting them per source in ``counts[b]`` (batched kernels)."""
    for i in range(fired.shape[0]):
        if fired[i] & 1:
            counts[b, i] += 1
            deliver(i, b, k, n_rows, indptr, slot, weight, delay, buf)
    r = j * n_batch + b
    for t in range(in_ptr[r], in_ptr[r + 1]):
        counts[b, in_src[t]] += 1
        deliver(in_src[t], b, k, n_rows, indptr, slot, weight, delay, buf)


@njit(cache=True, inline="always")
def record(fired, k, b, out_step, out_b, out_src, n_out):
    """Append the spikes of this step (bit 0 of ``fired``) to the output lists; new length."""
    for i in range(fired.shape[0]):
        if fired[i] & 1:
            out_step[n_out] = k
            out_b[n_out] = b
            out_src[n_out] = i
            n_out += 1
    return n_out


@njit(cache=True, inline="always")
def probe(j, b, v, cur, probe_idx, probe_v, probe_i):
    """Row ``j`` of the probes: v and the summed currents of the probed neurons."""
    for p in range(probe_idx.shape[0]):
        probe_v[j, b, p] = v[b, probe_idx[p]]
        probe_i[j, b, p] = cur[b, 0, probe_idx[p]] + cur[b, 1, probe_idx[p]]


ACTIVE_FLUSH = 255  # steps a byte of the update accumulator can hold


@njit(cache=True, inline="always")
def count_active(fired, acc, whole):
    """Count this step's updates in ``acc`` ((2, N) uint8): ``acc[0]`` counts *active* updates
    (bit 1 of ``fired``: ``v`` or a current changed), ``acc[1]`` *membrane* updates (bit 2:
    ``v`` changed; every neuron when ``whole``, the first step of a sample, as NeuroBench
    counts it). The kernels move ``acc`` into the int64 totals with :func:`flush_active` at
    least every :data:`ACTIVE_FLUSH` steps (a byte per count keeps this pass cheap)."""
    a, m = acc[0], acc[1]
    for i in range(fired.shape[0]):
        a[i] += (fired[i] >> 1) & 1
    if whole:
        for i in range(fired.shape[0]):
            m[i] += 1
    else:
        for i in range(fired.shape[0]):
            m[i] += fired[i] >> 2


@njit(cache=True, inline="always")
def flush_active(acc, counts):
    """``counts += acc``; ``acc = 0`` (both (2, N): active, membrane). ``counts`` is one batch
    element's block of ``Simulator.update_counts``."""
    for r in range(2):
        for i in range(acc.shape[1]):
            counts[r, i] += acc[r, i]
            acc[r, i] = 0
