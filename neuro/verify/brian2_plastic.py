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

``rule`` (the general sum of products ``dw = sum_t c_t * prod(factors)``), one event-driven
variable per trace the rule declares or reads (``x1``, ``x2`` change on pre spikes, ``y1``..``y3``
on post spikes), the reward ``r`` a constant 0 (neuro's register before the host sets it)::

    dx1/dt = -x1 / tau_x1 : 1 (event-driven)        (x2, y1, y2, y3 likewise)
    on_pre:  I_exc += w;  w = clip(w + (sum of the x0 terms), w_min, w_max);  x1 += impulse (or =)
    on_post: w = clip(w + (sum of the y0 terms), w_min, w_max);  y1 += impulse (or =)

so an ``x0`` term reads the pre traces before their update and a ``y0`` term the post traces
before theirs, and the pre traces already updated at this step (``on_pre`` runs first).

Neurons are current-based LIF groups integrated with ``method='exact'`` (as in
:mod:`neuro.verify.brian2_float`; a dual-current population has ``I_inh`` with its
``tau_syn_inh``), with the adaptive threshold as Brian2 writes it:
``dtheta/dt = -theta / tau_theta``, ``threshold = 'v > v_threshold + theta'``,
``reset = 'v = v_reset; theta += theta_plus'``. Current inputs cut the run where they switch
and set ``bias`` in between, as in :mod:`neuro.verify.brian2_net`.

Brian2 runs, within a step, neuron updates, thresholds, then every ``on_pre`` pathway, then
every ``on_post`` pathway; event-driven traces are decayed exactly to the event's time. That
is the order and the trace semantics neuro's float learning documents, so spikes must be
identical and weights equal up to float rounding (the two evaluate the same exponentials in a
different order).

**Delays on plastic projections.** neuro learns at the spike (pre traces are updated, and the
``x0`` terms applied, at the step the pre neuron fires) and only the current is delayed; the
delayed current carries the weight as it was when the spike was emitted (the engine writes it
into its ring buffer then). Brian2's ``delay`` would apply the whole ``on_pre`` at arrival, so
a delayed plastic projection has two ``on_pre`` pathways: ``learn`` (no delay: stores the
weight, learns, updates the traces) runs before ``pre`` (the synapse's delay: adds the stored
weight to the current). A spike still in flight when the next one is emitted must keep its own
weight, so each synapse keeps a ring of ``m`` stored weights ``w_sent0..`` with an emission
and an arrival counter; ``m = ceil((D + 1) / isi)`` for the projection's largest delay ``D``
(steps) and the source's shortest inter-spike interval ``isi`` (its refractory steps, at least
1; 1 for inputs) is the most spikes a synapse can have in flight. Selecting from the ring
multiplies by 0 or 1 and adds zeros, so the routed weight is exactly the stored one; spikes
are expected to be identical here too. The delayed pathway also decays the event-driven
traces to the arrival time, which changes them only by rounding.

Inputs: :func:`input_spikes` draws neuro's input spikes once, with
``SpecInputs(compiled).chunk(0, steps, 1, compiled.rng)`` on a fresh compile, and feeds them
to Brian2 as ``SpikeGeneratorGroup`` s; the engine run starts from another fresh compile with
the same seed, so it draws the same spikes.

Not expressible here (refused with a one-line :class:`~neuro.errors.NeuroError`): loihi
arithmetic (its learning rounds stochastically from a counter-based PRNG, see docs/learning.md,
which Brian2 cannot reproduce), repeated spikes of one input channel within a step onto a
plastic projection, raw-register populations, NIR's neuron fields (``tau_syn = 0``,
``input_bias``, ``leak``/``spiking``/``reset`` false), Brian2's ``cpp_standalone`` target.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from neuro.engine import Simulator
from neuro.errors import NeuroError
from neuro.inputs import SpecInputs
from neuro.network import CompiledNetwork, compile_network
from neuro.plasticity import POWERS
from neuro.spec import Network
from neuro.targets import get_target
from neuro.verify import brian2_float, layout
from neuro.verify.brian2_float import refractory_steps
from neuro.verify.brian2_net import _target

