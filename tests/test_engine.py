"""The step loop: determinism, chunking independence, batching and operation counters."""

from __future__ import annotations

import numpy as np
import pytest

import neuro.engine as engine
from neuro.chips import LOIHI
from neuro.engine import Simulator
from neuro.mapping import place
from neuro.network import compile_network
from neuro.spec import Network, load_spec

from .conftest import MODELS, simulate


def spikes_of(net: Network, seed: int, chunks=(1000,), batch: int = 1, arithmetic=None):
    """All spikes as (step, batch, neuron) rows, running the given chunk lengths one after another."""
    sim = Simulator(compile_network(net, arithmetic=arithmetic, seed=seed), batch=batch)
    out = []
    for n in chunks:
        sim.run(n, on_spikes=lambda s, b, i: out.append(np.stack([s, b, i], axis=1).copy()))
    return (np.concatenate(out) if out else np.zeros((0, 3), dtype=np.int64)), sim


@pytest.fixture(scope="module")
def feedforward():
    return load_spec(MODELS / "feedforward.toml")


def test_same_seed_same_spikes_different_seed_different(feedforward):
    a, _ = spikes_of(feedforward, 1)
    b, _ = spikes_of(feedforward, 1)
    c, _ = spikes_of(feedforward, 2)
    assert len(a) > 20  # the network is active
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)


@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_chunking_independence(feedforward, arithmetic, monkeypatch):
    whole, s1 = spikes_of(feedforward, 5, (1000,), arithmetic=arithmetic)
    tenths, s2 = spikes_of(feedforward, 5, (100,) * 10, arithmetic=arithmetic)
    uneven, _ = spikes_of(feedforward, 5, (1, 250, 333, 416), arithmetic=arithmetic)
    assert len(whole) > 20
    np.testing.assert_array_equal(whole, tenths)
    np.testing.assert_array_equal(whole, uneven)
    assert s1.counters() == s2.counters()
    monkeypatch.setattr(engine, "CHUNK_STEPS", 7)
    small, s3 = spikes_of(feedforward, 5, (1000,), arithmetic=arithmetic)
    assert s3.chunk_steps == 7
    np.testing.assert_array_equal(whole, small)


def _busy_net(steps=50):
    # "busy": 4 raw-register neurons, bias 100 > vth 64 with decay_v 0 and R 1 -> every one spikes every step.
    # "rec": decay_u 4095 (u = q), never spikes. busy -> rec Wgt 2 (q = 128 per spike, 4 spikes = 512 per
    # step, arriving from step 1 on); input spikes at 3, 10, 11, 40 ms -> Wgt 1 (64) at steps 4, 11, 12, 41.
    return Network.from_dict(
        {
            "simulation": {"dt": 1.0, "steps": steps, "seed": 0, "arithmetic": "loihi"},
            "populations": [
                {
                    "name": "busy",
                    "size": 4,
                    "loihi": {"decay_u": 0, "decay_v": 0, "vth_mant": 1, "bias_mant": 100},
                },
                {"name": "rec", "size": 1, "loihi": {"decay_u": 4095, "decay_v": 0, "vth_mant": 2**17 - 1}},
            ],
            "inputs": [{"name": "in", "kind": "spike_times", "times": [[3.0, 10.0, 11.0, 40.0]]}],
            "projections": [
                {"pre": "busy", "post": "rec", "weight": 2, "weight_exp": 0},
                {"pre": "in", "post": "rec", "weight": 1, "weight_exp": 0},
            ],
        }
    )


@pytest.mark.parametrize("capacity", [None, 0])
def test_spike_buffer_splits_do_not_change_results(capacity, monkeypatch):
    # With the spike buffer shrunk to 2 * N = 10 entries, each kernel call stops after 2 steps
    # (4 spikes per step); inputs and probes must still line up with their steps.
    if capacity is not None:
        monkeypatch.setattr(engine, "MIN_SPIKE_CAPACITY", capacity)
    r = simulate(_busy_net(), probe=[4])
    assert len(r.steps) == 4 * 50
    assert r.steps.tolist() == np.repeat(np.arange(50), 4).tolist()
    expected = np.where(np.arange(50) >= 1, 512, 0)
    expected[[4, 11, 12, 41]] += 64
    assert r.i[:, 0, 0].tolist() == expected.tolist()


