"""Loihi-arithmetic learning: 7-bit traces, 4-bit scale mantissas, a 15-bit accumulator and
stochastic rounding, applied once per learning epoch (our documented model of Loihi's
learning engine; widths from Lava's constants and nengo-loihi's emulator, see
``../shared/reference/chips-loihi-truenorth.md``).

During an epoch a spike only raises its neuron's flag (``x0`` or ``y0``). At the end of the
epoch (step ``k`` with ``(k + 1) % epoch == 0``, epoch index ``e``), for each rule:

1. for every flagged source, its row; then for every flagged post neuron, its column::

       term = m * prod(factors) >> or << (e_t + 7 - 7 * n_traces - weight_bits * n_w - 7 * n_r)
       acc  = sat16(sum of the terms of that dependency)          # 15 bits + sign
       Wgt  = clip(Wgt + (acc >> 7) + [rand7 < (acc & 127)], w_min, w_max)

   where traces are integers 0..127 read as ``int / 128``, ``w`` is ``Wgt / 2**weight_bits``,
   ``r`` (reward) is a signed register read as ``r_int / 128``, a term's shift truncates
   toward minus infinity, and ``rand7`` are 7 bits of :mod:`neuro.learning.prng` for
   (synapse, epoch) — so rounding is unbiased: E[dWgt] = acc / 128; the synapse is named by
   its position in the whole network's CSR (a worker's sub-network maps its own positions
   through the tables' ``syn_gid``; traces likewise through ``src_gid`` / ``nrn_gid``);
2. impulses: each flagged trace becomes ``SR(impulse)`` (mode set) or
   ``min(trace + SR(impulse), 127)`` (add), ``SR`` = stochastic rounding;
3. every trace of the rule decays: ``trace = SR(trace * exp(-epoch * dt / tau))``.

Traces are read in step 1 before this epoch's impulses (so Diehl & Cook's post-spike term
reads post2 before its update). The register weight stays ``Wgt << (6 + weight_exp)``.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from neuro.learning.prng import (
    DECAY_STREAM,
    GOLDEN,
    IMPULSE_STREAM,
    global_index,
    mix64,
    random_bits,
    stochastic_round,
    trace_stream,
)

LOIHI_TABLE_NAMES = (
    "r_src",
    "r_post",
    "seg_start",
    "seg_len",
    "col_ptr",
    "col_pos",
    "col_src",
    "t_mant",
    "t_exp",
    "t_dep",
    "t_pow",
    "n_terms",
    "tr_impulse",
    "tr_decay",
    "tr_set",
    "w_shift",
    "w_bits",
    "w_min",
    "w_max",
    "epoch",
    "x",
    "y",
    "x_flag",
    "y_flag",
    "x_list",
    "y_list",
    "n_list",
    "key",
    "reward",
    "counts",
    "lin",
    "scratch",
    "wbuf",
    "syn_gid",
    "src_gid",
    "nrn_gid",
)
LoihiTables = namedtuple("LoihiTables", LOIHI_TABLE_NAMES)  # the kernels read fields by name
ACC_MIN = -(1 << 15)
ACC_MAX = (1 << 15) - 1
DECAY_BLOCK = 64  # traces tested together for all-zero (then their decay is skipped)


@njit(cache=True, inline="always")
def _acc(r, dep, t_mant, t_exp, t_dep, t_pow, n_terms, wbits, x1, x2, y1, y2, y3, wgt, rew):
    vals = (
        np.int64(x1),
        np.int64(x2),
        np.int64(y1),
        np.int64(y2),
        np.int64(y3),
        np.int64(wgt),
        np.int64(rew),
    )
    frac = (7, 7, 7, 7, 7, wbits, 7)  # fraction bits of each factor
    acc = 0
    for t in range(n_terms[r]):
        if t_dep[r, t] != dep:
            continue
        v = t_mant[r, t]
        sh = t_exp[r, t] + 7
        for f in range(7):  # unrolled by the compiler: factor f to its power
            for _ in range(t_pow[r, t, f]):
                v *= vals[f]
                sh -= frac[f]
        acc += (v << sh) if sh >= 0 else (v >> (-sh))
    return min(max(acc, ACC_MIN), ACC_MAX)


@njit(cache=True, inline="always")
def _fold(r, dep, t_mant, t_exp, t_dep, t_pow, n_terms, wbits, fixed_vals, first, out):
    """For a linear dependency (tables ``lin``): per term q of ``dep``, out[0, q] = mantissa x
    the factors that are the same for every synapse of the epoch's event, out[1, q] = which
    per-synapse trace it multiplies (0: none, 1..3 from factor ``first``), out[2, q] = its
    power of w (0/1), out[3, q] = its shift. Returns the number of terms."""
    frac = (7, 7, 7, 7, 7, wbits, 7)
    q = 0
    for t in range(n_terms[r]):
        if t_dep[r, t] != dep:
            continue
        v = t_mant[r, t]
        sh = t_exp[r, t] + 7
        z = 0
        for f in range(7):  # unrolled
            p = t_pow[r, t, f]
            sh -= frac[f] * p
            if first <= f < first + 3:
                if p:
                    z = f - first + 1
            elif f != 5:
                for _ in range(p):
                    v *= fixed_vals[f]
        out[0, q], out[1, q], out[2, q], out[3, q] = v, z, t_pow[r, t, 5], sh
        q += 1
    return q


@njit(cache=True, inline="always")
def _term(f, zs, wp, sh, z1, z2, z3, wgt):
    """One folded term (see :func:`_fold`) for one synapse's traces and weight (branch-free)."""
    z = z1 if zs == 1 else (z2 if zs == 2 else (z3 if zs == 3 else np.int64(1)))
    v = f * z * (wgt if wp != 0 else np.int64(1))
    return (v << sh) if sh >= 0 else (v >> (-sh))


