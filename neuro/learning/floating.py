"""Float learning: event-driven sum-of-products STDP with exactly decayed traces.

A trace ``z`` stores its value at its last update step ``k_z``; read at step ``k`` it is
:math:`z\\,e^{-(k - k_z)\\,dt/\\tau}` (a table for the first 4096 steps, ``exp`` beyond), the
same value Brian2's ``(event-driven)`` variables hold. At step ``k``, after the neurons
spiked, for each rule: every pre spike (neuron or input source ``i``) applies the ``x0``
terms to its row of synapses, then updates ``i``'s traces; then every post spike ``j``
applies the ``y0`` terms to its column (reading pre traces already updated at this step, as
Brian2's ``on_pre`` runs before ``on_post``), then updates ``j``'s traces — so post-spike
terms read post traces *before* their own update (Diehl & Cook's ``post2before``). A trace
update is ``z = impulse`` (mode set) or ``z += impulse`` (add). Weights are clipped to
[w_min, w_max] after every update.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

FLOAT_TABLE_NAMES = (
    "r_src",
    "r_post",
    "seg_start",
    "seg_len",
    "col_ptr",
    "col_pos",
    "col_src",
    "t_coef",
    "t_dep",
    "t_pow",
    "n_terms",
    "tr_impulse",
    "tr_set",
    "tr_tau_steps",
    "decay_tab",
    "w_min",
    "w_max",
    "x",
    "x_last",
    "y",
    "y_last",
    "reward",
    "counts",
    "need",
    "lin",
    "scratch",
    "y_now",
    "y_stamp",
)
FloatTables = namedtuple("FloatTables", FLOAT_TABLE_NAMES)  # the kernels read fields by name


@njit(cache=True, inline="always")
def _decayed(val, decay_tab, tau_steps, r, tr, dsteps):
    if val == 0.0:
        return 0.0
    if dsteps < decay_tab.shape[2]:
        return val * decay_tab[r, tr, dsteps]
    return val * np.exp(-dsteps / tau_steps[r, tr])


PRE_FIXED = (True, True, False, False, False, False, True)  # x1 x2 (y1 y2 y3 w) r: fixed over a row
POST_FIXED = (False, False, True, True, True, False, True)  # (x1 x2) y1 y2 y3 (w) r: fixed over a column


@njit(cache=True, inline="always")
def _fixed_part(r, t, t_coef, t_pow, vals, fixed):
    """Coefficient x the factors of term t that are the same for every synapse of the event."""
    v = t_coef[r, t]
    for f in range(7):  # unrolled
        if fixed[f]:
            for _ in range(t_pow[r, t, f]):
                v *= vals[f]
    return v


@njit(cache=True, inline="always")
def _consts(r, dep, t_coef, t_dep, t_pow, n_terms, vals, fixed, out):
    """out[t] = :func:`_fixed_part` of term t (0 for terms of the other dependency)."""
    for t in range(n_terms[r]):
        out[t] = _fixed_part(r, t, t_coef, t_pow, vals, fixed) if t_dep[r, t] == dep else 0.0


@njit(cache=True, inline="always")
def _dw_var(r, dep, t_dep, t_pow, n_terms, consts, vals, fixed):
    """dw from the per-event constants and the synapse's own factors."""
    total = 0.0
    for t in range(n_terms[r]):
        if t_dep[r, t] != dep:
            continue
        v = consts[t]
        for f in range(7):  # unrolled
            if not fixed[f]:
                p = t_pow[r, t, f]
                if p == 1:
                    v *= vals[f]
                elif p > 1:
                    v *= vals[f] ** p
        total += v
    return total


