"""Synapse generation: connectors, weight and delay values, seeding, ordering, and the merged CSR."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuro.connectivity import build_all, build_projection
from neuro.errors import NeuroError
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


# --------------------------------------------------------------------------- draw order and layout
def _reference_bernoulli(rng, p, n_pre, n_post, skip_self):
    """The documented walk with numpy's own geometric draws (the original implementation)."""
    total = n_pre * n_post
    out, pos = [], -1
    chunk = max(1024, int(total * p * 1.05) + 1024)
    while True:
        cand = pos + np.cumsum(rng.geometric(p, size=chunk), dtype=np.int64)
        keep = cand[cand < total]
        out.append(keep)
        if keep.size < cand.size:
            break
        pos = int(cand[-1])
        chunk = max(1024, int((total - pos) * p * 1.05) + 1024)
    pre, post = np.divmod(np.concatenate(out), n_post)
    if skip_self:
        keep = pre != post
        pre, post = pre[keep], post[keep]
    return pre, post


GEOMETRIC_THRESHOLD = 0.333333333333333333333333  # numpy switches from inversion to search here


@pytest.mark.parametrize(
    ("p", "n_pre", "n_post", "skip_self"),
    [
        (0.1, 200, 300, False),
        (0.244140625, 1024, 1024, False),
        (0.3, 50, 50, True),
        (float(np.nextafter(GEOMETRIC_THRESHOLD, 0)), 70, 90, False),
        (GEOMETRIC_THRESHOLD, 70, 90, True),
        (0.9, 40, 33, True),
        (1e-4, 3000, 2000, False),
        (0.02, 1, 5000, False),
    ],
)
@pytest.mark.parametrize("seed", [0, 11])
def test_bernoulli_pairs_draw_exactly_numpys_geometric_gaps(p, n_pre, n_post, skip_self, seed):
    # the compiled walk must keep the same pairs and leave the generator in the same state as
    # cumulative sums of rng.geometric(p) drawn in the documented chunks
    from neuro.connectivity import bernoulli_pairs

    rng, ref_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    counts, post = bernoulli_pairs(rng, p, n_pre, n_post, skip_self)
    pre_ref, post_ref = _reference_bernoulli(ref_rng, p, n_pre, n_post, skip_self)
    np.testing.assert_array_equal(np.repeat(np.arange(n_pre), counts), pre_ref)
    np.testing.assert_array_equal(post, post_ref)
    assert post.dtype == np.int32 and counts.dtype == np.int64
    assert rng.bit_generator.state == ref_rng.bit_generator.state


def test_bernoulli_walk_resumes_where_a_chunk_ended():
    # a walk that needs a second chunk continues from the last position of the first
    from neuro.construction import bernoulli_walk

    draws = np.random.default_rng(4).standard_exponential(5000)
    log_q, total, n_post = float(np.log1p(-0.05)), 37 * 41, 41
    whole_counts, whole_post = np.zeros(37, dtype=np.int64), np.zeros(5000, dtype=np.int32)
    pos, k, done = bernoulli_walk(draws, True, log_q, -1, total, n_post, True, whole_counts, whole_post, 0)
    assert done and k > 0
    counts, post = np.zeros(37, dtype=np.int64), np.zeros(5000, dtype=np.int32)
    pos1, k1, done1 = bernoulli_walk(draws[:30], True, log_q, -1, total, n_post, True, counts, post, 0)
    assert not done1 and pos1 > 0
    pos2, k2, done2 = bernoulli_walk(draws[30:], True, log_q, pos1, total, n_post, True, counts, post, k1)
    assert done2 and k2 == k
    np.testing.assert_array_equal(counts, whole_counts)
    np.testing.assert_array_equal(post[:k], whole_post[:k])


def _layout_net():
    """Every connector, sampled and constant delays, an unsorted list with and without its own
    weights, a dual-current population, spike inputs and several projections per source."""
    return Network.from_dict(
        {
            "simulation": {"dt": 0.5, "seed": 5},
            "inputs": [
                {"name": "in", "kind": "poisson", "size": 23, "rate": 10.0},
                {"name": "st", "kind": "spike_times", "times": [[1.0], [2.0], [3.0]]},
            ],
            "populations": [
                {
                    "name": "a",
                    "size": 40,
                    "v_init": {"dist": "uniform", "low": 0, "high": 1},
                    "bias": {"dist": "normal", "mean": 0.5, "std": 0.1},
                },
                {"name": "b", "size": 31, "tau_syn_inh": 10.0},
            ],
            "projections": [
                {
                    "pre": "in",
                    "post": "a",
                    "connector": {"type": "fixed_probability", "p": 0.3},
                    "weight": {"dist": "uniform", "low": 0, "high": 0.4},
                    "delay": {"dist": "uniform", "low": 0, "high": 6},
                },
                {"pre": "a", "post": "a", "connector": {"type": "fixed_probability", "p": 0.1}},
                {
                    "pre": "a",
                    "post": "b",
                    "connector": "all_to_all",
                    "weight": {"dist": "normal", "mean": 0.2, "std": 0.1},
                    "delay": 1.5,
                },
                {
                    "pre": "b",
                    "post": "b",
                    "connector": {"type": "fixed_probability", "p": 0.5, "allow_self": False},
                    "weight": -0.3,
                    "receptor": "inh",
                },
                {
                    "pre": "b",
                    "post": "a",
                    "connector": {"type": "list", "pairs": [[5, 3], [2, 1], [2, 0], [30, 39], [5, 3]]},
                    "weight": {"dist": "uniform", "low": 0, "high": 1},
                    "delay": {"dist": "uniform", "low": 0, "high": 3},
                },
                {
                    "pre": "b",
                    "post": "a",
                    "connector": {
                        "type": "list",
                        "pairs": [[4, 1, 0.2, 1.0], [1, 2, -0.1, 0.5], [1, 0, 0.3, 0.0]],
                    },
                },
                {
                    "pre": "st",
                    "post": "b",
                    "connector": {"type": "matrix", "values": [[0.5] + [0.0] * 30] * 3},
                },
                {
                    "pre": "in",
                    "post": "b",
                    "connector": {"type": "fixed_probability", "p": 0.8},
                    "delay": 2.0,
                },
                {"pre": "b", "post": "b", "connector": "one_to_one", "weight": 0.1},
            ],
        }
    )


