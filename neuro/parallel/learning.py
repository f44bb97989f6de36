"""Learning on a worker's sub-network: whole-network random keys, and the counters a mirrored
trace would double-count.

Plastic synapses live with their post-synaptic neuron (in the sub-network of its worker). The
window kernel (:func:`neuro.parallel.window.deliver_window`) calls the engine's applier after a
step's deliveries with the step's pre events as the mirror sources that spiked (local and
remote neurons, then inputs, in global order — the order in which the single-process engine
sees neuron spikes, then input spikes) and the post events as the local neurons that spiked,
so every synapse's weight and every trace a worker holds follow the single-process values.
In Loihi arithmetic the stochastic rounding's random bits are keyed by the whole network's
synapse position and source/neuron index (:func:`global_ids`), so they are the single-process
run's bits too, whatever the number of workers.
"""

from __future__ import annotations

import numpy as np


def global_ids(sub) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the learning tables of the sub-network ``sub`` (a
    :class:`~neuro.parallel.subnet.SubNetwork` of a learning network): the whole network's CSR
    position of each kept synapse, index of each sub-source (the local neurons, then the
    mirrors) and of each local neuron."""
    return sub.global_pos, np.concatenate([sub.local, sub.mirrors]), sub.local


class TraceUpdates:
    """The learning engine's trace-update count of the whole network, counted on the workers
    so that the sum over workers is exact: each worker counts the events of the spike sources
    it owns — its own neurons' spikes, and on worker 0 the input spikes — for every rule whose
    pre range (pre traces) or post range (post traces) holds the source. A worker that mirrors
    a source updates its own copy of the pre trace, so the tables' own counts would count it
    once per worker; a source with no synapse onto a worker is not even seen there.

    In float arithmetic a trace updates at every event; in Loihi arithmetic (the tables have a
    learning ``epoch`` of E steps per rule) once per epoch in which its source spiked, counted
    when the epoch ends (the epochs ``e < steps // E``).
    """

    def __init__(self, net, tables):
        epochs = tables.arrays.get("epoch")  # Loihi: per rule; float learning has no epoch
        self.sides = []  # (first, end, epoch or None, last epoch counted per index or None)
        for r, (p, _pl) in enumerate(tables.rules):
            s0, s1, p0, p1, _n = net.proj_ranges[p]
            e = None if epochs is None else int(epochs[r])
            for lo, hi in ((s0, s1), (p0, p1)):
                self.sides.append((lo, hi, e, None if e is None else np.full(hi - lo, -1, dtype=np.int64)))
        self.events = 0

    def add(self, steps: np.ndarray, ids: np.ndarray) -> None:
        """Count the owned events ``ids`` (global source indices) at ``steps`` (non-decreasing
        from one call to the next)."""
        for lo, hi, e, last in self.sides:
            m = (ids >= lo) & (ids < hi)
            if e is None:
                self.events += int(m.sum())
                continue
            key = np.unique((ids[m] - lo) * (1 << 40) + steps[m] // e)  # (index, epoch) pairs, sorted
            idx, ep = key >> 40, key & ((1 << 40) - 1)
            self.events += int((ep != last[idx]).sum())  # an epoch seen in an earlier call counts once
            np.maximum.at(last, idx, ep)

    def total(self, steps: int) -> int:
        """Trace updates after ``steps`` steps (Loihi: of the epochs that ended)."""
        open_pairs = sum(int((last >= steps // e).sum()) for _lo, _hi, e, last in self.sides if e is not None)
        return self.events - open_pairs
