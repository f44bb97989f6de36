"""Float learning against hand-computed weights.

Protocol: a spike input ``pre`` (one channel) feeds the plastic synapse onto one neuron
``post``; the neuron is made to spike at chosen steps by a second input ``kick`` (weight
200 mV / (dt/ms), tau_syn = dt / 10: the current is gone after one step, so a kick at step k
gives exactly one post spike, at step k + 1). The plastic weight itself (<= 1 mV through the
same tiny gain) never moves v near the threshold. Traces are read exactly decayed: a trace
set at step k_s is worth ``impulse * exp(-(k - k_s) dt / tau)`` at step k. Pre events of a
step come before post events (Brian2's order), and post-spike terms read post traces before
their own update.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuro.engine import Simulator
from neuro.network import compile_network
from neuro.spec import Network

A_P, A_M, TAU_P, TAU_M = 0.01, 0.012, 20.0, 30.0
PAIR = {"kind": "pair_stdp", "A_plus": A_P, "A_minus": A_M, "tau_plus": TAU_P, "tau_minus": TAU_M}


def pair_spec(pre_times, post_times, plasticity, dt=1.0, steps=None, w0=0.5, post=None):
    """``pre`` spikes at ``pre_times`` (ms), ``post`` at ``post_times`` (ms, via kicks one step earlier)."""
    last = max([*pre_times, *post_times, 0.0])
    steps = steps if steps is not None else int(round(last / dt)) + 5
    pop = {"name": "post", "size": 1, "tau_mem": 10.0, "tau_syn": dt / 10, "v_threshold": 1.0}
    return {
        "simulation": {"dt": dt, "steps": steps, "seed": 1},
        "inputs": [
            {"name": "pre", "kind": "spike_times", "times": [list(pre_times)]},
            {"name": "kick", "kind": "spike_times", "times": [[t - dt for t in post_times]]},
        ],
        "populations": [{**pop, **(post or {})}],
        "projections": [
            {"pre": "pre", "post": "post", "weight": w0, "plasticity": plasticity},
            {"pre": "kick", "post": "post", "weight": 200.0 / dt},
        ],
    }


def run(spec, steps=None, learning=True, adapt=None, before=None):
    """Run a spec dict; return (simulator, plastic weight, post spike steps)."""
    net = Network.from_dict(spec)
    c = compile_network(net)
    sim = Simulator(c, learning=learning, adapt=adapt)
    if before is not None:
        before(sim)
    spikes = []
    sim.run(
        net.simulation.steps if steps is None else steps, on_spikes=lambda s, b, n: spikes.extend(s.tolist())
    )
    return sim, float(c.weight[c.indptr[c.source_offset("pre")]]), spikes


def plastic_weight(sim) -> float:
    c = sim.net
    return float(c.weight[c.indptr[c.source_offset("pre")]])


# --------------------------------------------------------------------------- pair protocol
@pytest.mark.parametrize("dt", [1.0, 0.1])
@pytest.mark.parametrize("delta", [-60.0, -20.0, -7.0, -1.0, 0.0, 1.0, 3.0, 10.0, 25.0, 80.0])
def test_pair_protocol_matches_analytic_curve(delta, dt):
    # one pre spike at 100 ms, one post spike at 100 + delta:
    #   delta >= 0: post term at t_post reads x1 = exp(-delta/tau+): dw = +A+ exp(-delta/tau+)
    #               (delta = 0: the pre event of the step comes first, so x1 = 1 already)
    #   delta <  0: pre term at t_pre reads y1 = exp(delta/tau-):   dw = -A- exp(delta/tau-)
    t_pre, t_post = 100.0, 100.0 + delta
    sim, w, spikes = run(pair_spec([t_pre], [t_post], PAIR, dt=dt))
    assert spikes == [int(round(t_post / dt))]
    expected = 0.5 + (A_P * math.exp(-delta / TAU_P) if delta >= 0 else -A_M * math.exp(delta / TAU_M))
    assert w == pytest.approx(expected, rel=1e-13, abs=1e-15)


def test_pair_protocol_long_gap_beyond_decay_table():
    # 600 ms at dt = 0.1 ms is 6000 steps (the decay table holds 4096): exp() is used directly
    pl = {**PAIR, "tau_plus": 200.0, "tau_minus": 150.0}
    _, w, _ = run(pair_spec([10.0], [610.0], pl, dt=0.1))
    assert w == pytest.approx(0.5 + A_P * math.exp(-600.0 / 200.0), rel=1e-13)
    _, w, _ = run(pair_spec([710.0], [10.0], pl, dt=0.1))
    assert w == pytest.approx(0.5 - A_M * math.exp(-700.0 / 150.0), rel=1e-13)


# --------------------------------------------------------------------------- all-to-all vs nearest
def test_all_to_all_sums_every_pair():
    # post at 5 and 30, pre at 10 and 20 (tau+ = 20, tau- = 30):
    #   pre 10: y1 = e^{-5/30}                 -> w -= A- e^{-5/30}
    #   pre 20: y1 = e^{-15/30}                -> w -= A- e^{-15/30}
    #   post 30: x1 = e^{-20/20} + e^{-10/20}  -> w += A+ (e^{-1} + e^{-1/2})
    _, w, _ = run(pair_spec([10.0, 20.0], [5.0, 30.0], PAIR))
    exp = math.exp
    expected = 0.5 - A_M * exp(-5 / 30) - A_M * exp(-15 / 30) + A_P * (exp(-20 / 20) + exp(-10 / 20))
    assert w == pytest.approx(expected, rel=1e-13)


def test_nearest_spike_uses_only_the_latest_spike():
    # same spikes, traces *set* to 1: post 30 reads only pre 20 -> A+ e^{-10/20}
    _, w, _ = run(pair_spec([10.0, 20.0], [5.0, 30.0], {**PAIR, "nearest": True}))
    exp = math.exp
    expected = 0.5 - A_M * exp(-5 / 30) - A_M * exp(-15 / 30) + A_P * exp(-10 / 20)
    assert w == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize(("nearest", "n_posts"), [(False, 2), (True, 1)])
def test_nearest_vs_all_to_all_for_depression(nearest, n_posts):
    # post at 2 and 5, pre at 10: all-to-all y1 = e^{-8/30} + e^{-5/30}; nearest y1 = e^{-5/30}
    _, w, _ = run(pair_spec([10.0], [2.0, 5.0], {**PAIR, "nearest": nearest}))
    y1 = math.exp(-5 / 30) + (math.exp(-8 / 30) if n_posts == 2 else 0.0)
    assert w == pytest.approx(0.5 - A_M * y1, rel=1e-13)


# --------------------------------------------------------------------------- weight dependence, bounds
def test_weight_dependent_rule():
    # w0 = 0.3 in [0.1, 0.9]; pre 10, post 15, pre 22:
    #   post 15: w1 = w0 + A+ (w_max - w0) e^{-5/20}
    #   pre 22:  w2 = w1 - A- (w1 - w_min) e^{-7/30}
    pl = {**PAIR, "A_plus": 0.2, "A_minus": 0.3, "weight_dependent": True, "w_min": 0.1, "w_max": 0.9}
    spec = pair_spec([10.0, 22.0], [15.0], pl, w0=0.3)
    sim, w1, _ = run(spec, steps=16)
    assert w1 == pytest.approx(0.3 + 0.2 * (0.9 - 0.3) * math.exp(-5 / 20), rel=1e-13)
    sim.run(10)
    w2 = plastic_weight(sim)
    assert w2 == pytest.approx(w1 - 0.3 * (w1 - 0.1) * math.exp(-7 / 30), rel=1e-13)


def test_weights_are_clipped_after_every_update():
    # w0 = 0.95, w_max = 1: pre 10, post 12 -> 0.95 + 0.3 e^{-2/20} = 1.221 -> clipped to 1.0;
    # pre 15 then depresses from 1.0 (not from 1.221): w = 1.0 - 0.4 e^{-3/30}
    pl = {**PAIR, "A_plus": 0.3, "A_minus": 0.4, "w_max": 1.0}
    sim, w, _ = run(pair_spec([10.0, 15.0], [12.0], pl, w0=0.95), steps=13)
    assert w == 1.0
    sim.run(10)
    assert plastic_weight(sim) == pytest.approx(1.0 - 0.4 * math.exp(-3 / 30), rel=1e-13)
    # and the lower bound: 0.05 - 0.4 e^{-1/30} < w_min = 0 -> 0
    _, w, _ = run(pair_spec([11.0], [10.0], pl, w0=0.05))
    assert w == 0.0


def test_negative_weight_bounds():
    # w in [-1, -0.2]: start at -0.5, pre 10, post 11: -0.5 + 0.5 e^{-1/20} = -0.0244 -> -0.2
    pl = {**PAIR, "A_plus": 0.5, "w_min": -1.0, "w_max": -0.2}
    _, w, _ = run(pair_spec([10.0], [11.0], pl, w0=-0.5))
    assert w == -0.2


# --------------------------------------------------------------------------- Diehl & Cook
DC = {
    "kind": "diehl_cook",
    "nu_pre": 0.01,
    "nu_post": 0.05,
    "tau_pre": 20.0,
    "tau_post1": 20.0,
    "tau_post2": 40.0,
}


def test_diehl_cook_two_neurons_by_hand():
    # pre at 10, 20, 33; post at 14, 25, 31. Traces are set to 1 at a spike.
    #   pre 10:  w -= nu_pre * post1(10)           = 0 (no post spike yet); pre = 1
    #   post 14: w += nu_post * pre(14) * post2b    = 0 (post2 before its update is 0); post1 = post2 = 1
    #   pre 20:  w -= nu_pre * e^{-6/20}
    #   post 25: w += nu_post * e^{-5/20} * e^{-11/40}
    #   post 31: w += nu_post * e^{-11/20} * e^{-6/40}   (post2 before this update: set at 25)
    #   pre 33:  w -= nu_pre * e^{-2/20}
    exp = math.exp
    spec = pair_spec([10.0, 20.0, 33.0], [14.0, 25.0, 31.0], DC, w0=0.5)
    steps = [(15, 0.5), (21, 0.5 - 0.01 * exp(-6 / 20))]
    w = steps[-1][1] + 0.05 * exp(-5 / 20) * exp(-11 / 40)
    steps.append((26, w))
    w += 0.05 * exp(-11 / 20) * exp(-6 / 40)
    steps.append((32, w))
    w -= 0.01 * exp(-2 / 20)
    steps.append((40, w))
    sim = Simulator(compile_network(Network.from_dict(spec)))
    for k, expected in steps:
        sim.run(k - sim.step)
        assert plastic_weight(sim) == pytest.approx(expected, rel=1e-13), k


def test_diehl_cook_pre_and_post_in_the_same_step():
    # post at 10, then pre and post both at 30:
    #   pre 30 (first):  w -= nu_pre * post1(30) = nu_pre e^{-20/20}; pre = 1
    #   post 30 (after): w += nu_post * pre(30) * post2b(30) = nu_post * 1 * e^{-20/40}
    _, w, _ = run(pair_spec([30.0], [10.0, 30.0], DC, w0=0.5))
    assert w == pytest.approx(0.5 - 0.01 * math.exp(-1.0) + 0.05 * math.exp(-0.5), rel=1e-13)


# --------------------------------------------------------------------------- general rules
def test_general_rule_with_second_traces():
    # dw = 0.01 x1 y0 + 0.02 x1 y2 y0 - 0.03 y1 x0 - 0.04 y1 x2 x0
    # traces: x1 tau 10 add 1; x2 tau 50 add 0.5; y1 tau 15 set 1; y2 tau 40 add 2
    # pre 10, post 14, post 20, pre 26:
    #   post 14: x1 = e^{-4/10}, y2 (before update) = 0   -> w += 0.01 e^{-0.4}
    #   post 20: x1 = e^{-10/10}, y2 = 2 e^{-6/40}       -> w += 0.01 e^{-1} + 0.02 e^{-1} 2 e^{-6/40}
    #   pre 26:  y1 = e^{-6/15} (set at 20), x2 (before update) = 0.5 e^{-16/50}
    #            -> w -= 0.03 e^{-6/15} + 0.04 e^{-6/15} 0.5 e^{-16/50}
    rule = {
        "kind": "rule",
        "rule": "dw = 0.01*x1*y0 + 0.02*x1*y2*y0 - 0.03*y1*x0 - 0.04*y1*x2*x0",
        "x1": {"tau": 10.0},
        "x2": {"tau": 50.0, "impulse": 0.5},
        "y1": {"tau": 15.0, "mode": "set"},
        "y2": {"tau": 40.0, "impulse": 2.0},
        "w_min": -10.0,
        "w_max": 10.0,
    }
    exp = math.exp
    _, w, _ = run(pair_spec([10.0, 26.0], [14.0, 20.0], rule, w0=0.5))
    expected = (
        0.5
        + 0.01 * exp(-0.4)
        + 0.01 * exp(-1.0)
        + 0.02 * exp(-1.0) * 2 * exp(-6 / 40)
        - 0.03 * exp(-6 / 15)
        - 0.04 * exp(-6 / 15) * 0.5 * exp(-16 / 50)
    )
    assert w == pytest.approx(expected, rel=1e-13)


def test_traces_are_exactly_decayed_values():
    # x1 after pre spikes at 10 and 30 (add, tau 20), stored at its last update step 30:
    # x1(30) = e^{-20/20} + 1; y1 after post at 12 (set): 1 at step 12
    sim, _, _ = run(pair_spec([10.0, 30.0], [12.0], PAIR))
    t = sim.tables.arrays
    src = sim.net.source_offset("pre")
    assert t["x"][0, 0, src] == pytest.approx(math.exp(-1.0) + 1.0, rel=1e-15)
    assert t["x_last"][0, src] == 30
    assert t["y"][0, 0, 0] == 1.0 and t["y_last"][0, 0] == 12


# --------------------------------------------------------------------------- reward
@pytest.mark.parametrize("reward", [0.0, 0.5, -1.0])
def test_reward_factor(reward):
    # dw = 0.1 r x1 y0 - 0.05 r y1 x0: pre 10, post 15 -> dw = 0.1 r e^{-5/20}
    rule = {"kind": "rule", "rule": "dw = 0.1*r*x1*y0 - 0.05*r*y1*x0", "w_min": -1.0}

    def set_reward(sim):
        sim.tables.arrays["reward"][0] = reward

    _, w, _ = run(pair_spec([10.0], [15.0], rule), before=set_reward)
    assert w == pytest.approx(0.5 + 0.1 * reward * math.exp(-5 / 20), rel=1e-13, abs=1e-15)


def test_reward_changed_between_runs():
    # r = 1 during the first pair (pre 10, post 15), r = -2 during the second (post 40, pre 45)
    rule = {"kind": "rule", "rule": "dw = 0.1*r*x1*y0 - 0.05*r*y1*x0", "w_min": -1.0}
    sim = Simulator(compile_network(Network.from_dict(pair_spec([10.0, 45.0], [15.0, 40.0], rule))))
    sim.tables.arrays["reward"][0] = 1.0
    sim.run(20)
    w1 = 0.5 + 0.1 * math.exp(-5 / 20)
    assert plastic_weight(sim) == pytest.approx(w1, rel=1e-13)
    sim.tables.arrays["reward"][0] = -2.0
    sim.run(30)
    # post 40 reads x1 = e^{-30/20} (pre 10) -> + 0.1 (-2) e^{-1.5}; pre 45 reads y1 = e^{-5/20} + e^{-30/20}
    w2 = w1 - 0.2 * math.exp(-30 / 20) + 0.1 * (math.exp(-5 / 20) + math.exp(-30 / 20))
    assert plastic_weight(sim) == pytest.approx(w2, rel=1e-13)


# --------------------------------------------------------------------------- learning off, theta
THETA = {"theta_plus": 0.3, "tau_theta": 50.0, "theta_init": 0.2}


def test_learning_off_freezes_weights_and_thresholds():
    spec = pair_spec([10.0, 20.0], [15.0, 30.0], PAIR, post=THETA)
    sim, w, spikes = run(spec, learning=False)
    assert w == 0.5
    assert sim.state["theta"][0, 0] == 0.2
    assert spikes == [15, 30]
    assert "learning_weight_updates" not in sim.counters()
    assert not sim.learning and not sim.adapt


def test_adaptive_threshold_jumps_and_decays():
    # theta decays by e^{-dt/50} every step and jumps by 0.3 at each spike (steps 15 and 30);
    # after 40 steps (last update at step 39): theta = 0.2 e^{-40/50} + 0.3 e^{-24/50} + 0.3 e^{-9/50}
    spec = pair_spec([10.0], [15.0, 30.0], PAIR, post=THETA, steps=40)
    sim, _, spikes = run(spec)
    assert spikes == [15, 30]
    exp = math.exp
    expected = 0.2 * exp(-40 / 50) + 0.3 * exp(-24 / 50) + 0.3 * exp(-9 / 50)
    assert sim.state["theta"][0, 0] == pytest.approx(expected, rel=1e-13)


def test_adaptive_threshold_raises_the_threshold():
    # a kick lifts v to about 1.83 mV (200 mV through a gain of 0.0091). With theta_plus = 1 the
    # threshold after the first spike is 1 + e^{-k/50} > 1.83 for k < 9.3 steps: the kick 5 steps
    # later fails, the one 20 steps later (threshold 1 + e^{-20/50} = 1.67) succeeds.
    post = {"theta_plus": 1.0, "tau_theta": 50.0}
    _, _, spikes = run(pair_spec([], [10.0, 15.0, 30.0], PAIR, post=post))
    assert spikes == [10, 30]
    _, _, spikes = run(pair_spec([], [10.0, 15.0, 30.0], PAIR, post=post), adapt=False)
    assert spikes == [10, 15, 30]


def test_adapt_false_keeps_theta_but_weights_learn():
    spec = pair_spec([10.0], [15.0], PAIR, post=THETA)
    sim, w, spikes = run(spec, adapt=False)
    assert sim.state["theta"][0, 0] == 0.2
    assert w == pytest.approx(0.5 + A_P * math.exp(-5 / 20), rel=1e-13)


# --------------------------------------------------------------------------- event-driven updates
def two_projection_spec(rule, a_times, b_times, kick_pairs=(), steps=30):
    """Sources A (3 channels) and B (2 channels), both plastic onto 'post' (4 neurons, never firing
    by themselves); A also drives 'other' (non-plastic). 'kick' (4 channels) fires post neurons."""
    pop = {"tau_mem": 10.0, "tau_syn": 0.1, "v_threshold": 1.0}
    return {
        "simulation": {"dt": 1.0, "steps": steps, "seed": 2},
        "inputs": [
            {"name": "A", "kind": "spike_times", "times": a_times},
            {"name": "B", "kind": "spike_times", "times": b_times},
            {"name": "kick", "kind": "spike_times", "times": [[t] for t, _ in kick_pairs] or [[]]},
        ],
        "populations": [{"name": "post", "size": 4, **pop}, {"name": "other", "size": 2, **pop}],
        "projections": [
            {
                "pre": "A",
                "post": "post",
                "weight": {"dist": "uniform", "low": 0, "high": 0.5},
                "plasticity": rule,
            },
            {
                "pre": "B",
                "post": "post",
                "weight": {"dist": "uniform", "low": 0, "high": 0.5},
                "plasticity": rule,
            },
            {"pre": "A", "post": "other", "weight": 0.3},
            {
                "pre": "kick",
                "post": "post",
                "connector": {
                    "type": "list",
                    "pairs": [[i, j] for i, (_, j) in enumerate(kick_pairs)] or [[0, 0]],
                },
                "weight": 200.0 if kick_pairs else 0.0,
            },
        ],
    }


def proj_weights(c, p):
    return c.weight[list(c.projection_positions())[p]].copy()


def test_pre_spike_touches_only_its_own_row():
    # dw = 0.01 x0 changes every synapse a pre spike visits, whatever the traces
    rule = {"kind": "rule", "rule": "dw = 0.01*x0", "w_max": 10.0}
    spec = two_projection_spec(rule, [[], [5.0], []], [[], []])
    c = compile_network(Network.from_dict(spec))
    before = [proj_weights(c, p) for p in range(4)]
    sim = Simulator(c)
    sim.run(30)
    after = [proj_weights(c, p) for p in range(4)]
    row = np.repeat(np.arange(3), 4)  # A's synapses, sorted by pre then post
    np.testing.assert_array_equal(after[0][row != 1], before[0][row != 1])
    np.testing.assert_allclose(after[0][row == 1], before[0][row == 1] + 0.01, rtol=1e-15)
    for p in (1, 2, 3):  # B's plastic synapses, A's static ones, the kicks
        np.testing.assert_array_equal(after[p], before[p])
    assert sim.counters()["learning_weight_updates"] == 1 * 4  # one spike x fan-out 4
    assert sim.counters()["spikes"] == 0


def test_post_spike_touches_only_its_own_column():
    # dw = 0.01 y0: post neuron 2 fires once (kick at 7): synapses onto 2 of both plastic projections
    rule = {"kind": "rule", "rule": "dw = 0.01*y0", "w_max": 10.0}
    spec = two_projection_spec(rule, [[], [], []], [[], []], kick_pairs=[(7.0, 2)])
    c = compile_network(Network.from_dict(spec))
    before = [proj_weights(c, p) for p in range(4)]
    sim = Simulator(c)
    sim.run(30)
    after = [proj_weights(c, p) for p in range(4)]
    for p, n_pre in ((0, 3), (1, 2)):
        col = np.tile(np.arange(4), n_pre)
        np.testing.assert_array_equal(after[p][col != 2], before[p][col != 2])
        np.testing.assert_allclose(after[p][col == 2], before[p][col == 2] + 0.01, rtol=1e-15)
    np.testing.assert_array_equal(after[2], before[2])
    assert sim.counters()["spikes"] == 1
    assert sim.counters()["learning_weight_updates"] == 3 + 2  # fan-in of neuron 2 in each rule


def test_learning_work_is_spikes_times_fan_out():
    # Poisson inputs onto two plastic projections (and a plastic recurrent one): every pre spike
    # visits its row, every post spike its column in each rule it belongs to.
    spec = {
        "simulation": {"dt": 1.0, "steps": 500, "seed": 9},
        "inputs": [
            {"name": "A", "kind": "poisson", "size": 30, "rate": 40.0},
            {"name": "B", "kind": "poisson", "size": 20, "rate": 25.0},
        ],
        "populations": [{"name": "post", "size": 5, "tau_mem": 10.0, "tau_syn": 5.0, "v_threshold": 1.0}],
        "projections": [
            {"pre": "A", "post": "post", "weight": 0.3, "plasticity": PAIR},
            {"pre": "B", "post": "post", "weight": 0.3, "plasticity": DC},
            {"pre": "post", "post": "post", "weight": -0.1, "plasticity": {**PAIR, "w_min": -1.0}},
        ],
    }
    net = Network.from_dict(spec)
    c = compile_network(net)
    sim = Simulator(c)
    sim.run(500)
    cnt = sim.spike_count
    a, b = slice(c.source_offset("A"), c.source_offset("A") + 30), slice(c.source_offset("B"), None)
    post_spikes = int(cnt[:5].sum())
    assert post_spikes > 10 and cnt[a].sum() > 100 and cnt[b].sum() > 100
    expected = (
        cnt[a].sum() * 5
        + post_spikes * 30  # A -> post
        + cnt[b].sum() * 5
        + post_spikes * 20  # B -> post
        + post_spikes * 4
        + post_spikes * 4  # post -> post (no self connections): rows and columns of 4
    )
    counters = sim.counters()
    assert counters["learning_weight_updates"] == expected
    # trace updates: one per pre event and one per post event, per rule
    assert (
        counters["learning_trace_updates"] == cnt[a].sum() + cnt[b].sum() + 2 * post_spikes + 2 * post_spikes
    )
