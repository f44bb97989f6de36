"""Partition a placement's cores into workers (MPI ranks or threads), balanced by work.

A worker steps whole cores: whole chips when there are at least as many chips as workers
(spikes between chips then cross the worker boundary, as they cross the chip boundary on the
mesh), otherwise whole cores. Units (chips or cores) are taken in placement order and cut
into ``R`` contiguous runs whose loads are as equal as the unit sizes allow, with

.. math:: \\text{load}(u) = \\text{synapses onto } u + \\text{neurons of } u

(per step a worker delivers the synapses onto its neurons and updates its neurons). Every
worker gets at least one unit while there are at least ``R`` units.
"""

from __future__ import annotations

import numpy as np

from neuro.mapping import Placement


def _cut(load: np.ndarray, parts: int) -> np.ndarray:
    """Boundaries ``b`` (length ``parts + 1``) of contiguous runs of ``load`` with near-equal sums."""
    n = load.size
    cum = np.concatenate([[0], np.cumsum(load, dtype=np.float64)])
    total = cum[-1]
    b = np.zeros(parts + 1, dtype=np.int64)
    b[-1] = n
    for i in range(1, parts):
        want = total * i / parts
        j = int(np.searchsorted(cum, want))  # first boundary at or past the ideal cut
        if j > 0 and want - cum[j - 1] < cum[min(j, n)] - want:
            j -= 1
        lo, hi = (b[i - 1] + 1, n - (parts - i)) if n >= parts else (b[i - 1], n)
        b[i] = min(max(j, lo), hi)
    return b


def partition_cores(placement: Placement, n_workers: int) -> np.ndarray:
    """Worker of every core (int64 array of length ``placement.n_cores``)."""
    n_cores = placement.n_cores
    load = placement.usage["synapses"].astype(np.float64) + placement.usage["neurons"]
    chip = placement.core_coords()[:, 0]
    chips = np.unique(chip)
    if chips.size >= n_workers:  # whole chips per worker
        chip_load = np.array([load[chip == c].sum() for c in chips])
        b = _cut(chip_load, n_workers)
        chip_worker = np.repeat(np.arange(n_workers), np.diff(b))
        return chip_worker[np.searchsorted(chips, chip)].astype(np.int64)
    b = _cut(load, n_workers)
    return np.repeat(np.arange(n_workers), np.diff(b))[:n_cores].astype(np.int64)


def worker_of_neuron(placement: Placement, n_workers: int) -> np.ndarray:
    """Worker of every neuron (through its core)."""
    return partition_cores(placement, n_workers)[placement.core_of]
