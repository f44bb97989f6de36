"""NeuroBench's metrics by the ``neurobench`` package's definitions (v2.3.0), on hand-worked networks.

The package itself is not installed (it pulls torch, torchaudio, snntorch and tonic): each
expected value is worked out by hand from NeuroBench's code, as quoted in the comments.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from neuro.energy.compare import energy_comparison
from neuro.energy.neurobench import dense_tables, footprint_bytes
from neuro.engine import Simulator
from neuro.inputs import ScheduledInputs
from neuro.network import compile_network
from neuro.run import run_spec
from neuro.spec import Network

ARITHMETICS = ("float", "loihi")

# Input "stim" (3 channels) -> "a" (2 neurons) -> "b" (4 neurons), dt 1 ms.
#   stim -> a (list): (0,0) 4.0; (1,1) 0.4 and (1,1) -0.4 (two synapses that cancel); (2,0) 0.0
#   a -> b (list): (0,0) 0.7, (0,3) 0.7, (1,2) 0.0
# Dense matrices: 3 x 2 and 2 x 4 = 14 entries. Non-zero entries: stim row 0 -> 1, row 1 -> 0
# (0.4 - 0.4), row 2 -> 0; a row 0 -> 2, row 1 -> 0: 3 of 14, ConnectionSparsity = 11/14.
# Stored synapses: 4 + 3 = 7, of which 2 have weight 0 (the chip-level zero fraction 2/7).
STIM = [[1, 4, 9], [2, 5], [3]]  # spike steps of the 3 input channels


def tiny_spec(arithmetic="float", steps=20):
    return {
        "simulation": {"dt": 1.0, "steps": steps, "seed": 2, "arithmetic": arithmetic},
        "inputs": [{"name": "stim", "kind": "spike_times", "size": 3, "times": STIM}],
        "populations": [
            {"name": "a", "size": 2, "tau_mem": 10.0, "tau_syn": 3.0, "v_threshold": 0.5, "refractory": 3.0},
            {"name": "b", "size": 4, "tau_mem": 10.0, "tau_syn": 3.0, "v_threshold": 0.3},
        ],
        "projections": [
            {
                "pre": "stim",
                "post": "a",
                "connector": {"type": "list", "pairs": [[0, 0, 4.0], [1, 1, 0.4], [1, 1, -0.4], [2, 0, 0.0]]},
            },
            {
                "pre": "a",
                "post": "b",
                "connector": {"type": "list", "pairs": [[0, 0, 0.7], [0, 3, 0.7], [1, 2, 0.0]]},
            },
        ],
    }


@pytest.mark.parametrize("arithmetic", ARITHMETICS)
def test_dense_tables_by_hand(arithmetic):
    net = compile_network(Network.from_dict(tiny_spec(arithmetic)))
    entries, nonzero, per_source = dense_tables(net)
    assert (entries, nonzero) == (14, 3)
    # sources: a0, a1, b0..b3, then stim0..2 (inputs after the neurons)
    assert per_source.tolist() == [2, 0, 0, 0, 0, 0, 1, 0, 0]


@pytest.mark.parametrize("arithmetic", ARITHMETICS)
def test_spikes_h5_json_follows_neurobench(tmp_path, arithmetic):
    spec = tiny_spec(arithmetic)
    run_spec(Network.from_dict(spec), tmp_path / "run", progress=False)
    out = energy_comparison(tmp_path / "run" / "spikes.h5")
    snn = out["snn"]
    # Dense = T x sum of n_in * n_out (SynapticOperations, single_layer_MACs(total=True))
    assert snn["Dense"] == 20 * 14
    assert snn["stored_synapse_ops"] == 20 * 7  # the chip walks its 7 stored synapses
    # ConnectionSparsity: zero entries of the dense matrices, rounded to 4 decimals
    assert snn["ConnectionSparsity"] == round(11 / 14, 4)
    assert snn["zero_weight_fraction"] == round(2 / 7, 4)
    # Effective_ACs: every spike x the non-zero entries of its row. stim0 fires 3 times (1
    # entry each); stim1 (cancelled) and stim2 (zero) add nothing; a0's spikes reach 2 entries.
    a0 = int(np.sum(_spikes_of(tmp_path, "a") == 0))
    assert snn["Effective_ACs"] == 3 * 1 + 2 * a0
    # the chip's SOPs count the two cancelling synapses of stim1 (2 spikes x 2 synapses)
    assert snn["counts_per_inference"]["sop"] == 3 + 2 * 2 + 2 * a0
    assert a0 > 0
    assert snn["Effective_MACs"] == 0.0
    # MembraneUpdates: first step all 6 neurons, then steps where v changed (recounted below)
    assert snn["MembraneUpdates"] == _membrane_recount(spec)
    assert snn["MembraneUpdates"] <= snn["counts_per_inference"]["active_neuron_updates"] + 6
    assert snn["Footprint"] == footprint_bytes(Simulator(compile_network(Network.from_dict(spec))))
    assert snn["synapse_memory_bytes"] > 0
    json.dumps(out)  # JSON-ready


def _spikes_of(tmp_path, pop):
    from neuro.io.sonata import read_spikes

    return read_spikes(tmp_path / "run" / "spikes.h5")[pop].node_ids


def _membrane_recount(spec) -> int:
    """NeuroBench's MembraneUpdates by stepping one step at a time: 6 for the first step
    (membrane_updates.py adds ``post_fire_mem_potential[0].numel()``), then the neurons whose
    v differs after the step from before it (``count_nonzero(pre_fire_mem - post_fire_mem)``)."""
    sim = Simulator(compile_network(Network.from_dict(spec)))
    steps = spec["simulation"]["steps"]
    total = 0
    for k in range(steps):
        before = sim.state["v"][0].copy()
        sim.run(1)
        total += sim.net.n_neurons if k == 0 else int(np.count_nonzero(sim.state["v"][0] != before))
    return total


@pytest.mark.parametrize("arithmetic", ARITHMETICS)
def test_membrane_updates_count_v_changes_only(arithmetic):
    spec = tiny_spec(arithmetic, steps=300)  # longer than the counters' 255-step flush
    spec["inputs"][0]["times"] = [list(range(1, 290, 3)), list(range(2, 290, 7)), [3]]
    expect = _membrane_recount(spec)
    whole = Simulator(compile_network(Network.from_dict(spec)))
    whole.run(300)  # one kernel call (after the split first step)
    assert whole.counters()["membrane_updates"] == expect
    # refractory neurons keep v while their currents decay: active > membrane after step 0
    assert whole.counters()["active_neuron_updates"] > expect - whole.net.n_neurons


@pytest.mark.parametrize("arithmetic", ARITHMETICS)
def test_each_sample_counts_every_neuron_at_its_first_step(arithmetic):
    """The batched counting path, as the evaluation runs it: reset, then a presentation; each
    copy counts N at the first step of every presentation, then its v changes."""
    spec = tiny_spec(arithmetic, steps=40)
    net = compile_network(Network.from_dict(spec))
    n, ch = net.n_neurons, net.source_offset("stim")
    steps, src = [], []
    for c, ts in enumerate(STIM):
        steps += ts
        src += [ch + c] * len(ts)
    inputs = ScheduledInputs()
    # copy 0 gets the inputs, copy 1 none
    inputs.set_schedule(np.array(steps), np.zeros(len(steps), dtype=np.int64), np.array(src))
    sim = Simulator(net, batch=2, inputs=inputs, learning=False)
    counts = np.zeros((2, net.n_sources), dtype=np.int64)
    sim.run(40, counts=counts)
    one = _membrane_recount(tiny_spec(arithmetic, steps=40))
    assert sim.membrane[0].sum() == one
    quiet = sim.membrane[1].sum()
    assert quiet >= n  # at least the first step
    # a second sample after reset_state: again N at its first step, the same v changes
    sim.reset_state()
    inputs.set_schedule(np.array(steps) + 40, np.zeros(len(steps), dtype=np.int64), np.array(src))
    sim.run(40, counts=counts)
    assert sim.membrane[0].sum() == 2 * one
    assert sim.membrane[1].sum() == 2 * quiet
    # without a reset, step 40 is not a first step
    plain = Simulator(compile_network(Network.from_dict(spec)))
    plain.run(20)
    before = plain.membrane.sum()
    plain.run(1)
    assert plain.membrane.sum() - before <= n


def test_footprint_is_one_copys_arrays():
    """Footprint: bytes of parameters (synapse table, per-neuron constants) and one copy's
    state buffers; a synapse costs slot (int32) + weight (float64 / int32) + delay (uint8)."""
    spec = tiny_spec("float")
    sims = {b: Simulator(compile_network(Network.from_dict(spec)), batch=b, learning=False) for b in (1, 4)}
    assert footprint_bytes(sims[1]) == footprint_bytes(sims[4])
    more = tiny_spec("float")
    more["projections"][1]["connector"]["pairs"].append([1, 1, 0.2])  # one more synapse
    for arithmetic, per_syn in (("float", 4 + 8 + 1), ("loihi", 4 + 4 + 1)):
        s0 = tiny_spec(arithmetic)
        s1 = dict(more, simulation=dict(more["simulation"], arithmetic=arithmetic))
        f0 = footprint_bytes(Simulator(compile_network(Network.from_dict(s0))))
        f1 = footprint_bytes(Simulator(compile_network(Network.from_dict(s1))))
        assert f1 - f0 == per_syn


def test_a_ledger_without_the_counts_reports_none():
    """A spikes.h5 from before these counts: no value is made up under a NeuroBench name."""
    from neuro.energy.neurobench import neurobench_metrics

    m = neurobench_metrics({"update_rounds": 10}, {"spikes": 1.0, "neuron_updates": 10.0}, 1)
    for name in ("Dense", "Effective_ACs", "ConnectionSparsity", "MembraneUpdates", "Footprint"):
        assert m[name] is None, name
    assert m["ActivationSparsity"] == 0.9 and m["Effective_MACs"] == 0.0


@pytest.mark.parametrize("arithmetic", ARITHMETICS)
def test_dense_tables_equal_the_dense_matrices(arithmetic):
    """Against each projection's dense matrix built by numpy (np.add.at sums repeated pairs):
    a network with inputs, zero weights, two current channels and several projections."""
    from tests.energy_files import spec_dict

    net = compile_network(Network.from_dict(spec_dict(arithmetic)))
    entries, nonzero, per_source = dense_tables(net)
    expect = np.zeros(net.n_sources, dtype=np.int64)
    total = 0
    for p, pos in enumerate(net.projection_positions()):
        s0, s1, p0, p1, _ = net.proj_ranges[p]
        dense = np.zeros((s1 - s0, p1 - p0))
        src = np.searchsorted(net.indptr, pos, side="right") - 1
        np.add.at(dense, (src - s0, net.slot[pos] % net.n_neurons - p0), net.weight[pos].astype(np.float64))
        expect[s0:s1] += np.count_nonzero(dense, axis=1)
        total += dense.size
    assert (net.weight == 0).any() and len(net.proj_ranges) > 2
    assert per_source.tolist() == expect.tolist()
    assert (entries, nonzero) == (total, int(expect.sum()))
