"""The ``loihi`` target: Loihi's integer compartment update bit for bit
(:mod:`neuro.dynamics.loihi`, nengo-loihi's emulator), on Loihi cores.

Physical populations are discretized by :mod:`neuro.discretize` (registers, weight
mantissa/exponent, documented rounding) and turned back into mV by the same module; raw
register populations are taken as they are. Register ranges are Loihi's (:mod:`neuro.chips`):
a refractory period longer than ``refract_delay`` can hold, or a delay longer than the chip's
delay field, is refused by :meth:`LoihiTarget.check`.
"""

from __future__ import annotations

import numpy as np

from neuro import discretize
from neuro.chips import LOIHI_MAX_DELAY_STEPS, LOIHI_REGISTER_RANGES
from neuro.dynamics import loihi
from neuro.learning.homeostasis import decay_registers, scale_columns_wgt, scale_columns_wgt_l2
from neuro.learning.loihi import LoihiTables
from neuro.learning.tables import build_loihi_tables
from neuro.spec import NEURON_SWITCHES
from neuro.targets.lif import LifTarget

REGISTER_KEYS = (
    "decay_u",
    "decay_u_inh",
    "decay_v",
    "vth",
    "refract_delay",
    "vmin",
    "vmax",
    "theta_plus",
    "theta_init",
    "decay_theta",
)


class LoihiTarget(LifTarget):
    name = "loihi"
    checkpoints = True
    weight_dtype = np.int32
    probe_dtype = np.int64
    tables_type = LoihiTables
    max_delay_steps = LOIHI_MAX_DELAY_STEPS  # the synapse's delay field, whatever the chip profile

    def check_populations(self, net) -> None:
        dt = net.simulation.dt
        top = LOIHI_REGISTER_RANGES["refract_delay"][1]
        for i, p in enumerate(net.populations):
            if p.loihi is not None:
                for key, default in NEURON_SWITCHES.items():
                    if getattr(p, key) != default:
                        raise net._err(
                            f"raw Loihi registers take no {key} (set the registers themselves)",
                            f"populations[{i}].{key}",
                        )
            if not p.reset:
                raise net._err(
                    f"population {p.name!r}: a Loihi compartment always resets when it fires; "
                    "reset = false runs in arithmetic 'float'",
                    f"populations[{i}].reset",
                )
            if p.loihi is None and round(p.refractory / dt) > top:
                raise net._err(
                    f"refractory {p.refractory} ms is {round(p.refractory / dt)} steps; "
                    f"Loihi allows at most {top}",
                    f"populations[{i}].refractory",
                )

    # ------------------------------------------------------------------ compile time
    def discretize_population(self, pop, dt, bias, v_init, where):
        return discretize.discretize_population(pop, dt, bias, v_init, where)

    def discretize_weights(self, proj, weight, registers, where):
        return discretize.discretize_weights(proj, weight, registers, where)

    def params(self, net, registers, biases) -> dict:
        sizes = [p.size for p in net.populations]
        out = {
            key: np.concatenate(
                [np.full(n, getattr(lp, key), dtype=np.int64) for lp, n in zip(registers, sizes, strict=True)]
            )
            for key in REGISTER_KEYS
        }
        out["bias"] = np.concatenate([lp.bias for lp in registers]).astype(np.int64)
        out["ref_steps"] = out.pop("refract_delay").astype(np.int32)
        return out

    def initial_state(self, net, registers, v_init):
        i_init = np.concatenate(
            [
                np.full(p.size, lp.u_init, dtype=np.int64)
                for p, lp in zip(net.populations, registers, strict=True)
            ]
        )
        return np.concatenate([lp.v_init for lp in registers]).astype(np.int64), i_init

    # ------------------------------------------------------------------ run time
    new_state = staticmethod(loihi.new_state)
    build_tables = staticmethod(build_loihi_tables)
    normalize_columns = staticmethod(scale_columns_wgt)
    normalize_columns_l2 = staticmethod(scale_columns_wgt_l2)
    decay_thresholds = staticmethod(decay_registers)

    def kernel_params(self, params: dict, adapt: bool):
        return loihi.LoihiParams(*(params[k] for k in loihi.LOIHI_PARAMS), adapt)

    def bias_with_currents(self, net, base, active):
        """Bias registers with the current inputs active now (mV, scaled by each population's
        bias scale and split into mantissa and exponent; raw-register populations take the
        amplitude in register units)."""
        bias = base.copy()
        for sl, amp in active:
            pidx = next(i for i, p in enumerate(net.pop_names) if net.pop_slice(p) == sl)
            lp = net.pop_registers[pidx]
            if lp.scale == 0.0:  # raw registers: amplitude in bias register units
                bias[sl] += np.rint(amp).astype(np.int64)
            else:
                bias[sl] = discretize.split_bias(bias[sl] + amp * lp.bias_scale, "inputs.amplitude")
        return bias

    def extra_counters(self, overflow) -> dict:
        return {
            "overflow_q": int(overflow[0]),
            "overflow_u": int(overflow[1]),
            "overflow_u2": int(overflow[2]),
        }

    # ------------------------------------------------------------------ back to physical units
    def weights_to_physical(self, compiled, projection, weights):
        proj = compiled.spec.projections[projection]
        post = compiled.pop_registers[compiled.pop_names.index(proj.post)]
        return discretize.weights_to_mv(proj, post, compiled.weight_exps[projection], weights)

    def weight_registers(self, compiled, projection):
        proj = compiled.spec.projections[projection]
        post = compiled.pop_registers[compiled.pop_names.index(proj.post)]
        return {
            "units": "register",
            "register_per_mv": float(discretize.register_scale(proj, post)),
            "weight_exp": int(compiled.weight_exps[projection]),
        }

    def voltage_units(self, compiled, population):
        """Voltage registers count from ``v_reset`` (the chip resets to 0) in units of ``v_scale``."""
        return compiled.pop_registers[population].v_scale, compiled.spec.populations[population].v_reset

    def register_scales(self, compiled, population):
        lp = compiled.pop_registers[population]
        return (lp.v_scale, lp.scale, lp.scale_inh, lp.decay_v)

    def theta_to_physical(self, compiled, population, theta):
        return discretize.voltage_to_mv(compiled.pop_registers[compiled.pop_names.index(population)], theta)
