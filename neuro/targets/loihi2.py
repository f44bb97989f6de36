"""The ``loihi2`` target: Lava 0.10's bit-accurate CPU LIF and Dense models
(:mod:`neuro.dynamics.loihi2`), on Loihi 2 cores (:data:`neuro.chips.LOIHI2`).

What differs from the ``loihi`` target (``docs/loihi2.md`` has the table):

* weights: per projection, Lava's sign mode from the drawn matrix (``EXC`` if every weight is
  ``>= 0``, ``INH`` if every weight is ``<= 0``, else ``MIXED``), clipped to 0..255,
  -255..0 or -256..255 and their ``8 - weight_bits (+1 if MIXED)`` low bits truncated
  (floor for ``EXC``/``MIXED``, toward zero for ``INH``);
* the weight exponent shifts each projection's *sum* (a floor for ``e < 0``): such a
  projection gets its own ring-buffer channel; ``e >= 0`` is applied to the weights (exact);
* graded spikes: synapses from an input with ``message_bits > 0`` multiply their weight by
  the payload (Lava's ``Dense`` with ``num_message_bits > 0``);
* no refractory period (a population asking for more than one step is refused), no adaptive
  threshold, one current (no dual-current populations), no learning.

Physical populations use the Loihi discretization of :mod:`neuro.discretize` for the
registers (the decay offsets are the same); weights get an exponent ``e >= 0`` (the smallest
for which the largest weight fits), because a negative exponent floors every projection's sum
on Loihi 2 and would drop a single small PSP entirely.
"""

from __future__ import annotations

import numpy as np

from neuro import discretize
from neuro.chips import (
    LOIHI2_MAX_DELAY_STEPS,
    LOIHI2_MAX_MESSAGE_BITS,
    LOIHI2_REGISTER_RANGES,
    LOIHI2_SPIKE_STEP_V_READING,
    LOIHI2_WEIGHT_BITS,
    LOIHI_WEIGHT_EXP_RANGE,
)
from neuro.dynamics import loihi as loihi1
from neuro.dynamics import loihi2
from neuro.errors import NeuroError
from neuro.learning.loihi import LoihiTables
from neuro.learning.tables import build_loihi_tables
from neuro.spec import NEURON_SWITCHES
from neuro.targets.lif import LifTarget
from neuro.targets.loihi import LoihiTarget


def sign_mode(w: np.ndarray) -> str:
    """Lava's ``determine_sign_mode`` of a whole weight matrix (weightutils.py:21-43)."""
    if w.size == 0 or w.min() >= 0:
        return "exc"
    if w.max() <= 0:
        return "inh"
    return "mixed"


def lava_weights(w: np.ndarray, weight_bits: int = LOIHI2_WEIGHT_BITS) -> np.ndarray:
    """Integer weights as Lava's bit-accurate Dense keeps them: clip by sign mode to 8 bits,
    then truncate ``8 - weight_bits (+1 if MIXED)`` low bits (``clip_weights``,
    ``truncate_weights``)."""
    mode = sign_mode(w)
    x = np.asarray(w, dtype=np.int64)
    if mode == "inh":
        x = -x
    lo = -(2**LOIHI2_WEIGHT_BITS) if mode == "mixed" else 0
    x = np.clip(x, lo, 2**LOIHI2_WEIGHT_BITS - 1)
    t = LOIHI2_WEIGHT_BITS - weight_bits + (mode == "mixed")
    x = (x >> t) << t
    return -x if mode == "inh" else x