@njit(cache=True, inline="always")
def _fold(r, dep, t_coef, t_dep, t_pow, n_terms, vals, fixed, first):
    """For a linear dependency (tables ``lin``): ``(A0, A1, A2, A3, B0, B1, B2, B3)`` with
    ``dw = (A0 + A1 z1 + A2 z2 + A3 z3) + (B0 + B1 z1 + B2 z2 + B3 z3) w``, where z1.. are the
    per-synapse traces starting at factor ``first`` (x1 for y0-terms, y1 for x0-terms) and the
    coefficients include the event's ``fixed`` factors ``vals``."""
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = 0.0
    for t in range(n_terms[r]):
        if t_dep[r, t] != dep:
            continue
        v = _fixed_part(r, t, t_coef, t_pow, vals, fixed)
        z = 0
        for f in range(3):
            if first + f < 5 and t_pow[r, t, first + f] > 0:
                z = f + 1
        q = (4 if t_pow[r, t, 5] else 0) + z
        if q == 0:
            c0 += v
        elif q == 1:
            c1 += v
        elif q == 2:
            c2 += v
        elif q == 3:
            c3 += v
        elif q == 4:
            c4 += v
        elif q == 5:
            c5 += v
        elif q == 6:
            c6 += v
        else:
            c7 += v
    return c0, c1, c2, c3, c4, c5, c6, c7


@njit(cache=True, inline="always")
def _pre(r, i, k, n, slot, weight, L):
    dx = k - L.x_last[r, i]
    x1 = _decayed(L.x[r, 0, i], L.decay_tab, L.tr_tau_steps, r, 0, dx)
    x2 = _decayed(L.x[r, 1, i], L.decay_tab, L.tr_tau_steps, r, 1, dx)
    a = L.seg_start[r, i]
    n1, n2, n3 = L.need[r, 0, 2], L.need[r, 0, 3], L.need[r, 0, 4]  # post traces the x0 terms read
    lo, hi = L.w_min[r], L.w_max[r]
    vals = (x1, x2, 0.0, 0.0, 0.0, 0.0, L.reward[0])
    lin = L.lin[r, 0]  # fast path: dw = A(y) + B(y) w
    consts = L.scratch
    if lin:
        fold = _fold(r, 0, L.t_coef, L.t_dep, L.t_pow, L.n_terms, vals, PRE_FIXED, 2)
        a0, a1, a2, a3, b0, b1, b2, b3 = fold
    else:
        a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = 0.0
        _consts(r, 0, L.t_coef, L.t_dep, L.t_pow, L.n_terms, vals, PRE_FIXED, consts)
    b = a + L.seg_len[r, i]
    for s in range(a, b):  # decay the row's post traces to step k once per step (post spikes come later)
        j = slot[s]
        if j >= n:  # second current channel: slot = n + target
            j -= n
        if L.y_stamp[r, j] != k:  # after the step's first pre spike, a predictable branch
            dy = k - L.y_last[r, j]
            L.y_now[r, 0, j] = _decayed(L.y[r, 0, j], L.decay_tab, L.tr_tau_steps, r, 2, dy) if n1 else 0.0
            L.y_now[r, 1, j] = _decayed(L.y[r, 1, j], L.decay_tab, L.tr_tau_steps, r, 3, dy) if n2 else 0.0
            L.y_now[r, 2, j] = _decayed(L.y[r, 2, j], L.decay_tab, L.tr_tau_steps, r, 4, dy) if n3 else 0.0
            L.y_stamp[r, j] = k
    yv1, yv2, yv3 = L.y_now[r, 0], L.y_now[r, 1], L.y_now[r, 2]
    if lin:  # branch-free over the row (vectorizes)
        for s in range(a, b):
            j = slot[s]
            j = j - n if j >= n else j
            y1, y2, y3 = yv1[j], yv2[j], yv3[j]
            w0 = weight[s]
            dw = (a0 + a1 * y1 + a2 * y2 + a3 * y3) + (b0 + b1 * y1 + b2 * y2 + b3 * y3) * w0
            weight[s] = min(max(w0 + dw, lo), hi)
    else:
        for s in range(a, b):
            j = slot[s]
            j = j - n if j >= n else j
            w0 = weight[s]
            own = (x1, x2, yv1[j], yv2[j], yv3[j], w0, 0.0)
            dw = _dw_var(r, 0, L.t_dep, L.t_pow, L.n_terms, consts, own, PRE_FIXED)
            weight[s] = min(max(w0 + dw, lo), hi)
    L.counts[0] += L.seg_len[r, i]
    L.x[r, 0, i] = L.tr_impulse[r, 0] if L.tr_set[r, 0] else x1 + L.tr_impulse[r, 0]
    L.x[r, 1, i] = L.tr_impulse[r, 1] if L.tr_set[r, 1] else x2 + L.tr_impulse[r, 1]
    L.x_last[r, i] = k
    L.counts[1] += 1


