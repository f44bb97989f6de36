"""TrueNorth placement: axon groups, splitter neurons (counted by hand), core splitting,
latency compensation, messages and hops, and the conversion report of LIF populations."""

from __future__ import annotations

import numpy as np
import pytest

from neuro.chips import TRUENORTH, get_profile
from neuro.errors import NeuroError
from neuro.mapping import place
from neuro.network import compile_network
from neuro.spec import Network

from .conftest import assert_one_line_error, simulate


def fanout_net(delay=2.0, steps=8):
    """in (3 ch) -> src (3) one_to_one; src -> big (300 = 2 cores of 150) type 0;
    src -> small (10) type 1; src neuron 0 -> small neuron 0 type 2; all src delays ``delay``."""
    relay = {"weights": [1, 1, 1, 0], "threshold": 1}
    return Network.from_dict(
        {
            "simulation": {"arithmetic": "truenorth", "steps": steps, "seed": 0},
            "inputs": [{"name": "in", "kind": "spike_times", "times": [[0.0], [0.0], [0.0]]}],
            "populations": [
                {"name": "src", "size": 3, "truenorth": relay},
                {"name": "big", "size": 300, "truenorth": relay},
                {"name": "small", "size": 10, "truenorth": {"weights": [0, 1, 1, 0], "threshold": 1}},
            ],
            "projections": [
                {"pre": "in", "post": "src", "connector": "one_to_one", "axon_type": 0},
                {"pre": "src", "post": "big", "axon_type": 0, "delay": delay},
                {"pre": "src", "post": "small", "axon_type": 1, "delay": delay},
                {
                    "pre": "src",
                    "post": "small",
                    "connector": {"type": "list", "pairs": [[0, 0, 2]]},
                    "delay": delay,
                },
            ],
        }
    )


def test_splitters_counted_by_hand():
    c = compile_network(fanout_net())
    pl = place(c, TRUENORTH, 1)
    # src n0 reaches: big core A (type 0), big core B (type 0), small (type 1), small (type 2)
    # -> 4 axon groups -> 4 splitters; n1 and n2: A, B, small(type 1) -> 3 each. Total 10.
    assert (pl.splitters, pl.split_sources, pl.splitter_levels) == (10, 3, 1)
    # cores: src 1, big 2 (150 + 150), small 1, one splitter core with 10 splitters
    assert pl.core_pop == ["src", "big", "big", "small", "(splitters)"]
    assert pl.usage["neurons"].tolist() == [3, 150, 150, 10, 10]
    # axons: src core 3 (inputs); A 3, B 3; small 3 (type 1) + 1 (type 2); splitter core 3 blocks
    assert pl.usage["input_axons"].tolist() == [3, 3, 3, 4, 3]
    # every src neuron's output axon is used; splitters all used; big/small drive nothing
    assert pl.usage["output_axons"].tolist() == [3, 0, 0, 0, 10]
    # crossbar bits: 3 + 2 x 450 + 31 logical, + 10 splitter feeds on the splitter core
    assert pl.usage["synapses"].tolist() == [3, 450, 450, 31, 10]
    assert c.n_synapses == 934 and c.n_crossbar_synapses == 944
    assert c.n_physical == 313 + 10


def test_splitters_keep_the_delay_and_counters_are_exact():
    # input at step 0 -> src fires at tick 1 -> delay 2 ms = 3 ticks -> big and small fire at 4
    res = simulate(fanout_net())
    pops = {"src": range(0, 3), "big": range(3, 303), "small": range(303, 313)}
    for name, rng in pops.items():
        sel = np.isin(res.neuron, list(rng))
        assert set(res.steps[sel].tolist()) == ({1} if name == "src" else {4}), name
        assert sel.sum() == len(rng)
    assert res.neuron.max() < 313  # splitter spikes are not reported
    c = res.sim.counters()
    # spikes of the chip's neurons: the network's 313 and the 10 splitter relays
    assert (c["spikes"], c["network_spikes"], c["splitter_spikes"], c["input_spikes"]) == (323, 313, 10, 3)
    # each crossbar synapse carries exactly one event: 944
    assert c["synaptic_events"] == 944
    # packets: 3 input packets + 3 src -> splitter core + 10 splitters -> targets
    assert c["messages"] == 16
    # cores on the mesh: src (0,0), big (1,0), (2,0), small (3,0), splitters (4,0); host (-1,0)
    # hops: inputs 3 x 1; src -> splitter core 3 x 4; splitters -> A 3, B 2, small 1:
    # n0: 3 + 2 + 1 + 1 = 7, n1 = n2 = 6  -> 3 + 12 + 19 = 34
    assert (c["hops_x"], c["hops_y"]) == (34, 0)
    assert c["splitter_neurons"] == 10 and c["cores"] == 5


