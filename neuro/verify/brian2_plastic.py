"""Plastic networks in Brian2, written the way Brian2's documentation writes STDP, for float arithmetic.

The engine's float learning (:mod:`neuro.learning.floating`) is compared here with Brian2's own
formulation of the same rules, not with a translation of neuro's term tables:

``pair_stdp`` (all-to-all; ``nearest`` sets the traces instead of adding)::

    w : 1
    dApre/dt  = -Apre / tau_plus   : 1 (event-driven)
    dApost/dt = -Apost / tau_minus : 1 (event-driven)
    on_pre:  I_exc += w;  Apre += A_plus;   w = clip(w + Apost, w_min, w_max)
    on_post: Apost += -A_minus;  w = clip(w + Apre, w_min, w_max)

``pair_stdp`` with ``weight_dependent`` (unit traces)::

    on_pre:  I_exc += w;  Apre += 1;  w = clip(w - A_minus * (w - w_min) * Apost, w_min, w_max)
    on_post: Apost += 1;  w = clip(w + A_plus * (w_max - w) * Apre, w_min, w_max)

``diehl_cook`` (Diehl & Cook 2015, as in Brian2's ``examples/frompapers/Diehl_Cook_2015.py``)::

    dpre/dt = -pre / tau_pre : 1 (event-driven)     (post1, post2 likewise)
    on_pre:  I_exc += w;  pre = 1;  w = clip(w - nu_pre * post1, w_min, w_max)
    on_post: post2before = post2;  w = clip(w + nu_post * pre * post2before, w_min, w_max)
             post1 = 1;  post2 = 1

Neurons are current-based LIF groups integrated with ``method='exact'`` (as in
:mod:`neuro.verify.brian2_float`), with the adaptive threshold as Brian2 writes it:
``dtheta/dt = -theta / tau_theta``, ``threshold = 'v > v_threshold + theta'``,
``reset = 'v = v_reset; theta += theta_plus'``.

Brian2 runs, within a step, neuron updates, thresholds, then every ``on_pre`` pathway, then
every ``on_post`` pathway; event-driven traces are decayed exactly to the event's time. That
is the order and the trace semantics neuro's float learning documents, so spikes must be
identical and weights equal up to float rounding (the two evaluate the same exponentials in a
different order).

Inputs: :func:`input_spikes` draws neuro's input spikes once, with
``SpecInputs(compiled).chunk(0, steps, 1, compiled.rng)`` on a fresh compile, and feeds them
to Brian2 as ``SpikeGeneratorGroup`` s; the engine run starts from another fresh compile with
the same seed, so it draws the same spikes.

Not expressible here (refused with a one-line :class:`~neuro.errors.NeuroError`): loihi
arithmetic, general ``rule`` plasticity, delays on plastic projections (Brian2 would apply
the weight update at the arrival time, neuro at the spike), repeated spikes of one input
channel within a step onto a plastic projection, dual-current populations, current inputs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from neuro.engine import Simulator
from neuro.errors import NeuroError
from neuro.inputs import SpecInputs
from neuro.network import CompiledNetwork, compile_network
from neuro.spec import Network
from neuro.targets import get_target
from neuro.verify import layout
from neuro.verify.brian2_float import refractory_steps
from neuro.verify.brian2_net import _target

SUPPORTED_KINDS = ("pair_stdp", "diehl_cook")


@dataclass
class PlasticRun:
    """What one simulator produced.

    Attributes
    ----------
    spikes : dict
        ``{population: (step, neuron)}``, int64 arrays sorted by step then neuron (local index).
    weights : dict
        ``{sample step: {projection index: weights}}`` for every plastic projection, each
        array sorted by (pre, post) local index.
    theta : dict
        ``{sample step: {population: theta}}`` (adaptive thresholds, mV).
    wall_s : float
        Wall time of the whole call (building and running).
    """

    spikes: dict
    weights: dict
    theta: dict
    wall_s: float


def check_plastic_expressible(net: Network, arithmetic: str = "float") -> None:
    """Refuse, with one line, what this module has no Brian2 formulation for (see module docstring)."""
    if get_target(arithmetic).integer:
        raise NeuroError(
            "the plastic Brian2 comparison runs float arithmetic only", net.source, "simulation.arithmetic"
        )
    for i, pop in enumerate(net.populations):
        if pop.loihi is not None or pop.dual_current:
            raise NeuroError(
                "raw-register and dual-current populations have no plastic Brian2 formulation here",
                net.source,
                f"populations[{i}]",
            )
    for i, inp in enumerate(net.inputs):
        if inp.kind == "current":
            raise NeuroError(
                "current inputs are not supported by the plastic comparison", net.source, f"inputs[{i}]"
            )
    for i, proj in enumerate(net.projections):
        pl = proj.plasticity
        if pl is None:
            continue
        if pl.kind not in SUPPORTED_KINDS:
            raise NeuroError(
                f"plasticity kind {pl.kind!r} has no Brian2 formulation here (supported: "
                f"{', '.join(SUPPORTED_KINDS)})",
                net.source,
                f"projections[{i}].plasticity.kind",
            )


def _check_delays(compiled: CompiledNetwork) -> None:
    for ps in layout.projection_synapses(compiled):
        if compiled.spec.projections[ps.index].plasticity is not None and ps.delay.any():
            raise NeuroError(
                "plastic projections with delays differ by design "
                "(Brian2 learns at arrival, neuro at the spike)",
                compiled.spec.source,
                f"projections[{ps.index}].delay",
            )


def synapse_code(plasticity, target: str = "I_exc") -> tuple[str, str, str, dict]:
    """Brian2 ``(model, on_pre, on_post, namespace)`` of a ``pair_stdp`` or ``diehl_cook`` rule."""
    pl, p = plasticity, plasticity.params
    ns = {"w_min": pl.w_min, "w_max": pl.w_max}
    if pl.kind == "pair_stdp":
        tp, tm = pl.traces["x1"].tau, pl.traces["y1"].tau
        model = (
            "w : 1\n"
            f"dApre/dt = -Apre / ({tp!r}*ms) : 1 (event-driven)\n"
            f"dApost/dt = -Apost / ({tm!r}*ms) : 1 (event-driven)\n"
        )
        op = "=" if p.get("nearest", False) else "+="
        ns.update(A_plus=float(p.get("A_plus", 0.01)), A_minus=float(p.get("A_minus", 0.0105)))
        if p.get("weight_dependent", False):
            on_pre = (
                f"{target} += w\nApre {op} 1.0\nw = clip(w - A_minus * (w - w_min) * Apost, w_min, w_max)"
            )
            on_post = f"Apost {op} 1.0\nw = clip(w + A_plus * (w_max - w) * Apre, w_min, w_max)"
        else:
            on_pre = f"{target} += w\nApre {op} A_plus\nw = clip(w + Apost, w_min, w_max)"
            on_post = f"Apost {op} -A_minus\nw = clip(w + Apre, w_min, w_max)"
        return model, on_pre, on_post, ns
    if pl.kind == "diehl_cook":
        t = {name: pl.traces[key].tau for name, key in (("pre", "x1"), ("post1", "y1"), ("post2", "y2"))}
        model = "w : 1\npost2before : 1\n" + "".join(
            f"d{name}/dt = -{name} / ({tau!r}*ms) : 1 (event-driven)\n" for name, tau in t.items()
        )
        ns.update(nu_pre=float(p.get("nu_pre", 1e-4)), nu_post=float(p.get("nu_post", 1e-2)))
        on_pre = f"{target} += w\npre = 1.0\nw = clip(w - nu_pre * post1, w_min, w_max)"
        on_post = (
            "post2before = post2\n"
            "w = clip(w + nu_post * pre * post2before, w_min, w_max)\n"
            "post1 = 1.0\n"
            "post2 = 1.0"
        )
        return model, on_pre, on_post, ns
    raise NeuroError(f"plasticity kind {pl.kind!r} has no Brian2 formulation here")


def population_group(net: CompiledNetwork, index: int, clock):
    """Current-based LIF group of population ``index`` with an adaptive threshold ``theta``."""
    from brian2 import NeuronGroup, ms

    pop = net.spec.populations[index]
    sl = net.pop_slice(pop.name)
    r_steps = refractory_steps(pop, net.dt)
    held = r_steps >= 2
    degenerate = pop.tau_syn == pop.tau_mem
    flag = " (unless refractory)" if held and not degenerate else ""
    eqs = (
        f"dv/dt = (-(v - v_rest) + bias + I_exc) / ({pop.tau_mem!r}*ms) : 1{flag}\n"
        f"dI_exc/dt = -I_exc / ({pop.tau_syn!r}*ms) : 1\n"
        "bias : 1 (constant)\n"
    )
    eqs += (
        f"dtheta/dt = -theta / ({pop.tau_theta!r}*ms) : 1\n" if pop.tau_theta is not None else "theta : 1\n"
    )
    group = NeuronGroup(
        pop.size,
        eqs,
        threshold="v > v_threshold + theta",
        reset="v = v_reset\ntheta += theta_plus",
        refractory=r_steps * net.dt * ms if held else False,
        method="exact",
        clock=clock,
        namespace={
            "v_rest": pop.v_rest,
            "v_threshold": pop.v_threshold,
            "v_reset": pop.v_reset,
            "theta_plus": pop.theta_plus,
        },
        name=f"pop{index}",
    )
    if held and degenerate:  # see neuro.verify.brian2_float: the exact solver divides 0 by 0 here
        group.run_regularly(
            "v = v * int(not_refractory) + v_reset * (1 - int(not_refractory))",
            when="after_groups",
            name=f"pop{index}_hold",
        )
    group.v = net.v_init[sl]
    group.I_exc = net.i_init[sl]
    group.bias = net.params["bias"][sl]
    group.theta = net.params["theta_init"][sl]
    return group


def input_spikes(compiled: CompiledNetwork, steps: int) -> dict:
    """``{input name: (step, channel)}`` drawn as the engine draws them (call on a fresh compile)."""
    in_ptr, in_src = SpecInputs(compiled).chunk(0, steps, 1, compiled.rng)
    step = np.repeat(np.arange(steps, dtype=np.int64), np.diff(in_ptr))
    src = np.asarray(in_src, dtype=np.int64)
    which = np.searchsorted(compiled.input_offsets, src, side="right") - 1
    return {
        name: (step[which == k], src[which == k] - compiled.input_offsets[k])
        for k, name in enumerate(compiled.input_names)
    }


def _sorted_weights(i, j, w) -> np.ndarray:
    return np.asarray(w, dtype=np.float64)[np.lexsort((j, i))]


def _sorted_spikes(step, neuron) -> tuple:
    step, neuron = np.asarray(step, np.int64), np.asarray(neuron, np.int64)
    order = np.lexsort((neuron, step))
    return step[order], neuron[order]


def _samples(sample_steps) -> list[int]:
    s = sorted({int(k) for k in sample_steps})
    if not s or s[0] < 1:
        raise NeuroError("sample steps must be >= 1")
    return s


def run_neuro_plastic(net: Network, seed: int, sample_steps) -> PlasticRun:
    """Run ``net`` in neuro's float engine, sampling plastic weights and thresholds."""
    check_plastic_expressible(net)
    t0 = time.perf_counter()
    samples = _samples(sample_steps)
    compiled = compile_network(net, "float", seed)
    _check_delays(compiled)
    sim = Simulator(compiled)
    syn = {ps.index: ps for ps in layout.projection_synapses(compiled)}
    positions = list(compiled.projection_positions())
    plastic = [p for p, proj in enumerate(net.projections) if proj.plasticity is not None]
    steps, neurons, weights, theta = [], [], {}, {}

    def on_spikes(s, b, n):
        steps.append(s.copy())
        neurons.append(n.astype(np.int64))

    for k in samples:
        sim.run(k - sim.step, on_spikes=on_spikes)
        weights[k] = {p: _sorted_weights(syn[p].i, syn[p].j, compiled.weight[positions[p]]) for p in plastic}
        theta[k] = {
            name: sim.state["theta"][0, compiled.pop_slice(name)].copy() for name in compiled.pop_names
        }
    st = np.concatenate(steps) if steps else np.zeros(0, np.int64)
    ne = np.concatenate(neurons) if neurons else np.zeros(0, np.int64)
    spikes = {}
    for name in compiled.pop_names:
        sl = compiled.pop_slice(name)
        sel = (ne >= sl.start) & (ne < sl.stop)
        spikes[name] = _sorted_spikes(st[sel], ne[sel] - sl.start)
    return PlasticRun(spikes, weights, theta, time.perf_counter() - t0)