@njit(cache=True, inline="always")
def _fast_acc(t, z1, z2, z3, wgt):
    """The accumulator of a synapse from the (at most two) hoisted terms ``t``."""
    acc = _term(t[0], t[1], t[2], t[3], z1, z2, z3, wgt) + _term(t[4], t[5], t[6], t[7], z1, z2, z3, wgt)
    return min(max(acc, ACC_MIN), ACC_MAX)


@njit(cache=True, inline="always")
def _new_wgt(wgt, acc, bits, wmin, wmax):
    """``clip(Wgt + (acc >> 7) + [rand7 < (acc & 127)], w_min, w_max)``, rand7 the low 7 ``bits``."""
    up = np.int64(np.int64(bits & np.uint64(127)) < (acc & 127))
    return min(max(wgt + (acc >> 7) + up, wmin), wmax)


@njit(cache=True, inline="always")
def _bits_if(acc, base, g):
    """The synapse's random bits ``mix64(base + g * GOLDEN)`` where :func:`_new_wgt` reads them,
    0 where it does not: with ``acc & 127 == 0`` the round-up test ``rand7 < 0`` is false for any
    bits (most synapses of an event whose partner traces are 0), so the hash is skipped."""
    if acc & 127:
        return mix64(base + np.uint64(g) * GOLDEN)
    return np.uint64(0)


@njit(cache=True, inline="always")
def _hoist(m, fold):
    """:func:`_fold`'s terms as 8 scalars (a missing second term is zero); m <= 2."""
    if m == 2:
        return (
            fold[0, 0],
            fold[1, 0],
            fold[2, 0],
            fold[3, 0],
            fold[0, 1],
            fold[1, 1],
            fold[2, 1],
            fold[3, 1],
        )
    return (
        fold[0, 0],
        fold[1, 0],
        fold[2, 0],
        fold[3, 0],
        np.int64(0),
        np.int64(0),
        np.int64(0),
        np.int64(0),
    )


@njit(cache=True, inline="always")
def _apply(s, stream, acc, shift, wmin, wmax, weight, key, epoch_index):
    wgt = np.int64(weight[s]) >> shift
    weight[s] = _new_wgt(wgt, acc, random_bits(key, stream, epoch_index), wmin, wmax) << shift


