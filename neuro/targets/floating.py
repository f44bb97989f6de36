"""The ``float`` target: float64 reference arithmetic, exact integration per step
(:mod:`neuro.dynamics.floating`; Brian2's ``method='exact'`` and its order within a step).

Compile-time parameters per neuron, with :math:`e_x = e^{-dt/\\tau_x}`:
``em, ee, ei`` (decays of v and the two currents), ``ce, ci`` (voltage a unit current adds in
one step, :func:`current_coefficient`), ``v_rest, bias, v_th, v_reset``, ``ref_steps =
rint(refractory / dt)``, ``theta_plus``, ``theta_decay = e^{-dt/\\tau_\\theta}`` (1 without
``tau_theta``). Weights stay in mV.

The held bias current ``bq`` (``input_bias``; and the bias of a population without a leak)
enters with ``hq, gq`` (:func:`coefficients`) as the per-step constants ``hb = hq bq``,
``gb = gq bq``; ``rs`` is the reset flag.
"""

from __future__ import annotations

import numpy as np

from neuro.dynamics import floating
from neuro.learning.floating import FloatTables
from neuro.learning.homeostasis import decay_float, scale_columns, scale_columns_l2
from neuro.learning.tables import build_float_tables
from neuro.targets.lif import LifTarget


def current_coefficient(dt: float, tm: float, ts: float, es: float, em: float) -> float:
    """Response of x over one step to a unit current decaying with ``ts`` (exact integration)."""
    return (dt / tm) * em if ts == tm else ts / (ts - tm) * (es - em)


def coefficients(dt: float, pop) -> dict:
    """Per-population constants of the exact update ``I' = ee (I + q) + gq b``,
    ``x' = em x + ce (I + q) + hq b`` (``q``: the weights arrived, a jump; ``b``: the current
    held over the step):

    * with a synaptic filter: :math:`e_m, e_e = e^{-dt/\\tau}`, ``ce`` =
      :func:`current_coefficient`, :math:`g_q = 1 - e_e`, :math:`h_q = 1 - e_m - c_e`;
    * without (``tau_syn = 0``): a weight jumps ``v`` and decays with it, ``ee = 0``,
      :math:`c_e = e_m`, :math:`h_q = 1 - e_m`;
    * without a leak (``leak = false``, :math:`\\tau_m dv/dt = b + I`): ``em = 1``, ``ce = 1``,
      :math:`h_q = dt / \\tau_m`.
    """
    tm, ts = pop.tau_mem, pop.tau_syn
    if not pop.leak:
        return {"em": 1.0, "ee": 0.0, "ce": 1.0, "hq": dt / tm, "gq": 0.0}
    em = float(np.exp(-dt / tm))
    if ts == 0:
        return {"em": em, "ee": 0.0, "ce": em, "hq": 1.0 - em, "gq": 0.0}
    es = float(np.exp(-dt / ts))
    c = current_coefficient(dt, tm, ts, es, em)
    return {"em": em, "ee": es, "ce": c, "hq": 1.0 - em - c, "gq": 1.0 - es}


class FloatTarget(LifTarget):
    name = "float"
    checkpoints = True
    integer = False
    active_update_note = (
        " In float arithmetic the leak never settles exactly at rest, so a driven neuron stays active."
    )
    weight_dtype = np.float64
    probe_dtype = np.float64
    tables_type = FloatTables

    def check_populations(self, net) -> None:
        for i, p in enumerate(net.populations):
            if p.loihi is not None:
                raise net._err(
                    f"population {p.name!r} is given as raw Loihi registers; run it with arithmetic 'loihi' "
                    "or 'loihi2'",
                    f"populations[{i}].loihi",
                )

    # ------------------------------------------------------------------ compile time
    def params(self, net, registers, biases) -> dict:
        dt = net.simulation.dt
        cols = {
            k: [] for k in (*floating.FLOAT_PARAMS, *floating.HELD_PARAMS, "theta_init", "bq", "hq", "gq")
        }
        for pop, bias in zip(net.populations, biases, strict=True):
            n = pop.size
            co = coefficients(dt, pop)
            ti = pop.tau_syn if pop.tau_syn_inh is None else pop.tau_syn_inh
            if ti == pop.tau_syn:
                co["ei"], co["ci"] = co["ee"], co["ce"]
            else:
                co["ei"] = np.exp(-dt / ti)
                co["ci"] = current_coefficient(dt, pop.tau_mem, ti, co["ei"], co["em"])
            bq = np.zeros(n) if pop.input_bias is None else pop.input_bias.sample(None, n)
            if not pop.leak:  # the bias integrates: it travels with the held current
                bq, bias = bq + bias, np.zeros(n)
            co.update(
                v_rest=pop.v_rest if pop.leak else 0.0,
                v_th=pop.v_threshold if pop.spiking else np.inf,
                v_reset=pop.v_reset if pop.reset else 0.0,
            )
            for key, val in co.items():
                cols[key].append(np.full(n, val, dtype=np.float64))
            cols["bias"].append(bias)
            bq = np.asarray(bq, dtype=np.float64)
            cols["bq"].append(bq)  # the held current itself (Brian2's translation reads it)
            cols["hb"].append(co["hq"] * bq)  # what it adds per step to x and to I
            cols["gb"].append(co["gq"] * bq)
            cols["rs"].append(np.full(n, 0.0 if pop.reset else 1.0))  # v' = v_reset + rs v at a spike
            cols["theta_plus"].append(np.full(n, pop.theta_plus))
            theta_decay = 1.0 if pop.tau_theta is None else np.exp(-dt / pop.tau_theta)
            cols["theta_decay"].append(np.full(n, theta_decay))
            cols["theta_init"].append(np.full(n, pop.theta_init))
            cols["ref_steps"].append(np.full(n, int(np.rint(pop.refractory / dt)), dtype=np.int32))
        return {k: np.concatenate(v) for k, v in cols.items()}

    def initial_state(self, net, registers, v_init):
        i_init = np.concatenate([np.full(p.size, p.i_init) for p in net.populations])
        return np.concatenate(v_init), i_init

    # ------------------------------------------------------------------ run time
    new_state = staticmethod(floating.new_state)
    build_tables = staticmethod(build_float_tables)
    normalize_columns = staticmethod(scale_columns)
    normalize_columns_l2 = staticmethod(scale_columns_l2)
    decay_thresholds = staticmethod(decay_float)

    def kernel_params(self, params: dict, adapt: bool):
        """:data:`~neuro.dynamics.floating.FloatParams`, or ``FloatHeldParams`` when a population
        has a held current or no reset (NIR's fields), so the common kernel stays as it was."""
        base = [params[k] for k in floating.FLOAT_PARAMS]
        if any(np.any(params[k] != 0) for k in floating.HELD_PARAMS):
            return floating.FloatHeldParams(*base, *(params[k] for k in floating.HELD_PARAMS), adapt)
        return floating.FloatParams(*base, adapt)

    def bias_with_currents(self, net, base, active):
        """Bias (mV) with the current inputs active now added."""
        bias = base.copy()
        for sl, amp in active:
            bias[sl] += amp
        return bias