SUPPORTED_KINDS = ("pair_stdp", "diehl_cook", "rule")
CURRENTS = brian2_float.CURRENTS
RUNTIME_TARGETS = ("numpy", "cython")


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


def is_plastic(net: Network) -> bool:
    """True when ``net`` learns: a plastic projection, or a population whose threshold adapts."""
    return any(p.plasticity is not None for p in net.projections) or any(
        pop.adaptive or pop.tau_theta is not None for pop in net.populations
    )


def check_plastic_expressible(net: Network, arithmetic: str = "float") -> None:
    """Refuse, with one line, what this module has no Brian2 formulation for (see module docstring)."""
    if get_target(arithmetic).integer:
        raise NeuroError(
            f"the plastic Brian2 comparison runs float arithmetic only, not {arithmetic}: Loihi learning "
            "rounds stochastically from a counter-based PRNG that Brian2 cannot reproduce",
            net.source,
            "simulation.arithmetic",
        )
    for i, pop in enumerate(net.populations):
        if pop.loihi is not None:
            raise NeuroError(
                "raw-register populations have no plastic Brian2 formulation here",
                net.source,
                f"populations[{i}]",
            )
        if pop.tau_syn == 0 or pop.input_bias is not None or not (pop.leak and pop.spiking and pop.reset):
            raise NeuroError(
                "NIR neuron fields (tau_syn = 0, input_bias, leak/spiking/reset = false) have no plastic "
                "Brian2 formulation here",
                net.source,
                f"populations[{i}]",
            )
    for i, inp in enumerate(net.inputs):
        if getattr(inp, "graded", False):
            raise NeuroError(
                "graded spikes (payloads) have no Brian2 spike generator in neuro verify",
                net.source,
                f"inputs[{i}].payloads",
            )
    for i, proj in enumerate(net.projections):
        pl = proj.plasticity
        if pl is not None and pl.kind not in SUPPORTED_KINDS:
            raise NeuroError(
                f"plasticity kind {pl.kind!r} has no Brian2 formulation here (supported: "
                f"{', '.join(SUPPORTED_KINDS)})",
                net.source,
                f"projections[{i}].plasticity.kind",
            )


def _trace_update(name: str, trace) -> str:
    return f"{name} = {trace.impulse!r}" if trace.mode == "set" else f"{name} += {trace.impulse!r}"


def _terms_sum(terms, dependency: str) -> str:
    """The ``dependency`` terms of a rule as one Brian2 expression ('' when there are none)."""
    out = []
    for t in terms:
        if t.dependency != dependency:
            continue
        factors = ["reward" if f == "r" else f for f in POWERS for _ in range(t.power(f))]
        out.append("*".join([f"({t.coef!r})", *factors]))
    return " + ".join(out)


def learning_code(plasticity) -> tuple[str, str, str, dict]:
    """Brian2 ``(model, pre learning, post learning, namespace)`` of a rule, without the current.

    ``pre learning`` is the ``on_pre`` code after ``I += w`` (see the module docstring).
    """
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
            on_pre = f"Apre {op} 1.0\nw = clip(w - A_minus * (w - w_min) * Apost, w_min, w_max)"
            on_post = f"Apost {op} 1.0\nw = clip(w + A_plus * (w_max - w) * Apre, w_min, w_max)"
        else:
            on_pre = f"Apre {op} A_plus\nw = clip(w + Apost, w_min, w_max)"
            on_post = f"Apost {op} -A_minus\nw = clip(w + Apre, w_min, w_max)"
        return model, on_pre, on_post, ns
    if pl.kind == "diehl_cook":
        t = {name: pl.traces[key].tau for name, key in (("pre", "x1"), ("post1", "y1"), ("post2", "y2"))}
        model = "w : 1\npost2before : 1\n" + "".join(
            f"d{name}/dt = -{name} / ({tau!r}*ms) : 1 (event-driven)\n" for name, tau in t.items()
        )
        ns.update(nu_pre=float(p.get("nu_pre", 1e-4)), nu_post=float(p.get("nu_post", 1e-2)))
        on_pre = "pre = 1.0\nw = clip(w - nu_pre * post1, w_min, w_max)"
        on_post = (
            "post2before = post2\n"
            "w = clip(w + nu_post * pre * post2before, w_min, w_max)\n"
            "post1 = 1.0\n"
            "post2 = 1.0"
        )
        return model, on_pre, on_post, ns
    if pl.kind == "rule":
        ns["reward"] = 0.0
        model = "w : 1\n" + "".join(
            f"d{name}/dt = -{name} / ({tr.tau!r}*ms) : 1 (event-driven)\n" for name, tr in pl.traces.items()
        )
        code = {}
        for dep, side in (("x0", "x"), ("y0", "y")):
            lines = []
            total = _terms_sum(pl.terms, dep)
            if total:
                lines.append(f"w = clip(w + ({total}), w_min, w_max)")
            lines += [_trace_update(n, tr) for n, tr in pl.traces.items() if n.startswith(side)]
            code[dep] = "\n".join(lines)
        return model, code["x0"], code["y0"], ns
    raise NeuroError(f"plasticity kind {pl.kind!r} has no Brian2 formulation here")


