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

(:math:`g_q = 1 - e_e`, :math:`h_q = 1 - e_m - c_e`; see :mod:`neuro.targets.floating`).
A neuron with ``rs = 0`` (``reset = false``) keeps ``v`` when it spikes.
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

from neuro.dynamics.step import apply_learning, neuron_update
from neuro.learning.floating import FloatTables, learn_float


@njit(cache=True, inline="always")
def update(q, ie, ii, vb, rb, th, fired, params, two):
    """One step of every neuron of one batch element (branch-free, so it vectorizes):
    add the arrived input ``q`` to the currents, integrate, threshold, reset.
    Sets ``fired[i] = spiked + 2 * active`` (uint8); the caller records and routes the spikes
    (bit 0) and counts the active updates (bit 1, :func:`count_active`). An update is
    *active* when it changed ``v`` or a current (NeuroBench's ``MembraneUpdates`` rule):
    :math:`v' \\ne v \\lor I_e' \\ne I_e \\lor I_i' \\ne I_i`. The flag travels in ``fired``
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
    hq, gq, bq, rs = params.hq, params.gq, params.bq, params.rs
    n = vb.shape[0]
    for i in range(n):
        e_old, i_old = ie[i], ii[i]
        u = bq[i]
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
        x = x * em[i] + a * ce[i] + c * ci[i] + u * hq[i]
        vi = x + v_rest[i] + bias[i]
        t_i = th[i] * theta_decay[i] if adapt else th[i]
        spk = free and (vi > v_th[i] + t_i)
        vn = v_reset[i] if (spk and rs[i]) else vi
        if free:
            vb[i] = vn
        if spk:
            r = ref_steps[i]
            if adapt:
                t_i += theta_plus[i]
        th[i] = t_i
        rb[i] = r - 1 if r > 0 else 0
        ne = a * ee[i] + u * gq[i]
        ni = c * ei[i]
        fired[i] = spk + 2 * ((free & (vn != v_old)) | (ne != e_old) | (ni != i_old))
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
    "hq",
    "gq",
    "bq",
    "rs",
)
# Per-neuron constants of the float update (built by neuro.targets.floating), plus ``adapt``
# (1: thresholds adapt). The step loop (neuro.dynamics.step) is specialized on this type.
FloatParams = namedtuple("FloatParams", (*FLOAT_PARAMS, "adapt"))


@overload(neuron_update, inline="always")
def _float_update(params, q, u0, u1, vb, rb, th, fired, two):
    if getattr(params, "instance_class", None) is FloatParams:
        return lambda params, q, u0, u1, vb, rb, th, fired, two: update(
            q, u0, u1, vb, rb, th, fired, params, two
        )
    return None


@overload(apply_learning, inline="always")
def _float_learning(lrn, k, n, out_src, first, n_out, in_src, i0, i1, slot, weight):
    if getattr(lrn, "instance_class", None) is FloatTables:
        return lambda lrn, k, n, out_src, first, n_out, in_src, i0, i1, slot, weight: learn_float(
            k, n, out_src, first, n_out, in_src, i0, i1, slot, weight, lrn
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
