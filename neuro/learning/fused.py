"""Input spikes delivered and learned in one pass over their rows (float arithmetic).

A step applies, in this order, the neuron spikes' delivery, the input spikes' delivery
(each input row in CSR order: ``buf[k + 1 + delay, slot] += w``), then the rules: pre-spike
terms over the rows of the step's neuron sources, then over the rows of its input sources,
then post-spike terms over the columns of the spiking neurons (:mod:`neuro.learning.floating`).
Nothing between an input row's delivery and its pre-spike update reads or writes that row, the
rows of distinct sources are disjoint, and the post traces a row reads change only in the
column pass, after every row. So an input row can be delivered and updated synapse by synapse,
reading each weight once: ``buf += w`` with the old ``w``, then ``w = clip(w + dw)``, with the
same expressions as the two passes — the results are bit-identical (tests/test_learning_fused.py
pins them to ``Simulator.fuse_inputs = False``). On the Diehl & Cook input rows the one pass
takes about two thirds of the time of the two (``bench/train_profile.py``).

:func:`learn_inputs_float` returns False, touching nothing, where that argument does not hold,
and the step then runs the two passes: a source twice in the step (inputs are sorted by source,
so this is a non-increasing pair), a source in two rules, or a rule with a general (non-linear)
pre term. Loihi arithmetic keeps the two passes: its row update at the epoch end vectorizes,
and a row delivered and learned back to back measured no faster.

No helper taking arrays is called per synapse or per neuron here: numba reference-counts an
array passed to a function, even an inlined one, and that costs more than the work.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neuro.learning.floating import PRE_FIXED
from neuro.learning.floating import _fold as _fold_float


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
def _refresh_float(k, n, t0, t1, in_src, slot, L):
    """``y_now`` at step ``k`` (``_decayed``'s expressions, written out) for every post neuron the
    step's input rows reach: per rule, all its post neurons at once when the rows hold at least
    as many synapses, else row by row. No helper taking arrays is called per neuron: an array
    passed to an (even inlined) function costs reference counting, far more than the work."""
    tab, tau = L.decay_tab, L.tr_tau_steps
    n_tab = tab.shape[2]
    for r in range(L.r_src.shape[0]):
        s0, s1, p0, p1 = L.r_src[r, 0], L.r_src[r, 1], L.r_post[r, 0], L.r_post[r, 1]
        need = (L.need[r, 0, 2], L.need[r, 0, 3], L.need[r, 0, 4])
        y, y_last, y_now, y_stamp = L.y[r], L.y_last[r], L.y_now[r], L.y_stamp[r]
        seg_start, seg_len = L.seg_start[r], L.seg_len[r]
        syn = 0
        for t in range(t0, t1):
            i = in_src[t]
            if s0 <= i < s1:
                syn += seg_len[i]
        if syn == 0:
            continue
        whole = syn >= p1 - p0
        for u in range(1 if whole else t1 - t0):  # whole: one pass over p0..p1; else the rows
            lo, hi = p0, p1
            if not whole:
                i = in_src[t0 + u]
                if not s0 <= i < s1:
                    continue
                lo, hi = seg_start[i], seg_start[i] + seg_len[i]
            for q in range(lo, hi):
                j = q
                if not whole:
                    j = slot[q]
                    j = j - n if j >= n else j
                if y_stamp[j] == k:
                    continue
                dy = k - y_last[j]
                for c in range(3):  # a trace no pre term reads stays 0.0 in y_now
                    if need[c]:
                        v = y[c, j]
                        if v != 0.0:
                            v = v * tab[r, 2 + c, dy] if dy < n_tab else v * np.exp(-dy / tau[r, 2 + c])
                        y_now[c, j] = v
                y_stamp[j] = k


@njit(cache=True)  # a call, not IR-inlined: see neuro.dynamics.step (compile time)
def learn_inputs_float(k, j, n, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count, L):
    """Deliver the input spikes of step ``k`` (row ``j`` of the chunk's input CSR, batch 1) and
    apply their pre-spike terms (``learn_float``'s ``_pre``, linear path) in one pass per row;
    False (nothing done) where the two-pass order is needed (module docstring).

    Where a rule's pre terms read no post trace but ``y1`` (Diehl & Cook's), its folded
    ``a2, a3, b2, b3`` and ``y_now``'s ``y2, y3`` are all +0.0, so ``a2 * y2 + a3 * y3`` adds
    +0.0 twice; the loop adds it once (``x + 0.0 + 0.0 == x + 0.0`` for every x, -0.0 included)
    and skips those loads and products: the same bits."""
    t0, t1 = in_ptr[j], in_ptr[j + 1]
    r_src, seg_start, seg_len = L.r_src, L.seg_start, L.seg_len
    if not _fusable(t0, t1, in_src, r_src, L.lin[:, 0]):
        return False
    _refresh_float(k, n, t0, t1, in_src, slot, L)
    x, x_last, tab, tau, counts = L.x, L.x_last, L.decay_tab, L.tr_tau_steps, L.counts
    n_tab = tab.shape[2]
    t_coef, t_dep, t_pow, n_terms = L.t_coef, L.t_dep, L.t_pow, L.n_terms
    impulse, mode_set, w_min, w_max, y_now = L.tr_impulse, L.tr_set, L.w_min, L.w_max, L.y_now
    reward = L.reward[0]
    y1_only = L.need[:, 0, 3] + L.need[:, 0, 4] == 0
    x_free = L.need[:, 0, 0] + L.need[:, 0, 1] == 0  # no pre term reads a pre trace
    folded = -1  # the rule whose constants a0 .. b3 hold (rules without x1, x2 terms: per step)
    a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = 0.0
    base = (k + 1) % n_rows
    for t in range(t0, t1):
        i = in_src[t]
        spike_count[i] += 1
        r = _rule_of(i, r_src)
        row0, row1 = indptr[i], indptr[i + 1]
        ln = seg_len[r, i] if r >= 0 else 0
        a = seg_start[r, i] if ln else row1
        b = a + ln
        if a > row0:  # synapses of the row before the rule's segment (all of it: no segment)
            _deliver_span(row0, a, base, n_rows, slot, weight, delay, buf)
        if r < 0:
            continue
        dx = k - x_last[r, i]
        x1, x2 = x[r, 0, i], x[r, 1, i]  # _decayed, written out
        if x1 != 0.0:
            x1 = x1 * tab[r, 0, dx] if dx < n_tab else x1 * np.exp(-dx / tau[r, 0])
        if x2 != 0.0:
            x2 = x2 * tab[r, 1, dx] if dx < n_tab else x2 * np.exp(-dx / tau[r, 1])
        if ln:
            if r != folded or not x_free[r]:  # the folded constants read x1, x2 only if a term does
                vals = (x1, x2, 0.0, 0.0, 0.0, 0.0, reward)
                a0, a1, a2, a3, b0, b1, b2, b3 = _fold_float(
                    r, 0, t_coef, t_dep, t_pow, n_terms, vals, PRE_FIXED, 2
                )
                folded = r
            lo, hi = w_min[r], w_max[r]
            yv1, yv2, yv3 = y_now[r, 0], y_now[r, 1], y_now[r, 2]
            if n_rows > 1 and y1_only[r]:  # (Diehl & Cook's rule; see the docstring)
                for s in range(a, b):
                    sl = slot[s]
                    w0 = weight[s]
                    d = base + delay[s]
                    if d >= n_rows:
                        d -= n_rows
                    buf[d, 0, sl] += w0
                    y1 = yv1[sl - n if sl >= n else sl]
                    dw = ((a0 + a1 * y1) + 0.0) + ((b0 + b1 * y1) + 0.0) * w0
                    weight[s] = min(max(w0 + dw, lo), hi)
            else:
                for s in range(a, b):
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
                    y1, y2, y3 = yv1[q], yv2[q], yv3[q]
                    dw = (a0 + a1 * y1 + a2 * y2 + a3 * y3) + (b0 + b1 * y1 + b2 * y2 + b3 * y3) * w0
                    weight[s] = min(max(w0 + dw, lo), hi)
            if row1 > b:
                _deliver_span(b, row1, base, n_rows, slot, weight, delay, buf)
        counts[0] += ln
        x[r, 0, i] = impulse[r, 0] if mode_set[r, 0] else x1 + impulse[r, 0]
        x[r, 1, i] = impulse[r, 1] if mode_set[r, 1] else x2 + impulse[r, 1]
        x_last[r, i] = k
        counts[1] += 1
    return True
