"""Input spikes delivered and learned in one pass over their rows (float and Loihi arithmetic).

A step applies, in this order, the neuron spikes' delivery, the input spikes' delivery
(each input row in CSR order: ``buf[k + 1 + delay, slot] += w``), then the rules: pre-spike
terms over the rows of the step's neuron sources, then over the rows of its input sources,
then post-spike terms over the columns of the spiking neurons (:mod:`neuro.learning.floating`,
:mod:`neuro.learning.loihi`). Nothing between an input row's delivery and its pre-spike update
reads or writes that row, the rows of distinct sources are disjoint, the post traces a row
reads change only after every row (float: the column pass; Loihi: the epoch end's impulses
and decay), and a synapse's random bits are keyed by its position and epoch, not by the order
of updates. So an input row can be delivered and updated synapse by synapse, reading each
weight once: ``buf += w`` with the old ``w``, then ``w = clip(w + dw)``, with the same
expressions as the two passes — the results are bit-identical.

The functions here return False, touching nothing, where that argument does not hold, and the
step then runs the two passes: a source twice in the step (inputs are sorted by source, so
this is a non-increasing pair), a source in two rules, a rule with a general (non-linear) pre
term, or (Loihi) a learning epoch other than 1 step (rows are then updated at the epoch's end,
not at the spike).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neuro.learning.floating import PRE_FIXED, _decayed
from neuro.learning.floating import _fold as _fold_float
from neuro.learning.loihi import ROW_DONE, _bits_if, _fast_acc, _hoist, _new_wgt
from neuro.learning.loihi import _fold as _fold_loihi
from neuro.learning.prng import global_index, mix64


@njit(cache=True, inline="always")
def _deliver_span(s0, s1, base, n_rows, slot, weight, delay, buf):
    """:func:`neuro.dynamics.routing.deliver` for the positions ``s0 .. s1-1`` of a row (batch 1)."""
    if n_rows == 1:
        row = buf[0, 0]
        for s in range(s0, s1):
            row[slot[s]] += weight[s]
        return
    for s in range(s0, s1):
        q = base + delay[s]
        if q >= n_rows:
            q -= n_rows
        buf[q, 0, slot[s]] += weight[s]


@njit(cache=True, inline="always")
def _rule_of(i, r_src):
    """The rule whose sources hold ``i`` (-1: none; -2: more than one)."""
    found = -1
    for r in range(r_src.shape[0]):
        if r_src[r, 0] <= i < r_src[r, 1]:
            found = r if found == -1 else -2
    return found


@njit(cache=True, inline="always")
def _fusable(t0, t1, in_src, r_src, ok):
    """True when the step's inputs ``in_src[t0:t1]`` are strictly increasing and each is in at
    most one rule, and that rule's ``ok[r]`` holds."""
    prev = -1
    for t in range(t0, t1):
        i = in_src[t]
        if i <= prev:
            return False
        prev = i
        r = _rule_of(i, r_src)
        if r == -2 or (r >= 0 and not ok[r]):
            return False
    return True


@njit(cache=True, inline="always")
def _refresh_post(r, j, k, n1, n2, n3, L):
    """The float post traces of ``j`` decayed to step ``k`` into ``y_now`` (as ``_pre`` does)."""
    dy = k - L.y_last[r, j]
    L.y_now[r, 0, j] = _decayed(L.y[r, 0, j], L.decay_tab, L.tr_tau_steps, r, 2, dy) if n1 else 0.0
    L.y_now[r, 1, j] = _decayed(L.y[r, 1, j], L.decay_tab, L.tr_tau_steps, r, 3, dy) if n2 else 0.0
    L.y_now[r, 2, j] = _decayed(L.y[r, 2, j], L.decay_tab, L.tr_tau_steps, r, 4, dy) if n3 else 0.0
    L.y_stamp[r, j] = k


