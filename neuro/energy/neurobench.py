"""NeuroBench's metrics of an SNN, computed as the ``neurobench`` package (v2.3.0) computes them.

NeuroBench measures a PyTorch model layer by layer: every connection layer holds a dense
``n_in x n_out`` weight matrix, every spiking layer a membrane potential. Here a projection is
a connection layer: its dense matrix :math:`W^{(p)}` (``n_pre x n_post``) has entry
:math:`W_{ij}` = the summed weight of the synapses from pre neuron ``i`` to post neuron ``j``
(0 where there is none). With :math:`T` the steps of one inference (sample), :math:`c_s` the
spikes of source ``s`` and :math:`P` the projections:

* ``Dense`` (``neurobench/metrics/workload/synaptic_operations.py``, ``SynapticOperations``
  with ``single_layer_MACs(total=True)``): every entry of every layer's matrix at every step,
  :math:`T \\sum_{p \\in P} n^{pre}_p n^{post}_p` per sample;
* ``Effective_ACs`` (same file, binary inputs): spikes times the non-zero entries of their
  row, :math:`\\sum_s c_s |\\{j : W^{(p)}_{sj} \\ne 0\\}|`, per sample;
* ``ConnectionSparsity`` (``neurobench/metrics/static/connection_sparsity.py``): zero entries
  of all dense matrices over all entries, rounded to 4 decimals;
* ``MembraneUpdates`` (``neurobench/metrics/workload/membrane_updates.py`` with the hooks of
  ``neurobench/hooks/neuron.py``): per sample, every neuron at the first step, then one per
  neuron and step whose membrane potential ``v`` changed during that step (currents are not
  counted); the engine counts it (:attr:`neuro.engine.Simulator.membrane`);
* ``Footprint`` (``neurobench/metrics/static/footprint.py``): bytes of the model's parameters
  and buffers, :math:`\\sum` numel x element size. Here: the arrays the emulator holds for one
  copy of the network, in its arithmetic: the synapse table (``indptr``, ``slot``,
  ``weight``, ``delay``), the per-neuron constants, and one copy's neuron state (ring buffer,
  ``v``, currents, refractory counters, thresholds).

The chip-level counts these names used to carry keep the project's own names in ``neuro
energy --json`` (see :mod:`neuro.energy.compare`).
"""

from __future__ import annotations

import numpy as np


def dense_tables(net) -> tuple[int, int, np.ndarray]:
    """``(entries, nonzero, nonzero_per_source)`` of the projections' dense matrices.

    ``entries`` = :math:`\\sum_p n^{pre}_p n^{post}_p`; ``nonzero`` = their non-zero entries
    (repeated synapses between one pair summed first); ``nonzero_per_source[s]`` = non-zero
    entries in source ``s``'s rows, over all projections leaving it (one compiled pass,
    :func:`neuro.construction.nonzero_entries`).
    """
    from neuro.construction import nonzero_entries

    entries = net.dense_entries()
    per_source = np.zeros(net.n_sources, dtype=np.int64)
    sp_ptr, sp_proj, sp_cnt = net.row_segments()
    nonzero_entries(net.indptr, net.slot, net.weight, net.n_neurons, sp_ptr, sp_proj, sp_cnt, per_source)
    return int(entries), int(per_source.sum()), per_source


def footprint_bytes(sim, table_bytes: int | None = None) -> int:
    """NeuroBench ``Footprint`` of ``sim``'s network (see module docstring): bytes of the
    synapse table (``table_bytes`` when ``sim.net`` does not hold it), the per-neuron
    constants and one copy's neuron state."""
    net = sim.net
    if table_bytes is None:
        table_bytes = sum(a.nbytes for a in (net.indptr, net.slot, net.weight, net.delay))
    total = int(table_bytes)
    total += sum(v.nbytes for v in sim.params.values() if isinstance(v, np.ndarray))
    total += sum(a.nbytes // max(1, sim.batch) for a in sim.state.values())
    return int(total)


def neurobench_counts(
    sim, spike_count: np.ndarray, membrane_updates: int, synapses: dict | None = None
) -> dict:
    """Ledger attributes behind NeuroBench's metrics for ``sim``'s network (the synapse
    table's counts from ``synapses`` when ``sim.net`` holds no table: ``dense_entries``,
    ``dense_nonzero``, ``effective_acs``, ``table_bytes``, summed over workers).

    Parameters
    ----------
    sim : Simulator
    spike_count : array of int, (n_sources,)
        Spikes of every source over the inferences the ledger covers.
    membrane_updates : int
        NeuroBench membrane updates over the same inferences.
    """
    if synapses is not None:
        return {
            "dense_entries": int(synapses["dense_entries"]),
            "dense_nonzero": int(synapses["dense_nonzero"]),
            "effective_acs": int(synapses["effective_acs"]),
            "membrane_updates": int(membrane_updates),
            "footprint_bytes": footprint_bytes(sim, synapses["table_bytes"]),
        }
    entries, nonzero, per_source = dense_tables(sim.net)
    return {
        "dense_entries": entries,
        "dense_nonzero": nonzero,
        "effective_acs": int(np.asarray(spike_count, dtype=np.int64) @ per_source),
        "membrane_updates": int(membrane_updates),
        "footprint_bytes": footprint_bytes(sim),
    }


def neurobench_metrics(attrs: dict, per_inference: dict, inferences: int) -> dict:
    """NeuroBench's names and values per inference from a ledger's ``attrs`` (None where the
    ledger predates the counts, e.g. a spikes.h5 from an older neuro)."""
    steps = attrs.get("update_rounds", 0) / inferences
    entries = attrs.get("dense_entries")

    def per(key):
        val = attrs.get(key)
        return None if val is None else val / inferences

    return {
        "Effective_ACs": per("effective_acs"),
        "Effective_MACs": 0.0,
        "Dense": None if entries is None else float(entries * steps),
        "MembraneUpdates": per("membrane_updates"),
        "ActivationSparsity": (1.0 - per_inference["spikes"] / per_inference["neuron_updates"])
        if per_inference["neuron_updates"]
        else 0.0,
        "ConnectionSparsity": None
        if not entries
        else round(1.0 - attrs.get("dense_nonzero", 0) / entries, 4),
        "Footprint": attrs.get("footprint_bytes"),
    }
