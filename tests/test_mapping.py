"""Placement on chip cores: splitting, compartments, limits, synapse memory and mesh hops."""

from __future__ import annotations

import numpy as np
import pytest

from neuro.chips import LOIHI, UNBOUNDED, get_profile
from neuro.errors import NeuroError
from neuro.mapping import place
from neuro.network import compile_network
from neuro.spec import Network

from .conftest import assert_one_line_error


def placed(d: dict, profile=LOIHI, chips=1, source="m.toml"):
    return place(compile_network(Network.from_dict(d, source=source), seed=0), profile, chips)


def test_population_over_1024_is_split_into_near_equal_cores():
    # ceil(2500 / 1024) = 3 cores of 834, 833, 833 neurons, in order
    p = placed({"populations": [{"name": "a", "size": 2500}]})
    assert p.n_cores == 3
    assert p.usage["neurons"].tolist() == [834, 833, 833]
    assert p.usage["compartments"].tolist() == [834, 833, 833]
    assert p.core_of[[0, 833, 834, 1666, 1667, 2499]].tolist() == [0, 0, 1, 1, 2, 2]
    assert p.compartment_of[[0, 833, 834, 1667, 2499]].tolist() == [0, 833, 0, 0, 832]
    assert p.core_pop == ["a", "a", "a"]


def test_exactly_1024_fits_one_core_and_populations_do_not_share_cores():
    p = placed({"populations": [{"name": "a", "size": 1024}, {"name": "b", "size": 1}]})
    assert p.n_cores == 2 and p.usage["neurons"].tolist() == [1024, 1]
    assert p.core_pop == ["a", "b"]


def test_dual_current_neurons_use_two_compartments():
    # 600 dual-current neurons = 1200 compartments > 1024 -> 2 cores of 300 neurons (600 compartments)
    p = placed({"populations": [{"name": "a", "size": 600, "tau_syn_inh": 10.0}]})
    assert p.usage["neurons"].tolist() == [300, 300]
    assert p.usage["compartments"].tolist() == [600, 600]
    # the same population with one current fits one core
    p1 = placed({"populations": [{"name": "a", "size": 600, "tau_syn_inh": 5.0}]})  # equal taus: one current
    assert p1.usage["compartments"].tolist() == [600]


def test_input_axon_limit_error_names_the_limit():
    # one neuron with 4097 distinct sources cannot fit any core (4096 input axons)
    d = {
        "populations": [{"name": "a", "size": 1}],
        "inputs": [{"name": "i", "kind": "poisson", "size": 4097, "rate": 1.0}],
        "projections": [{"pre": "i", "post": "a"}],
    }
    with pytest.raises(NeuroError) as ei:
        placed(d)
    assert_one_line_error(ei.value, "m.toml", "input axons", "4097", "4096", "'a'")
    # 4096 sources fit
    d["inputs"][0]["size"] = 4096
    assert placed(d).usage["input_axons"].tolist() == [4096]


