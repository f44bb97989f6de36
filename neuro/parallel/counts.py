"""The ledger's synapse counts of a network that no worker holds whole, summed over workers.

A worker built by :mod:`neuro.parallel.construct` holds only the synapses onto its neurons.
What the ledger (:func:`neuro.energy.ledger.build_ledger`) and NeuroBench's counts
(:mod:`neuro.energy.neurobench`) read from the whole synapse table splits exactly by the
synapse's target, hence by worker:

* a (source, projection, core) group lies on the core's worker: per core and per projection
  the ``sop``, ``synaptic_events`` and ``weight_words`` are sums over groups of
  :math:`c_s \\times` (non-zero weights, synapses, words), :math:`c_s` the source's spike
  count summed over workers;
* a (pre, post) pair of a projection lies on the post neuron's worker: its summed weight (in
  the table's order, so the same float sum) is non-zero or not there, and ``dense_nonzero``
  and ``effective_acs`` :math:`= \\sum_s c_s \\cdot \\text{nonzero pairs of } s` add up;
* ``n_synapses`` and ``zero_weights`` are counts.

Every worker computes its part from its sub-network (with its final, possibly learned,
weights) and the parts are summed exactly (``group.sum_inplace`` of int64).
"""

from __future__ import annotations

import numpy as np

from neuro.energy.ledger import synapse_event_sums, synapse_groups
from neuro.energy.neurobench import dense_tables


def synapse_sums(group, sub, full, placement, spike_count: np.ndarray) -> dict:
    """The whole network's synapse counts for the ledger (every worker calls it; see module
    docstring). ``spike_count``: every source's spikes summed over workers."""
    n_cores, n_proj = placement.n_cores, len(full.spec.projections)
    net = sub.net
    glob = np.concatenate([sub.local, sub.mirrors])  # global index of every sub-network source
    g = synapse_groups(net, np.ascontiguousarray(placement.core_of[sub.local]), n_cores)
    g["src"] = glob[g["src"]]
    ev = synapse_event_sums(g, spike_count, n_cores, n_proj)
    del g
    _entries, _nonzero, per_sub_source = dense_tables(net)
    nonzero = np.zeros(full.n_sources, dtype=np.int64)
    nonzero[glob] = per_sub_source
    parts = [ev["cores"][k] for k in ("sop", "synaptic_events", "weight_words")]
    parts += [ev["projections"][k] for k in ("sop", "synaptic_events", "weight_words")]
    scalars = [
        net.n_synapses,
        int(np.count_nonzero(net.weight == 0)),
        int(nonzero.sum()),
        int(np.asarray(spike_count, dtype=np.int64) @ nonzero),
    ]
    vec = np.concatenate([*parts, np.array(scalars, dtype=np.int64)]).astype(np.int64)
    group.sum_inplace(vec)
    c, p = n_cores + 1, n_proj
    cut = np.cumsum([0, c, c, c, p, p, p])
    pieces = [vec[cut[i] : cut[i + 1]] for i in range(6)]
    n_syn, zero, dense_nonzero, effective_acs = (int(x) for x in vec[cut[-1] :])
    table = (full.indptr, full.slot, full.weight, full.delay)
    return {
        "cores": dict(zip(("sop", "synaptic_events", "weight_words"), pieces[:3], strict=True)),
        "projections": dict(zip(("sop", "synaptic_events", "weight_words"), pieces[3:], strict=True)),
        "n_synapses": n_syn,
        "zero_weights": zero,
        "dense_entries": sum((s1 - s0) * (p1 - p0) for s0, s1, p0, p1, _n in full.proj_ranges),
        "dense_nonzero": dense_nonzero,
        "effective_acs": effective_acs,
        # the whole table's bytes: indptr, then slot, weight and delay of every synapse
        "table_bytes": full.indptr.nbytes + n_syn * sum(a.itemsize for a in table[1:]),
    }
