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
from numba import njit

from neuro.dynamics.routing import deliver, deliver_inputs

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


@njit(cache=True)
def run_loihi(
    k0,
    n_steps,
    buf,
    v,
    cur,
    ref,
    decay_u,
    decay_u_inh,
    decay_v,
    vth,
    bias,
    vmin,
    vmax,
    ref_steps,
    indptr,
    slot,
    weight,
    delay,
    in_ptr,
    in_src,
    out_step,
    out_b,
    out_src,
    probe_idx,
    probe_v,
    probe_i,
    spike_count,
    overflow,
):
    """Advance ``n_steps`` steps from ``k0``; return (steps done, spikes written).

    ``overflow`` counts wrap events of q, u and u2 (the chip wraps silently; nengo-loihi warns).
    """
    n_rows, n_batch = buf.shape[0], buf.shape[1]
    n = v.shape[1]
    cap = out_step.shape[0]
    n_out = 0
    for j in range(n_steps):
        k = k0 + j
        if n_out + n_batch * n > cap:
            return j, n_out
        row = k % n_rows
        first = n_out
        for b in range(n_batch):
            q = buf[row, b]
            u0 = cur[b, 0]
            u1 = cur[b, 1]
            vb = v[b]
            rb = ref[b]
            for i in range(n):
                q0 = q[i]
                q1 = q[n + i]
                q[i] = 0
                q[n + i] = 0
                w0 = wrap(q0, Q_BITS)
                w1 = wrap(q1, Q_BITS)
                if w0 != q0 or w1 != q1:
                    overflow[0] += 1
                a0 = decay(u0[i], decay_u[i], 1) + w0
                a1 = decay(u1[i], decay_u_inh[i], 1) + w1
                x0 = wrap(a0, U_BITS)
                x1 = wrap(a1, U_BITS)
                if x0 != a0 or x1 != a1:
                    overflow[1] += 1
                u0[i] = x0
                u1[i] = x1
                s = x0 + x1 + bias[i]
                u2 = wrap(s, U_BITS)
                if u2 != s:
                    overflow[2] += 1
                vi = decay(vb[i], decay_v[i], 0) + u2
                if vi < vmin[i]:
                    vi = vmin[i]
                elif vi > vmax[i]:
                    vi = vmax[i]
                if rb[i] > 0:
                    vi = 0
                elif vi > vth[i]:
                    vi = 0
                    rb[i] = ref_steps[i]
                    out_step[n_out] = k
                    out_b[n_out] = b
                    out_src[n_out] = i
                    n_out += 1
                vb[i] = vi
                if rb[i] > 0:
                    rb[i] -= 1
            for p in range(probe_idx.shape[0]):
                probe_v[j, b, p] = vb[probe_idx[p]]
                probe_i[j, b, p] = u0[probe_idx[p]] + u1[probe_idx[p]]
        for t in range(first, n_out):
            spike_count[out_src[t]] += 1
            deliver(out_src[t], out_b[t], k, n_rows, indptr, slot, weight, delay, buf)
        deliver_inputs(k, j, n_batch, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count)
    return n_steps, n_out


def new_state(n_batch: int, n: int, n_rows: int, v_init: np.ndarray, i_init: np.ndarray) -> dict:
    """Fresh integer state (int64): ring buffer, v, currents u (exc, inh), refractory counters."""
    cur = np.zeros((n_batch, 2, n), dtype=np.int64)
    cur[:, 0, :] = i_init
    return {
        "buf": np.zeros((n_rows, n_batch, 2 * n), dtype=np.int64),
        "v": np.tile(np.asarray(v_init, dtype=np.int64), (n_batch, 1)),
        "cur": cur,
        "ref": np.zeros((n_batch, n), dtype=np.int32),
    }