def synapse_code(plasticity, target: str = "I_exc") -> tuple[str, str, str, dict]:
    """Brian2 ``(model, on_pre, on_post, namespace)`` of a rule on an undelayed projection."""
    model, on_pre, on_post, ns = learning_code(plasticity)
    return model, f"{target} += w\n{on_pre}", on_post, ns


def ring_size(max_delay: int, isi: int) -> int:
    """Most spikes one synapse can have in flight: emitted within ``max_delay + 1`` steps, ``isi`` apart."""
    return -(-(max_delay + 1) // max(1, isi))


def delayed_synapse_code(plasticity, target: str, m: int) -> tuple[str, dict, str, dict]:
    """``(model, {'learn': ..., 'pre': ...}, on_post, namespace)`` of a delayed plastic projection.

    ``learn`` (no delay) stores the weight in slot ``n_emit % m`` of the ring, then learns;
    ``pre`` (the synapse's delay) adds the weight of slot ``n_arrive % m`` to ``target``.
    """
    model, on_pre, on_post, ns = learning_code(plasticity)
    model += "n_emit : integer\nn_arrive : integer\n" + "".join(f"w_sent{c} : 1\n" for c in range(m))
    store = "".join(
        f"w_sent{c} = w * int(n_emit % {m} == {c}) + w_sent{c} * int(n_emit % {m} != {c})\n" for c in range(m)
    )
    routed = " + ".join(f"w_sent{c} * int(n_arrive % {m} == {c})" for c in range(m))
    pathways = {"learn": f"{store}n_emit += 1\n{on_pre}", "pre": f"{target} += {routed}\nn_arrive += 1"}
    return model, pathways, on_post, ns


def population_group(net: CompiledNetwork, index: int, clock):
    """Current-based LIF group of population ``index`` with an adaptive threshold ``theta``."""
    from brian2 import NeuronGroup, ms

    pop = net.spec.populations[index]
    sl = net.pop_slice(pop.name)
    r_steps = refractory_steps(pop, net.dt)
    held = r_steps >= 2
    taus = [pop.tau_syn] + ([pop.tau_syn_inh] if pop.dual_current else [])
    names = CURRENTS[: len(taus)]
    degenerate = any(tau == pop.tau_mem for tau in taus)
    flag = " (unless refractory)" if held and not degenerate else ""
    eqs = f"dv/dt = (-(v - v_rest) + bias + {' + '.join(names)}) / ({pop.tau_mem!r}*ms) : 1{flag}\n"
    eqs += "".join(f"d{c}/dt = -{c} / ({tau!r}*ms) : 1\n" for c, tau in zip(names, taus, strict=True))
    eqs += "bias : 1 (constant)\n"
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


def input_spikes(compiled: CompiledNetwork, steps: int, inputs: SpecInputs | None = None) -> dict:
    """``{input name: (step, channel)}`` drawn as the engine draws them (call on a fresh compile;
    ``inputs``: the network's one ``SpecInputs``, made here when not given)."""
    inputs = SpecInputs(compiled) if inputs is None else inputs
    if steps == 0:
        in_ptr, in_src = np.zeros(1, np.int64), np.zeros(0, np.int64)
    else:
        in_ptr, in_src = inputs.chunk(0, steps, 1, compiled.rng)
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
    """Sorted distinct sample steps, each >= 1 (none: nothing is run)."""
    s = sorted({int(k) for k in sample_steps})
    if s and s[0] < 1:
        raise NeuroError("sample steps must be >= 1")
    return s


def initial_learned(net: Network, seed: int) -> PlasticRun:
    """Plastic weights and thresholds before the first step (sample step 0), as compiled."""
    compiled = compile_network(net, "float", seed)
    syn = {ps.index: ps for ps in layout.projection_synapses(compiled)}
    weights = {
        p: _sorted_weights(syn[p].i, syn[p].j, syn[p].weight)
        for p, proj in enumerate(net.projections)
        if proj.plasticity is not None
    }
    theta = {
        name: compiled.params["theta_init"][compiled.pop_slice(name)].copy() for name in compiled.pop_names
    }
    return PlasticRun({}, {0: weights}, {0: theta}, 0.0)


def run_neuro_plastic(net: Network, seed: int, sample_steps) -> PlasticRun:
    """Run ``net`` in neuro's float engine, sampling plastic weights and thresholds."""
    check_plastic_expressible(net)
    t0 = time.perf_counter()
    samples = _samples(sample_steps)
    compiled = compile_network(net, "float", seed)
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


def _source_isi(net: Network, pre: str, dt: float) -> int:
    """Shortest interval (steps) between two spikes of source ``pre``: 1 for an input."""
    for pop in net.populations:
        if pop.name == pre:
            return max(1, refractory_steps(pop, dt))
    return 1


def _synapses(net: Network, compiled: CompiledNetwork, ps, src, post, clock, layer: int):
    """The Brian2 ``Synapses`` of projection ``ps`` from ``src`` (one generator layer)."""
    from brian2 import Synapses, ms

    proj = net.projections[ps.index]
    target = CURRENTS[ps.channel]
    name = f"proj{ps.index}_{layer}"
    delayed = bool(ps.delay.any())
    if proj.plasticity is None:
        s = Synapses(src, post, model="w : 1 (constant)", on_pre=f"{target} += w", clock=clock, name=name)
    elif not delayed:
        model, on_pre, on_post, ns = synapse_code(proj.plasticity, target)
        s = Synapses(src, post, model, on_pre=on_pre, on_post=on_post, namespace=ns, clock=clock, name=name)
    else:
        m = ring_size(int(ps.delay.max()), _source_isi(net, ps.pre, compiled.dt))
        model, on_pre, on_post, ns = delayed_synapse_code(proj.plasticity, target, m)
        s = Synapses(src, post, model, on_pre=on_pre, on_post=on_post, namespace=ns, clock=clock, name=name)
        s.learn.order = s.pre.order - 1  # store and learn at the spike, before any arrival of the step
    s.connect(i=ps.i, j=ps.j)
    s.w = ps.weight
    if delayed:
        s.pre.delay = ps.delay * compiled.dt * ms
    return s


def run_brian2_plastic(net: Network, seed: int, sample_steps, target: str = "numpy") -> PlasticRun:
    """Run ``net`` in Brian2 (runtime target ``numpy`` or ``cython``), as in :func:`run_neuro_plastic`."""
    from brian2 import Clock, SpikeGeneratorGroup, SpikeMonitor, ms
    from brian2 import Network as B2Network

    check_plastic_expressible(net)
    if target not in RUNTIME_TARGETS:
        raise NeuroError(
            f"the plastic comparison runs Brian2's runtime targets (numpy, cython), not {target!r}"
        )
    t0 = time.perf_counter()
    samples = _samples(sample_steps)
    last = samples[-1] if samples else 0
    compiled = compile_network(net, "float", seed)
    inputs = SpecInputs(compiled)
    stim = input_spikes(compiled, last, inputs)
    cuts = sorted(set(samples) | {c for c in inputs.change_points() if 0 < c < last})
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
                s = _synapses(net, compiled, ps, src, post, clock, layer)
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
        for k in cuts:
            active = inputs.bias_delta(done)
            for g_index, g in enumerate(groups):
                g.bias = brian2_float.bias(compiled, g_index, active)
            b2net.run((k - done) * dt * ms)
            done = k
            if k not in samples:
                continue
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