@njit(cache=True)  # a call, not IR-inlined (once per epoch; 6 s less to compile, see neuro.dynamics.step)
def _epoch_end(r, e, n, slot, weight, L):
    k0 = L.key[0]
    sh, wb, lo, hi, rew = L.w_shift[r], L.w_bits[r], L.w_min[r], L.w_max[r], L.reward[0]
    # 1. weight updates: rows of flagged sources, then columns of flagged post neurons
    fold = L.scratch
    base = np.uint64(k0) + mix64(np.uint64(e))  # random_bits(k0, g, e) == mix64(base + g * GOLDEN)
    sg, xg, yg = L.syn_gid, L.src_gid, L.nrn_gid  # sub-network -> whole network (None: identity)
    for a in range(L.n_list[r, 0]):
        i = L.x_list[r, a]
        st, ln = L.seg_start[r, i], L.seg_len[r, i]
        x1, x2 = L.x[r, 0, i], L.x[r, 1, i]
        m = -1
        if L.lin[r, 0]:
            fixed = (x1, x2, np.int64(0), np.int64(0), np.int64(0), np.int64(0), rew)
            m = _fold(r, 0, L.t_mant, L.t_exp, L.t_dep, L.t_pow, L.n_terms, wb, fixed, 2, fold)
        if 1 <= m <= 2:  # fast path, branch-free: vectorizes
            t = _hoist(m, fold)
            yv0, yv1, yv2 = L.y[r, 0], L.y[r, 1], L.y[r, 2]
            for s in range(st, st + ln):
                j = slot[s]
                j = j - n if j >= n else j  # second current channel: slot = n + target
                wgt = np.int64(weight[s]) >> sh
                acc = _fast_acc(t, yv0[j], yv1[j], yv2[j], wgt)
                weight[s] = _new_wgt(wgt, acc, _bits_if(acc, base, global_index(sg, s)), lo, hi) << sh
        else:
            for s in range(st, st + ln):
                j = slot[s]
                if j >= n:
                    j -= n
                wgt = np.int64(weight[s]) >> sh
                acc = _acc(
                    r,
                    0,
                    L.t_mant,
                    L.t_exp,
                    L.t_dep,
                    L.t_pow,
                    L.n_terms,
                    wb,
                    x1,
                    x2,
                    L.y[r, 0, j],
                    L.y[r, 1, j],
                    L.y[r, 2, j],
                    wgt,
                    rew,
                )
                _apply(s, global_index(sg, s), acc, sh, lo, hi, weight, k0, e)
        L.counts[0] += ln
    buf = L.wbuf
    for a in range(L.n_list[r, 1]):
        j = L.y_list[r, a]
        c0, c1 = L.col_ptr[r, j], L.col_ptr[r, j + 1]
        y1, y2, y3 = L.y[r, 0, j], L.y[r, 1, j], L.y[r, 2, j]
        m = -1
        if L.lin[r, 1]:
            fixed = (np.int64(0), np.int64(0), y1, y2, y3, np.int64(0), rew)
            m = _fold(r, 1, L.t_mant, L.t_exp, L.t_dep, L.t_pow, L.n_terms, wb, fixed, 0, fold)
        if 1 <= m <= 2:  # fast path: new weights of the column (vectorizes), then stored
            t = _hoist(m, fold)
            xv0, xv1 = L.x[r, 0], L.x[r, 1]
            for q in range(c1 - c0):
                s = L.col_pos[c0 + q]
                i = L.col_src[c0 + q]
                wgt = np.int64(weight[s]) >> sh
                acc = _fast_acc(t, xv0[i], xv1[i], np.int64(0), wgt)
                buf[q] = _new_wgt(wgt, acc, _bits_if(acc, base, global_index(sg, s)), lo, hi) << sh
            for q in range(c1 - c0):  # a column's synapses are distinct
                weight[L.col_pos[c0 + q]] = buf[q]
        else:
            for c in range(c0, c1):
                s = L.col_pos[c]
                i = L.col_src[c]
                wgt = np.int64(weight[s]) >> sh
                acc = _acc(
                    r,
                    1,
                    L.t_mant,
                    L.t_exp,
                    L.t_dep,
                    L.t_pow,
                    L.n_terms,
                    wb,
                    L.x[r, 0, i],
                    L.x[r, 1, i],
                    y1,
                    y2,
                    y3,
                    wgt,
                    rew,
                )
                _apply(s, global_index(sg, s), acc, sh, lo, hi, weight, k0, e)
        L.counts[0] += c1 - c0
    # 2. impulses of this L.epoch's spikes
    for a in range(L.n_list[r, 0]):
        i = L.x_list[r, a]
        L.x_flag[r, i] = 0
        for tr in range(2):
            if L.tr_impulse[r, tr] > 0:
                stream = trace_stream(IMPULSE_STREAM, r, tr, global_index(xg, i))
                imp = stochastic_round(L.tr_impulse[r, tr], k0, stream, e)
                L.x[r, tr, i] = imp if L.tr_set[r, tr] else min(L.x[r, tr, i] + imp, 127)
        L.counts[1] += 1
    for a in range(L.n_list[r, 1]):
        j = L.y_list[r, a]
        L.y_flag[r, j] = 0
        for tr in range(3):
            if L.tr_impulse[r, 2 + tr] > 0:
                stream = trace_stream(IMPULSE_STREAM, r, 2 + tr, global_index(yg, j))
                imp = stochastic_round(L.tr_impulse[r, 2 + tr], k0, stream, e)
                L.y[r, tr, j] = imp if L.tr_set[r, 2 + tr] else min(L.y[r, tr, j] + imp, 127)
        L.counts[1] += 1
    L.n_list[r, 0] = 0
    L.n_list[r, 1] = 0
    # 3. decay of every trace of this rule
    for tr in range(2):
        if L.tr_decay[r, tr] < 1.0:
            _decay_all(L.x[r, tr], L.r_src[r, 0], L.r_src[r, 1], L.tr_decay[r, tr], k0, e, r, tr, xg)
    for tr in range(3):
        if L.tr_decay[r, 2 + tr] < 1.0:
            d = L.tr_decay[r, 2 + tr]
            _decay_all(L.y[r, tr], L.r_post[r, 0], L.r_post[r, 1], d, k0, e, r, 2 + tr, yg)