def test_batch_copies_match_batch_one():
    # Identical (spike_times) input in every batch element -> every element equals the batch=1 run.
    net = load_spec(MODELS / "single_neuron.toml")
    d = net.to_dict()
    d["inputs"] = [{"name": "in", "kind": "spike_times", "times": [[5.0, 7.0, 50.0, 51.0, 52.0]]}]
    d["populations"].append({"name": "b", "size": 3, "tau_syn_inh": 10.0, "refractory": 1.0})
    d["projections"] = [
        {"pre": "in", "post": "neuron", "weight": 2.0},
        {"pre": "neuron", "post": "b", "weight": 3.0, "delay": 2.0},
        {"pre": "b", "post": "b", "weight": -0.5, "receptor": "inh"},
        {"pre": "in", "post": "b", "weight": 1.5},
    ]
    net = Network.from_dict(d)
    one = simulate(net, probe=[0, 1, 3])
    three = simulate(net, probe=[0, 1, 3], batch=3)
    assert len(one.steps) > 10
    for b in range(3):
        sel = three.batch == b
        np.testing.assert_array_equal(three.steps[sel], one.steps)
        np.testing.assert_array_equal(three.neuron[sel], one.neuron)
        np.testing.assert_array_equal(three.v[:, b], one.v[:, 0])
        np.testing.assert_array_equal(three.i[:, b], one.i[:, 0])
    c1, c3 = one.sim.counters(), three.sim.counters()
    assert c3["spikes"] == 3 * c1["spikes"] and c3["synaptic_events"] == 3 * c1["synaptic_events"]
    assert c3["neuron_updates"] == 3 * c1["neuron_updates"] == 3 * 200 * 4


def test_batch_elements_draw_their_own_poisson_input(feedforward):
    spikes, _ = spikes_of(feedforward, 3, (300,), batch=2)
    per = [spikes[spikes[:, 1] == b][:, [0, 2]] for b in range(2)]
    assert len(per[0]) > 0 and len(per[1]) > 0
    assert per[0].shape != per[1].shape or not np.array_equal(per[0], per[1])


def test_synaptic_events_are_spikes_times_fanout(small_spec):
    # small.toml: stim (2 channels, one_to_one -> a: fan-out 1), a (2 neurons, all_to_all -> b: fan-out 3),
    # b (3 neurons): fan-out 0. Input spikes: 3 + 1 = 4, all before the last step.
    net = load_spec(small_spec)
    r = simulate(net)
    c = r.sim.counters()
    n_a = int(np.sum(r.neuron < 2))
    n_b = int(np.sum(r.neuron >= 2))
    assert c["input_spikes"] == 4
    assert c["spikes"] == n_a + n_b and n_a > 0
    assert c["synaptic_events"] == 4 * 1 + n_a * 3 + n_b * 0
    assert c["neuron_updates"] == 60 * 5 and c["steps"] == 60
    assert "overflow_q" not in c


