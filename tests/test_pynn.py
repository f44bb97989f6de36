"""neuro.pynn: PyNN scripts on the emulated chip.

Expected values are closed forms of PyNN's IF_curr_exp (written out in each test) or an
equivalent run of the same network written differently; none is a recorded output.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("pyNN")
neo = pytest.importorskip("neo")

import neuro.pynn as sim  # noqa: E402
from neuro.pynn import UnsupportedFeature  # noqa: E402
from neuro.verify.layout import projection_synapses  # noqa: E402

DT = 0.1


@pytest.fixture(autouse=True)
def _end():
    yield
    sim.end()


def v_trace(pop, seg=0):
    # get_data() (all variables): PyNN 0.13's get_data("v") drops the signals of segments
    # cached by reset(), with every backend (filter_by_variables compares names with Variables)
    return np.asarray(pop.get_data().segments[seg].filter(name="v")[0].magnitude)


def spike_times(pop, seg=0):
    return [np.asarray(t.magnitude) for t in pop.get_data("spikes").segments[seg].spiketrains]


# --------------------------------------------------------------------------- units
def test_offset_current_drives_v_as_the_closed_form():
    # tau_m dv/dt = -(v - v_rest) + i_offset * tau_m / cm: with i_offset 1.2 nA, cm 0.5 nF,
    # tau_m 10 ms the drive is 24 mV, so v(t) = -65 + 24 (1 - exp(-t/10)) until it crosses -50 at
    # t* = 10 ln(24 / 9) = 9.808 ms; the spike is stamped at the end of the step in which v
    # crossed (NEST's convention): 9.9 ms, where the v sample is already v_reset.
    sim.setup(timestep=DT, min_delay=DT, seed=1)
    p = sim.Population(
        1,
        sim.IF_curr_exp(
            tau_m=10.0, cm=0.5, i_offset=1.2, v_rest=-65.0, v_reset=-70.0, v_thresh=-50.0, tau_refrac=2.0
        ),
    )
    p.initialize(v=-65.0)
    p.record(["spikes", "v"])
    sim.run(9.8)
    v = v_trace(p)[:, 0]
    t = np.arange(v.size) * DT
    np.testing.assert_allclose(v, -65.0 + 24.0 * (1 - np.exp(-t / 10.0)), rtol=0, atol=1e-12)
    sim.run(5.0)
    t_star = 10.0 * math.log(24.0 / 9.0)
    (st,) = spike_times(p)
    assert st[0] == pytest.approx(math.ceil(t_star / DT) * DT)
    v = v_trace(p)[:, 0]
    assert v[int(round(st[0] / DT))] == -70.0 and v[int(round(st[0] / DT)) - 1] < -50.0


@pytest.mark.parametrize("receptor, tau_s, w", [("excitatory", 3.0, 0.4), ("inhibitory", 7.0, -0.4)])
def test_psp_of_one_spike_is_the_closed_form(receptor, tau_s, w):
    # A spike at 5 ms with delay 1.5 ms reaches the neuron at t0 = 6.5 ms. Its current w nA
    # decays with tau_s; in mV it is I0 = w tau_m / cm, and
    #   v(t) - v_rest = I0 tau_s / (tau_s - tau_m) (exp(-s/tau_s) - exp(-s/tau_m)), s = t - t0.
    tau_m, cm = 15.0, 0.25
    sim.setup(timestep=DT, min_delay=DT, seed=2)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0]))
    p = sim.Population(
        1, sim.IF_curr_exp(tau_m=tau_m, cm=cm, v_rest=-60.0, v_thresh=0.0, tau_syn_E=3.0, tau_syn_I=7.0)
    )
    p.initialize(v=-60.0)
    sim.Projection(
        src, p, sim.AllToAllConnector(), sim.StaticSynapse(weight=w, delay=1.5), receptor_type=receptor
    )
    p.record("v")
    sim.run(40.0)
    v = v_trace(p)[:, 0]
    t = np.arange(v.size) * DT
    s = np.clip(t - 6.5, 0, None)
    i0 = w * tau_m / cm
    expected = -60.0 + i0 * tau_s / (tau_s - tau_m) * (np.exp(-s / tau_s) - np.exp(-s / tau_m))
    np.testing.assert_allclose(v, expected, rtol=0, atol=1e-9)
    assert v[64] == -60.0 and v[66] != -60.0  # nothing before the arrival step


# --------------------------------------------------------------------------- runs
def _poisson_net(seed=3):
    sim.setup(timestep=DT, min_delay=DT, seed=seed)
    src = sim.Population(20, sim.SpikeSourcePoisson(rate=80.0))
    p = sim.Population(10, sim.IF_curr_exp(tau_refrac=2.0))
    sim.Projection(
        src,
        p,
        sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(seed=5)),
        sim.StaticSynapse(weight=2.0, delay=0.5),
    )
    src.record("spikes")
    p.record(["spikes", "v"])
    return src, p


def test_incremental_runs_continue_exactly():
    src, p = _poisson_net()
    sim.run(150.0)
    whole = v_trace(p), spike_times(p), spike_times(src)
    src, p = _poisson_net()
    for _ in range(3):
        sim.run(50.0)
    assert sim.get_current_time() == pytest.approx(150.0)
    np.testing.assert_array_equal(v_trace(p), whole[0])
    for a, b in zip(spike_times(p) + spike_times(src), whole[1] + whole[2], strict=True):
        np.testing.assert_array_equal(a, b)
    assert sum(len(t) for t in whole[1]) > 0


def test_a_change_between_runs_rebuilds_and_continues():
    # A DC amplitude changed at 40 ms (and a parameter set between runs) gives the same run as
    # a step current with that change at 40 ms: the rebuilt simulator carries the state over.
    def net():
        sim.setup(timestep=DT, min_delay=DT, seed=4)
        p = sim.Population(2, sim.IF_curr_exp(tau_refrac=3.0))
        p.record(["spikes", "v"])
        return p

    p = net()
    dc = sim.DCSource(amplitude=0.8)
    dc.inject_into(p)
    sim.run(40.0)
    dc.amplitude = 1.1
    sim.run(60.0)
    changed = v_trace(p)
    p = net()
    sim.StepCurrentSource(times=[0.0, 40.0], amplitudes=[0.8, 1.1]).inject_into(p)
    sim.run(100.0)
    np.testing.assert_allclose(changed, v_trace(p), rtol=0, atol=1e-12)
    assert sum(len(t) for t in spike_times(p)) > 2


def test_reset_repeats_the_run_and_starts_a_segment():
    src, p = _poisson_net()
    sim.run(60.0)
    sim.reset()
    sim.run(60.0)
    data = p.get_data()
    assert len(data.segments) == 2
    np.testing.assert_array_equal(v_trace(p, 0), v_trace(p, 1))


def test_neurons_with_different_parameters_run_as_their_own_populations():
    # One population whose neurons differ in tau_m / v_thresh / tau_syn_E is split into spec
    # populations; each neuron must run exactly as it does alone.
    drive = [0.9, 1.0, 1.3]
    taus = [10.0, 20.0, 10.0]

    def run(idx):
        sim.setup(timestep=DT, min_delay=DT, seed=6)
        src = sim.Population(1, sim.SpikeSourceArray(spike_times=[3.0, 9.0]))
        cells = sim.IF_curr_exp(
            tau_m=[taus[i] for i in idx], i_offset=[drive[i] for i in idx], tau_syn_E=[2.0 + i for i in idx]
        )
        p = sim.Population(len(idx), cells)
        sim.Projection(src, p, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5, delay=1.0))
        p.record("v")
        sim.run(60.0)
        out = v_trace(p)
        sim.end()
        return out

    together = run([0, 1, 2])
    for i in range(3):
        np.testing.assert_array_equal(together[:, i], run([i])[:, 0])


# --------------------------------------------------------------------------- connectors
CONNECTORS = {
    "all_to_all": lambda tmp: sim.AllToAllConnector(),
    "one_to_one": lambda tmp: sim.OneToOneConnector(),
    "fixed_probability": lambda tmp: sim.FixedProbabilityConnector(0.3, rng=sim.NumpyRNG(seed=7)),
    "fixed_number_pre": lambda tmp: sim.FixedNumberPreConnector(3, rng=sim.NumpyRNG(seed=8)),
    "fixed_number_post": lambda tmp: sim.FixedNumberPostConnector(
        2, with_replacement=True, rng=sim.NumpyRNG(seed=9)
    ),
    "from_list": lambda tmp: sim.FromListConnector([(0, 1), (3, 5), (7, 7), (3, 0)]),
    "array": lambda tmp: sim.ArrayConnector(np.eye(8, dtype=bool)[::-1]),
    "distance": lambda tmp: sim.DistanceDependentProbabilityConnector("exp(-d/3)", rng=sim.NumpyRNG(seed=10)),
    "fixed_total_number": lambda tmp: sim.FixedTotalNumberConnector(12, rng=sim.NumpyRNG(seed=22)),
    "from_file": lambda tmp: sim.FromFileConnector(_conn_file(tmp)),
}


def _conn_file(tmp):
    path = tmp / "conn.txt"
    np.savetxt(
        path,
        [[0, 1, 0.2, 0.7], [2, 3, 0.3, 0.7], [7, 0, 0.4, 0.7]],
        header='columns = ["i", "j", "weight", "delay"]',
    )
    return str(path)


@pytest.mark.parametrize("name", sorted(CONNECTORS))
def test_connector_synapses_reach_the_engine_converted(name, tmp_path):
    # Every connection PyNN made is one engine synapse: weight in mV = w tau_m / cm (per post
    # neuron), delay in steps = d/dt - 1.
    sim.setup(timestep=DT, min_delay=DT, seed=11)
    pre = sim.Population(8, sim.SpikeSourceArray(spike_times=[1.0]), structure=sim.space.Line())
    cm = np.linspace(0.5, 1.2, 8)
    post = sim.Population(8, sim.IF_curr_exp(cm=cm), structure=sim.space.Line())
    w = sim.RandomDistribution("uniform", low=0.1, high=0.5, rng=sim.NumpyRNG(seed=12))
    prj = sim.Projection(pre, post, CONNECTORS[name](tmp_path), sim.StaticSynapse(weight=w, delay=0.7))
    sim.run(DT)
    conn = np.array(prj.get(["weight", "delay"], format="list"))
    assert len(conn) == len(prj) > 0
    (syn,) = projection_synapses(sim.simulator.state.session.compiled)
    got = sorted(zip(syn.i.tolist(), syn.j.tolist(), syn.weight.tolist(), syn.delay.tolist(), strict=True))
    i, j = conn[:, 0].astype(int), conn[:, 1].astype(int)
    want = sorted(
        zip(i.tolist(), j.tolist(), (conn[:, 2] * 20.0 / cm[j]).tolist(), [6] * len(i), strict=True)
    )
    assert [g[:2] for g in got] == [x[:2] for x in want]
    np.testing.assert_allclose([g[2] for g in got], [x[2] for x in want], rtol=1e-15)
    assert [g[3] for g in got] == [x[3] for x in want]


def test_views_and_assemblies_map_to_their_parents():
    sim.setup(timestep=DT, min_delay=DT, seed=13)
    a = sim.Population(4, sim.IF_curr_exp())
    b = sim.Population(3, sim.IF_curr_exp())
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[1.0]))
    sim.Projection(
        src,
        a[[1, 3]] + b[1:],
        sim.AllToAllConnector(),
        sim.StaticSynapse(weight=0.1, delay=DT),
        receptor_type="excitatory",
    )
    sim.run(DT)
    syns = projection_synapses(sim.simulator.state.session.compiled)
    targets = {(s.post, j) for s in syns for j in s.j.tolist()}
    assert targets == {("p0", 1), ("p0", 3), ("p1", 1), ("p1", 2)}


def test_set_weights_between_runs():
    sim.setup(timestep=DT, min_delay=DT, seed=14)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0, 21.0]))
    p = sim.Population(1, sim.IF_curr_exp(v_thresh=0.0))
    prj = sim.Projection(src, p, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.2, delay=DT))
    p.record("v")
    sim.run(20.0)
    prj.set(weight=0.6)
    sim.run(20.0)
    # v is the sum of two PSPs (closed form as in test_psp_of_one_spike_is_the_closed_form):
    # 0.2 nA arriving at 1.1 ms and, after set(), 0.6 nA arriving at 21.1 ms (tau_m/cm = 20).
    v = v_trace(p)[:, 0]
    t = np.arange(v.size) * DT

    def psp(w, t0):
        s = np.clip(t - t0, 0, None)
        return w * 20.0 * 5.0 / (5.0 - 20.0) * (np.exp(-s / 5.0) - np.exp(-s / 20.0))

    np.testing.assert_allclose(v, -65.0 + psp(0.2, 1.1) + psp(0.6, 21.1), rtol=0, atol=1e-9)
    assert prj.get("weight", format="list", with_address=False)[0] == pytest.approx(0.6)


# --------------------------------------------------------------------------- STDP
def _stdp_pair(t_pre, t_post, wd, w0=0.3, arithmetic="float"):
    """One plastic synapse; the pre source spikes at t_pre, the post neuron is made to spike
    by a strong static input; returns (final weight nA, pre spike time, post spike time)."""
    sim.setup(timestep=DT, min_delay=DT, seed=15, arithmetic=arithmetic)
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[t_pre]))
    kick = sim.Population(1, sim.SpikeSourceArray(spike_times=[t_post]))
    post = sim.Population(1, sim.IF_curr_exp(tau_refrac=5.0, tau_syn_E=0.5))  # one brief strong kick
    post.record("spikes")
    pre.record("spikes")
    sim.Projection(kick, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=40.0, delay=DT))
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=16.0, tau_minus=25.0, A_plus=0.05, A_minus=0.04),
        weight_dependence=wd,
        weight=w0,
        delay=DT,
    )
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp)
    sim.run(80.0)
    (tp,) = spike_times(pre)
    (tq,) = spike_times(post)
    return prj.get("weight", format="list", with_address=False)[0], tp, tq


@pytest.mark.parametrize("t_pre, t_post", [(10.0, 20.0), (30.0, 20.0)])
def test_additive_pair_stdp_matches_pynn_rule(t_pre, t_post):
    # Additive (PyNN/NEST): dw = +A+ w_max exp(-s/tau+) for pre before post, -A- w_max exp(s/tau-)
    # otherwise; s is the time between the steps the spikes were emitted in: the post neuron's
    # spike stamped tq was emitted in the step starting at tq - dt, the source's at tp.
    w, tp, tq = _stdp_pair(t_pre, t_post, sim.AdditiveWeightDependence(w_min=0.0, w_max=0.8))
    assert len(tq) == 1
    d = tq[0] - DT - tp[0]
    dw = 0.05 * 0.8 * math.exp(-d / 16.0) if d >= 0 else -0.04 * 0.8 * math.exp(d / 25.0)
    assert w == pytest.approx(0.3 + dw, rel=1e-12)


def test_multiplicative_pair_stdp_matches_pynn_rule():
    # Multiplicative: dw = A+ (w_max - w) exp(-dt/tau+)
    w, tp, tq = _stdp_pair(10.0, 20.0, sim.MultiplicativeWeightDependence(w_min=0.0, w_max=0.8))
    d = tq[0] - DT - tp[0]
    assert w == pytest.approx(0.3 + 0.05 * (0.8 - 0.3) * math.exp(-d / 16.0), rel=1e-12)


def test_stdp_in_loihi_arithmetic_learns_in_the_same_direction():
    wd = sim.AdditiveWeightDependence(w_min=0.0, w_max=0.8)
    w_float, tp, tq = _stdp_pair(10.0, 20.0, wd)
    w_loihi, tp2, tq2 = _stdp_pair(
        10.0, 20.0, sim.AdditiveWeightDependence(w_min=0.0, w_max=0.8), arithmetic="loihi"
    )
    assert tq2[0] == tq[0]
    assert w_loihi > 0.3 and w_loihi == pytest.approx(w_float, abs=0.8 / 255 * 2)


# --------------------------------------------------------------------------- recording, extras
def test_recording_is_neo_and_writes_files(tmp_path):
    src, p = _poisson_net()
    sim.run(30.0)
    block = p.get_data()
    assert isinstance(block, neo.Block)
    seg = block.segments[0]
    assert len(seg.spiketrains) == 10 and seg.analogsignals[0].shape == (301, 10)
    assert str(seg.analogsignals[0].units.dimensionality) == "mV"
    path = tmp_path / "p.pkl"
    p.write_data(str(path))
    back = neo.io.PickleIO(str(path)).read_block()
    np.testing.assert_array_equal(back.segments[0].analogsignals[0].magnitude, seg.analogsignals[0].magnitude)
    assert p.get_spike_counts() == {cell: len(t) for cell, t in zip(p, seg.spiketrains, strict=True)}


def test_sampling_interval_and_views():
    sim.setup(timestep=DT, min_delay=DT, seed=16)
    p = sim.Population(5, sim.IF_curr_exp(i_offset=0.5))
    p[1:3].record("v", sampling_interval=1.0)
    sim.run(10.0)
    sig = p.get_data().segments[0].analogsignals[0]
    assert sig.shape == (11, 2) and float(sig.sampling_period) == 1.0


def test_chip_extras(tmp_path):
    import h5py

    src, p = _poisson_net()
    with pytest.raises(Exception, match="no run yet"):
        sim.neuro.placement()
    sim.run(50.0)
    pl = sim.neuro.placement()
    assert pl.n_cores >= 1
    assert sim.neuro.energy().total_pj > 0
    counters = sim.neuro.counters()
    n_spikes = sum(len(t) for t in spike_times(p))
    assert counters["spikes"] == n_spikes > 0
    out = sim.neuro.write_sonata(tmp_path / "spikes.h5")
    with h5py.File(out) as f:
        assert f["spikes/p1/node_ids"].shape[0] == n_spikes
        assert "placement" in f["emulator"] and f["emulator"].attrs["complete"]
    assert sim.neuro.spec().to_dict()["populations"][0]["name"] == "p1"


def test_loihi_arithmetic_follows_the_float_run():
    def run(arith):
        sim.setup(timestep=1.0, min_delay=1.0, arithmetic=arith, seed=17)
        p = sim.Population(1, sim.IF_curr_exp(i_offset=1.0, tau_refrac=2.0))
        p.record(["spikes", "v"])
        sim.run(100.0)
        return spike_times(p)[0], v_trace(p)[:, 0]

    (sf, vf), (sl, vl) = run("float"), run("loihi")
    assert len(sf) == len(sl) > 2 and np.abs(sf - sl).max() <= 1.0
    np.testing.assert_allclose(vl[:20], vf[:20], atol=0.05)


# --------------------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: sim.IF_cond_exp(), ["IF_cond_exp", "conductance"]),
        (lambda: sim.EIF_cond_exp_isfa_ista(), ["EIF_cond_exp_isfa_ista"]),
        (lambda: sim.HH_cond_exp(), ["HH_cond_exp", "Hodgkin-Huxley"]),
        (lambda: sim.Izhikevich(), ["Izhikevich"]),
        (lambda: sim.IF_curr_alpha(), ["IF_curr_alpha", "alpha"]),
        (lambda: sim.ACSource(), ["ACSource"]),
        (lambda: sim.NoisyCurrentSource(), ["NoisyCurrentSource"]),
        (lambda: sim.TsodyksMarkramSynapse(), ["TsodyksMarkramSynapse", "short-term"]),
        (lambda: sim.setup(spike_precision="off_grid"), ["off_grid", "grid"]),
    ],
)
def test_unsupported_features_are_refused_in_one_line(make, words):
    sim.setup()
    with pytest.raises(UnsupportedFeature) as exc:
        make()
    msg = str(exc.value)
    assert "\n" not in msg and "not available on the emulated chip" in msg
    for w in words:
        assert w in msg


def test_bad_settings_are_refused():
    with pytest.raises(Exception, match="arithmetic must be one of"):
        sim.setup(arithmetic="double")
    with pytest.raises(Exception, match=r"field 'setup.chips': must be in \[1, 16384\], got 0"):
        sim.setup(chips=0)
    sim.setup(timestep=1.0, min_delay=1.0, arithmetic="loihi")
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    p = sim.Population(1, sim.IF_curr_exp())
    sim.Projection(src, p, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=100.0))
    with pytest.raises(Exception, match=r"allows 0\.\.62"):
        sim.run(10.0)
    sim.setup(timestep=0.1)
    assert sim.get_min_delay() == 0.1
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    p = sim.Population(1, sim.IF_curr_exp())
    sim.Projection(src, p, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=0.05), label="fast")
    with pytest.raises(Exception, match='"fast".*delay 0.05 ms is below the time step 0.1 ms'):
        sim.run(1.0)


@pytest.mark.brian2
def test_verify_cross_checks_the_script_network_with_brian2():
    # The script's network (Poisson input, static synapses with delays, DC current) in Brian2:
    # identical spikes (feed-forward, float arithmetic).
    src, p = _poisson_net()
    sim.DCSource(amplitude=0.3, start=10.0, stop=40.0).inject_into(p[:5])
    sim.run(60.0)
    report = sim.neuro.verify()
    assert report.identical and report.steps == 600
    assert sum(c.neuro for c in report.populations) == sum(len(t) for t in spike_times(p))


def test_a_parameter_change_that_regroups_neurons_keeps_each_neurons_state():
    # Three identical neurons form one spec population; giving the middle one another tau_m at
    # 30 ms splits them into two (engine order changes). Each neuron must go on from its own
    # state: neurons 0 and 2 run exactly as if nothing had changed.
    def net():
        sim.setup(timestep=DT, min_delay=DT, seed=18)
        p = sim.Population(3, sim.IF_curr_exp(i_offset=[0.6, 0.7, 0.8], tau_refrac=2.0))
        p.record("v")
        return p

    p = net()
    sim.run(30.0)
    p[1:2].set(tau_m=12.0)
    sim.run(30.0)
    changed = v_trace(p)
    p = net()
    sim.run(60.0)
    plain = v_trace(p)
    np.testing.assert_array_equal(changed[:, [0, 2]], plain[:, [0, 2]])
    assert np.array_equal(changed[:301, 1], plain[:301, 1]) and not np.array_equal(changed[:, 1], plain[:, 1])


def test_loihi_refuses_a_change_of_register_scales_between_runs():
    sim.setup(timestep=1.0, min_delay=1.0, arithmetic="loihi", seed=19)
    p = sim.Population(2, sim.IF_curr_exp(i_offset=0.5))
    sim.run(10.0)
    p.set(v_thresh=-55.0)
    with pytest.raises(Exception, match="Loihi register scales"):
        sim.run(10.0)
    p.set(v_thresh=-50.0, i_offset=0.9)  # the bias is not a scale: the run goes on
    sim.run(10.0)
    assert sim.get_current_time() == 20.0


def test_get_data_with_clear_gives_each_stretch_once():
    sim.setup(timestep=DT, min_delay=DT, seed=20)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[0.5, 10.2, 12.3, 1000.0]))
    src.record("spikes")
    got = []
    for _ in range(3):
        sim.run(10.0)
        got.append(np.asarray(src.get_data("spikes", clear=True).segments[0].spiketrains[0].magnitude))
    np.testing.assert_allclose(got[0], [0.5])
    np.testing.assert_allclose(got[1], [10.2, 12.3])
    assert got[2].size == 0


@pytest.mark.slow
@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_cuba_as_a_pynn_script_spikes_as_the_spec(arithmetic):
    # models/cuba.toml (4000 neurons, recurrent) written as a PyNN script with the same
    # connectivity and initial potentials (bench/pynn_cuba.py): identical spikes, 300 ms.
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "pynn_cuba.py"
    spec = importlib.util.spec_from_file_location("pynn_cuba", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    got, _ = bench.pynn_run(3000, cm=0.2, arithmetic=arithmetic)
    result = bench.compare(bench.reference(3000, arithmetic), got)
    assert all(r["identical"] for r in result.values()), result
    assert result["exc"]["spec"] > 1000


def _neuron_driven_network(backend):
    """Neurons driven by offsets and a DC pulse, projecting with random weights and delays."""
    backend.setup(timestep=DT, min_delay=DT)
    drv = backend.Population(
        5,
        backend.IF_curr_exp(
            tau_m=[10.0, 20.0, 20.0, 15.0, 12.0],
            cm=[0.5, 1.0, 0.25, 0.8, 0.3],
            i_offset=[1.0, 0.9, 0.3, 0.8, 0.7],
            tau_refrac=2.0,
        ),
    )
    p = backend.Population(
        4,
        backend.IF_curr_exp(
            tau_m=[10.0, 20.0, 20.0, 15.0],
            cm=[0.5, 1.0, 0.25, 0.8],
            tau_syn_E=3.0,
            tau_syn_I=8.0,
            v_thresh=-55.0,
            tau_refrac=2.0,
            i_offset=[0.0, 0.2, 0.1, 0.0],
        ),
    )
    rng = backend.NumpyRNG
    w = backend.RandomDistribution("uniform", (0.5, 1.5), rng=rng(seed=4))
    d = backend.RandomDistribution("uniform", (0.2, 3.0), rng=rng(seed=5))
    backend.Projection(
        drv,
        p,
        backend.FixedProbabilityConnector(0.7, rng=rng(seed=3)),
        backend.StaticSynapse(weight=w, delay=d),
        receptor_type="excitatory",
    )
    backend.Projection(
        drv,
        p,
        backend.FixedProbabilityConnector(0.3, rng=rng(seed=6)),
        backend.StaticSynapse(weight=-0.4, delay=1.0),
        receptor_type="inhibitory",
    )
    backend.DCSource(amplitude=0.6, start=15.0, stop=35.0).inject_into(p[0:2])
    p.initialize(v=-65.0)
    drv.initialize(v=-65.0)
    p.record(["spikes", "v"])
    backend.run(80.0)
    seg = p.get_data().segments[0]
    out = np.asarray(seg.filter(name="v")[0].magnitude), [np.asarray(t.magnitude) for t in seg.spiketrains]
    backend.end()
    return out


@pytest.mark.brian2
@pytest.mark.slow
def test_same_script_on_pynn_brian2_backend_gives_the_same_membrane():
    # PyNN's own Brian2 backend runs the same script: identical v (the exact-integration
    # formula evaluated in another order: last bits only) and the same spikes, which Brian2
    # stamps at the start of the step that crossed and neuro.pynn (as NEST) at its end.
    brian2_backend = pytest.importorskip("pyNN.brian2")
    v_b, st_b = _neuron_driven_network(brian2_backend)
    v_n, st_n = _neuron_driven_network(sim)
    np.testing.assert_allclose(v_n, v_b, rtol=0, atol=1e-9)
    assert sum(len(t) for t in st_n) > 10
    for a, b in zip(st_n, st_b, strict=True):
        np.testing.assert_allclose(a, b + DT, rtol=0, atol=1e-9)


def test_poisson_sources_with_their_own_windows():
    # Two Poisson channels with different start/duration become two spec inputs; each spikes only
    # inside its own window, at about its rate.
    sim.setup(timestep=DT, min_delay=DT, seed=21)
    src = sim.Population(
        2, sim.SpikeSourcePoisson(rate=[200.0, 400.0], start=[100.0, 300.0], duration=[400.0, 500.0])
    )
    src.record("spikes")
    sim.run(1000.0)
    a, b = spike_times(src)
    assert a.min() >= 100.0 and a.max() < 500.0 and b.min() >= 300.0 and b.max() < 800.0
    assert 60 < a.size < 100 and 160 < b.size < 240  # 80 and 200 expected


def test_growing_the_network_between_runs_needs_reset():
    sim.setup(timestep=DT, min_delay=DT, seed=23)
    p = sim.Population(2, sim.IF_curr_exp(i_offset=1.0))
    p.record("spikes")
    sim.run(20.0)
    q = sim.Population(3, sim.IF_curr_exp(i_offset=1.0))
    q.record("spikes")
    with pytest.raises(Exception, match="structure changed between runs.*call reset"):
        sim.run(20.0)
    sim.reset()
    sim.run(40.0)
    assert [len(t) for t in spike_times(q, 1)] == [len(t) for t in spike_times(p, 1)][:1] * 3


def test_weights_set_after_learning_are_kept_and_used():
    # After a run with STDP, get() reads the learned weight; a weight set then stays set (it is
    # not overwritten by the engine's) and is the one the next run starts from.
    wd = sim.AdditiveWeightDependence(w_min=0.0, w_max=0.8)
    w1, tp, tq = _stdp_pair(10.0, 20.0, wd)
    prj = sim.simulator.state.projections[-1]
    assert prj.get("weight", format="list", with_address=False)[0] == pytest.approx(w1)
    prj.set(weight=0.123)
    assert prj.get("weight", format="list", with_address=False)[0] == 0.123
    sim.run(20.0)  # no spikes in this stretch: nothing learns
    assert prj.get("weight", format="list", with_address=False)[0] == pytest.approx(0.123)


def test_spec_errors_name_the_pynn_object():
    sim.setup(timestep=1.0, min_delay=1.0, arithmetic="loihi")
    sim.Population(1, sim.IF_curr_exp(tau_refrac=100.0), label="cells")
    with pytest.raises(Exception, match=r"Population \"cells\" \(populations\[0\]\.refractory\).*at most 63"):
        sim.run(10.0)


# --------------------------------------------------------------------------- temporary files
SCRIPT = """
import neuro.pynn as sim
sim.setup(timestep=0.1, min_delay=0.1, seed=1)
a = sim.Population(4, sim.SpikeSourceArray(spike_times=[1.0, 2.0]))
b = sim.Population(4, sim.IF_curr_exp())
sim.Projection(a, b, sim.FromListConnector([(0, 1), (3, 2)]), sim.StaticSynapse(weight=0.5, delay=1.0))
sim.run(5.0)
b.set(tau_m=15.0)  # a change between runs: a second session, its own list files
sim.run(5.0)
{end}
"""


@pytest.mark.parametrize("end", ["sim.end()", "sim.setup(timestep=0.1, min_delay=0.1)\nsim.end()", ""])
def test_a_script_leaves_no_temporary_files(tmp_path, end):
    # the list connections of every run session go to .npy files in a temporary folder: end(),
    # a second setup() and the interpreter's exit (a script without end()) remove all of it
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    script = SCRIPT.format(end=end)
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_run_files_exist_while_the_script_runs():
    sim.setup(timestep=DT, min_delay=DT, seed=1)
    a = sim.Population(4, sim.SpikeSourceArray(spike_times=[1.0]))
    b = sim.Population(4, sim.IF_curr_exp())
    sim.Projection(a, b, sim.FromListConnector([(0, 1)]), sim.StaticSynapse(weight=0.5, delay=1.0))
    assert sim.simulator.state.workdir is None  # nothing is made before a run
    sim.run(2.0)
    workdir = sim.simulator.state.workdir
    assert (workdir / "session1" / "projection0.npy").is_file()
    sim.end()
    assert not workdir.exists() and sim.simulator.state.workdir is None
