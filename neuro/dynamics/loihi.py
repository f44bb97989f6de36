"""Loihi arithmetic, bit for bit as nengo-loihi's emulator (``reference/loihi-semantics.md``).

Per compartment and step, with integer registers::

    decay(x, d, off) = sign(x) * ((|x| * (4096 - off - d)) >> 12)
    wrap(x, b)       = ((x + 2**b) mod 2**(b+1)) - 2**b

    q_c  = wrap(q_c, 21)                                  c = exc (and inh, if dual-current)
    u_c  = wrap(decay(u_c, decay_u_c, 1) + q_c, 23)
    u2   = wrap(sum_c u_c + bias, 23)
    v    = clip(decay(v, decay_v, 0) + u2, vmin, vmax)
    if ref > 0: v = 0
    spike = v > vth;  if spike: v = 0, ref = refract_delay
    ref  = max(ref - 1, 0)

A spike at step ``k`` reaches its targets at step ``k + 1 + delay`` (delay 0..62).
Extensions beyond nengo-loihi, documented in ``docs/spec.md``: synaptic delays (ring
buffer), and dual-current populations whose ``inh`` input has its own decay (a second
current compartment summed into ``u2``, as a multi-compartment join would do on chip; with a
single current this is exactly nengo-loihi's update).
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
from neuro.learning.loihi import learn_loihi

Q_BITS = 21
U_BITS = 23


@njit(cache=True, inline="always")
def decay(x, d, offset):
    """Multiply by ``(4096 - offset - d) / 4096`` truncating toward zero."""
    if x >= 0:
        return (x * (4096 - offset - d)) >> 12
    return -(((-x) * (4096 - offset - d)) >> 12)


@njit(cache=True, inline="always")
def wrap(x, bits):
    """Two's-complement overflow of ``x`` into [-2**bits, 2**bits - 1]."""
    return ((x + (1 << bits)) & ((1 << (bits + 1)) - 1)) - (1 << bits)


@njit(cache=True, inline="always")
def update(q, u0, u1, vb, rb, th, fired, params, two):
    """One integer step of every compartment of one batch element (see module docstring);
    sets ``fired[i] = spiked + 2 * active + 4 * membrane`` (an *active* update changed ``v``
    or a current, :math:`v' \\ne v \\lor u_0' \\ne u_0 \\lor u_1' \\ne u_1`, a *membrane*
    update changed ``v``; see
    :func:`neuro.dynamics.floating.update`) and returns the overflow counts (q, u, u2) of
    this step."""
    (decay_u, decay_u_inh, decay_v, vth, bias, vmin, vmax, ref_steps, theta_plus, decay_theta, adapt) = params
    n = vb.shape[0]
    ov_q = 0
    ov_u = 0
    ov_u2 = 0
    for i in range(n):
        q0 = np.int64(q[i])
        q[i] = 0
        q1 = np.int64(0)
        if two:
            q1 = np.int64(q[n + i])
            q[n + i] = 0
        w0 = wrap(q0, Q_BITS)
        w1 = wrap(q1, Q_BITS)
        ov_q += (w0 != q0) | (w1 != q1)
        u0_old = u0[i]
        u1_old = u1[i]
        a0 = decay(u0_old, decay_u[i], 1) + w0
        a1 = decay(u1_old, decay_u_inh[i], 1) + w1
        x0 = wrap(a0, U_BITS)
        x1 = wrap(a1, U_BITS)
        ov_u += (x0 != a0) | (x1 != a1)
        u0[i] = x0
        u1[i] = x1
        s = x0 + x1 + bias[i]
        u2 = wrap(s, U_BITS)
        ov_u2 += u2 != s
        v_old = vb[i]
        vi = decay(v_old, decay_v[i], 0) + u2
        vi = min(max(vi, vmin[i]), vmax[i])
        r = rb[i]
        t_i = decay(th[i], decay_theta[i], 0) if adapt else th[i]
        spk = (r == 0) and (vi > vth[i] + t_i)
        vn = 0 if (r > 0 or spk) else vi
        vb[i] = vn
        if spk:
            r = ref_steps[i]
            if adapt:
                t_i += theta_plus[i]
        th[i] = t_i
        rb[i] = r - 1 if r > 0 else 0
        dv = vn != v_old
        fired[i] = spk + 2 * (dv | (x0 != u0_old) | (x1 != u1_old)) + 4 * dv
    return ov_q, ov_u, ov_u2


@njit(cache=True)
def run_loihi(k0, n_steps, state, params, csr, io, learn, lrn, overflow):
    """Advance ``n_steps`` steps from ``k0``; return (steps done, spikes written).

    Arguments are grouped as in :func:`neuro.dynamics.floating.run_float`; ``params`` holds
    the registers. ``overflow`` counts wrap events of q, u and u2 (the chip wraps silently;
    nengo-loihi warns). The adaptive threshold (an extension) is ``vth + theta`` with
    ``theta = decay(theta, decay_theta, 0)`` each step and ``theta += theta_plus`` per spike.
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
            oq, ou, ou2 = update(
                buf[row, b], cur[b, 0], cur[b, 1], v[b], ref[b], theta[b], fired, params, two
            )
            overflow[0] += oq
            overflow[1] += ou
            overflow[2] += ou2
            count_active(fired, acc[b], new_sample != 0 and j == 0)
            n_out = record(fired, k, b, out_step, out_b, out_src, n_out)
            probe(j, b, v, cur, probe_idx, probe_v, probe_i)
        for t in range(first, n_out):
            spike_count[out_src[t]] += 1
            deliver(out_src[t], out_b[t], k, n_rows, indptr, slot, weight, delay, buf)
        deliver_inputs(k, j, n_batch, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count)
        if learn:
            learn_loihi(k, n, out_src, first, n_out, in_src, in_ptr[j], in_ptr[j + 1], slot, weight, lrn)
    for b in range(n_batch):
        flush_active(acc[b], active[b])
    return n_steps, n_out


@njit(cache=True, parallel=True)
def run_loihi_counts(k0, n_steps, state, params, csr, in_ptr, in_src, counts, overflow_b, active, new_sample):
    """Batched run without learning or spike lists, batch elements in parallel threads (see
    :func:`neuro.dynamics.floating.run_float_counts`); ``overflow_b[b]`` counts wraps,
    ``active[b, 0, i]`` / ``active[b, 1, i]`` the active / membrane updates of neuron ``i``."""
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
            oq, ou, ou2 = update(
                buf[k % n_rows, b], cur[b, 0], cur[b, 1], v[b], ref[b], theta[b], fired, params, two
            )
            overflow_b[b, 0] += oq
            overflow_b[b, 1] += ou
            overflow_b[b, 2] += ou2
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
    """Fresh integer state (int64): ring buffer, v, currents u (exc, inh), refractory
    counters, adaptive thresholds. The ring buffer holds the exact sums, so every q overflow
    is counted even when a sum passes 32 bits."""
    cur = np.zeros((n_batch, 2, n), dtype=np.int64)
    cur[:, 0, :] = i_init
    return {
        "theta": np.tile(np.asarray(theta_init, dtype=np.int64), (n_batch, 1)),
        "buf": np.zeros((n_rows, n_batch, n_channels * n), dtype=np.int64),
        "v": np.tile(np.asarray(v_init, dtype=np.int64), (n_batch, 1)),
        "cur": cur,
        "ref": np.zeros((n_batch, n), dtype=np.int32),
    }