def run_brian2_plastic(net: Network, seed: int, sample_steps, target: str = "numpy") -> PlasticRun:
    """Run ``net`` in Brian2 (runtime target ``numpy`` or ``cython``), as in :func:`run_neuro_plastic`."""
    from brian2 import Clock, SpikeGeneratorGroup, SpikeMonitor, Synapses, ms
    from brian2 import Network as B2Network

    check_plastic_expressible(net)
    if target not in ("numpy", "cython"):
        raise NeuroError(
            f"the plastic comparison runs Brian2's runtime targets (numpy, cython), not {target!r}"
        )
    t0 = time.perf_counter()
    samples = _samples(sample_steps)
    compiled = compile_network(net, "float", seed)
    _check_delays(compiled)
    stim = input_spikes(compiled, samples[-1])
    dt = compiled.dt
    with _target(target):
        clock = Clock(dt=dt * ms, name="neuro_clock")
        groups = [population_group(compiled, k, clock) for k in range(len(compiled.pop_names))]
        sources = {name: [g] for name, g in zip(compiled.pop_names, groups, strict=True)}
        for k, name in enumerate(compiled.input_names):
            size = int(compiled.input_offsets[k + 1] - compiled.input_offsets[k])
            sources[name] = [
                SpikeGeneratorGroup(size, ch, st * dt * ms, clock=clock, name=f"input{k}_{layer}")
                for layer, (st, ch) in enumerate(layout.split_repeats(*stim[name]))
            ]
        synapses, plastic = [], {}
        for ps in layout.projection_synapses(compiled):
            if ps.i.size == 0:
                continue
            proj = net.projections[ps.index]
            post = groups[compiled.pop_names.index(ps.post)]
            if proj.plasticity is not None and len(sources[ps.pre]) > 1:
                raise NeuroError(
                    "an input channel spikes twice within a step onto a plastic projection",
                    net.source,
                    f"projections[{ps.index}].pre",
                )
            for layer, src in enumerate(sources[ps.pre]):
                if proj.plasticity is None:
                    kw = {"model": "w : 1 (constant)", "on_pre": "I_exc += w"}
                else:
                    model, on_pre, on_post, ns = synapse_code(proj.plasticity)
                    kw = {"model": model, "on_pre": on_pre, "on_post": on_post, "namespace": ns}
                s = Synapses(src, post, clock=clock, name=f"proj{ps.index}_{layer}", **kw)
                s.connect(i=ps.i, j=ps.j)
                s.w = ps.weight
                if ps.delay.any():
                    s.delay = ps.delay * dt * ms
                synapses.append(s)
                if proj.plasticity is not None:
                    plastic[ps.index] = s
        for p, proj in enumerate(net.projections):  # a plastic projection without synapses
            if proj.plasticity is not None and p not in plastic:
                plastic[p] = None
        monitors = [SpikeMonitor(g, name=f"spikes{k}") for k, g in enumerate(groups)]
        generators = [g for name in compiled.input_names for g in sources[name]]
        b2net = B2Network(*groups, *generators, *synapses, *monitors)
        weights, theta, done = {}, {}, 0
        for k in samples:
            b2net.run((k - done) * dt * ms)
            done = k
            weights[k] = {
                p: (np.zeros(0) if s is None else _sorted_weights(s.i[:], s.j[:], s.w[:]))
                for p, s in sorted(plastic.items())
            }
            theta[k] = {
                name: np.asarray(g.theta[:]).copy()
                for name, g in zip(compiled.pop_names, groups, strict=True)
            }
        spikes = {
            name: _sorted_spikes(np.rint(np.asarray(mon.t_[:]) / (dt * 1e-3)), mon.i[:])
            for name, mon in zip(compiled.pop_names, monitors, strict=True)
        }
    return PlasticRun(spikes, weights, theta, time.perf_counter() - t0)


def weight_difference(a: PlasticRun, b: PlasticRun) -> float:
    """Largest relative difference of any sampled plastic weight, ``|a - b| / max(|a|, |b|, 1e-300)``."""
    worst = 0.0
    for k, per in a.weights.items():
        for p, wa in per.items():
            wb = b.weights[k][p]
            if wa.shape != wb.shape:
                return float("inf")
            den = np.maximum(np.maximum(np.abs(wa), np.abs(wb)), 1e-300)
            if wa.size:
                worst = max(worst, float(np.max(np.abs(wa - wb) / den)))
    return worst