def test_operation_ledger_counts_the_physical_network():
    ledger = pytest.importorskip("neuro.energy.ledger")
    res = simulate(fanout_net())
    sim = res.sim
    led = ledger.ledger_from_simulator(sim, sim.tn.placement)
    c = sim.counters()
    for key in (
        "spikes",
        "input_spikes",
        "synaptic_events",
        "messages",
        "hops_x",
        "hops_y",
        "neuron_updates",
    ):
        assert led.total(key) == c[key], key
    # per core: the splitter core did the 10 relays; the src core's 3 neurons spiked once each
    assert led.cores["spikes"][:5].tolist() == [3, 150, 150, 10, 10]
    assert led.row_names[-2:] == ["in", "(off-core)"] and "(splitters)" in led.row_names


def test_native_target_refuses_a_delay_splitters_cannot_keep():
    with pytest.raises(NeuroError) as exc:
        compile_network(fanout_net(delay=0.0))
    assert_one_line_error(exc.value, "projections[1].delay", "splitter", "needs >= 2 ticks")


def test_one_group_needs_no_splitter_and_keeps_delay_one():
    net = Network.from_dict(
        {
            "simulation": {"arithmetic": "truenorth", "steps": 4, "seed": 0},
            "inputs": [{"name": "in", "kind": "spike_times", "times": [[0.0]]}],
            "populations": [
                {"name": "a", "size": 1, "truenorth": {"weights": [1, 0, 0, 0], "threshold": 1}},
                {"name": "b", "size": 200, "truenorth": {"weights": [1, 0, 0, 0], "threshold": 1}},
            ],
            "projections": [
                {"pre": "in", "post": "a", "axon_type": 0},
                {"pre": "a", "post": "b", "axon_type": 0},
            ],
        }
    )
    res = simulate(net)
    assert res.sim.counters()["splitter_neurons"] == 0
    assert set(res.steps[res.neuron >= 1].tolist()) == {2}  # a fires at 1, b at 2


def test_population_split_until_axons_fit():
    # 200 input channels -> 10 neurons; channel i reaches neuron j with weight +1 or -1 by parity
    # of i + j, so every channel needs 2 axons (2 types) on any core holding >= 2 neurons: 400 > 256.
    # One neuron per core needs 200 axons.
    pairs = [[i, j, 1 if (i + j) % 2 else -1] for i in range(200) for j in range(10)]
    net = Network.from_dict(
        {
            "simulation": {"arithmetic": "truenorth", "steps": 1},
            "inputs": [{"name": "in", "kind": "spike_times", "times": [[]] * 200}],
            "populations": [{"name": "a", "size": 10, "truenorth": {"threshold": 5}}],
            "projections": [{"pre": "in", "post": "a", "connector": {"type": "list", "pairs": pairs}}],
        }
    )
    pl = place(compile_network(net), TRUENORTH, 1)
    assert pl.n_cores == 10
    assert pl.usage["input_axons"].tolist() == [200] * 10


def test_fan_in_beyond_one_core_is_refused():
    net = Network.from_dict(
        {
            "simulation": {"arithmetic": "truenorth", "steps": 1},
            "inputs": [{"name": "in", "kind": "spike_times", "times": [[]] * 300}],
            "populations": [{"name": "a", "size": 4, "truenorth": {"weights": [1, 0, 0, 0]}}],
            "projections": [{"pre": "in", "post": "a", "axon_type": 0}],
        }
    )
    with pytest.raises(NeuroError) as exc:
        compile_network(net)
    assert_one_line_error(exc.value, "populations[0]", "300 input axons", "256")


def test_more_cores_than_the_chip_has():
    spec = {
        "simulation": {"arithmetic": "truenorth", "steps": 1},
        "populations": [{"name": "a", "size": 256 * 4096 + 1, "truenorth": {"threshold": 1}}],
    }
    with pytest.raises(NeuroError) as exc:
        compile_network(Network.from_dict(spec))
    assert_one_line_error(exc.value, "simulation.chips", "4097", "--chips 2")
    spec["simulation"]["chips"] = 2
    c = compile_network(Network.from_dict(spec))
    pl = place(c, get_profile("truenorth"), 2)
    assert pl.n_cores == 4097
    assert pl.core_coords()[4096].tolist() == [1, 64, 0]  # second chip, tiled along x


def test_two_level_splitter_tree():
    # a population of 257 x 256 neurons fills 257 cores, so one neuron driving all of it has 257
    # axon groups: 257 leaf splitters in 2 blocks (256 + 1) fed by a second level of 2 splitters.
    n = 257 * 256
    net = Network.from_dict(
        {
            "simulation": {"arithmetic": "truenorth", "steps": 6, "seed": 0},
            "inputs": [{"name": "in", "kind": "spike_times", "times": [[0.0]]}],
            "populations": [
                {"name": "a", "size": 1, "truenorth": {"weights": [1, 0, 0, 0], "threshold": 1}},
                {"name": "b", "size": n, "truenorth": {"weights": [1, 0, 0, 0], "threshold": 1}},
            ],
            "projections": [
                {"pre": "in", "post": "a", "axon_type": 0},
                {"pre": "a", "post": "b", "axon_type": 0, "delay": 2.0},
            ],
        }
    )
    c = compile_network(net)
    pl = c.placement
    # leaves: 257 splitters in 2 blocks (256 + 1); level 2: 2 splitters in 1 block -> 259
    assert (pl.splitters, pl.splitter_levels) == (259, 2)
    res = simulate(net)
    # a fires at 1; 2 levels take 2 ticks, the last hop 3 - 2 = 1 tick: b fires at 1 + 3 = 4
    assert set(res.steps[res.neuron >= 1].tolist()) == {4}
    assert (res.neuron >= 1).sum() == n