@njit(cache=True, inline="always")
def _refresh_float(k, n, t0, t1, in_src, slot, L):
    """``y_now`` at step ``k`` for every post neuron the step's input rows reach: per rule,
    all its post neurons at once when the rows hold at least as many synapses, else row by row."""
    for r in range(L.r_src.shape[0]):
        s0, s1, p0, p1 = L.r_src[r, 0], L.r_src[r, 1], L.r_post[r, 0], L.r_post[r, 1]
        n1, n2, n3 = L.need[r, 0, 2], L.need[r, 0, 3], L.need[r, 0, 4]
        syn = 0
        for t in range(t0, t1):
            i = in_src[t]
            if s0 <= i < s1:
                syn += L.seg_len[r, i]
        if syn == 0:
            continue
        if syn >= p1 - p0:
            for j in range(p0, p1):
                if L.y_stamp[r, j] != k:
                    _refresh_post(r, j, k, n1, n2, n3, L)
            continue
        for t in range(t0, t1):
            i = in_src[t]
            if s0 <= i < s1:
                a = L.seg_start[r, i]
                for s in range(a, a + L.seg_len[r, i]):
                    j = slot[s]
                    j = j - n if j >= n else j
                    if L.y_stamp[r, j] != k:
                        _refresh_post(r, j, k, n1, n2, n3, L)


@njit(cache=True, inline="always")
def learn_inputs_float(k, j, n, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count, L):
    """Deliver the input spikes of step ``k`` (row ``j`` of the chunk's input CSR, batch 1) and
    apply their pre-spike terms (``learn_float``'s ``_pre``, linear path) in one pass per row;
    False (nothing done) where the two-pass order is needed (module docstring)."""
    t0, t1 = in_ptr[j], in_ptr[j + 1]
    if not _fusable(t0, t1, in_src, L.r_src, L.lin[:, 0]):
        return False
    _refresh_float(k, n, t0, t1, in_src, slot, L)
    base = (k + 1) % n_rows
    for t in range(t0, t1):
        i = in_src[t]
        spike_count[i] += 1
        r = _rule_of(i, L.r_src)
        row0, row1 = indptr[i], indptr[i + 1]
        if r < 0 or L.seg_len[r, i] == 0:
            _deliver_span(row0, row1, base, n_rows, slot, weight, delay, buf)
            if r < 0:
                continue
        dx = k - L.x_last[r, i]
        x1 = _decayed(L.x[r, 0, i], L.decay_tab, L.tr_tau_steps, r, 0, dx)
        x2 = _decayed(L.x[r, 1, i], L.decay_tab, L.tr_tau_steps, r, 1, dx)
        ln = L.seg_len[r, i]
        if ln:
            a = L.seg_start[r, i]
            b = a + ln
            vals = (x1, x2, 0.0, 0.0, 0.0, 0.0, L.reward[0])
            a0, a1, a2, a3, b0, b1, b2, b3 = _fold_float(
                r, 0, L.t_coef, L.t_dep, L.t_pow, L.n_terms, vals, PRE_FIXED, 2
            )
            lo, hi = L.w_min[r], L.w_max[r]
            yv1, yv2, yv3 = L.y_now[r, 0], L.y_now[r, 1], L.y_now[r, 2]
            _deliver_span(row0, a, base, n_rows, slot, weight, delay, buf)
            if n_rows == 1:
                out = buf[0, 0]
                for s in range(a, b):
                    sl = slot[s]
                    q = sl - n if sl >= n else sl
                    w0 = weight[s]
                    out[sl] += w0
                    y1, y2, y3 = yv1[q], yv2[q], yv3[q]
                    dw = (a0 + a1 * y1 + a2 * y2 + a3 * y3) + (b0 + b1 * y1 + b2 * y2 + b3 * y3) * w0
                    weight[s] = min(max(w0 + dw, lo), hi)
            else:
                for s in range(a, b):
                    sl = slot[s]
                    q = sl - n if sl >= n else sl
                    w0 = weight[s]
                    d = base + delay[s]
                    if d >= n_rows:
                        d -= n_rows
                    buf[d, 0, sl] += w0
                    y1, y2, y3 = yv1[q], yv2[q], yv3[q]
                    dw = (a0 + a1 * y1 + a2 * y2 + a3 * y3) + (b0 + b1 * y1 + b2 * y2 + b3 * y3) * w0
                    weight[s] = min(max(w0 + dw, lo), hi)
            _deliver_span(b, row1, base, n_rows, slot, weight, delay, buf)
        L.counts[0] += ln
        L.x[r, 0, i] = L.tr_impulse[r, 0] if L.tr_set[r, 0] else x1 + L.tr_impulse[r, 0]
        L.x[r, 1, i] = L.tr_impulse[r, 1] if L.tr_set[r, 1] else x2 + L.tr_impulse[r, 1]
        L.x_last[r, i] = k
        L.counts[1] += 1
    return True


