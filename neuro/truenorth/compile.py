"""Compile a spec for ``truenorth`` arithmetic: neuron parameters, axon types, placement, and the
physical network (splitter neurons included) as engine-ready arrays.

Steps: draw populations' ``v_init`` and ``bias`` and every projection's synapses from the
seeded generator in the same order as :func:`neuro.network.compile_network` (so a network has
the same connectivity in every arithmetic for a given seed); give every synapse an axon type
and every neuron its 4 weights (from ``truenorth.weights`` and ``axon_type``, from exact
integer weights, or by converting a LIF population, :mod:`neuro.truenorth.convert`); place
on cores (:mod:`neuro.truenorth.mapping`); lay the physical synapses out as a CSR by source;
draw the 64-bit key of the neurons' pseudo-random generator.

Index spaces: the network's neurons are ``0..N-1`` (spec order, as in every arithmetic),
splitter neurons ``N..P-1``, input channels ``P..P+N_in-1`` as spike sources.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from neuro.chips import get_profile
from neuro.connectivity import build_projection
from neuro.errors import NeuroError
from neuro.network import IndexSpace, resolve_seed
from neuro.truenorth import convert
from neuro.truenorth.mapping import TrueNorthPlacement, map_network
from neuro.truenorth.spec import AXON_TYPES, DELAY_TICKS, WEIGHT_RANGE

log = logging.getLogger(__name__)


@dataclass
class TrueNorthNetwork(IndexSpace):
    """A network compiled for TrueNorth cores (duck-compatible with
    :class:`~neuro.network.CompiledNetwork` where the run, mapping and output code use it).

    Attributes
    ----------
    indptr, slot, weight, delay : numpy.ndarray
        Physical CSR by source (physical neurons, then input channels): a synapse onto a
        network neuron has ``slot = axon_type * n_neurons + neuron``; a splitter feed (every
        synapse of a source with ``feeds_splitters``) has ``slot`` = the splitter's index
        (``neuron - n_neurons``), type 0 and 1 tick. ``weight`` is 1 (int32; the buffer counts
        spikes per type), ``delay`` = ticks - 1 (uint8).
    feeds_splitters : numpy.ndarray of bool
        Per source: its spikes go to a splitter block.
    synapse_projection : numpy.ndarray of int32
        Per synapse (CSR order), the spec projection it implements (a splitter feed: the
        projection of the first axon group it serves).
    params : dict of numpy.ndarray
        Per network neuron: ``weights`` (N, 4) and the scalars of
        :data:`neuro.truenorth.convert.PARAM_KEYS` (splitters have fixed parameters,
        :func:`neuro.truenorth.convert.splitter_params`).
    placement : TrueNorthPlacement
    conversion : list of ConversionReport
    prng_key : int
        Key of the neurons' counter-based generator (:mod:`neuro.dynamics.truenorth`).
    """

    spec: object
    seed: int
    dt: float
    pop_names: list
    pop_offsets: np.ndarray
    input_names: list
    input_offsets: np.ndarray
    n_physical: int
    indptr: np.ndarray
    slot: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    feeds_splitters: np.ndarray
    synapse_projection: np.ndarray
    max_delay: int
    params: dict
    v_init: np.ndarray
    placement: TrueNorthPlacement
    conversion: list
    prng_key: int
    n_logical_synapses: int
    rng: np.random.Generator = field(repr=False)
    target: object = None  # the neuro.targets.truenorth.TrueNorthTarget that compiled it
    _view: object = field(default=None, repr=False, compare=False)

    @property
    def arithmetic(self) -> str:
        return self.target.name

    @property
    def n_neurons(self) -> int:
        """The network's own neurons (splitters excluded)."""
        return int(self.pop_offsets[-1])

    @property
    def n_splitters(self) -> int:
        return self.n_physical - self.n_neurons

    @property
    def n_synapses(self) -> int:
        """Synapses of the spec (crossbar bits of splitter feeds excluded)."""
        return self.n_logical_synapses

    @property
    def n_crossbar_synapses(self) -> int:
        return int(self.indptr[-1])

    def fanout(self) -> np.ndarray:
        """Crossbar synapses of every physical source (synaptic events per spike)."""
        return np.diff(self.indptr)

    def placement_on(self, profile, n_chips: int) -> TrueNorthPlacement:
        """The placement, checked against ``profile`` and ``n_chips`` (``neuro.mapping.place``)."""
        if profile.name != self.placement.profile.name:
            raise NeuroError(
                f"a network compiled for TrueNorth cores cannot be placed on {profile.name!r}",
                self.spec.source,
                "simulation.chip",
            )
        pl = self.placement
        if pl.n_cores > n_chips * profile.cores_per_chip:
            need = -(-pl.n_cores // profile.cores_per_chip)
            raise NeuroError(
                f"network needs {pl.n_cores} TrueNorth cores but {n_chips} chip(s) have "
                f"{n_chips * profile.cores_per_chip} (use --chips {need})",
                self.spec.source,
                "simulation.chips",
            )
        pl.n_chips = n_chips
        return pl

    def physical_view(self) -> PhysicalView:
        """The network as the chip holds it, splitters as neurons (see :class:`PhysicalView`)."""
        if self._view is None:
            self._view = PhysicalView(self)
        return self._view


class PhysicalView:
    """A :class:`~neuro.network.CompiledNetwork`-shaped view of a TrueNorth network in which the
    neurons are the chip's physical neurons: the network's ``N`` neurons, then its splitter
    neurons (population ``(splitters)``), then the input channels as sources. Synapses are the
    crossbar bits, ``slot = axon_type * n_neurons + physical neuron``, ``weight`` the effective
    weight (the target's weight for the axon type; 1 for a splitter feed). This is what the
    simulator exposes as ``sim.net`` for operation ledgers (``neuro.energy``), which count what
    the chip does: every neuron update and spike, splitters included.
    """

    def __init__(self, tn: TrueNorthNetwork):
        N, P = tn.n_neurons, tn.n_physical
        self.spec = tn.spec
        self.target = tn.target
        self.arithmetic = tn.arithmetic
        self.seed = tn.seed
        self.dt = tn.dt
        self.n_neurons = P
        self.n_sources = tn.n_sources
        self.indptr = tn.indptr
        self.n_synapses = int(tn.indptr[-1])
        src = np.repeat(np.arange(tn.n_sources, dtype=np.int64), np.diff(tn.indptr))
        slot = tn.slot.astype(np.int64)
        feed = tn.feeds_splitters[src]
        typ, tgt = np.divmod(slot, max(N, 1))
        typ = np.where(feed, 0, typ)
        tgt = np.where(feed, N + slot, tgt)
        self.slot = typ * P + tgt
        w = np.ones(slot.size, dtype=np.int64)
        own = ~feed
        w[own] = tn.params["weights"][tgt[own], typ[own]]
        self.weight = w
        self.delay = tn.delay
        self.pop_names = list(tn.pop_names) + (["(splitters)"] if P > N else [])
        self.pop_offsets = np.concatenate([tn.pop_offsets, [P]] if P > N else [tn.pop_offsets])
        self.input_names = list(tn.input_names)
        self.input_offsets = tn.input_offsets
        self._proj = tn.synapse_projection

    def projection_positions(self):
        """For every spec projection, the CSR positions of its synapses."""
        for p in range(len(self.spec.projections)):
            yield np.flatnonzero(self._proj == p)

    def row_segments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As :meth:`neuro.network.CompiledNetwork.row_segments`: the runs of one spec
        projection in each source's crossbar row, in CSR order (a projection may come back
        later in the row; the ledger's kernels sort such rows)."""
        src = np.repeat(np.arange(self.n_sources, dtype=np.int64), np.diff(self.indptr))
        proj = self._proj.astype(np.int64)
        new = np.ones(proj.size, dtype=bool)
        new[1:] = (src[1:] != src[:-1]) | (proj[1:] != proj[:-1])
        starts = np.flatnonzero(new)
        count = np.diff(np.append(starts, proj.size))
        ptr = np.zeros(self.n_sources + 1, dtype=np.int64)
        np.cumsum(np.bincount(src[starts], minlength=self.n_sources), out=ptr[1:])
        return ptr, proj[starts], count

    def fanout(self) -> np.ndarray:
        return np.diff(self.indptr)


def _err(net, msg, fld):
    return NeuroError(msg, net.source, fld)


def compile_truenorth(net, target, seed: int | None = None) -> TrueNorthNetwork:
    """Compile ``net`` (already checked by ``target``) for TrueNorth cores (see module docstring)."""
    seed = resolve_seed(seed if seed is not None else net.simulation.seed)
    rng = np.random.default_rng(seed)
    dt = net.simulation.dt
    sizes = [p.size for p in net.populations]
    pop_offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    N = int(pop_offsets[-1])
    spike_inputs = [s for s in net.inputs if s.is_spike_source]
    in_sizes = [s.size for s in spike_inputs]
    in_offsets = np.concatenate([[0], np.cumsum(in_sizes)]).astype(np.int64)
    n_in = int(in_offsets[-1])

    biases, v_inits = [], []
    for pop in net.populations:  # same draws, same order as compile_network
        v0 = pop.v_init.sample(rng, pop.size) if pop.v_init is not None else np.full(pop.size, pop.v_rest)
        v_inits.append(v0)
        biases.append(pop.bias.sample(rng, pop.size))

    offsets = {p.name: int(o) for p, o in zip(net.populations, pop_offsets[:-1], strict=True)}
    offsets |= {s.name: N + int(o) for s, o in zip(spike_inputs, in_offsets[:-1], strict=True)}
    pidx = {p.name: i for i, p in enumerate(net.populations)}
    per_pop: list[list] = [[] for _ in net.populations]  # (proj index, src, local tgt, D, value)
    for i, proj in enumerate(net.projections):
        syn = build_projection(net, i, rng)
        where = f"projections[{i}]"
        D = 1 + syn.delay
        if D.size and D.max() > DELAY_TICKS[1]:
            raise _err(
                net,
                f"a delay arrives {int(D.max())} ticks after the spike; TrueNorth delays are "
                f"{DELAY_TICKS[0]}..{DELAY_TICKS[1]} ticks",
                f"{where}.delay",
            )
        post = net.populations[pidx[proj.post]]
        tn = post.truenorth
        if tn is not None and tn.weights is not None:
            if proj.axon_type is not None:
                val = np.full(syn.size, float(proj.axon_type))
            else:  # list connector: third column is the axon type
                val = syn.weight
                if val.size and (np.any(val != np.round(val)) or val.min() < 0 or val.max() > AXON_TYPES - 1):
                    raise _err(
                        net, "axon types (third column) must be integers in 0..3", f"{where}.connector"
                    )
        elif tn is not None:
            val = syn.weight
            lo, hi = WEIGHT_RANGE
            if val.size and (np.any(val != np.round(val)) or val.min() < lo or val.max() > hi):
                raise _err(
                    net,
                    f"TrueNorth weights must be integers in [{lo}, {hi}] (9-bit signed)",
                    f"{where}.weight",
                )
        else:
            tau_x = (
                post.tau_syn_inh
                if (proj.receptor == "inh" and post.tau_syn_inh is not None)
                else post.tau_syn
            )
            val = syn.weight * (tau_x / post.tau_mem)  # charge-equivalent jump, mV
        per_pop[pidx[proj.post]].append(
            (i, offsets[proj.pre] + syn.pre, syn.post.astype(np.int64), D.astype(np.int64), val)
        )
        del syn

    prng_key = int(rng.integers(0, 2**63))  # same position as compile_network's learning key

    # ---- neuron parameters and axon types, population by population
    params_parts, v0_parts, conversion = [], [], []
    s_src, s_tgt, s_typ, s_D, s_strict, s_proj = [], [], [], [], [], []
    for pi, pop in enumerate(net.populations):
        items = per_pop[pi]

        def cat(k, dt_, items=items):
            return np.concatenate([it[k] for it in items]).astype(dt_) if items else np.zeros(0, dtype=dt_)

        proj_i = (
            np.concatenate([np.full(it[1].size, it[0]) for it in items]) if items else np.zeros(0, np.int64)
        )
        src, tgt, D, val = cat(1, np.int64), cat(2, np.int64), cat(3, np.int64), cat(4, np.float64)
        where = f"populations[{pi}]"
        tn = pop.truenorth
        if tn is not None:
            p, v0 = convert.native_params(tn, pop.size)
            if tn.weights is not None:
                typ = val.astype(np.int64)
            else:
                table, typ, _, bad = convert.weight_tables(tgt, val, pop.size, exact=True)
                if bad >= 0:
                    vals = convert.distinct_weights(tgt, val, bad)
                    projs = sorted({int(x) for x in proj_i[tgt == bad]})
                    raise _err(
                        net,
                        f"neuron {bad} receives {len(vals)} distinct weights "
                        f"({', '.join(map(str, vals))}) from "
                        f"{', '.join(f'projections[{j}]' for j in projs)}; a TrueNorth neuron has "
                        f"{AXON_TYPES} (one per axon type)",
                        f"{where}.truenorth",
                    )
                p["weights"] = table
            strict = np.ones(src.size, dtype=bool)
        else:
            p, v0, typ, rep = convert.convert_population(pop, dt, biases[pi], v_inits[pi], tgt, val, where)
            conversion.append(rep)
            strict = np.zeros(src.size, dtype=bool)
        params_parts.append(p)
        v0_parts.append(v0)
        s_src.append(src)
        s_tgt.append(tgt + int(pop_offsets[pi]))
        s_typ.append(np.asarray(typ, dtype=np.int64))
        s_D.append(D)
        s_strict.append(strict)
        s_proj.append(proj_i.astype(np.int64))

    src, tgt = np.concatenate(s_src), np.concatenate(s_tgt)
    typ, D = np.concatenate(s_typ), np.concatenate(s_D)
    strict, syn_proj = np.concatenate(s_strict), np.concatenate(s_proj)
    profile = get_profile(net.simulation.chip)
    phys = map_network(
        [p.name for p in net.populations],
        sizes,
        n_in,
        src,
        tgt,
        typ,
        D,
        strict,
        syn_proj,
        profile,
        net.simulation.chips,
        net.source,
    )
    placement = phys.placement
    # extra latency per converted population (for the report)
    ext = placement._syn_extra
    for rep in conversion:
        pi = net.populations.index(net.population(rep.population))
        sel = (tgt >= pop_offsets[pi]) & (tgt < pop_offsets[pi + 1])
        rep.extra_latency_synapses = int((ext[sel] > 0).sum())
        rep.extra_latency_max_ticks = int(ext[sel].max(initial=0))
    placement.conversion = conversion
    for rep in conversion:
        log.warning("%s", rep.line())

    # ---- physical arrays
    P = phys.n_physical
    params = {k: np.concatenate([p[k] for p in params_parts]) for k in convert.PARAM_KEYS}
    v_init = np.concatenate(v0_parts).astype(np.int64)
    n_src = P + n_in
    order = np.argsort(phys.src, kind="stable")
    indptr = np.zeros(n_src + 1, dtype=np.int64)
    np.cumsum(np.bincount(phys.src, minlength=n_src), out=indptr[1:])
    to_spl = phys.tgt >= N  # splitter feeds (type 0, 1 tick): queued, see neuro.dynamics.truenorth
    feeds = np.zeros(n_src, dtype=np.bool_)
    feeds[phys.src[to_spl]] = True
    if np.any(feeds[phys.src[~to_spl]]):  # pragma: no cover - the mapper never mixes them
        raise RuntimeError("a source feeds splitters and neurons")
    slot = np.where(to_spl, phys.tgt - N, phys.typ * N + phys.tgt)[order].astype(np.int32)
    delay = phys.dcode[order].astype(np.uint8)
    max_delay = int(phys.dcode[~to_spl].max()) if (~to_spl).any() else 0
    return TrueNorthNetwork(
        spec=net,
        seed=seed,
        dt=dt,
        pop_names=[p.name for p in net.populations],
        pop_offsets=pop_offsets,
        input_names=[s.name for s in spike_inputs],
        input_offsets=(P + in_offsets).astype(np.int64),
        n_physical=P,
        indptr=indptr,
        slot=slot,
        weight=np.ones(slot.size, dtype=np.int32),
        delay=delay,
        feeds_splitters=feeds,
        synapse_projection=phys.proj[order].astype(np.int32),
        max_delay=max_delay,
        params=params,
        v_init=v_init,
        placement=placement,
        conversion=conversion,
        prng_key=prng_key,
        n_logical_synapses=int(src.size),
        rng=rng,
        target=target,
    )
