"""The TrueNorth neuron (Cassidy et al. 2013) against hand-worked traces, and its stochastic
modes against their distributions.

Conventions (``neuro/dynamics/truenorth.py``): one tick per step (dt = 1 ms); an input spike at
step s with delay 0 ms arrives (is integrated) at tick s + 1; per tick: synapses, then leak,
then threshold / fire / reset. Probes record V after the tick.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuro.network import compile_network
from neuro.spec import Network

from .conftest import simulate


def tn_net(pops, inputs=(), projections=(), steps=20, seed=0):
    """Populations given as (name, size, truenorth table) in truenorth arithmetic."""
    return Network.from_dict(
        {
            "simulation": {"arithmetic": "truenorth", "steps": steps, "seed": seed},
            "populations": [{"name": n, "size": s, "truenorth": t} for n, s, t in pops],
            "inputs": list(inputs),
            "projections": list(projections),
        }
    )


def trace(net, steps=None, neurons=None):
    """(v (ticks, neurons), spike ticks per neuron) of the first population."""
    n = net.populations[0].size if neurons is None else neurons
    res = simulate(net, steps=steps, probe=list(range(n)))
    spikes = [res.spike_steps(i) for i in range(n)]
    return res.v[:, 0, :], spikes


def spikes_in(times):
    return {"name": "in", "kind": "spike_times", "times": times}


# --------------------------------------------------------------------------- synapses, leak
def test_integration_by_axon_type_and_leak_floor():
    # weights s = [5, -3, 2, 0]; channel c of "in" uses axon type c. Leak -1 (no reversal),
    # negative threshold beta = 0 in saturate mode: V never goes below 0.
    # spikes: ch0 at 0, ch1 and ch2 at 1 -> integrated at ticks 1 and 2.
    # t0: 0 - 1 = -1 < -0 -> V = 0      t1: 0 + 5 - 1 = 4
    # t2: 4 + (-3 + 2) - 1 = 2           t3: 1     t4: 0     t5: -1 -> 0
    net = tn_net(
        [("a", 1, {"weights": [5, -3, 2, 0], "leak": -1, "threshold": 100})],
        [spikes_in([[0.0], [1.0], [1.0]])],
        [
            {
                "pre": "in",
                "post": "a",
                "connector": {"type": "list", "pairs": [[0, 0, 0], [1, 0, 1], [2, 0, 2]]},
            }
        ],
        steps=6,
    )
    v, spikes = trace(net)
    assert v[:, 0].tolist() == [0, 4, 2, 1, 0, 0]
    assert spikes == [[]]


def test_two_spikes_of_one_type_in_one_tick_add_twice():
    # two channels of type 0 (weight 3) both spike at step 0: t1: 0 + 3 + 3 = 6 (no leak)
    net = tn_net(
        [("a", 1, {"weights": [3, 0, 0, 0], "threshold": 100})],
        [spikes_in([[0.0], [0.0]])],
        [{"pre": "in", "post": "a", "axon_type": 0}],
        steps=3,
    )
    v, _ = trace(net)
    assert v[:, 0].tolist() == [0, 6, 6]


def test_leak_reversal_toward_and_away_from_zero():
    # leak reversal: V += sign(V) * lambda; a leak crossing 0 stops at 0 (no ringing).
    #   n0: V0  5, lambda -2:  3, 1, 0 (1 - 2 = -1 crosses 0), 0
    #   n1: V0 -5, lambda -2: -3, -1, 0, 0
    #   n2: V0  3, lambda +2:  5, 7, 9, 11   (divergent)
    #   n3: V0  0, lambda +2:  0, 0, 0, 0    (sign(0) = 0)
    #   n4: V0 -3, lambda +2: -5, -7, -9, -11
    net = tn_net(
        [
            (
                "a",
                5,
                {
                    "leak": [-2, -2, 2, 2, 2],
                    "leak_reversal": True,
                    "v_init": [5, -5, 3, 0, -3],
                    "threshold": 100,
                    "neg_threshold": 100,
                },
            )
        ],
        steps=4,
    )
    v, _ = trace(net)
    assert v.T.tolist() == [[3, 1, 0, 0], [-3, -1, 0, 0], [5, 7, 9, 11], [0, 0, 0, 0], [-5, -7, -9, -11]]


def test_leak_without_reversal_is_a_constant_drive():
    # lambda +2 from V0 = -3 with no reversal: -1, 1, 3, 5 (crosses 0 freely)
    net = tn_net([("a", 1, {"leak": 2, "v_init": -3, "threshold": 100, "neg_threshold": 100})], steps=4)
    v, _ = trace(net)
    assert v[:, 0].tolist() == [-1, 1, 3, 5]


# --------------------------------------------------------------------------- threshold, resets
@pytest.mark.parametrize(
    "mode, reset_value, v_expected, spikes_expected",
    [
        # V rises 3 per tick (leak +3), alpha = 10: t0 3, t1 6, t2 9, t3 12 -> spike
        # value: V = R = 2; t4 5, t5 8, t6 11 -> spike -> 2 ...  spikes every 3 ticks
        ("value", 2, [3, 6, 9, 2, 5, 8, 2, 5, 8, 2, 5, 8, 2, 5], [3, 6, 9, 12]),
        # linear: V -= 10: t3 12 -> 2; t6 11 -> 1; t9 10 -> 0; t10 3, t11 6, t12 9, t13 12 -> 2
        ("linear", 0, [3, 6, 9, 2, 5, 8, 1, 4, 7, 0, 3, 6, 9, 2], [3, 6, 9, 13]),
        # none: V keeps growing and fires every tick from t3 on
        ("none", 0, [3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42], list(range(3, 14))),
    ],
)
def test_positive_threshold_and_reset_modes(mode, reset_value, v_expected, spikes_expected):
    net = tn_net(
        [("a", 1, {"leak": 3, "threshold": 10, "reset_mode": mode, "reset_value": reset_value})], steps=14
    )
    v, spikes = trace(net)
    assert v[:, 0].tolist() == v_expected
    assert spikes == [spikes_expected]


def test_threshold_is_reached_at_equality():
    # leak +5, alpha 10: t0 5, t1 10 >= 10 -> spike (V = 0), t2 5, t3 10 -> spike
    net = tn_net([("a", 1, {"leak": 5, "threshold": 10})], steps=4)
    v, spikes = trace(net)
    assert (v[:, 0].tolist(), spikes) == ([5, 0, 5, 0], [[1, 3]])


@pytest.mark.parametrize(
    "neg_mode, reset_mode, expected",
    [
        # weight -7 at ticks 1, 2, 3 (input at steps 0, 1, 2), beta = 10, R = 3, no leak
        ("saturate", "value", [0, -7, -10, -10]),  # t2 -14 < -10 -> -10; t3 -17 -> -10
        ("reset", "value", [0, -7, -3, -10]),  # t2 -14 -> -R = -3; t3 -10 is not < -10
        ("reset", "linear", [0, -7, -4, -1]),  # t2 -14 + 10 = -4; t3 -11 + 10 = -1
        ("reset", "none", [0, -7, -14, -21]),  # below -beta, nothing changes
    ],
)
def test_negative_threshold_saturate_and_reset(neg_mode, reset_mode, expected):
    net = tn_net(
        [
            (
                "a",
                1,
                {
                    "weights": [-7, 0, 0, 0],
                    "threshold": 100,
                    "neg_threshold": 10,
                    "neg_mode": neg_mode,
                    "reset_mode": reset_mode,
                    "reset_value": 3,
                },
            )
        ],
        [spikes_in([[0.0, 1.0, 2.0]])],
        [{"pre": "in", "post": "a", "axon_type": 0}],
        steps=4,
    )
    v, _ = trace(net)
    assert v[:, 0].tolist() == expected


def test_delay_ticks():
    # delay d ms (dt 1) -> arrives 1 + d ticks after the spike: input at step 2, delay 4 -> tick 7
    net = tn_net(
        [("a", 1, {"weights": [1, 0, 0, 0], "threshold": 1})],
        [spikes_in([[2.0]])],
        [{"pre": "in", "post": "a", "axon_type": 0, "delay": 4.0}],
        steps=12,
    )
    _, spikes = trace(net)
    assert spikes == [[7]]


def test_integer_weights_without_table_are_exact():
    # no truenorth.weights: the compiler builds the table from the integer weights (3 distinct)
    # t1: +4 (ch0) ; t2: -1 (ch1) + 2 (ch2) -> 5 ; threshold 5 -> spike at t2
    net = tn_net(
        [("a", 1, {"threshold": 5})],
        [spikes_in([[0.0], [1.0], [1.0]])],
        [
            {
                "pre": "in",
                "post": "a",
                "connector": {"type": "list", "pairs": [[0, 0, 4], [1, 0, -1], [2, 0, 2]]},
            },
        ],
        steps=4,
    )
    v, spikes = trace(net)
    assert (v[:, 0].tolist(), spikes) == ([0, 4, 0, 0], [[2]])
    c = compile_network(net)
    assert sorted(c.params["weights"][0].tolist()) == [-1, 0, 2, 4]


# --------------------------------------------------------------------------- stochastic modes
def _within(observed, n, p, sigmas=4.0):
    """|observed - n p| <= sigmas * sqrt(n p (1 - p)) (binomial count)."""
    sd = math.sqrt(n * p * (1 - p))
    assert abs(observed - n * p) <= sigmas * sd, (observed, n * p, sd)


def test_stochastic_synapse_adds_sign_with_probability_w_over_256():
    # 200 neurons; one input spike every step for T = 300 steps, on two channels:
    #   ch0, type 0: s = 64, stochastic -> +1 with p = 64/256 per event
    #   ch1, type 1: s = -192, stochastic -> -1 with p = 192/256 per event
    # no leak, no threshold reached: V = (#type-0 successes) - (#type-1 successes).
    # Sum over neurons of each part ~ Binomial(200 * 300, p); separate them with two populations.
    T, n = 300, 200
    times = [[float(t) for t in range(T)]]
    for w, typ, p in ((64, 0, 0.25), (-192, 1, 0.75), (255, 2, 255 / 256)):
        weights = [0, 0, 0, 0]
        weights[typ] = w
        net = tn_net(
            [
                (
                    "a",
                    n,
                    {
                        "weights": weights,
                        "stochastic_synapse": [typ == 0, typ == 1, typ == 2, False],
                        "threshold": 10**5,
                        "neg_threshold": 10**5,
                    },
                )
            ],
            [spikes_in(times)],
            [{"pre": "in", "post": "a", "axon_type": typ}],
            steps=T + 1,
            seed=11,
        )
        v, _ = trace(net)
        final = v[-1]
        assert np.all(np.abs(final) <= T)
        _within(abs(int(final.sum())), n * T, p)


def test_stochastic_synapse_draws_once_per_event():
    # two channels of the same stochastic type spiking in the same tick: two independent draws
    # (p = 128/256 each), so V after T ticks ~ Binomial(2 T, 1/2) per neuron
    T, n = 200, 100
    times = [[float(t) for t in range(T)]] * 2
    net = tn_net(
        [("a", n, {"weights": [128, 0, 0, 0], "stochastic_synapse": True, "threshold": 10**5})],
        [spikes_in(times)],
        [{"pre": "in", "post": "a", "axon_type": 0}],
        steps=T + 1,
        seed=5,
    )
    v, _ = trace(net)
    _within(int(v[-1].sum()), n * 2 * T, 0.5)
    assert v[-1].max() > T // 2 + 10  # more than one event per tick was counted


def test_stochastic_leak():
    # lambda = +64 stochastic, no reversal: +1 with p = 1/4 per tick; 400 neurons x 400 ticks
    T, n = 400, 400
    net = tn_net([("a", n, {"leak": 64, "stochastic_leak": True, "threshold": 10**5})], steps=T, seed=3)
    v, _ = trace(net)
    _within(int(v[-1].sum()), n * T, 0.25)
    # with leak reversal and lambda = -128 (p = 1/2 toward zero) from V0 = 150 for 100 ticks:
    # V = 150 - Binomial(100, 1/2) per neuron (V stays positive)
    net = tn_net(
        [
            (
                "a",
                n,
                {
                    "leak": -128,
                    "stochastic_leak": True,
                    "leak_reversal": True,
                    "v_init": 150,
                    "threshold": 10**5,
                },
            )
        ],
        steps=100,
        seed=4,
    )
    v, _ = trace(net)
    _within(int((150 - v[-1]).sum()), n * 100, 0.5)
    assert v[-1].min() > 0


def test_stochastic_threshold():
    # V held at 5 (no input, no leak, reset mode none), alpha = 0, mask M:
    # spike iff 5 >= 0 + (PRN & M).   M = 15: eta uniform on 0..15 -> p = 6/16.
    # M = 0b1010: eta uniform on {0, 2, 8, 10} -> p = 2/4.
    T, n = 400, 100
    for mask, p in ((15, 6 / 16), (0b1010, 0.5)):
        net = tn_net(
            [("a", n, {"v_init": 5, "threshold": 0, "threshold_mask": mask, "reset_mode": "none"})],
            steps=T,
            seed=9,
        )
        res = simulate(net)
        assert np.all(res.steps < T)
        _within(int(res.steps.size), n * T, p)


def test_stochastic_threshold_with_linear_reset_follows_its_markov_chain():
    # leak +3, alpha 8, mask 3, linear reset: each tick x = V + 3; with eta uniform on 0..3,
    # spike iff x >= 8 + eta, then V = x - (8 + eta), else V = x. V lives in 0..10, so the
    # long-run spike probability per tick is the stationary firing probability of this chain.
    P = np.zeros((11, 11))
    fire = np.zeros(11)
    for v in range(11):
        for eta in range(4):
            x = v + 3
            if x >= 8 + eta:
                P[v, x - 8 - eta] += 0.25
                fire[v] += 0.25
            else:
                P[v, x] += 0.25
    w, vecs = np.linalg.eig(P.T)
    pi = np.real(vecs[:, np.argmin(np.abs(w - 1))])
    rate = float((pi / pi.sum()) @ fire)
    T, n = 2000, 50
    net = tn_net(
        [("a", n, {"leak": 3, "threshold": 8, "threshold_mask": 3, "reset_mode": "linear"})], steps=T, seed=1
    )
    v, spikes = trace(net)
    assert v.min() >= 0 and v.max() <= 10
    total = sum(len(s) for s in spikes)
    # binomial-like standard error sqrt(p (1 - p) / (n T)) ~ 0.0015; 4 of them
    assert abs(total / (n * T) - rate) < 4 * math.sqrt(rate * (1 - rate) / (n * T)), (total / (n * T), rate)


# --------------------------------------------------------------------------- reproducibility
def _stochastic_spec(seed):
    return tn_net(
        [
            ("p", 30, {"leak": 40, "stochastic_leak": True, "threshold": 3, "threshold_mask": 7}),
            (
                "q",
                30,
                {
                    "weights": [100, -50, 0, 0],
                    "stochastic_synapse": [True, True, False, False],
                    "threshold": 2,
                },
            ),
        ],
        projections=[
            {"pre": "p", "post": "q", "connector": {"type": "fixed_probability", "p": 0.3}, "axon_type": 0}
        ],
        steps=300,
        seed=seed,
    )


def test_same_seed_same_spikes_other_seed_other_spikes():
    a = simulate(_stochastic_spec(1))
    b = simulate(_stochastic_spec(1))
    c = simulate(_stochastic_spec(2))
    assert a.steps.size > 100
    assert np.array_equal(a.steps, b.steps) and np.array_equal(a.neuron, b.neuron)
    assert not (a.steps.size == c.steps.size and np.array_equal(a.neuron, c.neuron))


def test_chunking_and_batch_do_not_change_the_draws():
    net = _stochastic_spec(3)
    whole = simulate(net)
    compiled = compile_network(net, seed=3)
    sim = compiled.target.simulator(compiled)
    sim.chunk_steps = 7
    got = []
    sim.run(300, on_spikes=lambda s, b, n: got.append(np.stack([s, n])))
    parts = np.concatenate(got, axis=1)
    assert np.array_equal(parts[0], whole.steps) and np.array_equal(parts[1], whole.neuron)
    batch = simulate(net, batch=2)
    b0 = batch.batch == 0
    assert np.array_equal(batch.steps[b0], whole.steps) and np.array_equal(batch.neuron[b0], whole.neuron)
    b1 = batch.batch == 1
    assert not np.array_equal(batch.neuron[b1], whole.neuron)  # copies draw independently
