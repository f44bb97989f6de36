"""Spec → NIR graph (the inverse of :mod:`neuro.nir.importer`, read the same way).

Each spike input becomes an ``Input`` node; each population a neuron node in seconds
(``CubaLIF`` with a synaptic filter, ``LIF`` without, ``IF`` without a leak, ``CubaLI``/``LI``/``I``
when it does not spike, followed by a ``Threshold`` when it fires without a reset)
with ``r = 1``, ``v_leak = v_rest + bias`` and ``w_in = τ_syn / dt`` (so
the ``Linear`` weights stay the spec's mV); each projection's synapses — drawn with the spec's
seed — become one ``Linear`` per (pre, post, delay) with a ``Delay`` node in front of delayed
ones (per-synapse delays split by value); an ``Output`` node follows every population. The
graph's metadata records ``dt`` (the weights are read at that step).

What NIR cannot hold is named in one warning line: refractory periods, dual currents (the
``inh`` projections take the ``exc`` filter), adaptive thresholds, initial state, plasticity
(exported frozen), current and Poisson inputs (their ``Input`` node stays). Those fields are
also kept in each node's ``metadata["neuro"]`` (JSON) so that neuro re-imports its own graph
as it was; other NIR readers ignore them. Raw Loihi registers and TrueNorth parameters have
no physical units and are refused.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import nir
import numpy as np

from neuro.errors import NeuroError
from neuro.nir.sidecar import SIDECAR_FIELDS

log = logging.getLogger(__name__)

UNIT_MS = 1000.0  # graph times in seconds (NIR's convention)


def _dropped(pop) -> list[str]:
    out = []
    if pop.refractory > 0:
        out.append("refractory period")
    if pop.dual_current:
        out.append("dual currents (tau_syn_inh)")
    if pop.adaptive or pop.tau_theta is not None:
        out.append("adaptive threshold")
    if pop.v_init is not None or pop.i_init != 0:
        out.append("initial state")
    if pop.vth_mant is not None:
        out.append("vth_mant (a Loihi register scale)")
    return out


def _neuron(pop, bias: np.ndarray, dt: float):
    """The neuron node of ``pop`` and the factor from a spec weight (mV) to its ``Linear`` weight."""
    n = pop.size
    ones = np.ones(n)
    dt_g = dt / UNIT_MS
    thr, reset = np.full(n, pop.v_threshold), np.full(n, pop.v_reset)
    meta = {k: getattr(pop, k) for k in SIDECAR_FIELDS if k != "bias" or not pop.leak}
    for key, val in list(meta.items()):
        if val is None:
            del meta[key]
        elif hasattr(val, "kind") and val.kind == "array":  # not the path of a file
            meta[key] = val.array.astype(float).tolist()
        elif hasattr(val, "to_dict"):
            meta[key] = val.to_dict()
    md = {"neuro": json.dumps(meta)}
    fires = pop.spiking and pop.reset  # reset = false: a readout node read by a Threshold node
    if not pop.leak:  # IF / I: spec weight = r dt_g w (a bias would need an Affine: reported)
        node = (
            nir.IF(r=ones, v_threshold=thr, v_reset=reset, metadata=md)
            if fires
            else nir.I(r=ones, metadata=md)
        )
        return node, 1.0 / dt_g
    tau_m = np.full(n, pop.tau_mem / UNIT_MS)
    v_leak = pop.v_rest + bias
    if pop.tau_syn == 0:  # LIF / LI: spec weight = r dt_g / tau w
        kw = {"tau": tau_m, "r": ones, "v_leak": v_leak}
        node = (
            nir.LIF(**kw, v_threshold=thr, v_reset=reset, metadata=md) if fires else nir.LI(**kw, metadata=md)
        )
        return node, pop.tau_mem / dt
    tau_s = np.full(n, pop.tau_syn / UNIT_MS)
    w_in = np.full(n, pop.tau_syn / dt)  # spec weight = r w_in dt_g / tau_syn w = w
    kw = {"tau_syn": tau_s, "tau_mem": tau_m, "r": ones, "v_leak": v_leak, "w_in": w_in}
    node = (
        nir.CubaLIF(**kw, v_threshold=thr, v_reset=reset, metadata=md)
        if fires
        else nir.CubaLI(**kw, metadata=md)
    )
    return node, 1.0


def export_graph(net, seed: int | None = None) -> tuple[nir.NIRGraph, list[str]]:
    """``(graph, dropped)``: the NIR graph of ``net`` and what it could not hold."""
    from neuro.network import compile_network

    for i, p in enumerate(net.populations):
        for key in ("loihi", "truenorth"):
            if getattr(p, key) is not None:
                raise NeuroError(
                    f"population {p.name!r} is given as raw {key} parameters, which NIR cannot express",
                    net.source,
                    f"populations[{i}].{key}",
                )
    seed = net.simulation.seed if seed is None else seed
    compiled = compile_network(net.with_simulation(arithmetic="float", chip="unbounded"), "float", seed)
    dt = net.simulation.dt
    nodes: dict = {}
    edges: list = []
    dropped: set = set()
    factor = {}
    spikes_of = {s.name: s.name for s in net.inputs}  # the node whose output is a source's spikes
    for pop in net.populations:
        sl = compiled.pop_slice(pop.name)
        # a leak-free population's bias travels as held current (bq): NIR's IF/I have no place for it
        bias = compiled.params["bias"][sl] if pop.leak else compiled.params["bq"][sl]
        node, factor[pop.name] = _neuron(pop, bias if pop.leak else np.zeros(pop.size), dt)
        nodes[pop.name] = node
        nodes[f"{pop.name}.out"] = nir.Output(output_type=np.array([pop.size]))
        edges.append((pop.name, f"{pop.name}.out"))
        spikes_of[pop.name] = pop.name
        if not pop.reset:  # fires without a reset: a Threshold on the readout's voltage
            spikes_of[pop.name] = f"{pop.name}.threshold"
            nodes[spikes_of[pop.name]] = nir.Threshold(threshold=np.full(pop.size, float(pop.v_threshold)))
            edges.append((pop.name, spikes_of[pop.name]))
        dropped.update(_dropped(pop))
        if not pop.leak and np.any(bias != 0):
            dropped.add("bias of a population without a leak")
        if pop.input_bias is not None:
            dropped.add("input_bias (an Affine bias would need an input edge)")
    for inp in net.inputs:
        if inp.is_spike_source:
            nodes[inp.name] = nir.Input(input_type=np.array([inp.size]))
            if inp.kind != "external":
                dropped.add(f"{inp.kind} inputs (the Input node stays)")
        else:
            dropped.add("current inputs")
    if any(pr.plasticity is not None for pr in net.projections):
        dropped.add("plasticity (weights exported frozen)")
    n_all = compiled.n_neurons
    src_of = np.repeat(np.arange(compiled.n_sources), np.diff(compiled.indptr))
    merged: dict = {}
    for pr, pos in zip(net.projections, compiled.projection_positions(), strict=True):
        pre_off = compiled.source_offset(pr.pre)
        post_sl = compiled.pop_slice(pr.post)
        pre = src_of[pos] - pre_off
        post = compiled.slot[pos] % n_all - post_sl.start
        w = compiled.weight[pos] * factor[pr.post]
        d = compiled.delay[pos].astype(np.int64)
        for dv in np.unique(d):
            m = d == dv
            receptor = pr.receptor if net.population(pr.post).dual_current else None
            key = (pr.pre, pr.post, int(dv), receptor)
            shape = (net.source_size(pr.post), net.source_size(pr.pre))
            mat = merged.setdefault(key, np.zeros(shape))
            np.add.at(mat, (post[m], pre[m]), w[m])
    for (pre, post, dv, receptor), mat in merged.items():
        lin = f"{pre}.to.{post}" + (f".d{dv}" if dv else "") + (f".{receptor}" if receptor else "")
        # the receptor of a dual-current target is neuro's (NIR has one current); other readers ignore it
        nodes[lin] = nir.Linear(weight=mat, metadata={"neuro_receptor": receptor} if receptor else {})
        if dv:
            dname = f"{lin}.delay"
            nodes[dname] = nir.Delay(delay=np.full(mat.shape[1], dv * dt / UNIT_MS))
            edges += [(spikes_of[pre], dname), (dname, lin)]
        else:
            edges.append((spikes_of[pre], lin))
        edges.append((lin, post))
    graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata={"neuro_dt_ms": float(dt)}, type_check=False)
    return graph, sorted(dropped)


def export_nir(net, path: str | Path, seed: int | None = None) -> list[str]:
    """Write ``net`` as a NIR graph to ``path`` (via a temporary name); return what NIR could not
    hold and log it as one warning line."""
    graph, dropped = export_graph(net, seed)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    nir.write(str(tmp), graph)
    tmp.replace(path)
    if dropped:
        log.warning("NIR cannot hold (kept only in neuro's node metadata): %s", "; ".join(dropped))
    return dropped
