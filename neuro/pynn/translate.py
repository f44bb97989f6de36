"""Translate the PyNN objects of the current ``setup()`` into a spec :class:`~neuro.spec.Network`.

Units (PyNN → spec). PyNN's IF_curr_exp is

.. math::

    c_m \\frac{dv}{dt} = \\frac{c_m}{\\tau_m}(v_{rest} - v) + I_{syn} + i_{offset}

with currents in nA and :math:`c_m` in nF. Multiplying by :math:`\\tau_m / c_m` gives the spec's
:math:`\\tau_m \\frac{dv}{dt} = -(v - v_{rest}) + b + I`, so a current ``I`` nA becomes
``I * tau_m / cm`` mV (nA·ms/nF = mV) — exactly, per post-synaptic neuron:

* synaptic weight ``w`` nA → ``w * tau_m / cm`` mV (signed; inhibitory weights are negative
  in PyNN for current-based synapses and stay so);
* ``i_offset`` and DC/step currents → bias ``amplitude * tau_m / cm`` mV;
* PyNN delay ``d`` ms: the spike acts at its time plus ``d`` (NEST's semantics). The spec
  delivers a spike emitted in step ``k`` at the start of step ``k + 1 + rint(delay/dt)``. A
  neuron that fires in step ``k`` is stamped ``(k+1) dt`` (the end of the step), so its spec
  delay is ``d``; a spike source emitting at ``k dt`` gets ``d - dt``
  (``d >= min_delay >= dt``);
* ``tau_m``, ``tau_syn_E``, ``tau_syn_I``, ``v_rest``, ``v_thresh``, ``v_reset``, ``tau_refrac``
  map one to one (ms, mV).

A spec population has one value per population of these; a PyNN population whose neurons
differ in them is split into several spec populations (*parts*), and its projections and
currents are split accordingly. ``cm``, ``i_offset`` and the initial ``v`` may differ per
neuron inside a part. A network of spike sources only gets one idle neuron (population
``idle``, nothing projects to it), since a spec needs a population.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neuro.errors import NeuroError
from neuro.plasticity import Plasticity
from neuro.pynn.errors import UnsupportedFeature
from neuro.pynn.models import (
    AdditiveWeightDependence,
    IF_curr_exp,
    MultiplicativeWeightDependence,
    SpikePairRule,
    SpikeSourceArray,
    SpikeSourcePoisson,
    STDPMechanism,
)
from neuro.spec import Connector, Input, Network, Population, Projection, Simulation
from neuro.values import Value

NEURON_KEYS = ("tau_m", "tau_syn_E", "tau_syn_I", "v_rest", "v_thresh", "v_reset", "tau_refrac")
NEVER_MS = 1e9  # a Poisson source "duration" beyond this is an unbounded one


@dataclass
class Layout:
    """Where each PyNN neuron went: ``part[p][i]`` the part index of neuron ``i`` of population
    ``p`` (PyNN order in ``state.populations``), ``local[p][i]`` its index in that part,
    ``names[p]`` the spec names of the parts."""

    names: list = field(default_factory=list)
    part: list = field(default_factory=list)
    local: list = field(default_factory=list)
    first_ids: np.ndarray = None
    plastic: list = field(default_factory=list)  # (projection, spec index, order, scale)
    origin: dict = field(default_factory=dict)  # spec field prefix -> the PyNN object it came from

    def locate(self, exc: NeuroError) -> NeuroError:
        """``exc`` with its spec field (``projections[3]...``) named after the PyNN object."""
        head = (exc.field or "").split(".", 1)[0]
        if head not in self.origin:
            return exc
        return NeuroError(exc.message, field=f"{self.origin[head]} ({exc.field})")

    def where(self, ids: np.ndarray):
        """(population index, part index, local index in part) of global PyNN IDs."""
        p = np.searchsorted(self.first_ids, ids, side="right") - 1
        i = ids - self.first_ids[p]
        part = np.empty(ids.size, np.int64)
        loc = np.empty(ids.size, np.int64)
        for q in np.unique(p):
            m = p == q
            part[m] = self.part[q][i[m]]
            loc[m] = self.local[q][i[m]]
        return p, part, loc


def _groups(keys: np.ndarray):
    """Group rows of ``keys`` (n, k) by equal value: (group of each row, index within group)."""
    if keys.shape[1] == 0 or keys.shape[0] == 0:
        n = keys.shape[0]
        return np.zeros(n, np.int64), np.arange(n), 1
    _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)  # number the groups by first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    group = rank[inv.ravel()]
    by_group = np.argsort(group, kind="stable")
    counts = np.bincount(group, minlength=order.size)
    local = np.empty(group.size, np.int64)
    local[by_group] = np.arange(group.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return group, local, order.size


def _scale(pop) -> np.ndarray:
    """mV per nA for each neuron of an IF_curr_exp population: tau_m / cm."""
    return pop._parameters["tau_m"] / pop._parameters["cm"]


def translate(state, workdir: Path) -> tuple[Network, Layout]:
    """Build the spec of the current network; list connections go to ``.npy`` files in ``workdir``."""
    layout = Layout()
    pops, inputs, projs = [], [], []
    for k, pop in enumerate(state.populations):
        ct = pop.celltype
        par = pop._parameters
        if isinstance(ct, IF_curr_exp):
            keys = np.stack([np.asarray(par[n], dtype=float) for n in NEURON_KEYS], axis=1)
        elif isinstance(ct, SpikeSourcePoisson):
            keys = np.stack([np.asarray(par[n], dtype=float) for n in ("start", "duration")], axis=1)
        elif isinstance(ct, SpikeSourceArray):
            keys = np.zeros((pop.size, 0))
        else:  # models.py refuses every other type when it is created
            raise UnsupportedFeature(type(ct).__name__, "not a chip cell type")
        group, local, n_groups = _groups(keys)
        names = [f"p{k}" if n_groups == 1 else f"p{k}_{g}" for g in range(n_groups)]
        layout.names.append(names)
        layout.part.append(group)
        layout.local.append(local)
        members = np.split(np.argsort(group, kind="stable"), np.cumsum(np.bincount(group))[:-1])
        for name, cells in zip(names, members, strict=True):
            if isinstance(ct, IF_curr_exp):
                layout.origin[f"populations[{len(pops)}]"] = f'Population "{pop.label}"'
                pops.append(_population(name, pop, cells))
            elif isinstance(ct, SpikeSourcePoisson):
                start, duration = float(par["start"][cells[0]]), float(par["duration"][cells[0]])
                stop = None if duration >= NEVER_MS else start + duration
                rate = Value("array", array=np.asarray(par["rate"], dtype=float)[cells])
                inputs.append(Input(name, "poisson", size=cells.size, rate=rate, start=start, stop=stop))
            else:
                times = tuple(tuple(float(t) for t in np.asarray(par["spike_times"][i].value)) for i in cells)
                for i, ts in zip(cells, times, strict=True):
                    if ts and min(ts) < 0:
                        raise NeuroError(f"spike time {min(ts)} ms is negative", field=f"{pop.label}[{i}]")
                inputs.append(Input(name, "spike_times", size=cells.size, times=times))
    if not pops:  # spike sources only: the spec needs a population; one idle neuron, never driven
        pops.append(Population("idle", 1))
    layout.first_ids = np.array([int(p.first_id) for p in state.populations], dtype=np.int64)
    inputs += _currents(state, layout)
    for prj in state.projections:
        made = _projections(prj, state, layout, workdir, len(projs))
        for i in range(len(projs), len(projs) + len(made)):
            layout.origin[f"projections[{i}]"] = f'Projection "{prj.label}"'
        projs += made
    sim = Simulation(
        dt=state.dt, steps=0, seed=state.seed, arithmetic=state.arithmetic, chip=state.chip, chips=state.chips
    )
    try:
        return Network(pops, projs, inputs, (), sim, name="pynn"), layout
    except NeuroError as exc:
        raise layout.locate(exc) from None


def _population(name: str, pop, cells: np.ndarray) -> Population:
    par = pop._parameters
    first = cells[0]
    tau_e, tau_i = float(par["tau_syn_E"][first]), float(par["tau_syn_I"][first])
    v_rest = float(par["v_rest"][first])
    bias = np.asarray(par["i_offset"], dtype=float)[cells] * _scale(pop)[cells]
    v0 = pop._v_init[cells]
    v0 = np.where(np.isnan(v0), v_rest, v0)
    return Population(
        name,
        int(cells.size),
        tau_mem=float(par["tau_m"][first]),
        tau_syn=tau_e,
        tau_syn_inh=None if tau_i == tau_e else tau_i,
        v_rest=v_rest,
        v_threshold=float(par["v_thresh"][first]),
        v_reset=float(par["v_reset"][first]),
        bias=Value("array", array=bias),
        refractory=float(par["tau_refrac"][first]),
        v_init=Value("array", array=v0.astype(float)),
    )


def _currents(state, layout: Layout) -> list:
    out = []
    for s, src in enumerate(state.current_sources):
        if not src.cells:
            continue
        ids = np.array([int(c) for c in src.cells], dtype=np.int64)
        p, part, loc = layout.where(ids)
        scale = np.array(
            [_scale(state.populations[q])[i] for q, i in zip(p, ids - layout.first_ids[p], strict=True)]
        )
        for q_part in sorted(set(zip(p.tolist(), part.tolist(), strict=True))):
            q, g = q_part
            m = (p == q) & (part == g)
            name = layout.names[q][g]
            size = int((layout.part[q] == g).sum())
            for n, (start, stop, amp) in enumerate(src.segments()):
                if amp == 0.0:
                    continue
                a = np.zeros(size)
                np.add.at(a, loc[m], amp * scale[m])
                out.append(
                    Input(
                        f"current{s}_{name}_{n}",
                        "current",
                        target=name,
                        amplitude=Value("array", array=a),
                        start=float(start),
                        stop=None if stop is None else float(stop),
                    )
                )
    return out


def _scalars(component, what: str) -> dict:
    """The parameters of an STDP component, one number each (per-connection values are refused)."""
    ps = copy.deepcopy(component.parameter_space)
    ps.shape = (1,)
    ps.evaluate(simplify=True)
    out = {}
    for n, v in ps.items():
        if np.ndim(v) != 0:
            raise UnsupportedFeature(
                f"per-connection {what} parameter {n}", "one learning rule per projection"
            )
        out[n] = float(v)
    return out


def _plasticity(prj, scale: float) -> Plasticity:
    st = prj.synapse_type
    td, wd = st.timing_dependence, st.weight_dependence
    if not isinstance(td, SpikePairRule):
        raise UnsupportedFeature(type(td).__name__, "timing dependence other than SpikePairRule")
    if not isinstance(wd, AdditiveWeightDependence | MultiplicativeWeightDependence):
        raise UnsupportedFeature(type(wd).__name__, "weight dependence other than Additive or Multiplicative")
    t, w = _scalars(td, "SpikePairRule"), _scalars(wd, type(wd).__name__)
    w_min, w_max = w["w_min"] * scale, w["w_max"] * scale
    additive = isinstance(wd, AdditiveWeightDependence)
    gain = w_max if additive else 1.0  # additive: dw = A w_max (PyNN/NEST convention)
    return Plasticity.from_dict(
        {
            "kind": "pair_stdp",
            "A_plus": t["A_plus"] * gain,
            "A_minus": t["A_minus"] * gain,
            "tau_plus": t["tau_plus"],
            "tau_minus": t["tau_minus"],
            "w_min": w_min,
            "w_max": w_max,
            "weight_dependent": not additive,
        }
    )


def _projections(prj, state, layout: Layout, workdir: Path, first_index: int) -> list:
    a = prj._built()
    if a["pre"].size == 0:
        return []
    pre_ids = np.asarray(prj.pre.all_cells, dtype=np.int64)[a["pre"]]
    post_ids = np.asarray(prj.post.all_cells, dtype=np.int64)[a["post"]]
    pp, pg, pl = layout.where(pre_ids)
    qp, qg, ql = layout.where(post_ids)
    scale = np.empty(post_ids.size)
    for q in np.unique(qp):
        m = qp == q
        scale[m] = _scale(state.populations[q])[post_ids[m] - layout.first_ids[q]]
    weight = a["weight"] * scale
    if a["delay"].size and a["delay"].min() < state.dt * (1 - 1e-9):
        raise NeuroError(
            f"delay {a['delay'].min():g} ms is below the time step {state.dt:g} ms (PyNN's smallest delay)",
            field=f'Projection "{prj.label}"',
        )
    from_source = np.array([not p.celltype.injectable for p in state.populations])[pp]
    delay = np.maximum(a["delay"] - np.where(from_source, state.dt, 0.0), 0.0)  # rounded to steps by the spec
    receptor = "inh" if prj.receptor_type == "inhibitory" else "exc"
    plastic = isinstance(prj.synapse_type, STDPMechanism)
    out = []
    combos = np.unique(np.stack([pp, pg, qp, qg], axis=1), axis=0)
    for pq, pgi, qq, qgi in combos:
        m = np.flatnonzero((pp == pq) & (pg == pgi) & (qp == qq) & (qg == qgi))
        order = m[np.lexsort((ql[m], pl[m]))]  # the engine's order: by pre, then post (stable)
        rows = np.stack([pl[order], ql[order], weight[order], delay[order]], axis=1).astype(np.float64)
        index = first_index + len(out)
        path = workdir / f"projection{index}.npy"
        np.save(path, rows)
        kw = {}
        if plastic:
            s = np.unique(scale[order])
            if s.size != 1:
                raise UnsupportedFeature(
                    "STDP onto neurons with different tau_m/cm", "one rule per projection"
                )
            if receptor == "inh":
                raise UnsupportedFeature("STDP on inhibitory current synapses", "learned weights are >= 0")
            kw["plasticity"] = _plasticity(prj, float(s[0]))
            layout.plastic.append((prj, index, order, float(s[0])))
        out.append(
            Projection(
                layout.names[pq][pgi],
                layout.names[qq][qgi],
                Connector("list", file=str(path)),
                receptor=receptor,
                name=f"prj{index}",
                **kw,
            )
        )
    return out
