"""Compiled kernels of network construction: the loops that touch every synapse once.

Each kernel computes exactly what the numpy formulation it replaces did (same integer and
IEEE-754 operations in the same order), so a seed gives the same network as before:

* :func:`bernoulli_walk` — the pairs a ``fixed_probability`` connector keeps, from the gaps
  between successes (:func:`neuro.connectivity.bernoulli_pairs` draws them);
* :func:`loihi_weight_peak`, :func:`loihi_weights` — weight mantissas and exponent
  (:func:`neuro.discretize.discretize_weights`);
* :func:`scatter_rows` — one projection's synapses into the merged CSR
  (:func:`neuro.network.build_network`);
* :func:`projection_max_delay`, :func:`core_usage` — per-core synapse groups, memory, axons
  and mesh hops (:func:`neuro.mapping.place_cores`; integer sums, exact in any order);
* :func:`synapse_group_counts` — the energy ledger's groups of synapses with the same
  (source, projection, destination core) (:func:`neuro.energy.ledger.synapse_groups`);
* :func:`nonzero_entries` — non-zero entries of the projections' dense matrices per source
  (:func:`neuro.energy.neurobench.dense_tables`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

INT64_MAX = np.iinfo(np.int64).max
# numpy's geometric saturates its double at the smallest double above INT64_MAX
GEOMETRIC_SATURATION = 9.223372036854776e18


@njit(cache=True, nogil=True)
def bernoulli_walk(draws, inversion, log_q, pos, total, n_post, skip_self, counts, post, k):
    """Walk pair positions ``pos + g_1, pos + g_1 + g_2, ...`` of a ``n_pre x n_post`` grid
    (``total`` pairs, row-major by pre) until one reaches ``total``.

    The gaps are numpy's geometric variates: with ``inversion``,
    :math:`g = \\lceil -E / \\log(1 - p) \\rceil` (``log_q = log1p(-p)``) from the standard
    exponentials ``draws``, saturated at ``INT64_MAX``; otherwise ``draws`` are the gaps. Each
    position ``x`` is the pair ``(x // n_post, x % n_post)``; unless ``skip_self`` drops it
    (pre == post), it counts in ``counts[pre]`` and its post goes to ``post[k]`` (k advances).

    Returns ``(pos, k, done)``: the last position reached, the next free index of ``post``,
    and whether the walk left the grid (later draws of ``draws`` are unused). A gap that
    passes the grid ends the walk before it is added, so positions never wrap around int64.
    """
    i, t = (0, pos) if pos < 0 else (pos // n_post, pos % n_post)  # pos = i * n_post + t
    for j in range(draws.size):
        if inversion:
            z = math.ceil(-draws[j] / log_q)
            g = INT64_MAX if z >= GEOMETRIC_SATURATION else np.int64(z)
        else:
            g = np.int64(draws[j])
        if g >= total - pos:
            return total, k, True
        pos += g
        t += g
        if t >= n_post:  # next row(s), without a division per synapse
            q = t // n_post
            i += q
            t -= q * n_post
        if skip_self and i == t:
            continue
        counts[i] += 1
        post[k] = t
        k += 1
    return pos, k, False


@njit(cache=True, nogil=True)
def loihi_weight_peak(weight, scale):
    """``max |weight * scale|`` (0 for no weights)."""
    peak = 0.0
    for j in range(weight.size):
        a = abs(weight[j] * scale)
        if a > peak:
            peak = a
    return peak


@njit(cache=True, nogil=True)
def loihi_weights(weight, scale, unit, wmax, out):
    """``out = clip(rint(weight * scale / unit), -wmax, wmax) * unit`` (``unit = 2**(6 + e)``,
    exact in float64), as integers."""
    for j in range(weight.size):
        r = np.rint(weight[j] * scale / unit)
        if r > wmax:
            r = wmax
        elif r < -wmax:
            r = -wmax
        out[j] = r * unit


@njit(cache=True, nogil=True)
def scatter_rows(
    fill, src0, counts, post, post_offset, weight, delay, delay_step, slot_out, weight_out, delay_out
):
    """Append one projection's synapses to the CSR rows of sources ``src0 ..``.

    The synapses come sorted by pre, ``counts[i]`` of them for pre ``i``; they go to
    ``fill[src0 + i] ..`` (which advances), with ``slot = post + post_offset``; synapse ``j``
    has delay ``delay[j * delay_step]`` (``delay_step`` 0: one delay for all).
    """
    j = 0
    for i in range(counts.size):
        c = counts[i]
        dst = fill[src0 + i]
        for m in range(c):
            slot_out[dst + m] = post[j + m] + post_offset
            weight_out[dst + m] = weight[j + m]
            delay_out[dst + m] = delay[(j + m) * delay_step]
        fill[src0 + i] = dst + c
        j += c


@njit(cache=True, nogil=True)
def projection_max_delay(indptr, delay, row_src, row_proj, row_start, row_len, out):
    """Largest delay of every projection into ``out`` (which starts at -1: no synapses)."""
    for r in range(row_src.size):
        p = row_proj[r]
        a = indptr[row_src[r]] + row_start[r]
        for m in range(a, a + row_len[r]):
            if delay[m] > out[p]:
                out[p] = delay[m]


@njit(cache=True, nogil=True)
def core_usage(
    indptr,
    slot,
    n,
    row_src,
    row_proj,
    row_start,
    row_len,
    proj_bits,
    core_of,
    index_bits,
    header_bits,
    group_size,
    core_x,
    core_y,
    synapses,
    mem,
    input_axons,
    output_axons,
    dest,
    hops_x,
    hops_y,
    group,
    seen,
    touched,
):
    """Per-core synapse counts, synapse memory and input/output axons; per-source destination
    cores and mesh hops.

    Row segments ``r`` (source ``row_src[r]``, projection ``row_proj[r]``, synapses
    ``indptr[src] + row_start[r]`` and ``row_len[r]`` on) come sorted by source. A synapse's
    core is ``core_of[slot % n]``; a (source, core, projection) group of ``g`` synapses takes
    ``64 * ceil((g * (proj_bits[p] + index_bits[core]) + header_bits * ceil(g / group_size)) / 64)``
    bits. Each distinct (source, core) is an input axon of the core, a destination of the
    source (an output axon of the source's core when the source is a neuron) and
    ``|dx| + |dy|`` mesh hops from the source's core (external inputs: from (-1, 0)).

    The per-core (``synapses, mem, input_axons, output_axons``) and per-source (``dest,
    hops_x, hops_y``) outputs start at 0; ``group`` (0), ``seen`` (-1) and ``touched`` are
    per-core scratch.
    """
    for r in range(row_src.size):
        s = row_src[r]
        p = row_proj[r]
        a = indptr[s] + row_start[r]
        n_touched = 0
        for m in range(a, a + row_len[r]):
            t = slot[m]
            c = core_of[t if t < n else t % n]
            if group[c] == 0:
                touched[n_touched] = c
                n_touched += 1
            group[c] += 1
        if s < n:
            sc = core_of[s]
            sx, sy = core_x[sc], core_y[sc]
        else:
            sc = -1
            sx, sy = -1, 0
        for t in range(n_touched):
            c = touched[t]
            g = group[c]
            group[c] = 0
            bits = g * (proj_bits[p] + index_bits[c]) + header_bits * ((g + group_size - 1) // group_size)
            mem[c] += 64 * ((bits + 63) // 64)
            synapses[c] += g
            if seen[c] != s:
                seen[c] = s
                input_axons[c] += 1
                dest[s] += 1
                if sc >= 0:
                    output_axons[sc] += 1
                hops_x[s] += abs(core_x[c] - sx)
                hops_y[s] += abs(core_y[c] - sy)


@njit(cache=True, nogil=True)
def _row_keys(q0, e0, e1, slot, n, core_of, n_cores, sp_proj, sp_cnt, key, post):
    """Fill ``key[i]`` = projection * n_cores + core and ``post[i]`` = target neuron for the
    row's synapses ``q0 ..`` (segments ``e0:e1``); return the row length and whether the keys
    ascend (a compiled network's rows do; a TrueNorth crossbar's may not)."""
    m = 0
    ascending = True
    for e in range(e0, e1):
        for _ in range(sp_cnt[e]):
            j = slot[q0 + m]
            while j >= n:  # current channel or axon type: slot = channel * n + target
                j -= n
            post[m] = j
            key[m] = sp_proj[e] * n_cores + core_of[j]
            if m and key[m] < key[m - 1]:
                ascending = False
            m += 1
    return m, ascending


@njit(cache=True, nogil=True)
def synapse_group_counts(indptr, slot, weight, n, core_of, n_cores, sp_ptr, sp_proj, sp_cnt, out, fill):
    """Groups of synapses with the same (source, projection, destination core), in ascending
    (source, projection, core) order.

    ``core_of``: the core (< ``n_cores``) of every neuron; source ``s``'s row holds segments of
    ``sp_cnt[e]`` synapses of projection ``sp_proj[e]`` for ``e`` in ``sp_ptr[s]:sp_ptr[s + 1]``
    (:meth:`neuro.network.CompiledNetwork.row_segments`). A row whose (projection, core) keys
    do not ascend is sorted (stable) first. With ``fill`` False only the number of groups is
    returned; with ``fill`` True group ``g`` is written to ``out[:, g]`` = (source,
    projection, core, synapses, non-zero weights).
    """
    width = max(1, np.diff(indptr).max()) if indptr.size > 1 else 1
    key = np.empty(width, dtype=np.int64)
    post = np.empty(width, dtype=np.int64)
    g = 0
    for s in range(indptr.size - 1):
        q0 = indptr[s]
        e0, e1 = sp_ptr[s], sp_ptr[s + 1]
        m, ascending = _row_keys(q0, e0, e1, slot, n, core_of, n_cores, sp_proj, sp_cnt, key, post)
        order = key[:0] if ascending else np.argsort(key[:m], kind="mergesort")
        i = 0
        while i < m:
            k = key[i if ascending else order[i]]
            count = 0
            nonzero = 0
            while i < m:
                o = i if ascending else order[i]
                if key[o] != k:
                    break
                count += 1
                nonzero += weight[q0 + o] != 0
                i += 1
            if fill:
                out[0, g] = s
                out[1, g] = k // n_cores
                out[2, g] = k % n_cores
                out[3, g] = count
                out[4, g] = nonzero
            g += 1
    return g


@njit(cache=True, nogil=True)
def nonzero_entries(indptr, slot, weight, n, sp_ptr, sp_proj, sp_cnt, out):
    """``out[s]`` = the non-zero entries of source ``s``'s rows in its projections' dense
    matrices: a projection's synapses of the row in CSR order (:func:`synapse_group_counts`'s
    segments), consecutive synapses onto the same neuron one entry whose weight is their
    float64 sum, added left to right."""
    width = max(1, np.diff(indptr).max()) if indptr.size > 1 else 1
    key = np.empty(width, dtype=np.int64)
    post = np.empty(width, dtype=np.int64)
    one_core = np.zeros(n, dtype=np.int64)  # key = the projection alone
    for s in range(indptr.size - 1):
        q0 = indptr[s]
        e0, e1 = sp_ptr[s], sp_ptr[s + 1]
        m, ascending = _row_keys(q0, e0, e1, slot, n, one_core, 1, sp_proj, sp_cnt, key, post)
        order = key[:0] if ascending else np.argsort(key[:m], kind="mergesort")
        i = 0
        while i < m:
            o = i if ascending else order[i]
            p, j = key[o], post[o]
            total = 0.0
            while i < m:
                o = i if ascending else order[i]
                if key[o] != p or post[o] != j:
                    break
                total += np.float64(weight[q0 + o])
                i += 1
            if total != 0.0:
                out[s] += 1
