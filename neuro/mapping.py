"""Place a compiled network on the cores of a chip profile and count every per-core resource.

Each population gets cores of its own, split into contiguous, near-equal blocks of neurons.
The first split is the fewest cores that hold its compartments (two per neuron for a
dual-current population); a population whose cores exceed another limit (input axons,
output axons, synapse memory) is split further, until every core fits or a single neuron
already exceeds a limit, which is refused with a one-line error naming the limit.

Resources counted per core (Loihi conventions, see ``chips.py``):

* ``compartments``: neurons on the core x compartments per neuron;
* ``input_axons``: distinct spike sources (neurons or input channels) with a synapse on it;
* ``output_axons``: for every neuron on the core, the number of distinct cores it targets;
* ``synapse_memory_bits``: for every (source, core, projection) group of ``n`` synapses,
  ``64 * ceil((n * (weight_bits + delay_bits + index_bits) + 10 * ceil(n / 64)) / 64)`` with
  ``delay_bits = 6`` if the projection has a non-zero delay (else 0) and
  ``index_bits = clip(ceil(log2(compartments on the core)), 6, 12)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuro.chips import SYNAPSE_GROUP_HEADER_BITS, SYNAPSE_GROUP_SIZE, ChipProfile
from neuro.errors import NeuroError
from neuro.network import CompiledNetwork

RESOURCES = ("compartments", "input_axons", "output_axons", "synapse_memory_bits")


@dataclass
class Placement:
    """Where every neuron sits and what every core uses.

    Attributes
    ----------
    core_of : numpy.ndarray of int32
        Global core index of every neuron.
    compartment_of : numpy.ndarray of int32
        Index of the neuron within its core.
    core_pop : list of str
        Population held by each core.
    usage : dict of str -> numpy.ndarray
        Per-core resource counts (see :data:`RESOURCES`) and ``neurons``, ``synapses``.
    src_dest_cores, src_hops_x, src_hops_y : numpy.ndarray
        Per spike source: number of destination cores (messages per spike) and the summed
        mesh hops along x (east-west) and y (north-south) of those messages (dimension-order
        routing). External inputs enter from the host at mesh position (-1, 0).
    """

    profile: ChipProfile
    n_chips: int
    core_of: np.ndarray
    compartment_of: np.ndarray
    core_pop: list
    usage: dict
    src_dest_cores: np.ndarray
    src_hops_x: np.ndarray
    src_hops_y: np.ndarray

    @property
    def n_cores(self) -> int:
        return len(self.core_pop)

    def core_coords(self) -> np.ndarray:
        """(n_cores, 3) array of (chip, x, y)."""
        return np.array([self.profile.core_xy(c) for c in range(self.n_cores)], dtype=np.int64).reshape(-1, 3)

    def utilization(self) -> dict:
        """Per resource: used per core, the limit, and the peak fraction used."""
        out = {}
        for name, limit in self.profile.limits().items():
            used = self.usage[name]
            out[name] = {
                "used": used.tolist(),
                "limit": limit,
                "peak": int(used.max(initial=0)),
                "peak_fraction": (float(used.max(initial=0)) / limit) if limit else None,
            }
        return out

    def summary_lines(self) -> list[str]:
        """Extra lines for ``neuro map`` (a target's placement may add its own)."""
        return []

    def to_dict(self) -> dict:
        coords = self.core_coords()
        cores = []
        for c in range(self.n_cores):
            row = {
                "core": c,
                "chip": int(coords[c, 0]),
                "x": int(coords[c, 1]),
                "y": int(coords[c, 2]),
                "population": self.core_pop[c],
            }
            for key in ("neurons", "synapses", *RESOURCES):
                row[key] = int(self.usage[key][c])
            cores.append(row)
        return {
            "chip": self.profile.name,
            "chips": self.n_chips,
            "cores_used": self.n_cores,
            "limits": self.profile.limits(),
            "cores": cores,
        }


def _blocks(size: int, parts: int) -> np.ndarray:
    """Block index of each of ``size`` neurons split into ``parts`` near-equal blocks."""
    base, extra = divmod(size, parts)
    lens = np.full(parts, base, dtype=np.int64)
    lens[:extra] += 1
    return np.repeat(np.arange(parts, dtype=np.int32), lens)


def _layout(net: CompiledNetwork, parts: list[int]) -> tuple:
    core_of = np.empty(net.n_neurons, dtype=np.int32)
    comp_of = np.empty(net.n_neurons, dtype=np.int32)
    core_pop, first = [], 0
    for name, p in zip(net.pop_names, parts, strict=True):
        sl = net.pop_slice(name)
        blk = _blocks(sl.stop - sl.start, p)
        core_of[sl] = first + blk
        starts = np.searchsorted(blk, np.arange(p))
        comp_of[sl] = np.arange(sl.stop - sl.start) - starts[blk]
        core_pop += [name] * p
        first += p
    return core_of, comp_of, core_pop


def _segments(net: CompiledNetwork) -> tuple:
    """Every non-empty (source, projection) segment of the CSR rows, sorted by source (spec
    order within a source): ``(src, proj, start within the row, length)``, and the synapse
    bits of every projection (``weight_bits`` plus 6 delay bits when it has a non-zero delay)."""
    from neuro.construction import projection_max_delay

    prefix = np.zeros(net.n_sources, dtype=np.int64)
    src, proj, start, length = [], [], [], []
    for p, ((s0, s1, *_), cnt) in enumerate(zip(net.proj_ranges, net.proj_counts, strict=True)):
        keep = np.flatnonzero(cnt)
        src.append(s0 + keep)
        proj.append(np.full(keep.size, p, dtype=np.int64))
        start.append(prefix[s0 + keep])
        length.append(cnt[keep])
        prefix[s0:s1] += cnt
    cat = [
        np.concatenate(x).astype(np.int64) if x else np.zeros(0, dtype=np.int64)
        for x in (src, proj, start, length)
    ]
    order = np.argsort(cat[0], kind="stable")
    seg = tuple(x[order] for x in cat)
    max_delay = np.full(len(net.proj_ranges), -1, dtype=np.int64)
    projection_max_delay(net.indptr, net.delay, *seg, max_delay)
    bits = np.array(
        [pr.weight_bits + (6 if d > 0 else 0) for pr, d in zip(net.spec.projections, max_delay, strict=True)],
        dtype=np.int64,
    )
    return seg, bits


def empty_usage(core_of: np.ndarray, n_cores: int, comp_per_neuron: np.ndarray, profile, n_sources: int):
    """``(usage, index_bits, xy)`` of a layout before its synapses are counted.

    ``usage`` is the dict :func:`place_cores` reads: ``neurons`` and ``compartments`` per core
    filled in; ``synapses``, ``input_axons``, ``output_axons``, ``synapse_memory_bits`` (per
    core) and ``_routes`` (destinations, x hops, y hops per source) zeroed, for the caller's
    count to fill (:func:`_count` for a whole network, an MPI rank's streamed count in
    :mod:`neuro.parallel.construct`). ``index_bits``: synapse index bits per core,
    ``clip(ceil(log2(compartments)), 6, 12)``; ``xy``: each core's mesh position (x, y).
    """
    compartments = np.bincount(core_of, weights=comp_per_neuron, minlength=n_cores).astype(np.int64)
    index_bits = np.clip(np.ceil(np.log2(np.maximum(compartments, 2))), 6, 12).astype(np.int64)
    xy = np.array([profile.core_xy(c)[1:] for c in range(n_cores)], dtype=np.int64).reshape(-1, 2)
    usage = {"neurons": np.bincount(core_of, minlength=n_cores), "compartments": compartments}
    for key in ("synapses", "input_axons", "output_axons", "synapse_memory_bits"):
        usage[key] = np.zeros(n_cores, dtype=np.int64)
    usage["_routes"] = tuple(np.zeros(n_sources, dtype=np.int64) for _ in range(3))
    return usage, index_bits, xy


def _count(
    net: CompiledNetwork, core_of: np.ndarray, n_cores: int, comp_per_neuron: np.ndarray, segments, profile
) -> dict:
    from neuro.construction import core_usage

    seg, proj_bits = segments
    usage, index_bits, xy = empty_usage(core_of, n_cores, comp_per_neuron, profile, net.n_sources)
    core_usage(
        net.indptr,
        net.slot,
        net.n_neurons,
        *seg,
        proj_bits,
        core_of,
        index_bits,
        SYNAPSE_GROUP_HEADER_BITS,
        SYNAPSE_GROUP_SIZE,
        np.ascontiguousarray(xy[:, 0]),
        np.ascontiguousarray(xy[:, 1]),
        usage["synapses"],
        usage["synapse_memory_bits"],
        usage["input_axons"],
        usage["output_axons"],
        *usage["_routes"],
        np.zeros(n_cores, dtype=np.int64),
        np.full(n_cores, -1, dtype=np.int64),
        np.empty(n_cores, dtype=np.int64),
    )
    return usage


def place(net, profile: ChipProfile, n_chips: int = 1) -> Placement:
    """Place a compiled network on up to ``n_chips`` chips of ``profile`` the way its target
    places (:meth:`neuro.targets.base.Target.place`); raise if it does not fit."""
    return net.target.place(net, profile, n_chips)


def place_cores(net: CompiledNetwork, profile: ChipProfile, n_chips: int = 1, count=None) -> Placement:
    """Place a LIF network on up to ``n_chips`` chips of ``profile``, splitting each population
    over as many cores as its most used resource needs; raise if it does not fit.

    ``count(core_of, n_cores, comp_per_neuron)`` -> the usage of a layout (as ``_count``
    returns it) replaces counting ``net``'s synapse table (a network built without one:
    :mod:`neuro.parallel.construct`)."""
    comp_per_neuron = np.where(net.dual, 2, 1).astype(np.float64)
    sizes = [int(s.stop - s.start) for s in (net.pop_slice(p) for p in net.pop_names)]
    duals = [bool(net.dual[net.pop_slice(p)].any()) for p in net.pop_names]
    cap = profile.compartments_per_core
    parts = [
        1 if cap is None else max(1, -(-s * (2 if d else 1) // cap))
        for s, d in zip(sizes, duals, strict=True)
    ]
    limits = profile.limits()
    if count is None:
        segments = _segments(net)

        def count(core_of, n_cores, comp_per_neuron):
            return _count(net, core_of, n_cores, comp_per_neuron, segments, profile)

    for _ in range(64):
        core_of, comp_of, core_pop = _layout(net, parts)
        usage = count(core_of, len(core_pop), comp_per_neuron)
        grow = False
        first = 0
        for pi, (name, p) in enumerate(zip(net.pop_names, parts, strict=True)):
            worst, worst_res = 1.0, None
            for res, limit in limits.items():
                if limit is None:
                    continue
                peak = usage[res][first : first + p].max(initial=0)
                if peak / limit > worst:
                    worst, worst_res = peak / limit, res
            if worst_res is not None:
                if p >= sizes[pi]:
                    raise NeuroError(
                        f"population {name!r} does not fit a {profile.name} core even one neuron per core: "
                        f"{worst_res.replace('_', ' ')} needed {int(worst * limits[worst_res])} > limit "
                        f"{limits[worst_res]}",
                        net.spec.source,
                        "populations",
                    )
                parts[pi] = min(sizes[pi], max(p + 1, int(np.ceil(p * worst))))
                grow = True
            first += p
        if not grow:
            break
    n_cores = len(core_pop)
    if profile.cores_per_chip is not None and n_cores > n_chips * profile.cores_per_chip:
        need = -(-n_cores // profile.cores_per_chip)
        raise NeuroError(
            f"network needs {n_cores} cores but {n_chips} {profile.name} chip(s) have "
            f"{n_chips * profile.cores_per_chip} (cores per chip limit; use --chips {need})",
            net.spec.source,
            "simulation.chips",
        )
    dest_cores, hops_x, hops_y = usage.pop("_routes")  # messages and mesh hops per source
    return Placement(profile, n_chips, core_of, comp_of, core_pop, usage, dest_cores, hops_x, hops_y)
