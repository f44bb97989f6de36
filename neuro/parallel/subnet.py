"""A worker's sub-network: its own neurons, and the synapses onto them.

The full network has neurons ``0..N-1`` and sources ``0..S-1`` (neurons, then input channels).
A worker owning the sorted neurons ``L`` gets a :class:`~neuro.network.CompiledNetwork` with

* neurons ``0..|L|-1`` = ``L`` (per-neuron constants and initial state sliced from the full
  network), and
* sources ``|L| + m`` for the *mirrors* ``M`` (sorted): every global source with a synapse
  onto ``L`` — local neurons, remote neurons and input channels alike. The local neurons'
  own CSR rows are empty: a step's spikes are delivered through the mirrors only, after the
  exchange, all together in ascending global source order — exactly the order in which the
  single-process engine adds them into the ring buffer (neurons ascending, then inputs), so
  float sums are bit-identical.

Only the synapses onto ``L`` are kept (memory per worker ∝ its share of synapses); within a
source's row they keep their order. :func:`build_subnet` cuts it out of a whole network by
compiled passes over the whole table (count, then fill); runs build it without the whole table
(:func:`neuro.parallel.construct.build_worker`), and the tests check the two agree.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numba import njit

from neuro.network import CompiledNetwork


@dataclass
class SubNetwork:
    """A worker's part of a compiled network.

    Attributes
    ----------
    net : CompiledNetwork
        The sub-network the engine steps (neurons ``L``, sources: ``L`` with empty rows, then
        the mirrors).
    local : numpy.ndarray of int64
        Global index of every local neuron (sorted).
    mirrors : numpy.ndarray of int64
        Global index of every mirror source (sorted); sub-source ``len(local) + m``.
    needed_by : numpy.ndarray of bool (len(local), n_workers)
        Whether worker ``q`` has a synapse from local neuron ``i`` (its spikes go to ``q``).
    inter_chip_cores : numpy.ndarray of int64
        Per mirror: local cores it reaches that lie on another chip than its own (0 for input
        channels); summed over workers, a spike's inter-chip messages.
    global_pos : numpy.ndarray of int64 or None
        Position in the full CSR of every kept synapse; kept only when the network learns (to
        put the learned weights back together).
    """

    net: CompiledNetwork
    local: np.ndarray
    mirrors: np.ndarray
    needed_by: np.ndarray
    inter_chip_cores: np.ndarray
    global_pos: np.ndarray | None = None

    def mirror_index(self, sources: np.ndarray) -> np.ndarray:
        """Sub-source indices of the sorted global ``sources`` that are mirrors (others dropped)."""
        pos = np.searchsorted(self.mirrors, sources)
        pos_c = np.minimum(pos, max(self.mirrors.size - 1, 0))
        hit = (pos < self.mirrors.size) & (self.mirrors[pos_c] == sources) if self.mirrors.size else pos < 0
        return pos[hit] + self.local.size


def build_subnet(
    full: CompiledNetwork,
    worker_of: np.ndarray,
    me: int,
    n_workers: int,
    core_of: np.ndarray,
    chip_of_core: np.ndarray,
) -> SubNetwork:
    """Worker ``me``'s sub-network of ``full`` (``worker_of``: worker of every neuron;
    ``core_of``: core of every neuron; ``chip_of_core``: chip of every core)."""
    n = full.n_neurons
    local = np.flatnonzero(worker_of == me).astype(np.int64)
    n_loc = local.size
    loc_index = np.full(n, -1, dtype=np.int64)
    loc_index[local] = np.arange(n_loc)
    n_cores = int(chip_of_core.size)
    n_proj = len(full.proj_ranges)
    learns = any(p.plasticity is not None for p in full.spec.projections)
    kept_per_src = np.zeros(full.n_sources, dtype=np.int64)
    needed_by = np.zeros((n_loc, n_workers), dtype=np.bool_)
    inter = np.zeros(full.n_sources, dtype=np.int64)
    # kept synapses per projection and source (only a learning network needs projections)
    proj_count = np.zeros((n_proj if learns else 0, full.n_sources), dtype=np.int64)
    core_of = np.ascontiguousarray(core_of, dtype=np.int64)
    chip_of_core = np.ascontiguousarray(chip_of_core, dtype=np.int64)
    worker_of = np.asarray(worker_of, dtype=np.int64)
    tables = (full.indptr, full.slot, n, worker_of, loc_index, core_of, chip_of_core)
    _count_kept(*tables, kept_per_src, needed_by, inter, np.full(n_cores, -1, dtype=np.int64))
    total = int(kept_per_src.sum())
    slot = np.empty(total, dtype=np.int32)
    weight = np.empty(total, dtype=full.weight.dtype)
    delay = np.empty(total, dtype=full.delay.dtype)
    positions = np.empty(total if learns else 0, dtype=np.int64)
    kept = (slot, weight, delay, positions)
    _fill_kept(full.indptr, full.slot, full.weight, full.delay, n, n_loc, loc_index, learns, *kept)
    if learns:
        sp_ptr, sp_proj, sp_cnt = full.row_segments()
        _count_projections(full.indptr, full.slot, n, loc_index, sp_ptr, sp_proj, sp_cnt, proj_count)
    mirrors = np.flatnonzero(kept_per_src).astype(np.int64)
    sub_indptr = np.zeros(n_loc + mirrors.size + 1, dtype=np.int64)
    np.cumsum(kept_per_src[mirrors], out=sub_indptr[n_loc + 1 :])
    sub_indptr[: n_loc + 1] = 0

    # projections in sub-network numbering: pre = the mirrors in its source range, post = the
    # local neurons in its neuron range (both contiguous, as both lists are sorted)
    proj_ranges, proj_counts = [], []
    for p, (s0, s1, p0, p1, _n) in enumerate(full.proj_ranges if learns else []):
        m0, m1 = np.searchsorted(mirrors, [s0, s1])
        l0, l1 = np.searchsorted(local, [p0, p1])
        cnt = proj_count[p, mirrors[m0:m1]]
        proj_ranges.append((n_loc + int(m0), n_loc + int(m1), int(l0), int(l1), int(cnt.sum())))
        proj_counts.append(cnt)
    del proj_count
    net = local_network(
        full, local, mirrors, (sub_indptr, slot, weight, delay), proj_ranges, proj_counts,
        pop_registers=full.pop_registers,  # per spec population (read by Loihi's learning tables)
        weight_exps=full.weight_exps if learns else [],
    )  # fmt: skip
    global_pos = positions if learns else None
    return SubNetwork(net, local, mirrors, needed_by, inter[mirrors], global_pos)


@njit(cache=True, nogil=True)
def _count_kept(indptr, slot, n, worker_of, me_index, core_of, chip_of_core, kept, needed_by, inter, stamp):
    """Per source: ``kept`` synapses onto the worker's neurons (``me_index[t] >= 0``), the workers its
    spikes reach (local neurons only), and the distinct cores on another chip that its kept
    synapses reach (neurons only; ``stamp``: scratch per core, all -1)."""
    for s in range(indptr.size - 1):
        own = s < n and me_index[s] >= 0
        for q in range(indptr[s], indptr[s + 1]):
            t = slot[q]
            while t >= n:  # slot = channel * n + target (no integer division: this loop is hot)
                t -= n
            if own:
                needed_by[me_index[s], worker_of[t]] = True
            if me_index[t] < 0:
                continue
            kept[s] += 1
            if s < n:
                c = core_of[t]
                if stamp[c] != s:
                    stamp[c] = s
                    if chip_of_core[c] != chip_of_core[core_of[s]]:
                        inter[s] += 1


@njit(cache=True, nogil=True)
def _fill_kept(indptr, slot, weight, delay, n, n_loc, me_index, learns, o_slot, o_weight, o_delay, o_pos):
    """The kept synapses in CSR order: slot renumbered to the worker's neurons
    (``channel * n_loc + local index``), weight, delay, and (learning) their global position."""
    k = 0
    for q in range(indptr[-1]):
        t = slot[q]
        channel = 0
        while t >= n:  # slot = channel * n + target
            t -= n
            channel += 1
        if me_index[t] < 0:
            continue
        o_slot[k] = channel * n_loc + me_index[t]
        o_weight[k] = weight[q]
        o_delay[k] = delay[q]
        if learns:
            o_pos[k] = q
        k += 1


@njit(cache=True, nogil=True)
def _count_projections(indptr, slot, n, me_index, sp_ptr, sp_proj, sp_cnt, proj_count):
    """``proj_count[p, s]``: kept synapses of projection ``p`` from source ``s``."""
    for s in range(indptr.size - 1):
        q = indptr[s]
        for e in range(sp_ptr[s], sp_ptr[s + 1]):
            for _ in range(sp_cnt[e]):
                t = slot[q]
                while t >= n:
                    t -= n
                if me_index[t] >= 0:
                    proj_count[sp_proj[e], s] += 1
                q += 1


def local_network(full, local, mirrors, csr, proj_ranges, proj_counts, **fields):
    """``full`` (a :class:`~neuro.network.CompiledNetwork`) as a worker's network: its neurons
    ``local`` (one population "local"), the sources ``mirrors`` after them (one input "mirrors"),
    the worker's CSR ``csr = (indptr, slot, weight, delay)``, per-neuron constants sliced, and
    its projections' ``proj_ranges``/``proj_counts``; ``fields`` replace further fields."""
    n_loc = local.size
    indptr, slot, weight, delay = csr
    return dataclasses.replace(
        full,
        pop_names=["local"],
        pop_offsets=np.array([0, n_loc], dtype=np.int64),
        input_names=["mirrors"],
        input_offsets=np.array([n_loc, n_loc + mirrors.size], dtype=np.int64),
        indptr=indptr,
        slot=slot,
        weight=weight,
        delay=delay,
        max_delay=int(delay.max()) if delay.size else 0,
        params={k: v[local] for k, v in full.params.items()},
        v_init=full.v_init[local],
        i_init=full.i_init[local],
        dual=full.dual[local],
        proj_ranges=proj_ranges,
        proj_counts=proj_counts,
        **fields,
    )


def min_remote_delay(sub: SubNetwork, worker_of: np.ndarray, me: int) -> int | None:
    """Smallest delay (steps) of a synapse onto worker ``me``'s neurons from a neuron of another
    worker (None when there is none): no spike of another worker emitted at step ``k`` reaches
    this worker's ring buffer before step ``k + 1 + min_remote_delay``."""
    net, n_loc = sub.net, sub.local.size
    if not sub.mirrors.size:
        return None
    per_mirror = np.minimum.reduceat(net.delay, net.indptr[n_loc:-1])  # every mirror row is non-empty
    n = worker_of.size
    remote = sub.mirrors < n
    remote[remote] = worker_of[sub.mirrors[remote]] != me
    return int(per_mirror[remote].min()) if remote.any() else None
