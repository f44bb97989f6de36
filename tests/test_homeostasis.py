"""Host-side weight normalization: each post neuron's incoming weights of a projection sum to a target.

Float: ``w <- w * T / sum`` (sums equal T up to float rounding). Loihi: the same on Wgt with the
target converted to Wgt (T * lsb, lsb = Wgt per mV), each weight rounded stochastically (floor or
floor + 1, with the bits of the learning engine's counter-based generator, keyed by the current
step) and clipped to the weight range (the Euclidean-norm variant rounds to the nearest
integer: tests/test_teacher_stdp.py). Every synapse rewritten is one host operation.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuro.engine import Simulator
from neuro.errors import NeuroError
from neuro.learning.homeostasis import decay_thresholds, normalize_weights
from neuro.learning.prng import NORMALIZE_STREAM, random_bits
from neuro.network import compile_network
from neuro.spec import Network

N_PRE, N_POST = 30, 7


def spec(arithmetic="float", **proj):
    return {
        "simulation": {"dt": 1.0, "steps": 10, "seed": 21, "arithmetic": arithmetic},
        "inputs": [{"name": "in", "kind": "spike_times", "times": [[]] * N_PRE}],
        "populations": [{"name": "e", "size": N_POST}, {"name": "f", "size": 2}],
        "projections": [
            {
                "pre": "in",
                "post": "e",
                "weight": {"dist": "uniform", "low": 0.0, "high": 0.3},
                "plasticity": {"kind": "pair_stdp", "w_max": 1.0},
                **proj,
            },
            {"pre": "in", "post": "e", "weight": 0.25},
            {"pre": "e", "post": "f", "weight": 0.5},
        ],
    }


def columns(sim, p):
    c = sim.net
    pos = list(c.projection_positions())[p]
    return pos, c.slot[pos].astype(np.int64) % c.n_neurons


def test_float_columns_sum_to_target():
    sim = Simulator(compile_network(Network.from_dict(spec())))
    pos, post = columns(sim, 0)
    w0 = sim.net.weight.copy()
    n = normalize_weights(sim, 0, 5.0)
    assert n == N_PRE * N_POST
    w = sim.net.weight
    sums = np.bincount(post, weights=w[pos], minlength=sim.net.n_neurons)[:N_POST]
    np.testing.assert_allclose(sums, 5.0, rtol=1e-14)
    # each column is scaled by one factor: ratios within a column are kept
    ratio = w[pos] / w0[pos]
    for j in range(N_POST):
        np.testing.assert_allclose(ratio[post == j], ratio[post == j][0], rtol=1e-14)
    # other projections untouched
    other = np.setdiff1d(np.arange(w.size), pos)
    np.testing.assert_array_equal(w[other], w0[other])


def test_host_ops_are_counted_and_accumulate():
    sim = Simulator(compile_network(Network.from_dict(spec())))
    normalize_weights(sim, 0, 5.0)
    normalize_weights(sim, 0, 4.0)
    assert sim.host_ops == {"weight_normalization": 2 * N_PRE * N_POST}
    assert sim.counters()["host_weight_normalization"] == 2 * N_PRE * N_POST


def test_zero_column_is_left_alone():
    d = spec(connector={"type": "list", "pairs": [[0, 0], [1, 0], [2, 1]]}, weight=[0.2, 0.3, 0.0])
    sim = Simulator(compile_network(Network.from_dict(d)))
    pos, post = columns(sim, 0)
    normalize_weights(sim, 0, 1.0)
    w = sim.net.weight[pos]
    # neuron 0: 0.2, 0.3 -> 0.4, 0.6; neuron 1: a single zero weight stays 0 (no NaN)
    assert w[post == 0].tolist() == pytest.approx([0.4, 0.6], rel=1e-15)
    assert w[post == 1].tolist() == [0.0]


def test_positions_subset():
    sim = Simulator(compile_network(Network.from_dict(spec())))
    pos, post = columns(sim, 0)
    sub = pos[post == 3]
    w0 = sim.net.weight.copy()
    assert normalize_weights(sim, 0, 2.0, positions=sub) == N_PRE
    assert sim.net.weight[sub].sum() == pytest.approx(2.0, rel=1e-14)
    rest = np.setdiff1d(np.arange(w0.size), sub)
    np.testing.assert_array_equal(sim.net.weight[rest], w0[rest])


def loihi_columns(sim):
    c = sim.net
    pos, post = columns(sim, 0)
    shift = 6 + c.weight_exps[0]
    return pos, post, shift, c.pop_registers[0].scale / 2.0**shift  # lsb: Wgt per mV


def test_loihi_columns_sum_to_target_within_rounding():
    sim = Simulator(compile_network(Network.from_dict(spec("loihi"))))
    sim.run(3)  # the bits are keyed by the step
    c = sim.net
    pos, post, shift, lsb = loihi_columns(sim)
    wgt0 = c.weight[pos].astype(np.int64) >> shift
    normalize_weights(sim, 0, 5.0)
    wgt = c.weight[pos].astype(np.int64) >> shift
    assert (c.weight[pos].astype(np.int64) == wgt << shift).all()  # still whole Wgt
    for j in range(N_POST):
        col0, col, pj = wgt0[post == j], wgt[post == j], pos[post == j]
        # by hand: x = Wgt0 * T lsb / sum(Wgt0); Wgt = floor(x) + 1 when u < x - floor(x), with
        # u the top 53 of the 64 bits drawn for (stream NORMALIZE_STREAM + position, step 3)
        x = col0 * (5.0 * lsb / col0.sum())
        u = np.array([int(random_bits(c.learning_key, NORMALIZE_STREAM + np.uint64(q), 3)) >> 11 for q in pj])
        expect = np.floor(x).astype(np.int64) + (u * 2.0**-53 < x - np.floor(x))
        np.testing.assert_array_equal(col, expect)
        assert abs(col.sum() - 5.0 * lsb) < N_PRE
    assert sim.host_ops["weight_normalization"] == N_PRE * N_POST


def test_loihi_normalization_is_unbiased_and_keyed_by_step():
    # every weight 5 Wgt scaled by f = 0.95 per call: nearest rounding would keep every weight
    # at 5 (rint(4.75) = 5) for ever; stochastic rounding gives 4 a quarter of the time
    d = spec("loihi", connector={"type": "all_to_all"}, weight=1.0)
    d["inputs"][0]["times"] = [[]] * 400
    sim = Simulator(compile_network(Network.from_dict(d)))
    c = sim.net
    pos, post, shift, lsb = loihi_columns(sim)
    c.weight[pos] = 5 << shift
    n_pre = 400
    normalize_weights(sim, 0, 0.95 * 5 * n_pre / lsb)
    wgt = c.weight[pos].astype(np.int64) >> shift
    assert set(np.unique(wgt)) == {4, 5}
    assert abs(wgt.mean() - 4.75) < 0.03  # 2800 draws of p = 0.25: sd 0.008
    first = wgt.copy()
    c.weight[pos] = 5 << shift
    normalize_weights(sim, 0, 0.95 * 5 * n_pre / lsb)  # same step: the same bits
    np.testing.assert_array_equal(c.weight[pos].astype(np.int64) >> shift, first)
    c.weight[pos] = 5 << shift
    sim.run(1)
    normalize_weights(sim, 0, 0.95 * 5 * n_pre / lsb)  # next step: other bits
    assert (c.weight[pos].astype(np.int64) >> shift != first).any()


def test_loihi_normalization_clips_to_the_weight_range():
    # a target far above what 8-bit weights can hold: every nonzero Wgt ends at 255 (zeros stay 0)
    sim = Simulator(compile_network(Network.from_dict(spec("loihi"))))
    c = sim.net
    pos, _ = columns(sim, 0)
    shift = 6 + c.weight_exps[0]
    wgt0 = c.weight[pos].astype(np.int64) >> shift
    assert (wgt0 == 0).any() and (wgt0 > 0).any()
    normalize_weights(sim, 0, 1e6)
    np.testing.assert_array_equal(c.weight[pos].astype(np.int64) >> shift, np.where(wgt0 > 0, 255, 0))


def test_raw_loihi_target_in_wgt():
    regs = {"decay_u": 4095, "decay_v": 4095, "vth_mant": 1000}
    d = {
        "simulation": {"dt": 1.0, "steps": 10, "seed": 0, "arithmetic": "loihi"},
        "inputs": [{"name": "in", "kind": "spike_times", "times": [[]] * 4}],
        "populations": [{"name": "e", "size": 2, "loihi": regs}],
        "projections": [
            {
                "pre": "in",
                "post": "e",
                "weight": [10, 20, 30, 40, 1, 2, 3, 4],
                "weight_exp": 1,
                "connector": "all_to_all",
            }
        ],
    }
    sim = Simulator(compile_network(Network.from_dict(d)))
    normalize_weights(sim, 0, 50.0)  # raw projection: target in Wgt
    c = sim.net
    wgt = c.weight.astype(np.int64) >> 7
    post = c.slot.astype(np.int64) % 2
    w0 = np.array([10, 20, 30, 40, 1, 2, 3, 4]).reshape(4, 2).ravel()  # CSR is by pre then post
    for j in range(2):
        x = w0[post == j] * 50.0 / w0[post == j].sum()  # rounded down or up (stochastically)
        assert ((wgt[post == j] == np.floor(x)) | (wgt[post == j] == np.ceil(x))).all()


def test_unknown_projection():
    sim = Simulator(compile_network(Network.from_dict(spec())))
    with pytest.raises(NeuroError) as e:
        normalize_weights(sim, 7, 1.0)
    assert "no projection 7" in str(e.value)


# ---------------------------------------------------------------- host threshold decay
def adaptive_sim(arithmetic):
    net = Network.from_dict(
        {
            "simulation": {"dt": 1.0, "steps": 10, "seed": 3, "arithmetic": arithmetic},
            "populations": [{"name": "e", "size": 3, "theta_plus": 0.5}, {"name": "f", "size": 2}],
        }
    )
    return Simulator(compile_network(net))


def test_threshold_decay_float_is_a_product():
    sim = adaptive_sim("float")
    sim.state["theta"][0] = [2.0, 4.0, 8.0, 1.0, 1.0]
    assert decay_thresholds(sim, slice(0, 3), 0.75) == 3
    assert sim.state["theta"][0].tolist() == [1.5, 3.0, 6.0, 1.0, 1.0]  # f's registers untouched
    assert sim.host_ops["threshold_decay"] == 3


def test_threshold_decay_loihi_by_hand():
    """d = rint(4096 * (1 - 0.9)) = 410, keep 3686: 10000 * 3686 >> 12 = 8999 (36,860,000 / 4096
    = 8999.02), 4095 * 3686 >> 12 = 3685 (15,094,170 / 4096 = 3685.1), negative values truncate
    toward zero like the neuron's own decay."""
    sim = adaptive_sim("loihi")
    sim.state["theta"][0] = [10000, -10000, 4095, 7, 7]
    decay_thresholds(sim, slice(0, 3), 0.9)
    assert sim.state["theta"][0].tolist() == [8999, -8999, 3685, 7, 7]
    decay_thresholds(sim, slice(0, 3), 1.0)  # d = 0: unchanged
    assert sim.state["theta"][0].tolist() == [8999, -8999, 3685, 7, 7]


@pytest.mark.parametrize("factor", [0.0, -0.5, 1.5])
def test_threshold_decay_factor_range(factor):
    with pytest.raises(NeuroError, match="decay factor"):
        decay_thresholds(adaptive_sim("float"), slice(0, 3), factor)


def test_loihi_warns_when_theta_cannot_decay(caplog):
    """rint(4096 (1 - exp(-dt / tau))) = 0 for tau > 8192 dt: the register would never decay."""

    def compile_with(tau):
        caplog.clear()
        spec = {
            "simulation": {"dt": 0.5, "steps": 1, "arithmetic": "loihi"},
            "populations": [{"name": "e", "size": 2, "theta_plus": 0.1, "tau_theta": tau}],
        }
        with caplog.at_level("WARNING", logger="neuro.discretize"):
            net = compile_network(Network.from_dict(spec))
        return net.pop_registers[0].decay_theta, caplog.text

    d, text = compile_with(1e7)
    assert d == 0 and "populations[0]: tau_theta = 1e+07 ms is beyond" in text
    d, text = compile_with(1000.0)  # 4096 * (1 - exp(-0.5 / 1000)) = 2.05
    assert d == 2 and text == ""
