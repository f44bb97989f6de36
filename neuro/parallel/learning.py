"""Learning on a worker's sub-network: the engine's applier, called after the exchange.

Plastic synapses live with their post-synaptic neuron (in the sub-network of its worker). At
step ``k`` the applier sees the step's pre events as the mirror sources that spiked (local and
remote neurons, then inputs, in global order — the order in which the single-process engine
sees neuron spikes, then input spikes) and the post events as the local neurons that spiked,
so every synapse's weight and every trace a worker holds follow the single-process values.
In Loihi arithmetic the stochastic rounding's random bits are keyed by the whole network's
synapse position and source/neuron index (:func:`global_ids`), so they are the single-process
run's bits too, whatever the number of workers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neuro.dynamics.step import apply_learning


@njit(cache=True, nogil=True)
def learn_step(lrn, k, n, out_src, n_out, pre, slot, weight):
    """Apply the rules to step ``k``: post spikes ``out_src[:n_out]`` (local neurons), pre
    spikes ``pre`` (sub-network source indices)."""
    apply_learning(lrn, k, n, out_src, 0, n_out, pre, 0, pre.shape[0], slot, weight)


def global_ids(sub) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the learning tables of the sub-network ``sub`` (a
    :class:`~neuro.parallel.subnet.SubNetwork` of a learning network): the whole network's CSR
    position of each kept synapse, index of each sub-source (the local neurons, then the
    mirrors) and of each local neuron."""
    return sub.global_pos, np.concatenate([sub.local, sub.mirrors]), sub.local


def trace_updates(net, spike_count: np.ndarray) -> int:
    """Trace updates of the whole network, from its spike counts per source: every rule
    updates the pre trace of each spike of a source in its pre range and the post trace of
    each spike of a neuron in its post range (a worker that mirrors a source updates its own
    copy of the pre trace, so per-worker counts would count it once per worker)."""
    total = 0
    for (s0, s1, p0, p1, _n), proj in zip(net.proj_ranges, net.spec.projections, strict=True):
        if proj.plasticity is not None:
            total += int(spike_count[s0:s1].sum() + spike_count[p0:p1].sum())
    return total
