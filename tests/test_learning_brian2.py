"""Float learning against Brian2's own STDP formulation (numpy target), spike for spike.

Song, Miller & Abbott's setup with current-based neurons: N Poisson inputs (drawn once by
neuro and fed to Brian2 as a SpikeGeneratorGroup) onto a few LIF neurons through plastic
all-to-all synapses. Brian2 runs the rules as its documentation writes them (event-driven
traces ``Apre``/``Apost``, ``on_pre``/``on_post``; see :mod:`neuro.verify.brian2_plastic`).
Post spike trains must be identical and the sampled weights equal to 1e-9 (relative); both
simulators evaluate the same exponentials in different orders, so they differ in the last bits.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuro.errors import NeuroError
from neuro.spec import Network
from neuro.verify.brian2_plastic import (
    check_plastic_expressible,
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


def test_refuses_general_rules():
    with pytest.raises(NeuroError) as e:
        check_plastic_expressible(_net(plasticity={"kind": "rule", "rule": "dw = x0"}))
    assert_one_line_error(e.value, "n.toml", "projections[0].plasticity.kind", "pair_stdp, diehl_cook")


def test_refuses_plastic_delays():
    with pytest.raises(NeuroError) as e:
        run_neuro_plastic(_net(delay=2.0), 1, [5])
    assert_one_line_error(e.value, "n.toml", "projections[0].delay", "at the spike")
