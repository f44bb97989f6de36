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
source's row they keep their order. Built source block by source block, so the temporary
memory stays bounded.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from neuro.network import CompiledNetwork

BLOCK_SYNAPSES = 1 << 23


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
    indptr = full.indptr
    kept_per_src = np.zeros(full.n_sources, dtype=np.int64)
    needed_by = np.zeros((n_loc, n_workers), dtype=bool)
    inter = np.zeros(full.n_sources, dtype=np.int64)
    n_cores = int(chip_of_core.size)
    n_proj = len(full.proj_ranges)
    learns = any(p.plasticity is not None for p in full.spec.projections)
    # kept synapses per projection and source (only a learning network needs projections)
    proj_count = np.zeros((n_proj if learns else 0, full.n_sources), dtype=np.int64)
    positions = []
    parts = []
    s0 = 0
    while s0 < full.n_sources:
        s1 = int(np.searchsorted(indptr, indptr[s0] + BLOCK_SYNAPSES, side="right")) - 1
        s1 = min(max(s1, s0 + 1), full.n_sources)
        a, b = int(indptr[s0]), int(indptr[s1])
        slot = full.slot[a:b]
        tgt = slot % n
        src = np.repeat(np.arange(s0, s1, dtype=np.int64), np.diff(indptr[s0 : s1 + 1]))
        from_local = src < n
        from_local[from_local] = loc_index[src[from_local]] >= 0
        needed_by[loc_index[src[from_local]], worker_of[tgt[from_local]]] = True
        keep = loc_index[tgt] >= 0
        kept_per_src[s0:s1] = np.bincount(src[keep] - s0, minlength=s1 - s0)
        if learns and n_proj:
            pid = full.projection_ids(s0, s1)[keep]
            key = pid * (s1 - s0) + (src[keep] - s0)
            proj_count[:, s0:s1] = np.bincount(key, minlength=n_proj * (s1 - s0)).reshape(n_proj, s1 - s0)
        if learns:
            positions.append(a + np.flatnonzero(keep))
        nsrc = keep & (src < n)
        pairs = np.unique(src[nsrc] * n_cores + core_of[tgt[nsrc]])
        p_src, p_core = np.divmod(pairs, n_cores)
        other = chip_of_core[p_core] != chip_of_core[core_of[p_src]]
        inter[s0:s1] = np.bincount(p_src[other] - s0, minlength=s1 - s0)
        new_slot = ((slot[keep] // n) * n_loc + loc_index[tgt[keep]]).astype(np.int32)
        parts.append((new_slot, full.weight[a:b][keep], full.delay[a:b][keep]))
        s0 = s1
    mirrors = np.flatnonzero(kept_per_src).astype(np.int64)
    sub_indptr = np.zeros(n_loc + mirrors.size + 1, dtype=np.int64)
    np.cumsum(kept_per_src[mirrors], out=sub_indptr[n_loc + 1 :])
    sub_indptr[: n_loc + 1] = 0

    def cat(i, dtype):
        return np.concatenate([p[i] for p in parts]) if parts else np.zeros(0, dtype=dtype)

    slot, weight, delay = cat(0, np.int32), cat(1, full.weight.dtype), cat(2, np.uint8)
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
    global_pos = np.concatenate(positions) if learns and positions else None
    return SubNetwork(net, local, mirrors, needed_by, inter[mirrors], global_pos)


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
