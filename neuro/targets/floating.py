"""The ``float`` target: float64 reference arithmetic, exact integration per step
(:mod:`neuro.dynamics.floating`; Brian2's ``method='exact'`` and its order within a step).

Compile-time parameters per neuron, with :math:`e_x = e^{-dt/\\tau_x}`:
``em, ee, ei`` (decays of v and the two currents), ``ce, ci`` (voltage a unit current adds in
one step, :func:`current_coefficient`), ``v_rest, bias, v_th, v_reset``, ``ref_steps =
rint(refractory / dt)``, ``theta_plus``, ``theta_decay = e^{-dt/\\tau_\\theta}`` (1 without
``tau_theta``). Weights stay in mV.
"""

from __future__ import annotations

import numpy as np

from neuro.dynamics import floating
from neuro.learning.floating import FloatTables
from neuro.learning.homeostasis import scale_columns
from neuro.learning.tables import build_float_tables
from neuro.targets.lif import LifTarget


def current_coefficient(dt: float, tm: float, ts: float, es: float, em: float) -> float:
    """Response of x over one step to a unit current decaying with ``ts`` (exact integration)."""
    return (dt / tm) * em if ts == tm else ts / (ts - tm) * (es - em)


class FloatTarget(LifTarget):
    name = "float"
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
        cols = {k: [] for k in (*floating.FLOAT_PARAMS, "theta_init")}
        for pop, bias in zip(net.populations, biases, strict=True):
            n = pop.size
            tm, te = pop.tau_mem, pop.tau_syn
            ti = te if pop.tau_syn_inh is None else pop.tau_syn_inh
            em, ee, ei = np.exp(-dt / tm), np.exp(-dt / te), np.exp(-dt / ti)
            for key, val in (
                ("em", em),
                ("ee", ee),
                ("ei", ei),
                ("ce", current_coefficient(dt, tm, te, ee, em)),
                ("ci", current_coefficient(dt, tm, ti, ei, em)),
                ("v_rest", pop.v_rest),
                ("v_th", pop.v_threshold),
                ("v_reset", pop.v_reset),
            ):
                cols[key].append(np.full(n, val, dtype=np.float64))
            cols["bias"].append(bias)
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

    def kernel_params(self, params: dict, adapt: bool):
        return floating.FloatParams(*(params[k] for k in floating.FLOAT_PARAMS), adapt)

    def bias_with_currents(self, net, base, active):
        """Bias (mV) with the current inputs active now added."""
        bias = base.copy()
        for sl, amp in active:
            bias[sl] += amp
        return bias