@njit(cache=True, inline="always")
def _post(r, j, k, weight, L):
    dy = k - L.y_last[r, j]
    y1 = _decayed(L.y[r, 0, j], L.decay_tab, L.tr_tau_steps, r, 2, dy)
    y2 = _decayed(L.y[r, 1, j], L.decay_tab, L.tr_tau_steps, r, 3, dy)
    y3 = _decayed(L.y[r, 2, j], L.decay_tab, L.tr_tau_steps, r, 4, dy)
    n1, n2 = L.need[r, 1, 0], L.need[r, 1, 1]  # pre traces the y0 terms read
    lo, hi = L.w_min[r], L.w_max[r]
    vals = (0.0, 0.0, y1, y2, y3, 0.0, L.reward[0])
    lin = L.lin[r, 1]  # fast path: dw = A(x) + B(x) w
    consts = L.scratch
    if lin:
        a0, a1, a2, _, b0, b1, b2, _ = _fold(r, 1, L.t_coef, L.t_dep, L.t_pow, L.n_terms, vals, POST_FIXED, 0)
    else:
        a0 = a1 = a2 = b0 = b1 = b2 = 0.0
        _consts(r, 1, L.t_coef, L.t_dep, L.t_pow, L.n_terms, vals, POST_FIXED, consts)
    for c in range(L.col_ptr[r, j], L.col_ptr[r, j + 1]):
        s = L.col_pos[c]
        i = L.col_src[c]
        dx = k - L.x_last[r, i]
        x1 = _decayed(L.x[r, 0, i], L.decay_tab, L.tr_tau_steps, r, 0, dx) if n1 else 0.0
        x2 = _decayed(L.x[r, 1, i], L.decay_tab, L.tr_tau_steps, r, 1, dx) if n2 else 0.0
        w0 = weight[s]
        if lin:
            dw = (a0 + a1 * x1 + a2 * x2) + (b0 + b1 * x1 + b2 * x2) * w0
        else:
            own = (x1, x2, 0.0, 0.0, 0.0, w0, 0.0)
            dw = _dw_var(r, 1, L.t_dep, L.t_pow, L.n_terms, consts, own, POST_FIXED)
        weight[s] = min(max(w0 + dw, lo), hi)
    L.counts[0] += L.col_ptr[r, j + 1] - L.col_ptr[r, j]
    L.y[r, 0, j] = L.tr_impulse[r, 2] if L.tr_set[r, 2] else y1 + L.tr_impulse[r, 2]
    L.y[r, 1, j] = L.tr_impulse[r, 3] if L.tr_set[r, 3] else y2 + L.tr_impulse[r, 3]
    L.y[r, 2, j] = L.tr_impulse[r, 4] if L.tr_set[r, 4] else y3 + L.tr_impulse[r, 4]
    L.y_last[r, j] = k
    L.counts[1] += 1


@njit(cache=True)  # a call, not IR-inlined: see neuro.dynamics.step (compile time)
def learn_float(k, n, out_src, first, n_out, in_src, i0, i1, slot, weight, L):
    """Apply every rule to the spikes of step ``k``: neurons ``out_src[first:n_out]`` and
    input sources ``in_src[i0:i1]``."""
    r_src, r_post = L.r_src, L.r_post
    for r in range(r_src.shape[0]):
        s0, s1, p0, p1 = r_src[r, 0], r_src[r, 1], r_post[r, 0], r_post[r, 1]
        for t in range(first, n_out + i1 - i0):  # the neurons' spikes, then the inputs'
            i = out_src[t] if t < n_out else in_src[i0 + t - n_out]  # (one call site: compiles once)
            if s0 <= i < s1:
                _pre(r, i, k, n, slot, weight, L)
        for t in range(first, n_out):
            j = out_src[t]
            if p0 <= j < p1:
                _post(r, j, k, weight, L)
