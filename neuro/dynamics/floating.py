"""Float64 reference arithmetic: current-based LIF integrated exactly over each step.

With :math:`x = v - v_{rest} - b` and currents :math:`I_c` decaying with :math:`\\tau_c`,

.. math::

    x[k+1] = x[k]\\,e^{-dt/\\tau_m} + \\sum_c I_c[k]\\, \\frac{\\tau_c}{\\tau_c - \\tau_m}
             \\left(e^{-dt/\\tau_c} - e^{-dt/\\tau_m}\\right), \\qquad
    I_c[k+1] = I_c[k]\\, e^{-dt/\\tau_c}

(:math:`\\frac{dt}{\\tau_m} e^{-dt/\\tau_m}` replaces the fraction when :math:`\\tau_c = \\tau_m`),
which is what Brian2's ``method='exact'`` computes. A constant current :math:`b_I` held
over every step (``bq``, a population's ``input_bias``) enters, exactly integrated, as

.. math::

    I[k+1] = \\ldots + g_q b_I, \\qquad x[k+1] = \\ldots + h_q b_I

(:math:`g_q = 1 - e_e`, :math:`h_q = 1 - e_m - c_e`; see :mod:`neuro.targets.floating`); the
kernel reads the constant products ``hb = h_q b_I`` and ``gb = g_q b_I`` (0 for every
existing spec, so they add exactly 0).
A neuron with ``rs = 1`` (``reset = false``, ``v_reset = 0``) keeps ``v`` when it spikes
(``v' = v_reset + rs v``). These terms run in a second specialization, :func:`update_held`
(:data:`FloatHeldParams`), chosen by the target only for specs that use them.
Per step, in Brian2's order: input that arrived is added to the currents, ``v`` is
integrated unless refractory, a spike is emitted when ``v > v_threshold`` (not while
refractory), ``v`` is reset, and the spike is routed.
A spike at step ``k`` starts a refractory period of ``R = rint(refractory / dt)`` steps:
``v`` is held at ``v_reset`` for steps ``k+1 .. k+R-1``.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit
from numba.extending import overload

from neuro.dynamics.step import apply_learning, learn_inputs, neuron_update
from neuro.learning.floating import FloatTables, learn_float
from neuro.learning.fused import learn_inputs_float


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
    em, ee, ei, ce, ci = params.em, params.ee, params.ei, params.ce, params.ci
    v_rest, bias, v_th, v_reset = params.v_rest, params.bias, params.v_th, params.v_reset
    ref_steps, theta_plus, theta_decay, adapt = (
        params.ref_steps,
        params.theta_plus,
        params.theta_decay,
        params.adapt,
    )
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
    return 0, 0, 0


@njit(cache=True, inline="always")
def update_held(q, ie, ii, vb, rb, th, fired, params, two):
    """:func:`update` for populations with NIR's fields (:data:`FloatHeldParams`): adds the
    held current's constant per-step terms ``hb`` (to ``x``) and ``gb`` (to ``I``), and resets
    to ``v_reset + rs v`` (``rs = 1``: no reset). A separate specialization, so that the extra
    arrays cost nothing to specs that do not use them (three more read arrays stop LLVM from
    vectorizing :func:`update`: too many runtime alias checks)."""
    em, ee, ei, ce, ci = params.em, params.ee, params.ei, params.ce, params.ci
    v_rest, bias, v_th, v_reset = params.v_rest, params.bias, params.v_th, params.v_reset
    ref_steps, theta_plus, theta_decay, adapt = (
        params.ref_steps,
        params.theta_plus,
        params.theta_decay,
        params.adapt,
    )
    hb, gb, rs = params.hb, params.gb, params.rs
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
        x = x * em[i] + a * ce[i] + c * ci[i] + hb[i]
        vi = x + v_rest[i] + bias[i]
        t_i = th[i] * theta_decay[i] if adapt else th[i]
        spk = free and (vi > v_th[i] + t_i)
        vn = (v_reset[i] + rs[i] * vi) if spk else vi
        if free:
            vb[i] = vn
        if spk:
            r = ref_steps[i]
            if adapt:
                t_i += theta_plus[i]
        th[i] = t_i
        rb[i] = r - 1 if r > 0 else 0
        ne = a * ee[i] + gb[i]
        ni = c * ei[i]
        dv = free & (vn != v_old)
        fired[i] = spk + 2 * (dv | (ne != e_old) | (ni != i_old)) + 4 * dv
        ie[i] = ne
        ii[i] = ni
    return 0, 0, 0


FLOAT_PARAMS = (
    "em",
    "ee",
    "ei",
    "ce",
    "ci",
    "v_rest",
    "bias",
    "v_th",
    "v_reset",
    "ref_steps",
    "theta_plus",
    "theta_decay",
)
# Per-neuron constants of the float update (built by neuro.targets.floating), plus ``adapt``
# (1: thresholds adapt). The step loop (neuro.dynamics.step) is specialized on this type.
FloatParams = namedtuple("FloatParams", (*FLOAT_PARAMS, "adapt"))
#: The same with the held-current terms and reset flags of NIR's neuron models.
HELD_PARAMS = ("hb", "gb", "rs")
FloatHeldParams = namedtuple("FloatHeldParams", (*FLOAT_PARAMS, *HELD_PARAMS, "adapt"))


@overload(neuron_update, inline="always")
def _float_update(params, q, u0, u1, vb, rb, th, fired, two):
    if getattr(params, "instance_class", None) is FloatParams:
        return lambda params, q, u0, u1, vb, rb, th, fired, two: update(
            q, u0, u1, vb, rb, th, fired, params, two
        )
    return None


@overload(neuron_update, inline="always")
def _float_held_update(params, q, u0, u1, vb, rb, th, fired, two):
    if getattr(params, "instance_class", None) is FloatHeldParams:
        return lambda params, q, u0, u1, vb, rb, th, fired, two: update_held(
            q, u0, u1, vb, rb, th, fired, params, two
        )
    return None


@overload(apply_learning, inline="always")
def _float_learning(lrn, k, n, out_src, first, n_out, in_src, i0, i1, slot, weight):
    if getattr(lrn, "instance_class", None) is FloatTables:
        return lambda lrn, k, n, out_src, first, n_out, in_src, i0, i1, slot, weight: (
            learn_float(k, n, out_src, first, n_out, in_src, i0, i1, slot, weight, lrn)
            if first < n_out or i0 < i1
            else None
        )
    return None


@overload(learn_inputs, inline="always")
def _float_learning_inputs(
    lrn, k, j, n, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count
):
    if getattr(lrn, "instance_class", None) is FloatTables:
        return lambda lrn, k, j, n, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count: (
            in_ptr[j] == in_ptr[j + 1]
            or learn_inputs_float(
                k, j, n, in_ptr, in_src, n_rows, indptr, slot, weight, delay, buf, spike_count, lrn
            )
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
