"""Loihi 2 arithmetic, bit for bit as Lava 0.10's bit-accurate CPU models
(``PyLifModelBitAcc`` and ``PyDenseModelBitAcc``; ``reference/loihi2-semantics.md``).

Per neuron and step, with integer registers (``decay`` truncates toward zero)::

    decay(x, keep)  = sign(x) * ((|x| * keep) >> 12)
    wrap32(x)       = two's-complement int32 of x (numpy int32 arithmetic in Lava)

    a     = wrap32(q_0 + sum_{c >= 1} (q_c >> shift_c))          Dense outputs added in int32
    u'    = wrap32(decay(u, 4095 - decay_u) + wrap32(a << 6))
    u     = u' - 2**24 if u' > 2**23;  u' + 2**24 if u' <= -2**23;  u' otherwise   (one fold)
    v     = clip(decay(v, 4096 - decay_v) + u + bias, -(2**23 - 1), 2**23 - 1)
    spike = v > vth;  if spike: v = 0

``q_c`` is the step's ring-buffer row of channel ``c``: channel 0 holds the summed
``W * s`` of every projection whose weight exponent is ``>= 0`` (its weights pre-shifted by
the exponent, which is exact); each projection with a negative exponent ``e`` has its own
channel ``c`` with ``shift_c = -e``, because Lava floors each Dense's sum once
(``a_buff = sum >> -e``, an arithmetic shift) before the LIF adds the Dense outputs. There
is no refractory period, no threshold adaptation, no ``u + bias`` wrap and no 21-bit wrap of
the synaptic input. The sums before the shift are kept exactly (int64); Lava's graded
``weights.dot(s)`` would wrap at 2**31, which no 24-bit state can use.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit
from numba.extending import overload

from neuro.dynamics.step import neuron_update

U_FOLD = 1 << 23
V_LIMIT = (1 << 23) - 1
ACT_SHIFT = 6


@njit(cache=True, inline="always")
def decay(x, keep):
    """``sign(x) * ((|x| * keep) >> 12)``: multiply by ``keep / 4096`` truncating toward zero."""
    if x >= 0:
        return (x * keep) >> 12
    return -(((-x) * keep) >> 12)


@njit(cache=True, inline="always")
def wrap32(x):
    """Two's-complement int32 value of ``x`` (numpy's int32 overflow)."""
    return ((x + (1 << 31)) & ((1 << 32) - 1)) - (1 << 31)


@njit(cache=True, inline="always")
def fold(x):
    """Lava's one-sided fold of ``u`` into (-2**23, 2**23]."""
    if x > U_FOLD:
        return x - 2 * U_FOLD
    if x <= -U_FOLD:
        return x + 2 * U_FOLD
    return x


@njit(cache=True, inline="always")
def update(q, u0, vb, fired, params):
    """One Loihi 2 step of every neuron of one batch element (module docstring); consumes the
    ring-buffer row ``q`` (all channels), sets ``fired[i] = spiked + 2 * active + 4 * membrane``
    (membrane: ``v`` changed) and returns the count of ``u`` folds and of int32 wraps of the
    input as (0, folds, wraps)."""
    keep_u, keep_v, vth, bias, shift = params.keep_u, params.keep_v, params.vth, params.bias, params.shift
    n = vb.shape[0]
    n_ch = shift.shape[0]
    folds = 0
    wraps = 0
    for i in range(n):
        a = np.int64(q[i])
        q[i] = 0
        for c in range(1, n_ch):
            a += np.int64(q[c * n + i]) >> shift[c]
            q[c * n + i] = 0
        act = wrap32(wrap32(a) << ACT_SHIFT)
        wraps += act != (a << ACT_SHIFT)
        u_old = u0[i]
        s = wrap32(decay(u_old, keep_u[i]) + act)
        x = fold(s)
        folds += x != s
        u0[i] = x
        v_old = vb[i]
        vi = decay(v_old, keep_v[i]) + x + bias[i]
        vi = min(max(vi, -V_LIMIT), V_LIMIT)
        spk = vi > vth[i]
        vn = 0 if spk else vi
        vb[i] = vn
        dv = vn != v_old
        fired[i] = spk + 2 * (dv | (x != u_old)) + 4 * dv
    return 0, folds, wraps


#: Per-neuron registers of the Loihi 2 update: ``keep_u = 4095 - decay_u``,
#: ``keep_v = 4096 - decay_v``, ``vth = vth_mant << 6``, ``bias = bias_mant << bias_exp``; and
#: per ring-buffer channel the right shift of its sum (0 for channel 0).
Loihi2Params = namedtuple("Loihi2Params", ("keep_u", "keep_v", "vth", "bias", "shift"))
LOIHI2_PARAMS = ("keep_u", "keep_v", "vth", "bias")


@overload(neuron_update, inline="always")
def _loihi2_update(params, q, u0, u1, vb, rb, th, fired, two):
    if getattr(params, "instance_class", None) is Loihi2Params:
        return lambda params, q, u0, u1, vb, rb, th, fired, two: update(q, u0, vb, fired, params)
    return None