@njit(cache=True, inline="always")
def _decay_all(z, a, b, d, key, e, r, tr, ids):
    """``z[i] = SR(z[i] * d)`` for i in a..b with :func:`~neuro.learning.prng.stochastic_round`'s
    bits (stream of the whole network's index of ``i``, ``ids``): ``u < v - floor(v)`` is
    compared as ``(bits >> 11) < (v - floor(v)) * 2^53`` (exact: a power-of-two scaling), and
    a zero trace stays zero (its fraction is 0), so blocks
    of :data:`DECAY_BLOCK` zero traces are skipped (most traces rest at 0), and in the other
    blocks only the nonzero traces are hashed."""
    base = np.uint64(key) + mix64(np.uint64(e)) + trace_stream(DECAY_STREAM, r, tr, 0) * GOLDEN
    zs = z[a:b]
    for q in range(0, b - a, DECAY_BLOCK):
        hi = min(q + DECAY_BLOCK, b - a)
        nz = np.int64(0)
        for i in range(q, hi):  # a block of zero traces stays zero: skip its hashes
            nz |= zs[i]
        if nz == 0:
            continue
        for i in range(q, hi):
            if zs[i] == 0:
                continue
            v = zs[i] * d
            f = np.floor(v)
            u = np.int64(mix64(base + np.uint64(global_index(ids, a + i)) * GOLDEN) >> np.uint64(11))
            zs[i] = np.int64(f) + np.int64(np.float64(u) < (v - f) * 9007199254740992.0)


@njit(cache=True, inline="always")
def _flag_pre(r, i, x_flag, x_list, n_list):
    if x_flag[r, i] == 0:
        x_flag[r, i] = 1
        x_list[r, n_list[r, 0]] = i
        n_list[r, 0] += 1


@njit(cache=True)  # a call, not IR-inlined: see neuro.dynamics.step (compile time)
def learn_loihi(k, n, out_src, first, n_out, in_src, i0, i1, slot, weight, L):
    """Flag the spikes of step ``k``; at the end of a rule's epoch, learn (see module docstring)."""
    r_src, r_post, epoch = L.r_src, L.r_post, L.epoch
    x_flag, y_flag, x_list, y_list, n_list = L.x_flag, L.y_flag, L.x_list, L.y_list, L.n_list
    for r in range(r_src.shape[0]):
        s0, s1, p0, p1 = r_src[r, 0], r_src[r, 1], r_post[r, 0], r_post[r, 1]
        for t in range(first, n_out):
            i = out_src[t]
            if s0 <= i < s1:
                _flag_pre(r, i, x_flag, x_list, n_list)
            if p0 <= i < p1 and y_flag[r, i] == 0:
                y_flag[r, i] = 1
                y_list[r, n_list[r, 1]] = i
                n_list[r, 1] += 1
        for t in range(i0, i1):
            i = in_src[t]
            if s0 <= i < s1:
                _flag_pre(r, i, x_flag, x_list, n_list)
        if (k + 1) % epoch[r] == 0:
            _epoch_end(r, (k + 1) // epoch[r] - 1, n, slot, weight, L)
