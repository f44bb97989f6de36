"""Float arithmetic as a Brian2 model: current-based LIF integrated with ``method='exact'``.

One ``NeuronGroup`` per population, with dimensionless variables (mV as plain numbers) and
the population's time constants written into the equations as literals (ms)::

    dv/dt     = (-(v - v_rest) + bias + I_exc [+ I_inh]) / tau_mem : 1 (unless refractory)
    dI_exc/dt = -I_exc / tau_syn                                    : 1
    dI_inh/dt = -I_inh / tau_syn_inh                                : 1   (dual-current only)

``threshold='v > v_threshold'``, ``reset='v = v_reset'``, ``refractory = R * dt`` with
``R = rint(refractory / dt)``. A synapse is ``on_pre='I_exc += w'`` (``I_inh`` for an ``inh``
projection onto a dual-current population) with ``delay = delay_steps * dt``: Brian2 adds
the weight in the ``synapses`` slot of the arrival step, after that step's integration, so it
first acts on ``v`` one step later, as in the spec.

NIR's neuron models (``docs/nir.md``) use the same group with three changes: a held bias
current ``bias_hold`` (``input_bias``) drives the filter, ``dI_exc/dt = (-I_exc + bias_hold) /
tau_syn``; without a filter (``tau_syn = 0``) ``I_exc`` is a plain variable that an operation
before the integration adds to ``v`` and clears (a weight jumps ``v`` and decays with it in the
same step), and ``bias_hold`` joins ``v``'s drive; without a leak ``dv/dt = (bias + bias_hold
+ I_exc) / tau_mem``. A population with ``spiking = false`` has an infinite threshold, one
with ``reset = false`` an empty reset.

One Brian2 limitation is worked around without changing the semantics: with
``(unless refractory)``, Brian2's exact integrator multiplies the right-hand side by
``int(not_refractory)`` before solving, and when a current's time constant equals
``tau_mem`` the solution divides 0 by 0 (NaN). For those populations the flag is dropped and
``v`` is held with ``v = v*int(not_refractory) + v_reset*(1 - int(not_refractory))`` right
after the integration; ``v`` stays at ``v_reset`` through the same steps.
"""

from __future__ import annotations

import numpy as np
from brian2 import NeuronGroup, ms

from neuro.network import CompiledNetwork

SYNAPSE_MODEL = "w : 1 (constant)"
SYNAPSE_DTYPE: dict = {}
CURRENTS = ("I_exc", "I_inh")


def refractory_steps(pop, dt: float) -> int:
    """Steps of a refractory period as the spec defines them (held for ``R - 1`` steps)."""
    return int(np.rint(pop.refractory / dt))


def population_group(net: CompiledNetwork, index: int, clock) -> NeuronGroup:
    """The Brian2 group of population ``index``, with its initial state set."""
    pop = net.spec.populations[index]
    if pop.tau_syn == 0 or pop.input_bias is not None or not (pop.leak and pop.spiking and pop.reset):
        return _nir_group(net, index, clock)
    sl = net.pop_slice(pop.name)
    r_steps = refractory_steps(pop, net.dt)
    taus = [pop.tau_syn] + ([pop.tau_syn_inh] if pop.dual_current else [])
    names = CURRENTS[: len(taus)]
    held = r_steps >= 2
    degenerate = any(tau == pop.tau_mem for tau in taus)
    flag = " (unless refractory)" if held and not degenerate else ""
    eqs = f"dv/dt = (-(v - v_rest) + bias + {' + '.join(names)}) / ({pop.tau_mem!r}*ms) : 1{flag}\n"
    eqs += "".join(f"d{c}/dt = -{c} / ({tau!r}*ms) : 1\n" for c, tau in zip(names, taus, strict=True))
    eqs += "bias : 1 (constant)\n"
    group = NeuronGroup(
        pop.size,
        eqs,
        threshold="v > v_threshold",
        reset="v = v_reset",
        refractory=r_steps * net.dt * ms if held else False,
        method="exact",
        clock=clock,
        namespace={"v_rest": pop.v_rest, "v_threshold": pop.v_threshold, "v_reset": pop.v_reset},
        name=f"pop{index}",
    )
    if held and degenerate:
        group.run_regularly(
            "v = v * int(not_refractory) + v_reset * (1 - int(not_refractory))",
            when="after_groups",
            name=f"pop{index}_hold",
        )
    group.v = net.v_init[sl]
    group.I_exc = net.i_init[sl]
    return group


def _nir_group(net: CompiledNetwork, index: int, clock) -> NeuronGroup:
    """A population with NIR's fields (see the module docstring)."""
    pop = net.spec.populations[index]
    sl = net.pop_slice(pop.name)
    r_steps = refractory_steps(pop, net.dt)
    held = r_steps >= 2
    filtered = pop.tau_syn > 0
    drive = "I_exc" if filtered else "bias_hold"
    leak = "-(v - v_rest) + " if pop.leak else ""
    degenerate = pop.tau_syn == pop.tau_mem
    flag = " (unless refractory)" if held and not degenerate else ""
    eqs = f"dv/dt = ({leak}bias + {drive}) / ({pop.tau_mem!r}*ms) : 1{flag}\n"
    if filtered:
        eqs += f"dI_exc/dt = (-I_exc + bias_hold) / ({pop.tau_syn!r}*ms) : 1\n"
    else:
        eqs += "I_exc : 1\n"
    eqs += "bias : 1 (constant)\nbias_hold : 1 (constant)\n"
    group = NeuronGroup(
        pop.size,
        eqs,
        threshold="v > v_threshold",  # never crossed without spikes (v_threshold = inf)
        reset="v = v_reset" if pop.reset else "",
        refractory=r_steps * net.dt * ms if held else False,
        method="exact" if pop.leak else "euler",  # a constant slope: Euler is exact (and 'exact' refuses it)
        clock=clock,
        namespace={
            "v_rest": pop.v_rest,
            "v_threshold": pop.v_threshold if pop.spiking else np.inf,
            "v_reset": pop.v_reset,
        },
        name=f"pop{index}",
    )
    if not filtered:
        group.run_regularly(
            "v = v + I_exc * int(not_refractory)\nI_exc = 0" if held else "v = v + I_exc\nI_exc = 0",
            when="before_groups",
            name=f"pop{index}_jump",
        )
    if held and degenerate:
        group.run_regularly(
            "v = v * int(not_refractory) + v_reset * (1 - int(not_refractory))",
            when="after_groups",
            name=f"pop{index}_hold",
        )
    group.bias_hold = net.params["bq"][sl]
    group.v = net.v_init[sl]
    group.I_exc = net.i_init[sl] if filtered else 0.0
    return group


def target(channel: int) -> str:
    """The variable a synapse of ``channel`` increments."""
    return CURRENTS[channel]


def bias(net: CompiledNetwork, index: int, active: list) -> np.ndarray:
    """Bias (mV) of population ``index`` while the current injections ``active`` flow."""
    sl = net.pop_slice(net.pop_names[index])
    out = net.params["bias"].copy()
    for s, amp in active:
        out[s] += amp
    return out[sl]
