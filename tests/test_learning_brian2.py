"""Float learning against Brian2's own STDP formulation (numpy target), spike for spike.

Song, Miller & Abbott's setup with current-based neurons: N Poisson inputs (drawn once by
neuro and fed to Brian2 as a SpikeGeneratorGroup) onto a few LIF neurons through plastic
all-to-all synapses. Brian2 runs the rules as its documentation writes them (event-driven
traces ``Apre``/``Apost``, ``on_pre``/``on_post``; see :mod:`neuro.verify.brian2_plastic`).
Post spike trains must be identical and the sampled weights equal to 1e-9 (relative); both
simulators evaluate the same exponentials in different orders, so they differ in the last bits.
General sum-of-products rules and delayed plastic projections are compared the same way.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuro.errors import NeuroError
from neuro.spec import Network
from neuro.verify import brian2_plastic
from neuro.verify.brian2_plastic import (
    check_plastic_expressible,
    ring_size,
    run_brian2_plastic,
    run_neuro_plastic,
    weight_difference,
)

from .conftest import assert_one_line_error

brian2 = pytest.mark.brian2
quiet = pytest.mark.filterwarnings("ignore::pyparsing.PyparsingDeprecationWarning")

SEED = 12
SAMPLES = [1000, 4000, 10000, 20000]  # steps at which weights and thresholds are compared
W_MAX = 0.1


def sma_net(plasticity: dict, n_in=250, n_post=2, steps=20000, dt=0.1, post=None) -> Network:
    """N Poisson inputs at 15 Hz onto ``n_post`` LIF neurons, all-to-all plastic, initial w ~ U(0, w_max)."""
    pop = {
        "name": "post",
        "size": n_post,
        "tau_mem": 10.0,
        "tau_syn": 5.0,
        "v_threshold": 1.0,
        "refractory": 2.0,
    }
    return Network.from_dict(
        {
            "simulation": {"dt": dt, "steps": steps, "seed": SEED},
            "inputs": [{"name": "in", "kind": "poisson", "size": n_in, "rate": 15.0}],
            "populations": [{**pop, **(post or {})}],
            "projections": [
                {
                    "pre": "in",
                    "post": "post",
                    "weight": {"dist": "uniform", "low": 0.0, "high": W_MAX},
                    "plasticity": {"w_max": W_MAX, **plasticity},
                }
            ],
        }
    )


def assert_same(net: Network, samples=SAMPLES, min_spikes=40):
    a = run_neuro_plastic(net, SEED, samples)
    b = run_brian2_plastic(net, SEED, samples, target="numpy")
    for name, (st, ne) in a.spikes.items():
        bst, bne = b.spikes[name]
        assert st.size >= min_spikes, f"{name}: only {st.size} spikes"
        np.testing.assert_array_equal(st, bst)
        np.testing.assert_array_equal(ne, bne)
    for k in samples:
        for p, wa in a.weights[k].items():
            np.testing.assert_allclose(wa, b.weights[k][p], rtol=1e-9, atol=1e-15, err_msg=f"step {k}")
        for name, th in a.theta[k].items():
            np.testing.assert_allclose(th, b.theta[k][name], rtol=1e-9, atol=1e-15)
    assert weight_difference(a, b) < 1e-9
    return a


def learned(run, first=SAMPLES[0], last=SAMPLES[-1]) -> np.ndarray:
    return run.weights[last][0] - run.weights[first][0]


@brian2
@quiet
def test_pair_stdp_all_to_all_matches_brian2():
    pl = {"kind": "pair_stdp", "A_plus": 0.005, "A_minus": 0.00525, "tau_plus": 20.0, "tau_minus": 20.0}
    run = assert_same(sma_net(pl))
    w = run.weights[SAMPLES[-1]][0]
    assert np.abs(learned(run)).mean() > 1e-3  # the weights did move
    assert (w == 0.0).any() and (w == W_MAX).any()  # and both bounds were hit


@brian2
@quiet
def test_pair_stdp_nearest_matches_brian2():
    pl = {
        "kind": "pair_stdp",
        "A_plus": 0.008,
        "A_minus": 0.004,
        "tau_plus": 16.8,
        "tau_minus": 33.7,
        "nearest": True,
    }
    run = assert_same(sma_net(pl))
    assert np.abs(learned(run)).mean() > 1e-3


@brian2
@quiet
def test_pair_stdp_weight_dependent_matches_brian2():
    pl = {"kind": "pair_stdp", "A_plus": 0.05, "A_minus": 0.05, "weight_dependent": True, "w_min": 0.01}
    run = assert_same(sma_net(pl))
    assert np.abs(learned(run)).mean() > 1e-3


@brian2
@quiet
def test_diehl_cook_with_adaptive_threshold_matches_brian2():
    pl = {
        "kind": "diehl_cook",
        "nu_pre": 0.0005,
        "nu_post": 0.01,
        "tau_pre": 20.0,
        "tau_post1": 20.0,
        "tau_post2": 40.0,
    }
    run = assert_same(sma_net(pl, post={"theta_plus": 0.05, "tau_theta": 200.0}))
    assert np.abs(learned(run)).mean() > 1e-3
    assert (run.theta[SAMPLES[-1]]["post"] > 0.01).all()


@brian2
@quiet
def test_general_rule_matches_brian2():
    # every factor (x1, x2, y1, y2, y3, w, r; powers), both trace modes, impulses other than 1,
    # terms of both dependencies; r is 0 (the register's value until the host sets it)
    rule = (
        "dw = 2^-7*x1*y0 + 0.004*x2*x2*y0 - 0.03*w*y1*x0 + 2^-11*y2*x0 - 0.002*y3*w*y0"
        " - 5*2^-12*x1*y1*x0 + 0.7*r*x0 - 0.3*r*w*y0"
    )
    pl = {
        "kind": "rule",
        "rule": rule,
        "x1": {"tau": 15.0, "mode": "set"},
        "x2": {"tau": 8.0, "impulse": 0.5},
        "y1": {"tau": 25.0},
        "y2": {"tau": 60.0, "impulse": 0.25, "mode": "set"},
        "y3": {"tau": 100.0, "impulse": 2.0},
        "w_min": 0.005,
    }
    run = assert_same(sma_net(pl))
    assert np.abs(learned(run)).mean() > 1e-3


@brian2
@quiet
def test_delayed_plastic_projections_match_brian2(monkeypatch):
    # inputs -> hidden (plastic pair STDP, delays 0..1 ms per synapse: a ring of 11 weights)
    # -> out (plastic rule, 1 ms delay: a ring of one weight, as 20 refractory steps > 10 delay
    # steps), plus a dual-current inhibitory projection and a current input switched on and
    # off. neuro learns at the spike and routes the weight as it was then; Brian2's 'learn'
    # pathway (no delay) and 'pre' pathway (the delay) must do the same.
    net = Network.from_dict(
        {
            "simulation": {"dt": 0.1, "steps": 10000, "seed": SEED},
            "inputs": [
                {"name": "in", "kind": "poisson", "size": 200, "rate": 15.0},
                {
                    "name": "kick",
                    "kind": "current",
                    "target": "out",
                    "amplitude": 0.4,
                    "start": 300,
                    "stop": 1400,
                },
            ],
            "populations": [
                {"name": "hidden", "size": 20, "tau_mem": 10.0, "tau_syn": 5.0, "refractory": 2.0},
                {
                    "name": "out",
                    "size": 3,
                    "tau_mem": 10.0,
                    "tau_syn": 3.0,
                    "tau_syn_inh": 8.0,
                    "refractory": 2.0,
                    "theta_plus": 0.05,
                    "tau_theta": 150.0,
                },
            ],
            "projections": [
                {
                    "pre": "in",
                    "post": "hidden",
                    "weight": {"dist": "uniform", "low": 0.0, "high": 0.2},
                    "delay": {"dist": "uniform", "low": 0.0, "high": 1.0},
                    "plasticity": {"kind": "pair_stdp", "A_plus": 0.01, "A_minus": 0.0105, "w_max": 0.2},
                },
                {
                    "pre": "hidden",
                    "post": "out",
                    "weight": {"dist": "uniform", "low": 0.3, "high": 1.0},
                    "delay": 1.0,
                    "plasticity": {
                        "kind": "rule",
                        "rule": "dw = 0.02*x1*y0 - 0.01*w*y1*x0",
                        "x1": {"tau": 20.0},
                        "y1": {"tau": 30.0, "mode": "set"},
                    },
                },
                {"pre": "in", "post": "out", "weight": -0.01, "receptor": "inh", "delay": 0.5},
            ],
        }
    )
    samples = [1000, 4000, 10000]
    run = assert_same(net, samples)
    for p in (0, 1):
        assert np.abs(run.weights[samples[-1]][p] - run.weights[samples[0]][p]).mean() > 1e-3

    # routing the weight as it is at arrival (Brian2's plain delayed on_pre) is caught
    real = brian2_plastic.delayed_synapse_code

    def at_arrival(plasticity, target, m):
        model, pathways, on_post, ns = real(plasticity, target, m)
        return model, {**pathways, "pre": f"{target} += w"}, on_post, ns

    monkeypatch.setattr(brian2_plastic, "delayed_synapse_code", at_arrival)
    a = run_neuro_plastic(net, SEED, samples)
    b = run_brian2_plastic(net, SEED, samples, target="numpy")
    assert weight_difference(a, b) > 1e-6


@brian2
@quiet
def test_plastic_synapses_from_neurons_match_brian2():
    # inputs -> 'hidden' (20 neurons, static) -> 'out' (2 neurons, plastic pair STDP): pre spikes
    # of neurons (not inputs) drive the pre-spike terms
    net = Network.from_dict(
        {
            "simulation": {"dt": 0.1, "steps": 20000, "seed": SEED},
            "inputs": [{"name": "in", "kind": "poisson", "size": 100, "rate": 20.0}],
            "populations": [
                {"name": "hidden", "size": 20, "tau_mem": 10.0, "tau_syn": 5.0, "v_threshold": 1.0},
                {
                    "name": "out",
                    "size": 2,
                    "tau_mem": 10.0,
                    "tau_syn": 2.0,
                    "v_threshold": 1.0,
                    "refractory": 1.0,
                },
            ],
            "projections": [
                {
                    "pre": "in",
                    "post": "hidden",
                    "connector": {"type": "fixed_probability", "p": 0.3},
                    "weight": 0.35,
                },
                {
                    "pre": "hidden",
                    "post": "out",
                    "weight": {"dist": "uniform", "low": 0.3, "high": 1.0},
                    "plasticity": {"kind": "pair_stdp", "A_plus": 0.05, "A_minus": 0.0525, "w_max": 1.2},
                },
            ],
        }
    )
    run = assert_same(net)
    assert np.abs(run.weights[SAMPLES[-1]][1] - run.weights[SAMPLES[0]][1]).mean() > 1e-3


# --------------------------------------------------------------------------- refusals (no Brian2 run)
def _net(arithmetic="float", plasticity=None, delay=0.0):
    return Network.from_dict(
        {
            "simulation": {"dt": 1.0, "steps": 10, "seed": 1, "arithmetic": arithmetic},
            "inputs": [{"name": "in", "kind": "spike_times", "times": [[1.0]]}],
            "populations": [{"name": "p", "size": 1}],
            "projections": [
                {"pre": "in", "post": "p", "delay": delay, "plasticity": plasticity or {"kind": "pair_stdp"}}
            ],
        },
        source="n.toml",
    )


def test_refuses_loihi_arithmetic():
    with pytest.raises(NeuroError) as e:
        check_plastic_expressible(_net(), "loihi")
    assert_one_line_error(e.value, "n.toml", "simulation.arithmetic", "float arithmetic only")


def test_refuses_nir_neuron_fields():
    net = Network.from_dict(
        {
            "simulation": {"dt": 1.0, "steps": 10, "seed": 1},
            "inputs": [{"name": "in", "kind": "spike_times", "times": [[1.0]]}],
            "populations": [{"name": "p", "size": 1, "tau_syn": 0.0}],
            "projections": [{"pre": "in", "post": "p", "plasticity": {"kind": "pair_stdp"}}],
        },
        source="n.toml",
    )
    with pytest.raises(NeuroError) as e:
        check_plastic_expressible(net)
    assert_one_line_error(e.value, "n.toml", "populations[0]", "tau_syn = 0")


def test_ring_size_counts_the_spikes_a_synapse_can_have_in_flight():
    assert ring_size(0, 1) == 1  # no delay: the weight is routed at once
    assert ring_size(15, 1) == 16  # an input may spike every step: 16 spikes within 16 steps
    assert ring_size(15, 20) == 1  # a neuron with 20 refractory steps: one in flight
    assert ring_size(20, 10) == 3  # spikes at k, k+10, k+20 are all in flight at k+20