def test_messages_and_hops_from_a_placement():
    # One neuron per core (see test_mapping.test_hops_and_axons_on_a_hand_placed_case): a on core 0,
    # b0..b9 on cores 1..10. The input spike at step 0 (w 100) makes a spike once at step 1
    # (v = 100 * 5/(5-10) (e^-0.2 - e^-0.1) = 8.6 > 1; refractory 50 ms keeps it from spiking again);
    # a -> b has weight 0, so b never spikes.
    # messages = 1 (input -> core 0) + 1 * 10 = 11; hops_x = 1 + 31 = 32; hops_y = 0 + 3 = 3.
    net = Network.from_dict(
        {
            "simulation": {"steps": 20, "seed": 0},
            "populations": [
                {"name": "a", "size": 1, "refractory": 50.0, "tau_mem": 10.0},
                {"name": "b", "size": 10},
            ],
            "inputs": [{"name": "in", "kind": "spike_times", "times": [[0.0]]}],
            "projections": [
                {"pre": "in", "post": "a", "weight": 100.0},
                {"pre": "a", "post": "b", "weight": 0.0},
            ],
        }
    )
    compiled = compile_network(net, seed=0)
    placement = place(compiled, LOIHI.with_limits(compartments_per_core=1))
    sim = Simulator(compiled)
    steps = []
    sim.run(20, on_spikes=lambda s, b, n: steps.append(np.stack([s, n], 1).copy()))
    assert np.concatenate(steps).tolist() == [[1, 0]]
    c = sim.counters(placement)
    assert (c["input_spikes"], c["spikes"], c["synaptic_events"]) == (1, 1, 11)
    assert (c["messages"], c["hops_x"], c["hops_y"]) == (11, 32, 3)


def test_loihi_counters_include_overflow():
    r = simulate(_busy_net(10))
    c = r.sim.counters()
    assert (c["overflow_q"], c["overflow_u"], c["overflow_u2"]) == (0, 0, 0)
    # 10 steps x 4 busy spikes, fan-out 1 each; of the inputs (3, 10, 11, 40 ms) only the one at step 3 is
    # inside steps 0..9, fan-out 1.
    assert c["spikes"] == 40 and c["input_spikes"] == 1
    assert c["synaptic_events"] == 40 * 1 + 1 * 1


def test_cuba_chunked_and_batched_equal_whole():
    # The 4000-neuron CUBA benchmark (no external input): 3000 steps at once, in chunks of 1000, and as
    # two batch copies (which share the drawn v_init and synapses) give the same spikes.
    net = load_spec(MODELS / "cuba.toml")
    whole, s1 = spikes_of(net, 1, (3000,))
    parts, _ = spikes_of(net, 1, (1000, 1000, 1000))
    batched, s2 = spikes_of(net, 1, (3000,), batch=2)
    assert len(whole) > 1000
    np.testing.assert_array_equal(whole, parts)
    for b in range(2):
        np.testing.assert_array_equal(batched[batched[:, 1] == b][:, [0, 2]], whole[:, [0, 2]])
    assert s2.counters()["synaptic_events"] == 2 * s1.counters()["synaptic_events"]


def test_unseeded_runs_draw_and_record_a_seed():
    net = load_spec(MODELS / "feedforward.toml").with_simulation()
    d = net.to_dict()
    del d["simulation"]["seed"]
    net = Network.from_dict(d)
    assert net.simulation.seed is None
    a, b = compile_network(net), compile_network(net)
    assert isinstance(a.seed, int) and a.seed != b.seed
    # the recorded seed reproduces the run
    x, _ = spikes_of(net, a.seed, (300,))
    y, _ = spikes_of(net.with_simulation(seed=a.seed), None, (300,))
    np.testing.assert_array_equal(x, y)


def test_batched_spike_times_reach_every_copy():
    """Two input spikes in one step with batch 3: every copy gets both (rows stay sorted)."""
    from neuro.engine import Simulator
    from neuro.network import compile_network
    from neuro.spec import Network

    net = Network.from_dict(
        {
            "simulation": {"dt": 1.0, "steps": 5, "seed": 0},
            "inputs": [{"name": "s", "kind": "spike_times", "times": [[1.0], [1.0]]}],
            "populations": [
                {
                    "name": "p",
                    "size": 2,
                    "tau_mem": 10.0,
                    "tau_syn": 1.0,
                    "v_threshold": 0.5,
                    "refractory": 10.0,
                }
            ],
            "projections": [{"pre": "s", "post": "p", "connector": "one_to_one", "weight": 50.0}],
        }
    )
    sim = Simulator(compile_network(net), batch=3, learning=False)
    got = []
    sim.run(5, on_spikes=lambda st, b, n: got.extend(zip(st.tolist(), b.tolist(), n.tolist(), strict=True)))
    assert sorted(got) == sorted((2, b, i) for b in range(3) for i in range(2))