# --------------------------------------------------------------------------- conversion
def lif_net(delay=0.0):
    return Network.from_dict(
        {
            "simulation": {"arithmetic": "truenorth", "steps": 200, "seed": 2},
            "inputs": [{"name": "in", "kind": "poisson", "size": 20, "rate": 200.0}],
            "populations": [
                {"name": "h", "size": 200, "tau_mem": 20.0, "tau_syn": 5.0, "refractory": 2.0},
                {"name": "o", "size": 5, "tau_mem": 10.0, "tau_syn": 10.0},
            ],
            "projections": [
                {"pre": "in", "post": "h", "weight": {"dist": "uniform", "low": 0.0, "high": 1.0}},
                {"pre": "h", "post": "o", "weight": 0.5, "delay": delay},
                {
                    "pre": "h",
                    "post": "h",
                    "connector": {"type": "fixed_probability", "p": 0.01},
                    "weight": -0.2,
                },
            ],
        }
    )


def test_conversion_report():
    c = compile_network(lif_net())
    reps = {r.population: r for r in c.conversion}
    h, o = reps["h"], reps["o"]
    # h: w_eff = w * 5/20 < 0.25 mV (4000 uniform draws: the largest is above 0.99 * 0.25), and
    # the scale puts the largest jump at 255 units: 255 / 0.25 = 1020 per mV
    assert 1020 <= h.scale <= 1020 / 0.99
    assert h.threshold_min == h.threshold_max == round(h.scale * 1.0)
    assert h.quantized_neurons > 150  # uniform weights need merging into 4 levels
    assert 0 < h.weight_rms_rel_error < 0.2
    assert h.refractory_dropped_ms == 2.0
    assert h.rate_error_bound_hz == pytest.approx(1000 / 80)
    # o: one weight (0.5 * 10 / 10 = 0.5 mV) -> exact, scale 510 per mV, alpha 510
    assert (o.quantized_neurons, o.weight_rms_rel_error, o.threshold_min) == (0, 0.0, 510)
    # h neurons reach o's core and (recurrence) their own core: splitters add 1 tick to delay 0
    assert h.extra_latency_synapses > 0 and o.extra_latency_synapses > 0
    assert o.extra_latency_max_ticks == 1
    c2 = compile_network(lif_net(delay=1.0))  # a 2-tick delay absorbs the splitter tick
    assert {r.population: r.extra_latency_synapses for r in c2.conversion}["o"] == 0
    lines = c.placement.summary_lines()
    assert any("'h' converted" in line for line in lines)


def test_converted_weights_levels_and_types():
    # 9 weights in 4 clusters into one neuron (tau_syn = tau_mem: w_eff = w); the scale puts the
    # largest, 0.82, at 255. k-means starts at the 1/8, 3/8, 5/8, 7/8 quantiles (sorted values
    # 1, 3, 5, 7: 0.12, 0.45, 0.62, 0.81), so each cluster keeps its values and the levels are
    # the cluster means 0.11, 0.44, 0.61, 0.81 (x 255 / 0.82), axon types ascending by level.
    w = [0.10, 0.12, 0.43, 0.45, 0.60, 0.62, 0.80, 0.81, 0.82]
    net = Network.from_dict(
        {
            "simulation": {"arithmetic": "truenorth", "steps": 1},
            "inputs": [{"name": "in", "kind": "spike_times", "times": [[]] * 9}],
            "populations": [{"name": "a", "size": 1, "tau_mem": 10.0, "tau_syn": 10.0}],
            "projections": [
                {
                    "pre": "in",
                    "post": "a",
                    "connector": {"type": "list", "pairs": [[i, 0, x] for i, x in enumerate(w)]},
                }
            ],
        }
    )
    c = compile_network(net)
    s = 255 / 0.82
    assert c.params["weights"][0].tolist() == [round(m * s) for m in (0.11, 0.44, 0.61, 0.81)]
    rep = c.conversion[0]
    assert (rep.quantized_neurons, rep.synapses) == (1, 9)
    assert rep.weight_max_abs_error_mv == pytest.approx(0.01, abs=2 / s)
    # each channel's axon type is its cluster's index: 0,0,1,1,2,2,3,3,3
    P, N = c.n_physical, c.n_neurons
    rows = [c.slot[c.indptr[P + i] : c.indptr[P + i + 1]] // N for i in range(9)]
    assert [r.tolist() for r in rows] == [[0], [0], [1], [1], [2], [2], [3], [3], [3]]