class Loihi2Target(LifTarget):
    name = "loihi2"
    weight_dtype = np.int32
    probe_dtype = np.int64
    tables_type = LoihiTables
    max_delay_steps = LOIHI2_MAX_DELAY_STEPS
    graded_spikes = True
    #: v the chip reports at a spike step (probes with ``convention = "chip"``)
    spike_step_v_reading = LOIHI2_SPIKE_STEP_V_READING

    # ------------------------------------------------------------------ checks
    def check_populations(self, net) -> None:
        dt = net.simulation.dt
        for i, p in enumerate(net.populations):
            where = f"populations[{i}]"
            for key, default in NEURON_SWITCHES.items():  # NIR's neuron options (docs/nir.md)
                if getattr(p, key) != default:
                    raise net._err(
                        f"the Loihi 2 fixed-point LIF has no {key} = {str(not default).lower()} "
                        "(NIR neuron models run in arithmetic 'float' or 'loihi')",
                        f"{where}.{key}",
                    )
            if p.input_bias is not None:
                raise net._err(
                    "the Loihi 2 fixed-point LIF has no current into its synaptic filter (input_bias); "
                    "use bias",
                    f"{where}.input_bias",
                )
            r = p.loihi
            if r is not None:
                if r.refract_delay != 1:
                    raise net._err(
                        f"refract_delay {r.refract_delay}: the Loihi 2 fixed-point LIF has no refractory "
                        "period (only 1)",
                        f"{where}.loihi.refract_delay",
                    )
                if r.decay_u_inh is not None and r.decay_u_inh != r.decay_u:
                    raise net._err(
                        "the Loihi 2 LIF has one current (decay_u); a separate decay_u_inh needs a "
                        "second compartment",
                        f"{where}.loihi.decay_u_inh",
                    )
                if (r.vmin_exp, r.vmax_exp) != (23, 7):
                    raise net._err(
                        "the Loihi 2 LIF clips v to +-(2**23 - 1); vmin_exp must be 23 and vmax_exp 7",
                        f"{where}.loihi.{'vmin_exp' if r.vmin_exp != 23 else 'vmax_exp'}",
                    )
                lo, hi = LOIHI2_REGISTER_RANGES["bias_mant"]
                bl, bh = r.bias_mant.bounds()
                if bl < lo or bh > hi:
                    raise net._err(f"must be in [{lo}, {hi}]", f"{where}.loihi.bias_mant")
            elif round(p.refractory / dt) > 1:
                raise net._err(
                    f"refractory {p.refractory} ms is {round(p.refractory / dt)} steps; the Loihi 2 "
                    "fixed-point LIF has no refractory period (at most 1 step)",
                    f"{where}.refractory",
                )
            elif p.dual_current:
                raise net._err(
                    "the Loihi 2 LIF has one current; tau_syn_inh must equal tau_syn",
                    f"{where}.tau_syn_inh",
                )
            if p.adaptive or p.tau_theta is not None:
                raise net._err(
                    "the Loihi 2 fixed-point LIF has no adaptive threshold",
                    f"{where}.{'theta_plus' if p.theta_plus else 'theta_init'}",
                )
        for i, pr in enumerate(net.projections):
            if pr.plasticity is not None:
                raise net._err(
                    "arithmetic 'loihi2' has no on-chip learning (Lava's bit-accurate models have none)",
                    f"projections[{i}].plasticity",
                )

    def check_messages(self, net) -> None:
        """Graded spikes: payload widths within Loihi 2's and the projection's."""
        for i, inp in enumerate(net.inputs):
            if inp.message_bits > LOIHI2_MAX_MESSAGE_BITS:
                raise net._err(f"must be in [0, {LOIHI2_MAX_MESSAGE_BITS}]", f"inputs[{i}].message_bits")
        for i, pr in enumerate(net.projections):
            if pr.message_bits > LOIHI2_MAX_MESSAGE_BITS:
                raise net._err(f"must be in [0, {LOIHI2_MAX_MESSAGE_BITS}]", f"projections[{i}].message_bits")
            src = next((s for s in net.inputs if s.name == pr.pre), None)
            if src is not None and src.message_bits > pr.message_bits:
                raise net._err(
                    f"input {src.name!r} sends {src.message_bits}-bit payloads; this projection reads "
                    f"{pr.message_bits} (set message_bits >= {src.message_bits})",
                    f"projections[{i}].message_bits",
                )

    # ------------------------------------------------------------------ compile time
    def discretize_population(self, pop, dt, bias, v_init, where):
        return discretize.discretize_population(pop, dt, bias, v_init, where)

    def discretize_weights(self, proj, weight, registers, where):
        """``(W << max(e, 0), e)`` with ``W`` as Lava keeps it (:func:`lava_weights`)."""
        if proj.weight_exp is not None:
            e = proj.weight_exp
            w = lava_weights(np.rint(weight).astype(np.int64), proj.weight_bits)
        else:
            e, w = self._physical_weights(proj, weight, registers, where)
        return (w << max(e, 0)).astype(np.int64), e

    @staticmethod
    def _physical_weights(proj, weight, post, where):
        """mV → (exponent e >= 0, integer weights on Lava's grid for the projection's sign mode):
        ``W = step * rint(w s c / (2**(6 + e) step))`` with ``step = 2**(8 - weight_bits (+1 if
        MIXED))``, the smallest ``e`` for which the largest ``|W|`` fits."""
        reg = weight * post.scale  # u units per spike
        mode = sign_mode(reg)
        step = 2 ** (LOIHI2_WEIGHT_BITS - proj.weight_bits + (mode == "mixed"))
        top = (2**LOIHI2_WEIGHT_BITS - 1) // step * step
        peak = np.abs(reg).max(initial=0.0)
        for e in range(0, LOIHI_WEIGHT_EXP_RANGE[1] + 1):
            unit = 2.0 ** (6 + e)
            if peak / unit <= top + step / 2:
                w = np.clip(step * np.rint(reg / unit / step), -top, top).astype(np.int64)
                return e, w
        raise NeuroError(
            f"weights too large for Loihi 2: {peak:.0f} register units exceed {top} << 13",
            field=f"{where}.weight",
        )

    def synapse_channel(self, net, i, post) -> int:
        """Channel 0 for exponents >= 0; each projection with a negative exponent its own."""
        neg = [j for j, pr in enumerate(net.projections) if (pr.weight_exp or 0) < 0]
        return 1 + neg.index(i) if i in neg else 0

    def n_channels(self, compiled) -> int:
        return 1 + sum((e or 0) < 0 for e in compiled.weight_exps)

    def params(self, net, registers, biases) -> dict:
        sizes = [p.size for p in net.populations]

        def per_neuron(f):
            return np.concatenate(
                [np.full(n, f(lp), dtype=np.int64) for lp, n in zip(registers, sizes, strict=True)]
            )

        return {
            "keep_u": per_neuron(lambda lp: 4095 - lp.decay_u),
            "keep_v": per_neuron(lambda lp: 4096 - lp.decay_v),
            "vth": per_neuron(lambda lp: lp.vth),
            "bias": np.concatenate([lp.bias for lp in registers]).astype(np.int64),
            "shift": np.array([0] + [-pr.weight_exp for pr in net.projections if (pr.weight_exp or 0) < 0]),
            "theta_init": np.zeros(sum(sizes), dtype=np.int64),
        }

    initial_state = LoihiTarget.initial_state  # the same registers: v_init and u_init per population

    # ------------------------------------------------------------------ run time
    new_state = staticmethod(loihi1.new_state)
    build_tables = staticmethod(build_loihi_tables)

    def kernel_params(self, params: dict, adapt: bool):
        shift = params["shift"].astype(np.int64)
        return loihi2.Loihi2Params(*(params[k] for k in loihi2.LOIHI2_PARAMS), shift)

    def bias_with_currents(self, net, base, active):
        """Bias registers with the current inputs active now (as the ``loihi`` target)."""
        bias = base.copy()
        for sl, amp in active:
            pidx = next(i for i, p in enumerate(net.pop_names) if net.pop_slice(p) == sl)
            lp = net.pop_registers[pidx]
            if lp.scale == 0.0:
                bias[sl] += np.rint(amp).astype(np.int64)
            else:
                bias[sl] = discretize.split_bias(bias[sl] + amp * lp.bias_scale, "inputs.amplitude")
        return bias

    def extra_counters(self, overflow) -> dict:
        return {"overflow_u": int(overflow[1]), "overflow_a_int32": int(overflow[2])}

    # ------------------------------------------------------------------ back to physical units
    def weights_to_physical(self, compiled, projection, weights):
        proj = compiled.spec.projections[projection]
        post = compiled.pop_registers[compiled.pop_names.index(proj.post)]
        w = np.asarray(weights, dtype=np.float64)
        return w if proj.weight_exp is not None else w * 64.0 / post.scale

    def voltage_units(self, compiled, population):
        """Voltage registers count from ``v_reset`` in units of ``v_scale`` (as ``loihi``; used by
        the PyNN backend on main)."""
        return compiled.pop_registers[population].v_scale, compiled.spec.populations[population].v_reset

    def register_scales(self, compiled, population):
        lp = compiled.pop_registers[population]
        return (lp.v_scale, lp.scale, lp.decay_v)

    def theta_to_physical(self, compiled, population, theta):
        return discretize.voltage_to_mv(compiled.pop_registers[compiled.pop_names.index(population)], theta)
