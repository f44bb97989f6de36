"""The operation ledger against an independent recount (spikes.h5 + connectivity + placement)."""

from __future__ import annotations

import numpy as np
import pytest

from neuro.chips import LOIHI, get_profile
from neuro.energy.ledger import (
    EVENTS,
    OFF_CORE,
    build_ledger,
    ledger_from_simulator,
    read_ledger,
    synapse_groups,
)
from neuro.engine import Simulator
from neuro.inputs import ScheduledInputs
from neuro.io.sonata import SpikeFile
from neuro.mapping import place
from neuro.network import compile_network
from neuro.run import run_spec
from neuro.spec import Network
from tests.energy_files import STEPS, input_spike_counts, recount, spec_dict

ARITHMETICS = ("float", "loihi")


def _spikes_from_file(path, net, spec) -> np.ndarray:
    """Spike count of every source: neurons from spikes.h5, inputs from the spec's times."""
    f = SpikeFile(path)
    out = np.zeros(net.n_sources, dtype=np.int64)
    for name, off in zip(net.pop_names, net.pop_offsets[:-1], strict=True):
        ids, _t = f.populations[name]
        out[off : off + net.pop_slice(name).stop - off] = np.bincount(
            ids, minlength=net.pop_slice(name).stop - off
        )
    out[net.n_neurons :] = input_spike_counts(spec)
    return out


@pytest.mark.parametrize("arithmetic", ARITHMETICS)
def test_stored_counts_equal_recount_from_spikes_h5(tmp_path, arithmetic):
    spec = spec_dict(arithmetic)
    res = run_spec(Network.from_dict(spec), tmp_path / "run", progress=False)
    ledger = read_ledger(tmp_path / "run" / "spikes.h5")
    net = compile_network(Network.from_dict(spec))  # same seed: same connectivity and weights
    placement = place(net, get_profile("loihi"))
    spikes = _spikes_from_file(tmp_path / "run" / "spikes.h5", net, spec)
    assert spikes[: net.n_neurons].sum() > 20 and spikes[net.n_neurons :].sum() > 100
    expect = recount(net, placement, spikes)
    for event, arr in expect.items():
        assert ledger.cores[event].tolist() == arr.tolist(), event
    assert ledger.attrs["zero_weights"] == int(np.count_nonzero(net.weight == 0)) > 0
    assert ledger.total("sop") < ledger.total("synaptic_events")  # the zero weights are not SOPs
    n = net.n_neurons
    assert ledger.total("neuron_updates") == STEPS * n
    assert ledger.total("spikes") == spikes[:n].sum()
    assert ledger.total("input_spikes") == spikes[n:].sum()
    assert ledger.total("weight_reads") == ledger.total("sop")
    # the attributes of /emulator/counters are the ledger's totals and agree with the run
    stored = SpikeFile(tmp_path / "run" / "spikes.h5").counters
    for event in EVENTS:
        assert stored[event] == ledger.total(event)
    assert stored["synaptic_events"] == res.counters["synaptic_events"]


@pytest.mark.parametrize("arithmetic", ARITHMETICS)
def test_many_cores_and_both_mesh_directions(arithmetic):
    spec = spec_dict(arithmetic)
    net = compile_network(Network.from_dict(spec))
    profile = LOIHI.with_limits(compartments_per_core=2)  # 31 cores: four mesh rows of 8
    placement = place(net, profile)
    assert placement.n_cores > 8
    sim = Simulator(net)
    sim.run(STEPS)
    ledger = ledger_from_simulator(sim, placement)
    expect = recount(net, placement, sim.spike_count)
    for event, arr in expect.items():
        assert ledger.cores[event].tolist() == arr.tolist(), event
    assert ledger.total("hops_y") > 0 and ledger.total("hops_x") > 0
    # rows and cores both add up to the totals; the populations hold their cores' counts
    for event in EVENTS:
        assert ledger.populations[event].sum() == ledger.total(event), event
    rows = ledger.row_names
    assert rows[-1] == OFF_CORE and rows[:3] == ["a", "b", "c"] and rows[3] == "stim"
    assert ledger.populations["input_spikes"][3] == sim.spike_count[net.n_neurons :].sum()
    per_core_neurons = np.bincount(placement.core_of, minlength=placement.n_cores)
    assert ledger.cores["neuron_updates"][:-1].tolist() == (STEPS * per_core_neurons).tolist()
    # per projection: SOPs of each projection are its pre's spikes x its non-zero synapses
    for p, pos in enumerate(net.projection_positions()):
        src = np.searchsorted(net.indptr, pos, side="right") - 1
        nz = net.weight[pos] != 0
        assert ledger.projections["sop"][p] == int(sim.spike_count[src[nz]].sum())


@pytest.mark.parametrize("arithmetic", ARITHMETICS)
def test_active_updates_equal_state_changes(arithmetic):
    """Active = v or a current changed; recounted by stepping once at a time and comparing state."""
    spec = spec_dict(arithmetic)
    net = compile_network(Network.from_dict(spec))
    sim = Simulator(net)
    changed = np.zeros(net.n_neurons, dtype=np.int64)
    for _ in range(STEPS):
        before = sim.state["v"][0].copy(), sim.state["cur"][0].copy()
        sim.run(1)
        after = sim.state["v"][0], sim.state["cur"][0]
        changed += (before[0] != after[0]) | (before[1][0] != after[1][0]) | (before[1][1] != after[1][1])
    assert sim.active[0].tolist() == changed.tolist()
    assert 0 < changed.sum() < STEPS * net.n_neurons
    c = sim.counters()
    assert c["active_neuron_updates"] == changed.sum()


