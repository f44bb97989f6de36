"""Place a network on TrueNorth cores: crossbar rows, axon groups, splitter neurons.

The rules of a TrueNorth core (``neuro.chips.TRUENORTH``): 256 input axons, 256 neurons and a
256 x 256 binary crossbar; every axon has one of 4 types; every neuron sends each of its
spikes to exactly **one** axon (of any core) with a delay of 1..15 ticks. Hence:

* **Axon groups.** A source (neuron or input channel) reaches the neurons of one core through
  one axon per distinct (axon type, delay): the synapses of a source onto a core with the same
  type and delay share one crossbar row. Two synapses with the same source, target, type and
  delay need two axons (a crossbar bit is one synapse).
* **Layout.** Each population gets cores of its own, split into contiguous, near-equal blocks
  of at most 256 neurons. A population whose cores need more than 256 axons is split into
  more cores until every core fits; if one neuron per core still needs more than 256 axons
  the network is refused.
* **Splitters.** A neuron whose synapses form ``k >= 2`` axon groups cannot reach them with
  its single output axon. It sends its spike to the axon of a *splitter block* on a splitter
  core; the block's ``k`` splitter neurons (weight 1 on type 0, threshold 1, reset to 0, no
  leak) each relay the spike to one of the groups. More than 256 groups take further levels
  (a block of ``ceil(k / 256)`` splitters feeding ``ceil(k / 256)`` blocks, and so on), so a
  source with ``k`` groups uses ``L = ceil(log_256 k)`` levels. Every splitter level costs one
  tick: the source → first block and block → block hops take 1 tick and the last hop takes
  ``D - L`` ticks, so the end-to-end delay ``D`` is kept when ``D >= L + 1``. A shorter delay
  is refused for TrueNorth-native target populations; into converted LIF populations the
  synapse arrives ``L + 1 - D`` ticks late and the conversion report counts it.
  Splitter blocks are packed onto splitter cores (after the populations' cores) next-fit,
  at most 256 splitter neurons per core. External input channels need no splitters: the
  host sends one packet per axon group.
* **Resources reported per core** (same keys as the Loihi mapper): ``compartments`` and
  ``neurons`` = neurons used (limit 256), ``input_axons`` = axons used (256),
  ``output_axons`` = neurons whose output axon is used (256), ``synapses`` and
  ``synapse_memory_bits`` = crossbar bits set (65536).
* **Messages and hops.** Every neuron spike is one packet to its axon's core; an input spike
  is one packet per axon group. Hops are the Manhattan distance on the 64 x 64 mesh (chips
  tiled along x; the host sits at (-1, 0)), as in :mod:`neuro.mapping`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neuro.chips import ChipProfile
from neuro.errors import NeuroError
from neuro.mapping import Placement

SPLITTER_POP = "(splitters)"


@dataclass
class TrueNorthPlacement(Placement):
    """A :class:`~neuro.mapping.Placement` on TrueNorth cores, with the splitter bookkeeping.

    ``core_of`` / ``compartment_of`` cover the physical neurons: the network's neurons first,
    then the splitters. ``src_*`` arrays cover the physical sources (physical neurons, then
    input channels).
    """

    n_logical_cores: int = 0
    splitters: int = 0
    splitter_levels: int = 0  # deepest splitter tree
    split_sources: int = 0  # neurons that needed splitters
    extra_latency_synapses: int = 0
    extra_latency_max_ticks: int = 0
    axon_groups: int = 0  # axons used by the network's synapses (excluding splitter blocks)
    conversion: list = field(default_factory=list)  # ConversionReport per converted population

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["truenorth"] = {
            "population_cores": self.n_logical_cores,
            "splitter_cores": self.n_cores - self.n_logical_cores,
            "splitter_neurons": self.splitters,
            "splitter_levels": self.splitter_levels,
            "split_sources": self.split_sources,
            "axon_groups": self.axon_groups,
            "extra_latency_synapses": self.extra_latency_synapses,
            "extra_latency_max_ticks": self.extra_latency_max_ticks,
            "conversion": [r.to_dict() for r in self.conversion],
        }
        return d

    def summary_lines(self) -> list[str]:
        lines = [
            f"truenorth: {self.n_logical_cores} population cores + {self.n_cores - self.n_logical_cores} "
            f"splitter cores; {self.splitters} splitter neurons for {self.split_sources} neurons "
            f"(deepest tree {self.splitter_levels} level(s)); {self.axon_groups} axon groups"
        ]
        lines += [r.line() for r in self.conversion]
        return lines


@dataclass
class PhysicalNetwork:
    """The network as the cores hold it: physical synapses (splitters included)."""

    n_physical: int
    src: np.ndarray  # physical source: neuron index (< n_physical) or n_physical + input channel
    tgt: np.ndarray  # physical neuron
    typ: np.ndarray  # axon type 0..3
    dcode: np.ndarray  # delay ticks - 1 (the spike arrives at k + 1 + dcode)
    proj: np.ndarray  # projection of each synapse (splitter feeds: that of the first group they serve)
    placement: TrueNorthPlacement


def _blocks(size: int, parts: int) -> np.ndarray:
    base, extra = divmod(size, parts)
    lens = np.full(parts, base, dtype=np.int64)
    lens[:extra] += 1
    return np.repeat(np.arange(parts, dtype=np.int64), lens)


def _layout(sizes: list, parts: list) -> tuple:
    n = int(sum(sizes))
    core_of = np.empty(n, dtype=np.int64)
    comp_of = np.empty(n, dtype=np.int64)
    first, start = 0, 0
    for size, p in zip(sizes, parts, strict=True):
        blk = _blocks(size, p)
        core_of[start : start + size] = first + blk
        starts = np.searchsorted(blk, np.arange(p))
        comp_of[start : start + size] = np.arange(size) - starts[blk]
        first += p
        start += size
    return core_of, comp_of


def _run_starts(*cols) -> np.ndarray:
    """Boolean: True where any of the (sorted) columns differs from the previous row."""
    m = cols[0].size
    change = np.zeros(m, dtype=bool)
    if m:
        change[0] = True
        for c in cols:
            change[1:] |= c[1:] != c[:-1]
    return change


def _dup_rank(src, tgt, typ, D) -> np.ndarray:
    """0 for the first synapse of each (src, tgt, type, delay), 1 for a second copy, ..."""
    order = np.lexsort((D, typ, tgt, src))
    start = _run_starts(src[order], tgt[order], typ[order], D[order])
    idx = np.arange(order.size)
    first = np.maximum.accumulate(np.where(start, idx, 0)) if idx.size else idx
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = idx - first
    return rank


def _groups(src, tcore, typ, D, dup) -> tuple:
    """Axon groups: synapses sharing (source, core, type, delay, copy). Returns the group of
    every synapse and per group (source, core, type, delay), groups sorted by those keys."""
    order = np.lexsort((dup, D, typ, tcore, src))
    start = _run_starts(src[order], tcore[order], typ[order], D[order], dup[order])
    gid_sorted = np.cumsum(start) - 1
    gid = np.empty(order.size, dtype=np.int64)
    gid[order] = gid_sorted
    heads = order[start]
    return gid, src[heads], tcore[heads], typ[heads], D[heads]


def _tree_levels(k: int) -> list:
    """Neurons per splitter level, leaves first: k, ceil(k/256), ... until one block."""
    levels = [k]
    while levels[-1] > 256:
        levels.append(-(-levels[-1] // 256))
    return levels


def map_network(
    pop_names: list,
    pop_sizes: list,
    n_inputs: int,
    src: np.ndarray,
    tgt: np.ndarray,
    typ: np.ndarray,
    D: np.ndarray,
    strict: np.ndarray,
    syn_proj: np.ndarray,
    profile: ChipProfile,
    n_chips: int,
    source: str | None = None,
) -> PhysicalNetwork:
    """Place the logical synapses (``src`` neuron or ``N + input channel``, ``tgt`` neuron,
    axon type, delay ``D`` in ticks) and build the physical network (see module docstring).
    ``strict`` marks synapses whose delay must be kept exactly (TrueNorth-native targets);
    ``syn_proj`` is the projection of every synapse (for error messages)."""
    N = int(sum(pop_sizes))
    cap_n = profile.compartments_per_core
    cap_a = profile.input_axons_per_core
    src = src.astype(np.int64)
    tgt = tgt.astype(np.int64)
    typ = typ.astype(np.int64)
    D = D.astype(np.int64)
    dup = _dup_rank(src, tgt, typ, D)
    parts = [max(1, -(-s // cap_n)) for s in pop_sizes]
    for _ in range(64):
        core_of, comp_of = _layout(pop_sizes, parts)
        n_lcores = int(sum(parts))
        gid, g_src, g_core, g_typ, g_D = _groups(src, core_of[tgt], typ, D, dup)
        axons = np.bincount(g_core, minlength=n_lcores)
        grow, first = False, 0
        for pi, p in enumerate(parts):
            peak = int(axons[first : first + p].max(initial=0))
            if peak > cap_a:
                if p >= pop_sizes[pi]:
                    raise NeuroError(
                        f"population {pop_names[pi]!r} does not fit TrueNorth cores even one neuron per "
                        f"core: a neuron needs {peak} input axons (one per source, axon type and delay) > "
                        f"limit {cap_a}",
                        source,
                        f"populations[{pi}]",
                    )
                parts[pi] = min(pop_sizes[pi], max(p + 1, int(np.ceil(p * peak / cap_a))))
                grow = True
            first += p
        if not grow:
            break
    else:  # pragma: no cover - 64 rounds always suffice (parts at least double each round)
        raise NeuroError("TrueNorth placement did not converge", source, "populations")

    # ---------------------------------------------------------------- splitter trees
    n_groups = g_src.size
    k_of = np.bincount(g_src, minlength=N + n_inputs)  # axon groups per source
    g_first = np.zeros(N + n_inputs + 1, dtype=np.int64)
    np.cumsum(k_of, out=g_first[1:])
    split = np.flatnonzero(k_of[:N] >= 2)
    leaf_of_group = np.full(n_groups, -1, dtype=np.int64)  # splitter id (0-based) feeding each group
    g_proj = np.zeros(n_groups, dtype=np.int64)
    g_proj[gid] = syn_proj
    inner_proj = []  # (splitter id, projection) of splitters above the leaves
    levels_of_src = np.zeros(N + n_inputs, dtype=np.int64)
    blocks = []  # (first splitter id, n neurons, input: ('src', s) or ('spl', id))
    n_spl = 0
    for s in split.tolist():
        k = int(k_of[s])
        levels = _tree_levels(k)
        levels_of_src[s] = len(levels)
        base = n_spl
        # ids: level 0 (leaves, in group order), then level 1, ...
        level_base = []
        for m in levels:
            level_base.append(n_spl)
            n_spl += m
        leaf_of_group[g_first[s] : g_first[s] + k] = np.arange(base, base + k)
        for li in range(1, len(levels)):  # an inner splitter serves the groups below it
            for i in range(levels[li]):
                inner_proj.append((level_base[li] + i, int(g_proj[g_first[s] + i * 256**li])))
        for li, m in enumerate(levels):
            nb = -(-m // 256)
            for bi in range(nb):
                first_id = level_base[li] + bi * 256
                cnt = min(256, m - bi * 256)
                feeder = ("src", s) if li == len(levels) - 1 else ("spl", level_base[li + 1] + bi)
                blocks.append((first_id, cnt, feeder))
    # pack blocks on splitter cores (next fit)
    spl_core = np.empty(n_spl, dtype=np.int64)
    spl_comp = np.empty(n_spl, dtype=np.int64)
    block_core = np.empty(len(blocks), dtype=np.int64)
    core, fill = n_lcores - 1, cap_n
    for bi, (first_id, cnt, _feeder) in enumerate(blocks):
        if fill + cnt > cap_n:
            core, fill = core + 1, 0
        spl_core[first_id : first_id + cnt] = core
        spl_comp[first_id : first_id + cnt] = np.arange(fill, fill + cnt)
        block_core[bi] = core
        fill += cnt
    n_cores = (core + 1) if blocks else n_lcores
    if profile.cores_per_chip is not None and n_cores > n_chips * profile.cores_per_chip:
        need = -(-n_cores // profile.cores_per_chip)
        raise NeuroError(
            f"network needs {n_cores} TrueNorth cores ({n_lcores} for populations, {n_cores - n_lcores} for "
            f"splitters) but {n_chips} chip(s) have {n_chips * profile.cores_per_chip} (use --chips {need})",
            source,
            "simulation.chips",
        )

    # ---------------------------------------------------------------- physical synapses
    P = N + n_spl  # physical neurons
    g_split = leaf_of_group >= 0
    syn_g = gid
    L = np.where(g_split, levels_of_src[g_src], 0)
    g_final = np.where(g_split, np.maximum(g_D - L, 1), g_D)
    g_extra = np.where(g_split, np.maximum(L + 1 - g_D, 0), 0)
    bad = (g_extra[syn_g] > 0) & strict
    if bad.any():
        e = int(np.flatnonzero(bad)[0])
        g = syn_g[e]
        s = int(g_src[g])
        pi = int(np.searchsorted(np.cumsum(pop_sizes), s, side="right"))
        local = s - (int(np.cumsum([0, *pop_sizes])[pi]))
        raise NeuroError(
            f"neuron {local} of population {pop_names[pi]!r} reaches {int(k_of[s])} axon groups (cores x "
            f"axon types x delays) through {int(L[g])} level(s) of splitter neurons, which take "
            f"{int(L[g])} tick(s): "
            f"a delay of {int(g_D[g])} tick(s) cannot be kept (needs >= {int(L[g]) + 1} ticks)",
            source,
            f"projections[{int(syn_proj[e])}].delay",
        )
    # logical synapses, re-sourced
    phys_src = np.where(src < N, src, P + (src - N))
    phys_src = np.where(g_split[syn_g], N + leaf_of_group[syn_g], phys_src)
    dcode = (g_final[syn_g] - 1).astype(np.int64)
    s_parts, t_parts = [phys_src], [tgt]
    y_parts, d_parts = [typ], [dcode]
    # splitter feeds: feeder -> every neuron of its block, type 0, 1 tick
    for first_id, cnt, feeder in blocks:
        fsrc = feeder[1] if feeder[0] == "src" else N + feeder[1]
        s_parts.append(np.full(cnt, fsrc, dtype=np.int64))
        t_parts.append(np.arange(N + first_id, N + first_id + cnt, dtype=np.int64))
        y_parts.append(np.zeros(cnt, dtype=np.int64))
        d_parts.append(np.zeros(cnt, dtype=np.int64))
    p_src = np.concatenate(s_parts)
    p_tgt = np.concatenate(t_parts)
    p_typ = np.concatenate(y_parts)
    p_d = np.concatenate(d_parts)
    spl_proj = np.zeros(n_spl, dtype=np.int64)
    leaves = np.flatnonzero(leaf_of_group >= 0)
    spl_proj[leaf_of_group[leaves]] = g_proj[leaves]
    for j, pj in inner_proj:
        spl_proj[j] = pj
    p_proj = np.concatenate([syn_proj.astype(np.int64), spl_proj[p_tgt[src.size :] - N]])

    # ---------------------------------------------------------------- placement tables
    phys_core = np.concatenate([core_of, spl_core])
    phys_comp = np.concatenate([comp_of, spl_comp])
    # destination core of every physical source's packets
    dest = np.full(P, -1, dtype=np.int64)  # one packet per spike (neurons)
    unsplit = (k_of[:N] == 1).nonzero()[0]
    dest[unsplit] = g_core[g_first[unsplit]]
    leaf_groups = np.flatnonzero(g_split)
    dest[N + leaf_of_group[leaf_groups]] = g_core[leaf_groups]
    for bi, (_first_id, _cnt, feeder) in enumerate(blocks):
        dest[feeder[1] if feeder[0] == "src" else N + feeder[1]] = block_core[bi]
    xy = np.array([profile.core_xy(c)[1:] for c in range(n_cores)], dtype=np.int64).reshape(-1, 2)
    n_src = P + n_inputs
    dest_cores = np.zeros(n_src, dtype=np.int64)
    hops_x = np.zeros(n_src, dtype=np.int64)
    hops_y = np.zeros(n_src, dtype=np.int64)
    has = dest >= 0
    dest_cores[:P] = has
    hx = np.abs(xy[dest[has], 0] - xy[phys_core[has], 0])
    hy = np.abs(xy[dest[has], 1] - xy[phys_core[has], 1])
    hops_x[:P][has] = hx
    hops_y[:P][has] = hy
    inp_g = g_src >= N
    if inp_g.any():
        ch = g_src[inp_g] - N
        dest_cores[P:] = np.bincount(ch, minlength=n_inputs)
        hops_x[P:] = np.bincount(ch, weights=np.abs(xy[g_core[inp_g], 0] + 1), minlength=n_inputs).astype(
            np.int64
        )
        hops_y[P:] = np.bincount(ch, weights=np.abs(xy[g_core[inp_g], 1]), minlength=n_inputs).astype(
            np.int64
        )
    tcore = phys_core[p_tgt]
    neurons = np.bincount(phys_core, minlength=n_cores)
    synapses = np.bincount(tcore, minlength=n_cores)
    in_axons = np.bincount(g_core, minlength=n_cores) + np.bincount(block_core, minlength=n_cores)
    out_axons = np.bincount(phys_core[has], minlength=n_cores)
    usage = {
        "neurons": neurons,
        "compartments": neurons.copy(),
        "synapses": synapses,
        "input_axons": in_axons,
        "output_axons": out_axons,
        "synapse_memory_bits": synapses.copy(),
    }
    core_pop = [name for name, p in zip(pop_names, parts, strict=True) for _ in range(p)]
    core_pop += [SPLITTER_POP] * (n_cores - n_lcores)
    ext = g_extra[syn_g]
    placement = TrueNorthPlacement(
        profile=profile,
        n_chips=n_chips,
        core_of=phys_core.astype(np.int32),
        compartment_of=phys_comp.astype(np.int32),
        core_pop=core_pop,
        usage=usage,
        src_dest_cores=dest_cores,
        src_hops_x=hops_x,
        src_hops_y=hops_y,
        n_logical_cores=n_lcores,
        splitters=n_spl,
        splitter_levels=int(levels_of_src.max(initial=0)),
        split_sources=int(split.size),
        extra_latency_synapses=int((ext > 0).sum()),
        extra_latency_max_ticks=int(ext.max(initial=0)),
        axon_groups=int(n_groups),
    )
    placement._syn_extra = ext  # per logical synapse, for the conversion report
    return PhysicalNetwork(P, p_src, p_tgt, p_typ, p_d, p_proj, placement)