@njit(cache=True, inline="always")
def _loihi_ok(L, ok):
    """``ok[r]``: rule r's rows are updated at the spike (epoch 1) by the fast path (linear
    pre terms, at most two of them)."""
    for r in range(L.r_src.shape[0]):
        m = 0
        for t in range(L.n_terms[r]):
            if L.t_dep[r, t] == 0:
                m += 1
        ok[r] = L.epoch[r] == 1 and L.lin[r, 0] != 0 and 1 <= m <= 2
    return ok


@njit(cache=True, inline="always")
def learn_inputs_loihi(k, j, n, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count, L):
    """Deliver the input spikes of step ``k`` (batch 1) and apply their rows' part of the epoch
    end (``_epoch_end`` step 1, fast path; the epoch is this step) in one pass per row; the
    sources are flagged :data:`ROW_DONE` so the epoch end applies only their impulses. False
    (nothing done) where the two-pass order is needed (module docstring)."""
    t0, t1 = in_ptr[j], in_ptr[j + 1]
    ok = _loihi_ok(L, np.zeros(L.r_src.shape[0], dtype=np.bool_))
    if not _fusable(t0, t1, in_src, L.r_src, ok):
        return False
    base = (k + 1) % n_rows
    fold = L.scratch
    for t in range(t0, t1):
        i = in_src[t]
        spike_count[i] += 1
        r = _rule_of(i, L.r_src)
        row0, row1 = indptr[i], indptr[i + 1]
        if r < 0 or L.seg_len[r, i] == 0:
            _deliver_span(row0, row1, base, n_rows, slot, weight, delay, buf)
        else:
            e = k  # the epoch of a 1-step rule: (k + 1) // 1 - 1
            bits0 = np.uint64(L.key[0]) + mix64(np.uint64(e))
            sh, wb, lo, hi, rew = L.w_shift[r], L.w_bits[r], L.w_min[r], L.w_max[r], L.reward[0]
            st, ln = L.seg_start[r, i], L.seg_len[r, i]
            fixed = (L.x[r, 0, i], L.x[r, 1, i], np.int64(0), np.int64(0), np.int64(0), np.int64(0), rew)
            m = _fold_loihi(r, 0, L.t_mant, L.t_exp, L.t_dep, L.t_pow, L.n_terms, wb, fixed, 2, fold)
            tt = _hoist(m, fold)
            yv0, yv1, yv2 = L.y[r, 0], L.y[r, 1], L.y[r, 2]
            sg = L.syn_gid
            _deliver_span(row0, st, base, n_rows, slot, weight, delay, buf)
            for s in range(st, st + ln):
                sl = slot[s]
                q = sl - n if sl >= n else sl
                w0 = weight[s]
                if n_rows == 1:
                    buf[0, 0, sl] += w0
                else:
                    d = base + delay[s]
                    if d >= n_rows:
                        d -= n_rows
                    buf[d, 0, sl] += w0
                wgt = np.int64(w0) >> sh
                acc = _fast_acc(tt, yv0[q], yv1[q], yv2[q], wgt)
                weight[s] = _new_wgt(wgt, acc, _bits_if(acc, bits0, global_index(sg, s)), lo, hi) << sh
            _deliver_span(st + ln, row1, base, n_rows, slot, weight, delay, buf)
            L.counts[0] += ln
        if r >= 0:  # flagged for the epoch end's impulses (its row, if any, is done)
            L.x_flag[r, i] = ROW_DONE
            L.x_list[r, L.n_list[r, 0]] = i
            L.n_list[r, 0] += 1
    return True
