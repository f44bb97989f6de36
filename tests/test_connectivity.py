"""Synapse generation: connectors, weight and delay values, seeding, ordering, and the merged CSR."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuro.connectivity import build_all, build_projection
from neuro.network import compile_network
from neuro.spec import Network


def net_with(projection: dict, pre_size=3, post_size=4, dt=1.0, same=False) -> Network:
    pops = [{"name": "pre", "size": pre_size}]
    if not same:
        pops.append({"name": "post", "size": post_size})
    proj = {"pre": "pre", "post": "pre" if same else "post", **projection}
    return Network.from_dict(
        {"simulation": {"dt": dt, "seed": 1}, "populations": pops, "projections": [proj]}
    )


def build(projection: dict, seed=0, **kw):
    return build_projection(net_with(projection, **kw), 0, np.random.default_rng(seed))


def assert_sorted(syn):
    key = syn.pre * 10**9 + syn.post
    assert np.all(np.diff(key) >= 0)


# --------------------------------------------------------------------------- connectors
def test_all_to_all_between_populations():
    syn = build({"connector": "all_to_all"})
    # 3 x 4 = 12 synapses, row-major by pre
    assert syn.pre.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert syn.post.tolist() == [0, 1, 2, 3] * 3
    assert syn.weight.tolist() == [1.0] * 12 and syn.delay.tolist() == [0] * 12


@pytest.mark.parametrize(("allow_self", "n"), [(False, 6), (True, 9)])
def test_all_to_all_self(allow_self, n):
    syn = build({"connector": {"type": "all_to_all", "allow_self": allow_self}}, same=True)
    assert syn.size == n  # 3 x 3 = 9, minus the 3 self-pairs when not allowed
    pairs = list(zip(syn.pre.tolist(), syn.post.tolist(), strict=True))
    assert ((0, 0) in pairs) is allow_self
    assert_sorted(syn)


def test_one_to_one():
    syn = build({"connector": "one_to_one"}, pre_size=5, post_size=5)
    assert syn.pre.tolist() == syn.post.tolist() == [0, 1, 2, 3, 4]


def test_fixed_probability_count_statistics():
    # 200 x 300 pairs with p = 0.1: count ~ Binomial(60000, 0.1): mean 6000, sd sqrt(60000*0.1*0.9) = 73.5
    syn = build({"connector": {"type": "fixed_probability", "p": 0.1}}, seed=5, pre_size=200, post_size=300)
    assert abs(syn.size - 6000) < 5 * 73.5
    assert_sorted(syn)
    # no duplicate pairs
    assert np.unique(syn.pre * 300 + syn.post).size == syn.size
    # per-pre counts ~ Binomial(300, 0.1): sd sqrt(27) = 5.2; the spread of 200 of them is within 25%
    per_pre = np.bincount(syn.pre, minlength=200)
    assert 0.75 * math.sqrt(27) < per_pre.std() < 1.25 * math.sqrt(27)
    # targets are uniform: per-post counts ~ Binomial(200, 0.1), mean 20
    per_post = np.bincount(syn.post, minlength=300)
    assert abs(per_post.mean() - 20) < 5 * math.sqrt(200 * 0.09 / 300)


def test_fixed_probability_without_self_connections():
    # 300 x 300 with the diagonal excluded: 89700 candidate pairs, p = 0.1 ->
    # mean 8970, sd sqrt(89700 * 0.1 * 0.9) = 89.8
    syn = build({"connector": {"type": "fixed_probability", "p": 0.1}}, seed=6, pre_size=300, same=True)
    assert not np.any(syn.pre == syn.post)
    assert abs(syn.size - 8970) < 5 * 89.8
    with_self = build(
        {"connector": {"type": "fixed_probability", "p": 0.5, "allow_self": True}},
        seed=6,
        pre_size=300,
        same=True,
    )
    # 90000 pairs at p 0.5: diagonal expected 150 (sd 8.7); some self-pairs must be there
    assert 100 < np.sum(with_self.pre == with_self.post) < 200


@pytest.mark.parametrize(("p", "n"), [(0.0, 0), (1.0, 12)])
def test_fixed_probability_edges(p, n):
    syn = build({"connector": {"type": "fixed_probability", "p": p}})
    assert syn.size == n


def test_list_pairs_sorted_with_their_weights_and_delays():
    # rows [pre, post, weight, delay ms] given unsorted; dt 0.5 -> delay steps = rint(ms / 0.5)
    rows = [[2, 0, 0.3, 1.0], [0, 1, 0.1, 0.5], [1, 1, 0.2, 0.0], [0, 0, 0.0, 1.5]]
    syn = build({"connector": {"type": "list", "pairs": rows}}, dt=0.5)
    assert list(zip(syn.pre.tolist(), syn.post.tolist(), strict=True)) == [(0, 0), (0, 1), (1, 1), (2, 0)]
    assert syn.weight.tolist() == [0.0, 0.1, 0.2, 0.3]
    assert syn.delay.tolist() == [3, 1, 0, 2]


def test_list_pairs_take_weight_and_delay_from_projection():
    syn = build({"connector": {"type": "list", "pairs": [[1, 3], [0, 2]]}, "weight": 0.7, "delay": 2.0})
    assert syn.pre.tolist() == [0, 1] and syn.post.tolist() == [2, 3]
    assert syn.weight.tolist() == [0.7, 0.7] and syn.delay.tolist() == [2, 2]


@pytest.mark.parametrize("cols", [2, 3, 4])
def test_list_npy_file(tmp_path, cols):
    rows = np.array([[1, 0, -0.5, 3.0], [0, 3, 0.25, 1.0], [0, 2, 0.75, 0.0]])[:, :cols]
    np.save(tmp_path / "pairs.npy", rows)
    net = Network.from_dict(
        {
            "populations": [{"name": "pre", "size": 3}, {"name": "post", "size": 4}],
            "projections": [
                {
                    "pre": "pre",
                    "post": "post",
                    "connector": {"type": "list", "file": "pairs.npy"},
                    "weight": 9.0,
                }
            ],
        },
        base_dir=tmp_path,
    )
    syn = build_projection(net, 0, np.random.default_rng(0))
    assert list(zip(syn.pre.tolist(), syn.post.tolist(), strict=True)) == [(0, 2), (0, 3), (1, 0)]
    assert syn.weight.tolist() == ([9.0] * 3 if cols == 2 else [0.75, 0.25, -0.5])
    # delays (4th column, ms at dt 1) of the sorted rows (0, 2), (0, 3), (1, 0): 0, 1, 3
    assert syn.delay.tolist() == ([0, 1, 3] if cols == 4 else [0, 0, 0])


def test_list_duplicates_are_kept():
    syn = build({"connector": {"type": "list", "pairs": [[0, 1], [0, 1]]}})
    assert syn.size == 2


def test_matrix_inline_and_file(tmp_path):
    m = [[0, 1.5, 0, 0], [2.0, 0, 0, 0], [0, -1.0, 0, 4.0]]
    syn = build({"connector": {"type": "matrix", "values": m}, "weight": 99.0, "delay": 1.0})
    # zeros are not connected; the matrix gives the weights
    assert list(zip(syn.pre.tolist(), syn.post.tolist(), strict=True)) == [(0, 1), (1, 0), (2, 1), (2, 3)]
    assert syn.weight.tolist() == [1.5, 2.0, -1.0, 4.0]
    assert syn.delay.tolist() == [1, 1, 1, 1]
    np.save(tmp_path / "m.npy", np.array(m))
    net = Network.from_dict(
        {
            "populations": [{"name": "pre", "size": 3}, {"name": "post", "size": 4}],
            "projections": [{"pre": "pre", "post": "post", "connector": {"type": "matrix", "file": "m.npy"}}],
        },
        base_dir=tmp_path,
    )
    syn2 = build_projection(net, 0, np.random.default_rng(0))
    assert syn2.pre.tolist() == syn.pre.tolist() and syn2.weight.tolist() == syn.weight.tolist()


# --------------------------------------------------------------------------- weights and delays
def test_uniform_weights_and_delays_follow_documented_draw_order():
    # all_to_all draws nothing for connectivity; then weights, then delays, from the same generator.
    syn = build(
        {
            "weight": {"dist": "uniform", "low": -1.0, "high": 2.0},
            "delay": {"dist": "uniform", "low": 0, "high": 4},
        },
        seed=42,
        pre_size=30,
        post_size=40,
    )
    rng = np.random.default_rng(42)
    w = rng.uniform(-1.0, 2.0, 1200)
    d = rng.uniform(0.0, 4.0, 1200)
    np.testing.assert_array_equal(syn.weight, w)
    np.testing.assert_array_equal(syn.delay, np.rint(d).astype(np.int64))
    assert syn.weight.min() >= -1.0 and syn.weight.max() <= 2.0
    # uniform on [-1, 2]: mean 0.5, sd 3/sqrt(12) = 0.866; 1200 draws -> se 0.025
    assert abs(syn.weight.mean() - 0.5) < 5 * 0.866 / math.sqrt(1200)
    # delays rint(U(0,4)): 0 and 4 have probability 1/8, 1..3 have 1/4
    counts = np.bincount(syn.delay, minlength=5) / 1200
    np.testing.assert_allclose(counts, [1 / 8, 1 / 4, 1 / 4, 1 / 4, 1 / 8], atol=0.05)


def test_normal_weights_statistics_and_clipping():
    syn = build({"weight": {"dist": "normal", "mean": 0.5, "std": 0.2}}, seed=3, pre_size=50, post_size=100)
    # 5000 draws: mean se 0.2/sqrt(5000) = 0.0028; sd within 5%
    assert abs(syn.weight.mean() - 0.5) < 5 * 0.2 / math.sqrt(5000)
    assert abs(syn.weight.std() - 0.2) < 0.01
    clipped = build(
        {"weight": {"dist": "normal", "mean": 0.5, "std": 0.2, "low": 0.4, "high": 0.6}},
        seed=3,
        pre_size=50,
        post_size=100,
    )
    assert clipped.weight.min() == 0.4 and clipped.weight.max() == 0.6
    # P(draw < 0.4) = Phi(-0.5) = 0.3085: that many sit exactly at the lower bound
    assert abs(np.mean(clipped.weight == 0.4) - 0.3085) < 5 * math.sqrt(0.3085 * 0.6915 / 5000)


def test_per_synapse_weight_array():
    syn = build({"connector": "one_to_one", "weight": [0.1, 0.2, 0.3]}, pre_size=3, post_size=3)
    assert syn.weight.tolist() == [0.1, 0.2, 0.3]


def test_delay_rounding_to_steps():
    # dt 0.5: 0.7 ms -> 1.4 -> 1 step; 1.3 ms -> 2.6 -> 3 steps; 1.25 ms -> 2.5 -> 2 (half to even)
    syn = build({"connector": "one_to_one", "delay": [0.7, 1.3, 1.25]}, pre_size=3, post_size=3, dt=0.5)
    assert syn.delay.tolist() == [1, 3, 2]


# --------------------------------------------------------------------------- seeding
def _random_net():
    return Network.from_dict(
        {
            "populations": [{"name": "a", "size": 60}, {"name": "b", "size": 50}],
            "projections": [
                {
                    "pre": "a",
                    "post": "b",
                    "connector": {"type": "fixed_probability", "p": 0.2},
                    "weight": {"dist": "normal", "mean": 0, "std": 1},
                    "delay": {"dist": "uniform", "low": 0, "high": 5},
                },
                {"pre": "b", "post": "b", "connector": {"type": "fixed_probability", "p": 0.3}},
            ],
        }
    )


def test_same_seed_same_synapses_different_seed_different():
    net = _random_net()
    a = build_all(net, np.random.default_rng(7))
    b = build_all(net, np.random.default_rng(7))
    c = build_all(net, np.random.default_rng(8))
    for x, y in zip(a, b, strict=True):
        for field in ("pre", "post", "weight", "delay"):
            np.testing.assert_array_equal(getattr(x, field), getattr(y, field))
    assert a[0].size != c[0].size or not np.array_equal(a[0].post, c[0].post)
    assert not np.array_equal(a[0].weight[:10], c[0].weight[:10])
    for syn in a + c:
        assert_sorted(syn)
    assert not np.any(a[1].pre == a[1].post) and not np.any(c[1].pre == c[1].post)  # b -> b, no self


def test_compiled_network_is_deterministic_per_seed():
    net = _random_net()
    x, y, z = compile_network(net, seed=3), compile_network(net, seed=3), compile_network(net, seed=4)
    for key in ("indptr", "slot", "weight", "delay"):
        np.testing.assert_array_equal(getattr(x, key), getattr(y, key))
    assert not (np.array_equal(x.indptr, z.indptr) and np.array_equal(x.slot, z.slot))


# --------------------------------------------------------------------------- merged CSR
def test_compiled_csr_by_source():
    # neurons: a0 a1 (0, 1), b0 b1 b2 (2, 3, 4; b has a separate inh current); input channels in0, in1 (5, 6).
    net = Network.from_dict(
        {
            "populations": [{"name": "a", "size": 2}, {"name": "b", "size": 3, "tau_syn_inh": 10.0}],
            "inputs": [{"name": "in", "kind": "spike_times", "times": [[1.0], [2.0]]}],
            "projections": [
                {"pre": "in", "post": "a", "connector": "one_to_one", "weight": 0.5},
                {"pre": "a", "post": "b", "weight": 0.25, "delay": 2.0},
                {"pre": "b", "post": "a", "connector": {"type": "list", "pairs": [[2, 0]]}, "weight": -1.0},
                {
                    "pre": "a",
                    "post": "b",
                    "connector": {"type": "list", "pairs": [[0, 1]]},
                    "weight": -2.0,
                    "receptor": "inh",
                },
            ],
        }
    )
    c = compile_network(net, seed=0)
    assert (c.n_neurons, c.n_sources, c.n_synapses) == (5, 7, 3 + 3 + 1 + 2 + 1)
    # fan-out per source: a0 3 (a->b) + 1 (inh list), a1 3, b0 0, b1 0, b2 1, in0 1, in1 1
    assert c.fanout().tolist() == [4, 3, 0, 0, 1, 1, 1]
    # slot = channel * N + target: a0 -> b0..b2 = 2, 3, 4 (exc), then b1 inh = 5 + 3 = 8
    row = slice(c.indptr[0], c.indptr[1])
    assert c.slot[row].tolist() == [2, 3, 4, 8]
    assert c.weight[row].tolist() == [0.25, 0.25, 0.25, -2.0]
    assert c.delay[row].tolist() == [2, 2, 2, 0]
    assert c.slot[c.indptr[4] : c.indptr[5]].tolist() == [0]  # b2 -> a0, a has one current
    assert c.slot[c.indptr[5] :].tolist() == [0, 1]  # in0 -> a0, in1 -> a1
    assert c.max_delay == 2
    positions = c.projection_positions()
    assert [p.tolist() for p in positions] == [[8, 9], [0, 1, 2, 4, 5, 6], [7], [3]]


def test_skip_diagonal_between_two_populations():
    from neuro.spec import Network

    net = Network.from_dict(
        {
            "populations": [{"name": "a", "size": 4}, {"name": "b", "size": 4}],
            "projections": [
                {"pre": "a", "post": "b", "connector": {"type": "all_to_all", "skip_diagonal": True}},
                {"pre": "a", "post": "b", "connector": "all_to_all"},
            ],
        }
    )
    rng = np.random.default_rng(0)
    skipped = build_projection(net, 0, rng)
    full = build_projection(net, 1, rng)
    assert full.size == 16 and skipped.size == 12
    assert not np.any(skipped.pre == skipped.post)
    assert Network.from_dict(net.to_dict()) == net
