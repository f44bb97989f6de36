"""Learning on a worker's sub-network: the counters a mirrored trace would double-count.

Plastic synapses live with their post-synaptic neuron (in the sub-network of its worker). The
window kernel (:func:`neuro.parallel.window.deliver_window`) calls the engine's applier after a
step's deliveries with the step's pre events as the mirror sources that spiked (local and
remote neurons, then inputs, in global order — the order in which the single-process engine
sees neuron spikes, then input spikes) and the post events as the local neurons that spiked,
so every synapse's weight and every trace a worker holds follow the single-process values.
"""

from __future__ import annotations


def trace_updates(net, spike_count) -> int:
    """Trace updates of the whole network, from its spike counts per source: every rule
    updates the pre trace of each spike of a source in its pre range and the post trace of
    each spike of a neuron in its post range (a worker that mirrors a source updates its own
    copy of the pre trace, so per-worker counts would count it once per worker)."""
    total = 0
    for (s0, s1, p0, p1, _n), proj in zip(net.proj_ranges, net.spec.projections, strict=True):
        if proj.plasticity is not None:
            total += int(spike_count[s0:s1].sum() + spike_count[p0:p1].sum())
    return total
