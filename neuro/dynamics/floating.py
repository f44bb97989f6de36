"""Float64 reference arithmetic: current-based LIF integrated exactly over each step.

With :math:`x = v - v_{rest} - b` and currents :math:`I_c` decaying with :math:`\\tau_c`,

.. math::

    x[k+1] = x[k]\\,e^{-dt/\\tau_m} + \\sum_c I_c[k]\\, \\frac{\\tau_c}{\\tau_c - \\tau_m}
             \\left(e^{-dt/\\tau_c} - e^{-dt/\\tau_m}\\right), \\qquad
    I_c[k+1] = I_c[k]\\, e^{-dt/\\tau_c}

(:math:`\\frac{dt}{\\tau_m} e^{-dt/\\tau_m}` replaces the fraction when :math:`\\tau_c = \\tau_m`),
which is what Brian2's ``method='exact'`` computes. Per step, in Brian2's order: input that
arrived is added to the currents, ``v`` is integrated unless refractory, a spike is emitted
when ``v > v_threshold`` (not while refractory), ``v`` is reset, and the spike is routed.
A spike at step ``k`` starts a refractory period of ``R = rint(refractory / dt)`` steps:
``v`` is held at ``v_reset`` for steps ``k+1 .. k+R-1``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from neuro.dynamics.routing import (
    ACTIVE_FLUSH,
    count_active,
    deliver,
    deliver_inputs,
    flush_active,
    probe,
    record,
    route_counted,
)
from neuro.learning.floating import learn_float


@njit(cache=True, inline="always")
def update(q, ie, ii, vb, rb, th, fired, params, two):
    """One step of every neuron of one batch element (branch-free, so it vectorizes):
    add the arrived input ``q`` to the currents, integrate, threshold, reset.
    Sets ``fired[i] = spiked + 2 * active + 4 * membrane`` (uint8); the caller records and
    routes the spikes (bit 0) and counts the updates (bits 1, 2, :func:`count_active`). An
    update is *active* when it changed ``v`` or a current,
    :math:`v' \\ne v \\lor I_e' \\ne I_e \\lor I_i' \\ne I_i`, and a *membrane* update
    (NeuroBench's ``MembraneUpdates``) when it changed ``v``. The flags travel in ``fired``
    rather than in an array of its own: one more written array stops LLVM from vectorizing
    this loop (too many runtime alias checks), which cost 2-4x."""
    em, ee, ei, ce, ci, v_rest, bias, v_th, v_reset, ref_steps, theta_plus, theta_decay, adapt = params
    n = vb.shape[0]
    for i in range(n):
        e_old, i_old = ie[i], ii[i]
        a = e_old + q[i]
        q[i] = 0.0
        c = i_old
        if two:
            c += q[n + i]
            q[n + i] = 0.0
        r = rb[i]
        free = r == 0
        v_old = vb[i]
        x = v_old - v_rest[i] - bias[i]
        x = x * em[i] + a * ce[i] + c * ci[i]
        vi = x + v_rest[i] + bias[i]
        t_i = th[i] * theta_decay[i] if adapt else th[i]
        spk = free and (vi > v_th[i] + t_i)
        vn = v_reset[i] if spk else vi
        if free:
            vb[i] = vn
        if spk:
            r = ref_steps[i]
            if adapt:
                t_i += theta_plus[i]
        th[i] = t_i
        rb[i] = r - 1 if r > 0 else 0
        ne = a * ee[i]
        ni = c * ei[i]
        dv = free & (vn != v_old)
        fired[i] = spk + 2 * (dv | (ne != e_old) | (ni != i_old)) + 4 * dv
        ie[i] = ne
        ii[i] = ni


@njit(cache=True)
def run_float(k0, n_steps, state, params, csr, io, learn, lrn):
    """Advance ``n_steps`` steps from step ``k0``; return (steps done, spikes written).

    ``state`` = (buf (D, B, C*N), v (B, N), cur (B, 2, N), ref (B, N), theta (B, N));
    ``params`` = per-neuron constants (see :func:`neuro.network._float_params`) and
    ``adapt`` (1: thresholds adapt); ``csr`` = (indptr, slot, weight, delay); ``io`` = input
    spikes, output buffers, probes and spike counts; ``learn`` (1: apply ``lrn``, the
    :mod:`neuro.learning.floating` tables). Stops early (at a step boundary) when the spike
    output buffers could overflow.
    """
    buf, v, cur, ref, theta = state
    indptr, slot, weight, delay = csr
    (
        in_ptr,
        in_src,
        out_step,
        out_b,
        out_src,
        probe_idx,
        probe_v,
        probe_i,
        spike_count,
        active,
        new_sample,
    ) = io
    n_rows, n_batch = buf.shape[0], buf.shape[1]
    n = v.shape[1]
    two = buf.shape[2] == 2 * n  # a second current channel exists (dual-current populations)
    cap = out_step.shape[0]
    n_out = 0
    fired = np.zeros(n, dtype=np.uint8)
    acc = np.zeros((n_batch, 2, n), dtype=np.uint8)
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
            update(buf[row, b], cur[b, 0], cur[b, 1], v[b], ref[b], theta[b], fired, params, two)
            count_active(fired, acc[b], new_sample != 0 and j == 0)
            n_out = record(fired, k, b, out_step, out_b, out_src, n_out)
            probe(j, b, v, cur, probe_idx, probe_v, probe_i)
        # route this step's spikes (neurons, then external inputs)
        for t in range(first, n_out):
            spike_count[out_src[t]] += 1
            deliver(out_src[t], out_b[t], k, n_rows, indptr, slot, weight, delay, buf)
        deliver_inputs(k, j, n_batch, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count)
        if learn:
            learn_float(k, n, out_src, first, n_out, in_src, in_ptr[j], in_ptr[j + 1], slot, weight, lrn)
    for b in range(n_batch):
        flush_active(acc[b], active[b])
    return n_steps, n_out


@njit(cache=True, parallel=True)
def run_float_counts(k0, n_steps, state, params, csr, in_ptr, in_src, counts, active, new_sample):
    """Batched run without learning or spike lists: batch elements advance in parallel
    threads (they share only the read-only weights); ``counts[b, s]`` accumulates the spikes
    of every source ``s`` (neurons, then inputs) of element ``b``, ``active[b, 0, i]`` and
    ``active[b, 1, i]`` the active and membrane updates of neuron ``i`` (see :func:`update`)."""
    buf, v, cur, ref, theta = state
    indptr, slot, weight, delay = csr
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
            update(buf[k % n_rows, b], cur[b, 0], cur[b, 1], v[b], ref[b], theta[b], fired, params, two)
            count_active(fired, acc, new_sample != 0 and j == 0)
            route_counted(
                fired, b, k, j, n_batch, in_ptr, in_src, counts, n_rows, indptr, slot, weight, delay, buf
            )
        flush_active(acc, active[b])


def new_state(
    n_batch: int,
    n: int,
    n_rows: int,
    n_channels: int,
    v_init: np.ndarray,
    i_init: np.ndarray,
    theta_init: np.ndarray,
) -> dict:
    """Fresh float state: ring buffer, v, currents (exc, inh), refractory counters, thresholds."""
    cur = np.zeros((n_batch, 2, n))
    cur[:, 0, :] = i_init
    return {
        "theta": np.tile(np.asarray(theta_init, dtype=np.float64), (n_batch, 1)),
        "buf": np.zeros((n_rows, n_batch, n_channels * n)),
        "v": np.tile(np.asarray(v_init, dtype=np.float64), (n_batch, 1)),
        "cur": cur,
        "ref": np.zeros((n_batch, n), dtype=np.int32),
    }
