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

from collections import namedtuple

import numpy as np
from numba import njit
from numba.extending import overload

from neuro.dynamics.step import apply_learning, learn_inputs, neuron_update
from neuro.learning.loihi import LoihiTables, learn_loihi

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
    decay_u, decay_u_inh, decay_v, vth = params.decay_u, params.decay_u_inh, params.decay_v, params.vth
    bias, vmin, vmax, ref_steps = params.bias, params.vmin, params.vmax, params.ref_steps
    theta_plus, decay_theta, adapt = params.theta_plus, params.decay_theta, params.adapt
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


LOIHI_PARAMS = (
    "decay_u",
    "decay_u_inh",
    "decay_v",
    "vth",
    "bias",
    "vmin",
    "vmax",
    "ref_steps",
    "theta_plus",
    "decay_theta",
)
# Per-neuron registers of the Loihi update (built by neuro.targets.loihi), plus ``adapt``.
LoihiParams = namedtuple("LoihiParams", (*LOIHI_PARAMS, "adapt"))


@overload(neuron_update, inline="always")
def _loihi_update(params, q, u0, u1, vb, rb, th, fired, two):
    if getattr(params, "instance_class", None) is LoihiParams:
        return lambda params, q, u0, u1, vb, rb, th, fired, two: update(
            q, u0, u1, vb, rb, th, fired, params, two
        )
    return None


@overload(apply_learning, inline="always")
def _loihi_learning(lrn, k, n, out_src, first, n_out, in_src, i0, i1, slot, weight):
    if getattr(lrn, "instance_class", None) is LoihiTables:
        return lambda lrn, k, n, out_src, first, n_out, in_src, i0, i1, slot, weight: learn_loihi(
            k, n, out_src, first, n_out, in_src, i0, i1, slot, weight, lrn
        )
    return None


@overload(learn_inputs, inline="always")
def _loihi_learning_inputs(
    lrn, k, j, n, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count
):
    """Loihi rows take the two passes: delivering and learning a row back to back measured no
    faster (the row update at the epoch end vectorizes; with the scatter in it, it does not)."""
    if getattr(lrn, "instance_class", None) is LoihiTables:
        return lambda lrn, k, j, n, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count: (
            False
        )
    return None


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