def _reference_compile(net, seed):
    """The documented draw order and CSR layout, written out with plain numpy: per population
    v_init then bias; per projection pairs (geometric gaps), weights, delays; one CSR by
    source with the projections of a source in spec order, each sorted by target."""
    rng = np.random.default_rng(seed)
    dt = net.simulation.dt
    for pop in net.populations:
        if pop.v_init is not None:
            pop.v_init.sample(rng, pop.size)
        pop.bias.sample(rng, pop.size)
    names = [p.name for p in net.populations] + [s.name for s in net.inputs if s.is_spike_source]
    sizes = [p.size for p in net.populations] + [s.size for s in net.inputs if s.is_spike_source]
    offset = dict(zip(names, np.concatenate([[0], np.cumsum(sizes)[:-1]]).tolist(), strict=True))
    n = sum(p.size for p in net.populations)
    rows = []  # (source, projection, post slot, weight, delay)
    for i, proj in enumerate(net.projections):
        n_pre, n_post = net.source_size(proj.pre), net.source_size(proj.post)
        c = proj.connector
        w = d = None
        if c.type == "fixed_probability":
            skip = (proj.pre == proj.post and not c.allow_self) or c.skip_diagonal
            pre, post = _reference_bernoulli(rng, c.p, n_pre, n_post, skip)
        elif c.type == "all_to_all":
            pre, post = np.divmod(np.arange(n_pre * n_post), n_post)
        elif c.type == "one_to_one":
            pre = post = np.arange(n_pre)
        elif c.type == "list":
            arr = np.array(c.pairs, dtype=np.float64)
            pre, post = arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64)
            if arr.shape[1] > 2:
                w, d = arr[:, 2], arr[:, 3]
        else:
            pre, post = np.nonzero(np.array(c.values))
            w = np.array(c.values)[pre, post]
        weight = w if w is not None else proj.weight.sample(rng, pre.size)
        delay = np.rint((d if d is not None else proj.delay.sample(rng, pre.size)) / dt).astype(np.int64)
        post_pop = net.population(proj.post)
        channel = 1 if proj.receptor == "inh" and post_pop.dual_current else 0
        for j in range(pre.size):
            rows.append(
                (offset[proj.pre] + pre[j], i, channel * n + offset[proj.post] + post[j], weight[j], delay[j])
            )
    rows.sort(key=lambda r: (r[0], r[1], r[2]))  # Python's sort is stable: list duplicates keep their order
    learning_key = int(rng.integers(0, 2**63))
    return rows, learning_key, rng


def test_compiled_layout_and_draw_order_match_a_plain_reference():
    # catches any change in the order of the draws or in the CSR layout
    net = _layout_net()
    c = compile_network(net, "float", seed=9)
    rows, learning_key, rng = _reference_compile(net, 9)
    src = np.repeat(np.arange(c.n_sources), c.fanout())
    assert c.n_synapses == len(rows)
    np.testing.assert_array_equal(src, [r[0] for r in rows])
    np.testing.assert_array_equal(c.slot, [r[2] for r in rows])
    np.testing.assert_array_equal(c.weight, [r[3] for r in rows])
    np.testing.assert_array_equal(c.delay, [r[4] for r in rows])
    assert c.learning_key == learning_key
    assert c.rng.bit_generator.state == rng.bit_generator.state
    # the same draws in Loihi arithmetic; weights rounded by the documented rule
    loihi = compile_network(net, "loihi", seed=9)
    np.testing.assert_array_equal(loihi.slot, c.slot)
    np.testing.assert_array_equal(loihi.delay, c.delay)
    for p, (proj, pos) in enumerate(zip(net.projections, c.projection_positions(), strict=True)):
        post = loihi.pop_registers[loihi.pop_names.index(proj.post)]
        scale = post.scale_inh if proj.receptor == "inh" else post.scale
        unit = 2.0 ** (6 + loihi.weight_exps[p])
        expect = np.clip(np.rint(c.weight[pos] * scale / unit), -255, 255) * unit
        np.testing.assert_array_equal(loihi.weight[pos], expect.astype(np.int64))


def test_the_first_bad_projection_is_reported():
    # projection 0 fails when its weights are discretized, projection 1 when its pairs are built:
    # the error names projection 0, as when projections are built one after the other
    net = Network.from_dict(
        {
            "simulation": {"arithmetic": "loihi"},
            "populations": [{"name": "a", "size": 3}, {"name": "b", "size": 2}],
            "projections": [
                {"pre": "a", "post": "b", "weight": 1e9},
                {"pre": "a", "post": "b", "connector": {"type": "list", "pairs": [[0, 7]]}},
            ],
        }
    )
    with pytest.raises(NeuroError, match=r"projections\[0\]\.weight.*too large"):
        compile_network(net, seed=0)
    net1 = Network.from_dict({**net.to_dict(), "projections": net.to_dict()["projections"][1:]})
    with pytest.raises(NeuroError, match=r"projections\[0\].*out of range"):
        compile_network(net1, seed=0)