@pytest.mark.parametrize("arithmetic", ARITHMETICS)
def test_batched_counting_kernel_counts_active_per_copy(arithmetic):
    """The parallel counting kernel (evaluation path) gives every copy the serial kernel's counts."""
    spec = spec_dict(arithmetic)
    net = compile_network(Network.from_dict(spec))
    one = Simulator(net)
    one.run(STEPS)
    net2 = compile_network(Network.from_dict(spec))
    # the same input spikes in both copies, scheduled as the host does for evaluation
    steps, src = [], []
    for ch, ts in enumerate(spec["inputs"][0]["times"]):
        steps += [int(round(t)) for t in ts]
        src += [net2.n_neurons + ch] * len(ts)
    steps, src = np.array(steps * 2), np.array(src * 2)
    batch = np.repeat([0, 1], len(steps) // 2)
    inputs = ScheduledInputs()
    inputs.set_schedule(steps, batch, src)
    both = Simulator(net2, batch=2, inputs=inputs, learning=False)
    counts = np.zeros((2, net2.n_sources), dtype=np.int64)
    both.run(STEPS, counts=counts)
    for b in range(2):
        assert counts[b].tolist() == one.spike_count.tolist()
        assert both.active[b].tolist() == one.active[0].tolist()


def test_loihi_neurons_at_rest_are_idle():
    """Integer decay reaches rest exactly: with no input, nothing changes and nothing is active."""
    spec = spec_dict("loihi")
    spec["inputs"][0]["times"] = [[] for _ in range(10)]
    net = compile_network(Network.from_dict(spec))
    sim = Simulator(net)
    sim.run(50)
    assert sim.counters()["active_neuron_updates"] == 0
    ledger = ledger_from_simulator(sim, place(net, get_profile("loihi")))
    assert ledger.total("idle_neuron_updates") == 50 * net.n_neurons
    assert ledger.total("sop") == ledger.total("messages") == 0


def test_learning_and_host_ops_land_off_core_or_on_the_single_post_core():
    spec = spec_dict("float")
    net = compile_network(Network.from_dict(spec))
    placement = place(net, get_profile("loihi"))
    zeros = np.zeros(net.n_sources, dtype=np.int64)
    led = build_ledger(
        net,
        placement,
        zeros,
        0,
        None,
        {"weight_updates": 7, "trace_updates": 3},
        {"weight_normalization": 11},
    )
    # no plastic projection: learning counts cannot be placed on a core
    assert led.cores["learning_weight_updates"][-1] == 7
    assert led.cores["host_weight_normalization"][-1] == 11
    assert led.populations["learning_trace_updates"][-1] == 3
    with pytest.raises(ValueError):
        build_ledger(net, placement, zeros, 0, None, None, {"bogus": 1})


@pytest.mark.parametrize("arithmetic", ARITHMETICS)
def test_active_counts_over_long_kernel_calls(arithmetic):
    """Kernel calls longer than the uint8 accumulator (255 steps) flush it without loss."""
    spec = spec_dict(arithmetic)
    steps = 700
    rng = np.random.default_rng(8)  # input spikes all along the run, so neurons stay driven
    spec["inputs"][0]["times"] = [sorted(set(rng.integers(0, steps, 150).tolist())) for _ in range(10)]
    ref = Simulator(compile_network(Network.from_dict(spec)))
    changed = np.zeros(ref.net.n_neurons, dtype=np.int64)
    for _ in range(steps):
        before = ref.state["v"][0].copy(), ref.state["cur"][0].copy()
        ref.run(1)
        changed += (before[0] != ref.state["v"][0]) | np.any(before[1] != ref.state["cur"][0], axis=0)
    whole = Simulator(compile_network(Network.from_dict(spec)))
    whole.run(steps)  # one kernel call of 700 steps
    assert whole.active[0].tolist() == changed.tolist()
    assert changed.max() > 255


@pytest.mark.parametrize("arithmetic", ARITHMETICS)
def test_synapse_groups_equal_the_sorted_keys_of_every_synapse(arithmetic):
    """The compiled grouping against numpy: every synapse's (source, projection, core) key,
    sorted, counted and its non-zero weights summed (two current channels, zero weights,
    inputs, several projections from one source, 31 cores; the placement's cores and the
    same cores shuffled over the neurons, so a row meets its cores out of order)."""
    net = compile_network(Network.from_dict(spec_dict(arithmetic)))
    placement = place(net, LOIHI.with_limits(compartments_per_core=2))
    n_proj, n_cores = len(net.spec.projections), placement.n_cores
    for core_of in (placement.core_of, np.random.default_rng(0).permutation(placement.core_of)):
        _check_groups(net, core_of, n_proj, n_cores)


def _check_groups(net, core_of, n_proj, n_cores):
    g = synapse_groups(net, core_of, n_cores)
    src = np.repeat(np.arange(net.n_sources), np.diff(net.indptr))
    proj = np.empty(net.n_synapses, dtype=np.int64)
    for p, pos in enumerate(net.projection_positions()):
        proj[pos] = p
    core = core_of[net.slot % net.n_neurons]
    assert (net.slot >= net.n_neurons).any() and (net.weight == 0).any() and len(np.unique(proj)) > 2
    key = (src * n_proj + proj) * n_cores + core
    keys, first, count = np.unique(key, return_index=True, return_counts=True)
    nonzero = np.bincount(np.searchsorted(keys, key), weights=net.weight != 0).astype(np.int64)
    assert g["n"].tolist() == count.tolist()
    assert g["nz"].tolist() == nonzero.tolist()
    assert g["src"].tolist() == src[first].tolist()
    assert g["proj"].tolist() == proj[first].tolist()
    assert g["core"].tolist() == core[first].tolist()
    bits = np.array([p.weight_bits for p in net.spec.projections])[g["proj"]]
    assert g["words"].tolist() == (-(-count * bits // 64)).tolist()