def test_split_further_for_input_axons():
    # 2 neurons with 3000 distinct sources each: 6000 input axons on one core > 4096 -> 2 cores of 3000
    pairs = [[i, i // 3000] for i in range(6000)]
    p = placed(
        {
            "populations": [{"name": "b", "size": 2}],
            "inputs": [{"name": "i", "kind": "spike_times", "size": 6000, "times": [[]] * 6000}],
            "projections": [{"pre": "i", "post": "b", "connector": {"type": "list", "pairs": pairs}}],
        }
    )
    assert p.n_cores == 2
    assert p.usage["input_axons"].tolist() == [3000, 3000]


def test_cores_per_chip_error_suggests_chips():
    # 129 x 1024 neurons need 129 cores; one Loihi chip has 128
    d = {"populations": [{"name": "a", "size": 129 * 1024}]}
    with pytest.raises(NeuroError) as ei:
        placed(d)
    assert_one_line_error(ei.value, "m.toml", "129 cores", "128", "--chips 2", "simulation.chips")
    p = placed(d, chips=2)
    assert p.n_cores == 129
    # core 128 is the first core of chip 1, at x = 1 * 8 + 0
    assert p.core_coords()[128].tolist() == [1, 8, 0]


def test_unbounded_profile():
    p = placed(
        {
            "populations": [{"name": "a", "size": 5000, "tau_syn_inh": 10.0}, {"name": "b", "size": 3}],
            "projections": [{"pre": "a", "post": "b"}],
        },
        get_profile("unbounded"),
    )
    assert p.n_cores == 2 and p.usage["compartments"].tolist() == [10000, 3]
    assert p.usage["input_axons"].tolist() == [0, 5000]
    u = p.utilization()
    assert all(r["limit"] is None and r["peak_fraction"] is None for r in u.values())
    assert u["compartments"]["peak"] == 10000
    assert p.core_coords().tolist() == [[0, 0, 0], [0, 1, 0]]
    assert UNBOUNDED.core_xy(1000) == (0, 1000, 0)


@pytest.mark.parametrize(
    ("size", "delay", "weight_bits", "bits_per_source"),
    [
        # 100 compartments -> index bits clip(ceil(log2 100) = 7, 6, 12) = 7; n = 100 synapses per source:
        # 100 * (8 + 0 + 7) + 10 * ceil(100/64) = 1500 + 20 = 1520 -> 64 * ceil(1520/64) = 64 * 24 = 1536
        (100, 0.0, 8, 1536),
        # with a delay: 100 * (8 + 6 + 7) + 20 = 2120 -> 64 * ceil(33.1) = 64 * 34 = 2176
        (100, 1.0, 8, 2176),
        # 1000 compartments -> 10 index bits: 1000 * 18 + 10 * 16 = 18160 -> 64 * ceil(283.75) = 18176
        (1000, 0.0, 8, 18176),
        # 4-bit weights: 1000 * 14 + 160 = 14160 -> 64 * ceil(221.25) = 14208
        (1000, 0.0, 4, 14208),
        # 10 compartments -> ceil(log2 10) = 4, clipped up to 6: 10 * 14 + 10 = 150 -> 64 * 3 = 192
        (10, 0.0, 8, 192),
    ],
)
def test_synapse_memory_formula(size, delay, weight_bits, bits_per_source):
    p = placed(
        {
            "populations": [{"name": "a", "size": size}],
            "inputs": [{"name": "i", "kind": "spike_times", "times": [[], []]}],
            "projections": [{"pre": "i", "post": "a", "delay": delay, "weight_bits": weight_bits}],
        }
    )
    # two sources, one group each
    assert p.usage["synapse_memory_bits"].tolist() == [2 * bits_per_source]
    assert p.usage["synapses"].tolist() == [2 * size]
    assert p.usage["input_axons"].tolist() == [2]


def test_synapse_memory_counts_groups_per_projection():
    # Two projections from the same source onto one core are separate groups:
    # 10 synapses each, 6 index bits (10 compartments): 10 * 14 + 10 = 150 -> 192 bits, twice.
    p = placed(
        {
            "populations": [{"name": "a", "size": 10}],
            "inputs": [{"name": "i", "kind": "spike_times", "times": [[]]}],
            "projections": [{"pre": "i", "post": "a"}, {"pre": "i", "post": "a", "weight": 2.0}],
        }
    )
    assert p.usage["synapse_memory_bits"].tolist() == [384]
    assert p.usage["input_axons"].tolist() == [1]


def test_core_coordinates_on_the_mesh():
    # Loihi: 8 columns x 16 rows per chip, chips side by side along x
    assert LOIHI.core_xy(0) == (0, 0, 0)
    assert LOIHI.core_xy(7) == (0, 7, 0)
    assert LOIHI.core_xy(9) == (0, 1, 1)
    assert LOIHI.core_xy(127) == (0, 7, 15)
    assert LOIHI.core_xy(130) == (1, 8 + 2, 0)
    assert LOIHI.core_xy(255) == (1, 15, 15)


def test_hops_and_axons_on_a_hand_placed_case():
    # One neuron per core: a (1 neuron) on core 0 at (0, 0); b (10 neurons) on cores 1..10 at
    # (c % 8, c // 8): (1,0) .. (7,0), (0,1), (1,1), (2,1). a -> b all_to_all: 10 destination cores;
    # x hops 1+2+...+7 + 0 + 1 + 2 = 31, y hops 0*7 + 1 + 1 + 1 = 3.
    # Input channel (from the host at (-1, 0)) -> a: 1 message, 1 x hop, 0 y hops.
    prof = LOIHI.with_limits(compartments_per_core=1)
    p = placed(
        {
            "populations": [{"name": "a", "size": 1}, {"name": "b", "size": 10}],
            "inputs": [{"name": "in", "kind": "spike_times", "times": [[0.0]]}],
            "projections": [{"pre": "in", "post": "a"}, {"pre": "a", "post": "b"}],
        },
        prof,
    )
    assert p.n_cores == 11
    assert p.core_of.tolist() == list(range(11))
    # sources: a (0), b0..b9 (1..10), in (11)
    assert p.src_dest_cores.tolist() == [10] + [0] * 10 + [1]
    assert p.src_hops_x.tolist() == [31] + [0] * 10 + [1]
    assert p.src_hops_y.tolist() == [3] + [0] * 10 + [0]
    assert p.usage["output_axons"].tolist() == [10] + [0] * 10
    assert p.usage["input_axons"].tolist() == [1] * 11


def test_placement_to_dict():
    p = placed({"populations": [{"name": "a", "size": 1500}]})
    d = p.to_dict()
    assert d["chip"] == "loihi" and d["cores_used"] == 2 and d["chips"] == 1
    assert [c["neurons"] for c in d["cores"]] == [750, 750]
    assert [(c["x"], c["y"]) for c in d["cores"]] == [(0, 0), (1, 0)]
    assert d["limits"]["compartments"] == 1024
    assert np.isclose(p.utilization()["compartments"]["peak_fraction"], 750 / 1024)


def _reference_usage(net, pl):
    """Per-core synapses, synapse memory and axons, per-source messages and hops, counted group
    by group with numpy (the formula of the module docstring)."""
    from neuro.chips import SYNAPSE_GROUP_HEADER_BITS, SYNAPSE_GROUP_SIZE

    n, n_cores = net.n_neurons, pl.n_cores
    comp = pl.usage["compartments"]
    index_bits = np.clip(np.ceil(np.log2(np.maximum(comp, 2))), 6, 12).astype(np.int64)
    mem = np.zeros(n_cores, dtype=np.int64)
    syn = np.zeros(n_cores, dtype=np.int64)
    pairs = set()
    for (s0, s1, *_), proj, cnt, pos in zip(
        net.proj_ranges, net.spec.projections, net.proj_counts, net.projection_positions(), strict=True
    ):
        src = np.repeat(np.arange(s0, s1), cnt)
        core = pl.core_of[net.slot[pos] % n]
        dbits = 6 if pos.size and net.delay[pos].max() > 0 else 0
        keys, group_n = np.unique(src * n_cores + core, return_counts=True)
        for key, g in zip(keys.tolist(), group_n.tolist(), strict=True):
            s, c = divmod(key, n_cores)
            header = SYNAPSE_GROUP_HEADER_BITS * -(-g // SYNAPSE_GROUP_SIZE)
            bits = g * (proj.weight_bits + dbits + index_bits[c]) + header
            mem[c] += 64 * -(-bits // 64)
            syn[c] += g
            pairs.add((s, c))
    xy = pl.core_coords()[:, 1:]
    inp, out = np.zeros(n_cores, dtype=np.int64), np.zeros(n_cores, dtype=np.int64)
    dest, hx, hy = (np.zeros(net.n_sources, dtype=np.int64) for _ in range(3))
    for s, c in pairs:
        inp[c] += 1
        dest[s] += 1
        sxy = xy[pl.core_of[s]] if s < n else (-1, 0)
        if s < n:
            out[pl.core_of[s]] += 1
        hx[s] += abs(xy[c, 0] - sxy[0])
        hy[s] += abs(xy[c, 1] - sxy[1])
    return (
        {"synapse_memory_bits": mem, "synapses": syn, "input_axons": inp, "output_axons": out},
        dest,
        hx,
        hy,
    )


def test_usage_matches_a_group_by_group_count():
    # populations split over many cores of two chips, a dual-current target, an input, delays on
    # some projections: every per-core count and per-source route as counted group by group
    net = compile_network(
        Network.from_dict(
            {
                "simulation": {"seed": 3},
                "inputs": [{"name": "in", "kind": "poisson", "size": 30, "rate": 5.0}],
                "populations": [{"name": "a", "size": 90}, {"name": "b", "size": 50, "tau_syn_inh": 8.0}],
                "projections": [
                    {"pre": "in", "post": "a", "connector": {"type": "fixed_probability", "p": 0.3}},
                    {
                        "pre": "a",
                        "post": "b",
                        "connector": {"type": "fixed_probability", "p": 0.5},
                        "delay": 2.0,
                    },
                    {"pre": "a", "post": "b", "connector": "all_to_all", "receptor": "inh", "weight": -1.0},
                    {"pre": "b", "post": "a", "connector": {"type": "fixed_probability", "p": 0.2}},
                    {"pre": "a", "post": "a", "connector": {"type": "fixed_probability", "p": 0.4}},
                ],
            }
        )
    )
    profile = LOIHI.with_limits(compartments_per_core=16, cores_per_chip=8, mesh_cols=4, mesh_rows=2)
    pl = place(net, profile, n_chips=2)
    assert pl.n_cores > 8 and len(set(pl.core_coords()[:, 0].tolist())) == 2
    usage, dest, hx, hy = _reference_usage(net, pl)
    for key, val in usage.items():
        np.testing.assert_array_equal(pl.usage[key], val, err_msg=key)
    np.testing.assert_array_equal(pl.src_dest_cores, dest)
    np.testing.assert_array_equal(pl.src_hops_x, hx)
    np.testing.assert_array_equal(pl.src_hops_y, hy)
