"""A worker's placement and sub-network built from the spec without the whole synapse table.

:func:`neuro.network.build_network` holds every synapse of the network before
:func:`neuro.parallel.subnet.build_subnet` keeps a worker's share. A worker (an MPI rank, or
a thread of ``neuro run --threads``) instead builds its share directly, with the same draws,
by streaming the projections: each one is drawn by
:func:`neuro.connectivity.build_projection` in spec order from the run's generator, reduced,
and freed before the next.

1. **Populations**: ``v_init`` and ``bias`` drawn as :func:`~neuro.network.build_network` draws
   them; the generator's state after them, :math:`g_0`, is kept.
2. **Placement** (pass 1): from :math:`g_0` every projection is drawn and reduced to what
   :func:`neuro.mapping.place_cores` counts for a layout — per (source, core) group of a
   projection its synapses and synapse memory, per distinct (source, core) pair an input axon,
   an output axon, a destination and its mesh hops (integer sums, exact in any order) — and,
   the first time, to the facts needed for the whole network: synapses per source and
   projection (the CSR row pointers), the weight exponent and the largest delay of every
   projection. When a population must be split further the pass is repeated for the new
   layout (placement converges in one pass when the first split fits).
3. **Partition** (:mod:`neuro.parallel.partition`), as for the whole network.
4. **Share** (pass 2): from :math:`g_0` again every projection is redrawn (the same values:
   the same generator states, the same weight discretization over the whole projection); the
   worker keeps the synapses onto its neurons (in the sub-network numbering of
   :mod:`neuro.parallel.subnet`, in the whole network's CSR order within a source's row),
   records which workers the synapses of its own neurons reach and the inter-chip (source,
   core) pairs it receives, and (learning) every kept synapse's position in the whole CSR. The
   generator is then where :func:`~neuro.network.build_network` leaves it: the learning key
   and the run's Poisson draws follow unchanged.

Memory per worker: its share of synapses (staged, then one CSR; staging blocks are released
as the CSR is filled, as in :func:`~neuro.network.build_network`), per-source and per-neuron
arrays of the whole network, and one projection's synapses at a time with their reductions.
Time: every worker draws every synapse twice (three or more times when placement splits a
population further), so construction time does not shrink with the number of workers.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from numba import njit

from neuro.chips import SYNAPSE_GROUP_HEADER_BITS, SYNAPSE_GROUP_SIZE, get_profile
from neuro.connectivity import build_projection
from neuro.construction import scatter_rows
from neuro.errors import NeuroError
from neuro.mapping import empty_usage, place_cores
from neuro.network import (
    CompiledNetwork,
    IndexSpace,
    _Staging,
    discretize_projection,
    draw_learning_key,
    draw_populations,
    index_layout,
    resolve_seed,
)
from neuro.parallel.partition import worker_of_neuron
from neuro.parallel.subnet import SubNetwork, local_network


@njit(cache=True, nogil=True)
def projection_groups(
    counts, post, post0, src0, core_of, bits, index_bits, header_bits, group_size, synapses, mem,
    pair_src, pair_core,
):  # fmt: skip
    """Add one projection's (source, core) groups to the per-core ``synapses`` and synapse
    memory ``mem``; write each group's (source, core) to ``pair_src``, ``pair_core``; return
    the number of groups.

    The synapses come sorted by pre (``counts[i]`` for source ``src0 + i``), then post (neuron
    ``post0 + post[j]``); a population's cores hold contiguous blocks of its neurons in
    ascending order, so a group is a run of one core within a source's synapses. A group of
    ``g`` synapses takes ``64 * ceil((g * (bits + index_bits[core]) + header_bits *
    ceil(g / group_size)) / 64)`` bits (:func:`neuro.construction.core_usage`).
    """
    j = 0
    k = 0
    for i in range(counts.size):
        end = j + counts[i]
        while j < end:
            c = core_of[post0 + post[j]]
            g = 0
            while j < end and core_of[post0 + post[j]] == c:
                g += 1
                j += 1
            b = g * (bits + index_bits[c]) + header_bits * ((g + group_size - 1) // group_size)
            mem[c] += 64 * ((b + 63) // 64)
            synapses[c] += g
            pair_src[k] = src0 + i
            pair_core[k] = c
            k += 1
    return k


@njit(cache=True, nogil=True)
def split_projection(
    counts, post, post0, src0, n, slot_base, loc_index, worker_of, me, core_of, chip_of_core,
    needed_by, kept_counts, kept_slot, kept_index, inter_src, inter_core,
):  # fmt: skip
    """Worker ``me``'s part of one projection (synapses as in :func:`projection_groups`).

    Every synapse from a local neuron marks ``needed_by[local source, worker of its target]``.
    A synapse onto a local neuron ``t`` is kept: ``kept_counts[i] += 1`` for its source,
    ``kept_slot = slot_base + loc_index[t]``, ``kept_index`` its index in the projection; a
    kept synapse from a neuron whose core lies on another chip than the target's core adds
    that (source, core) once per run of one core to ``inter_src``, ``inter_core``.
    Returns ``(kept, inter pairs)``.
    """
    j = 0
    k = 0
    q = 0
    for i in range(counts.size):
        s = src0 + i
        ls = loc_index[s] if s < n else -1
        s_chip = chip_of_core[core_of[s]] if s < n else -1
        last = -1
        for _m in range(counts[i]):
            t = post0 + post[j]
            w = worker_of[t]
            if ls >= 0:
                needed_by[ls, w] = True
            if w == me:
                kept_counts[i] += 1
                kept_slot[k] = slot_base + loc_index[t]
                kept_index[k] = j
                k += 1
                c = core_of[t]
                if s < n and c != last:
                    last = c
                    if chip_of_core[c] != s_chip:
                        inter_src[q] = s
                        inter_core[q] = c
                        q += 1
            j += 1
    return k, q


class _Layout(IndexSpace):
    """The index space of the spec (what :func:`neuro.mapping.place_cores` lays out)."""

    def __init__(self, spec, pop_offsets, input_offsets, spike_inputs, dual):
        self.spec, self.pop_offsets, self.input_offsets, self.dual = spec, pop_offsets, input_offsets, dual
        self.pop_names = [p.name for p in spec.populations]
        self.input_names = [s.name for s in spike_inputs]


class _Stream:
    """The projections drawn again and again from the generator state after the populations."""

    def __init__(self, net, target, regs, rng, layout: _Layout):
        self.net, self.target, self.regs, self.rng, self.layout = net, target, regs, rng, layout
        self.start = rng.bit_generator.state
        names = layout.pop_names + layout.input_names
        starts = list(layout.pop_offsets[:-1]) + list(layout.input_offsets[:-1])
        self.offset = {k: int(v) for k, v in zip(names, starts, strict=True)}
        self.facts = None  # filled by the first pass: proj_ranges, proj_counts, weight_exps, delays
        sets = [(p.pre, p.post) for p in net.projections]
        # projections sharing (pre, post) share (source, core) pairs: counted once, at the last
        self.shares = Counter(sets)
        self.last_of_set = {s: i for i, s in enumerate(sets)}

    def projections(self):
        """Yield ``(i, synapses)`` of every projection in spec order from the kept state."""
        self.rng.bit_generator.state = self.start
        for i in range(len(self.net.projections)):
            yield i, build_projection(self.net, i, self.rng)

    def _record(self, i: int, syn) -> None:
        """The whole network's facts about projection ``i`` (first pass)."""
        net = self.net
        proj = net.projections[i]
        _w, e, d_lo, d_hi = discretize_projection(net, self.target, self.regs, i, syn)
        src0, post0 = self.offset[proj.pre], self.offset[proj.post]
        f = self.facts
        f["proj_ranges"].append(
            (src0, src0 + syn.counts.size, post0, post0 + net.population(proj.post).size, syn.size)
        )
        f["proj_counts"].append(syn.counts)
        f["weight_exps"].append(e)
        f["delay"].append((d_lo, d_hi))

    def count(self, core_of, n_cores, comp_per_neuron, profile) -> dict:
        """The usage of a layout as :func:`neuro.mapping.place_cores` needs it (``_count``)."""
        net, lay = self.net, self.layout
        n, n_src = lay.n_neurons, lay.n_sources
        usage, index_bits, xy = empty_usage(core_of, n_cores, comp_per_neuron, profile, n_src)
        synapses, mem = usage["synapses"], usage["synapse_memory_bits"]
        input_axons, output_axons = usage["input_axons"], usage["output_axons"]
        dest, hops_x, hops_y = usage["_routes"]
        core_x, core_y = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
        pending: dict = {}
        first = self.facts is None
        if first:
            self.facts = {"proj_ranges": [], "proj_counts": [], "weight_exps": [], "delay": []}

        def add_pairs(src, core, src0, n_pre):
            input_axons[:] += np.bincount(core, minlength=n_cores)
            dest[src0 : src0 + n_pre] += np.bincount(src - src0, minlength=n_pre)
            if src0 < n:  # neurons: an output axon of their core, hops from it
                sc = core_of[src]
                output_axons[:] += np.bincount(sc, minlength=n_cores)
                sx, sy = core_x[sc], core_y[sc]
            else:  # input channels enter from the host at (-1, 0)
                sx, sy = -1, 0
            for out, d in ((hops_x, np.abs(core_x[core] - sx)), (hops_y, np.abs(core_y[core] - sy))):
                hops = np.bincount(src - src0, weights=d, minlength=n_pre)  # integers < 2**53: exact
                out[src0 : src0 + n_pre] += hops.astype(np.int64)

        for i, syn in self.projections():
            if first:
                self._record(i, syn)
            proj = net.projections[i]
            d_hi = self.facts["delay"][i][1]
            bits = proj.weight_bits + (6 if syn.size and d_hi > 0 else 0)
            src0, post0, n_pre = self.offset[proj.pre], self.offset[proj.post], syn.counts.size
            pair_src = np.empty(syn.size, dtype=np.int64)
            pair_core = np.empty(syn.size, dtype=np.int64)
            k = projection_groups(
                syn.counts, syn.post, post0, src0, core_of, bits, index_bits, SYNAPSE_GROUP_HEADER_BITS,
                SYNAPSE_GROUP_SIZE, synapses, mem, pair_src, pair_core,
            )  # fmt: skip
            del syn
            key = (proj.pre, proj.post)
            if self.shares[key] == 1:
                add_pairs(pair_src[:k], pair_core[:k], src0, n_pre)
            else:
                pending.setdefault(key, []).append(pair_src[:k] * n_cores + pair_core[:k])
                if self.last_of_set[key] == i:
                    pairs = np.unique(np.concatenate(pending.pop(key)))
                    add_pairs(pairs // n_cores, pairs % n_cores, src0, n_pre)
            del pair_src, pair_core
        return usage


def build_worker(net, n_workers: int, me: int, seed: int | None = None):
    """Worker ``me`` of ``n_workers``: ``(full, placement, sub)``, as
    :func:`~neuro.network.compile_network`, :func:`~neuro.mapping.place` and
    :func:`~neuro.parallel.subnet.build_subnet` give them, except that ``full`` has no
    synapse table (``slot``, ``weight``, ``delay`` empty; ``indptr``, ``proj_ranges``,
    ``proj_counts``, ``weight_exps``, ``max_delay`` are the whole network's) and ``sub.net``
    keeps its projections (``proj_ranges``, ``proj_counts``, ``weight_exps``) also when the
    network does not learn. See the module docstring."""
    from neuro.targets import get_target
    from neuro.targets.lif import LifTarget

    target = get_target(net.simulation.arithmetic)
    if not isinstance(target, LifTarget):
        raise NeuroError(
            f"running on several MPI ranks needs a LIF target (float or loihi), not {target.name}",
            net.source,
            "simulation.arithmetic",
        )
    target.check(net)
    seed = resolve_seed(seed if seed is not None else net.simulation.seed)
    rng = np.random.default_rng(seed)
    pop_offsets, input_offsets, spike_inputs = index_layout(net)
    v_init, biases, regs = draw_populations(net, target, rng)
    dual = np.concatenate([np.full(p.size, p.dual_current) for p in net.populations])
    layout = _Layout(net, pop_offsets, input_offsets, spike_inputs, dual)
    stream = _Stream(net, target, regs, rng, layout)
    profile = get_profile(net.simulation.chip)

    def count(core_of, n_cores, comp_per_neuron):
        return stream.count(core_of, n_cores, comp_per_neuron, profile)

    placement = place_cores(layout, profile, net.simulation.chips, count=count)
    facts = stream.facts
    n_src = layout.n_sources
    counts = np.zeros(n_src, dtype=np.int64)
    for (s0, s1, *_), cnt in zip(facts["proj_ranges"], facts["proj_counts"], strict=True):
        counts[s0:s1] += cnt
    indptr = np.zeros(n_src + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    del counts
    sizes = [r[4] for r in facts["proj_ranges"]]
    max_delay = max([hi for (_lo, hi), size in zip(facts["delay"], sizes, strict=True) if size], default=0)
    wdtype = target.weight_dtype
    full = CompiledNetwork(
        spec=net,
        target=target,
        arithmetic=target.name,
        seed=seed,
        dt=net.simulation.dt,
        pop_names=layout.pop_names,
        pop_offsets=pop_offsets,
        input_names=layout.input_names,
        input_offsets=input_offsets,
        indptr=indptr,
        slot=np.zeros(0, dtype=np.int32),
        weight=np.zeros(0, dtype=wdtype),
        delay=np.zeros(0, dtype=np.uint8),
        max_delay=int(max_delay),
        params=target.params(net, regs, biases),
        v_init=None,
        i_init=None,
        pop_registers=regs,
        proj_ranges=facts["proj_ranges"],
        weight_exps=facts["weight_exps"],
        dual=dual,
        proj_counts=facts["proj_counts"],
        learning_key=0,
        rng=rng,
    )
    full.v_init, full.i_init = target.initial_state(net, regs, v_init)
    del v_init, biases
    worker_of = worker_of_neuron(placement, n_workers)
    sub = _share(stream, full, placement, worker_of, n_workers, me)
    full.learning_key = draw_learning_key(rng)  # after every synapse, as build_network draws it
    sub.net.learning_key = full.learning_key
    return full, placement, sub


def _share(stream: _Stream, full: CompiledNetwork, placement, worker_of, n_workers: int, me: int):
    """Pass 2: worker ``me``'s sub-network (:class:`~neuro.parallel.subnet.SubNetwork`)."""
    net, target = stream.net, stream.target
    n, n_src = full.n_neurons, full.n_sources
    local = np.flatnonzero(worker_of == me).astype(np.int64)
    n_loc = local.size
    loc_index = np.full(n, -1, dtype=np.int64)
    loc_index[local] = np.arange(n_loc)
    core_of = placement.core_of
    chip_of_core = placement.core_coords()[:, 0].astype(np.int64)
    n_cores = chip_of_core.size
    learns = any(p.plasticity is not None for p in net.projections)
    needed_by = np.zeros((n_loc, n_workers), dtype=bool)
    kept_per_src = np.zeros(n_src, dtype=np.int64)
    prefix = np.zeros(n_src, dtype=np.int64)  # synapses of earlier projections in each source's row
    posts, weights, delays = _Staging(np.int32), _Staging(target.weight_dtype), _Staging(np.uint8)
    staged, kept_counts_of, inter_keys, positions = [], [], [], []
    for i, syn in stream.projections():
        proj = net.projections[i]
        s0, s1, p0, _p1, size = full.proj_ranges[i]
        if syn.size != size or not np.array_equal(syn.counts, full.proj_counts[i]):
            raise RuntimeError(f"projection {i} drew other synapses on the second pass")  # a bug, not input
        w, e, d_lo, d_hi = discretize_projection(net, target, stream.regs, i, syn)
        if e != full.weight_exps[i]:
            raise RuntimeError(f"projection {i} chose another weight exponent on the second pass")
        channel = target.synapse_channel(net, i, net.population(proj.post))
        kept_counts = np.zeros(s1 - s0, dtype=np.int64)
        kept_slot = np.empty(size, dtype=np.int32)
        kept_index = np.empty(size, dtype=np.int64)
        inter_src = np.empty(size, dtype=np.int64)
        inter_core = np.empty(size, dtype=np.int64)
        k, q = split_projection(
            syn.counts, syn.post, p0, s0, n, channel * n_loc, loc_index, worker_of, me, core_of, chip_of_core,
            needed_by, kept_counts, kept_slot, kept_index, inter_src, inter_core,
        )  # fmt: skip
        idx = kept_index[:k]
        one_delay = d_lo == d_hi
        staged.append(
            (
                s0,
                kept_counts,
                posts.append(kept_slot[:k]),
                weights.append(w[idx]),
                np.array([d_lo], dtype=np.uint8) if one_delay else delays.append(syn.delay[idx]),
                0 if one_delay else 1,
                k,
            )
        )
        kept_counts_of.append(kept_counts)
        kept_per_src[s0:s1] += kept_counts
        if q:
            inter_keys.append(inter_src[:q] * n_cores + inter_core[:q])
        if learns:  # CSR position = row start + earlier projections' synapses + index within the row
            row0 = full.indptr[s0:s1] + prefix[s0:s1] - (np.cumsum(syn.counts) - syn.counts)
            positions.append(row0[np.repeat(np.arange(s1 - s0), kept_counts)] + idx)
        prefix[s0:s1] += syn.counts
        del syn, w, kept_slot, kept_index, inter_src, inter_core, idx
    del prefix

    mirrors = np.flatnonzero(kept_per_src).astype(np.int64)
    sub_indptr = np.zeros(n_loc + mirrors.size + 1, dtype=np.int64)
    np.cumsum(kept_per_src[mirrors], out=sub_indptr[n_loc + 1 :])
    nnz = int(sub_indptr[-1])
    fill = np.zeros(n_src, dtype=np.int64)  # next free position of every mirror's row, by global source
    fill[mirrors] = sub_indptr[n_loc:-1]
    slot = np.empty(nnz, dtype=np.int32)
    weight = np.empty(nnz, dtype=target.weight_dtype)
    delay = np.empty(nnz, dtype=np.uint8)
    for s0, cnt, post_at, w_at, d_at, d_step, k in staged:
        scatter_rows(
            fill, s0, cnt, posts.take(post_at, k), 0, weights.take(w_at, k),
            delays.take(d_at, k) if d_step else d_at, d_step, slot, weight, delay,
        )  # fmt: skip
    staged.clear()
    for column in (posts, weights, delays):
        column.blocks.clear()
    del fill

    inter = np.zeros(n_src, dtype=np.int64)
    if inter_keys:
        pairs = np.unique(np.concatenate(inter_keys))
        inter = np.bincount(pairs // n_cores, minlength=n_src)
    # projections in sub-network numbering (see neuro.parallel.subnet.build_subnet)
    proj_ranges, proj_counts = [], []
    for (s0, s1, p0, p1, _n), kept_counts in zip(full.proj_ranges, kept_counts_of, strict=True):
        m0, m1 = np.searchsorted(mirrors, [s0, s1])
        l0, l1 = np.searchsorted(local, [p0, p1])
        cnt = kept_counts[mirrors[m0:m1] - s0]
        proj_ranges.append((n_loc + int(m0), n_loc + int(m1), int(l0), int(l1), int(cnt.sum())))
        proj_counts.append(cnt)
    sub_net = local_network(full, local, mirrors, (sub_indptr, slot, weight, delay), proj_ranges, proj_counts)
    global_pos = np.sort(np.concatenate(positions)) if learns and positions else None
    return SubNetwork(sub_net, local, mirrors, needed_by, inter[mirrors], global_pos)
