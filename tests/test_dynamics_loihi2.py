"""The ``loihi2`` target: Lava 0.10's bit-accurate LIF and Dense (reference/loihi2-semantics.md).

Every row of the reference's difference table (section 4) has its own case; each states the
value the Loihi 1 rule would give and checks that the engine gives the Loihi 2 value instead,
so the case fails if the Loihi 1 rule is used.
"""

from pathlib import Path

import h5py
import numpy as np
import pytest

from neuro.errors import NeuroError
from neuro.run import run_spec
from neuro.spec import Network
from tests.conftest import assert_one_line_error, simulate

DATA = Path(__file__).resolve().parent / "data"


def net2(regs, inputs, projections, steps=12, size=1, probes=()):
    return Network.from_dict(
        {
            "simulation": {"dt": 1.0, "steps": steps, "seed": 0, "arithmetic": "loihi2", "chip": "loihi2"},
            "populations": [{"name": "a", "size": size, "loihi": regs}],
            "inputs": inputs,
            "projections": projections,
            "probes": list(probes),
        }
    )


def spikes_at(steps_by_channel):
    return {"name": "x", "kind": "spike_times", "times": [[float(t) for t in ch] for ch in steps_by_channel]}


def first_u(regs, weights, weight_exp=0, channels_spiking=None, steps=4):
    """u at step 3 after input channels spike at step 2 through a matrix of ``weights`` (one
    row per channel) into one neuron."""
    n = len(weights)
    spiking = range(n) if channels_spiking is None else channels_spiking
    net = net2(
        regs,
        [spikes_at([[2] if c in spiking else [] for c in range(n)])],
        [
            {
                "pre": "x",
                "post": "a",
                "connector": {"type": "matrix", "values": [[w] for w in weights]},
                "weight": 1,
                "weight_exp": weight_exp,
            }
        ],
        steps=steps,
    )
    return simulate(net, probe=[0]).i[3, 0, 0]


QUIET = {"decay_u": 4095, "decay_v": 4095, "vth_mant": 2**17 - 1}  # u = a << 6 each step


def test_worked_example_spikes_3_4_5_7_10():
    """Reference section 6: no refractory period (Loihi 1 with refract_delay 2: 3, 5, 8)."""
    net = net2(
        {"decay_u": 1024, "decay_v": 256, "vth_mant": 10},
        [spikes_at([[2]])],
        [{"pre": "x", "post": "a", "weight": 20, "weight_exp": 0}],
    )
    r = simulate(net, probe=[0])
    assert r.spike_steps() == [3, 4, 5, 7, 10]
    assert r.i[3:11, 0, 0].tolist() == [1280, 959, 719, 539, 404, 302, 226, 169]
    assert r.v[3:11, 0, 0].tolist() == [0, 0, 0, 539, 0, 302, 509, 0]


def test_row_refractory_longer_than_one_step_is_refused():
    with pytest.raises(NeuroError) as e:
        net2({"decay_u": 1024, "decay_v": 256, "vth_mant": 10, "refract_delay": 2}, [], [])
    assert_one_line_error(e.value, "populations[0].loihi.refract_delay", "no refractory")
    phys = {
        "simulation": {"dt": 1.0, "arithmetic": "loihi2", "chip": "loihi2"},
        "populations": [{"name": "a", "size": 1, "refractory": 2.0}],
    }
    with pytest.raises(NeuroError) as e:
        Network.from_dict(phys)
    assert_one_line_error(e.value, "populations[0].refractory", "2 steps")
    phys["populations"][0].update(refractory=0.0, theta_plus=0.1)
    with pytest.raises(NeuroError) as e:
        Network.from_dict(phys)
    assert_one_line_error(e.value, "populations[0].theta_plus", "adaptive")


def test_row_synaptic_sum_not_wrapped_at_21_bits():
    """Two synapses 255 << 7 each: a = 65280, u = a << 6 = 4177920 >= 2**21. Loihi 1 wraps q
    at 21 bits (to -16384)."""
    loihi1 = ((4177920 + 2**21) % 2**22) - 2**21
    assert loihi1 == -16384
    assert first_u(QUIET, [255, 255], weight_exp=7) == 4177920


def test_row_weight_exp_floors_the_sum():
    """e = -1: Lava floors the summed activation once; Loihi 1 scales each synapse by 2**5."""
    assert first_u(QUIET, [3], -1) == (3 >> 1) << 6 == 64  # Loihi 1: 3 << 5 = 96
    assert first_u(QUIET, [-3], -1) == (-3 >> 1) << 6 == -128  # Loihi 1: -96
    assert first_u(QUIET, [3, 3], -1) == (6 >> 1) << 6 == 192  # one floor of the sum


def test_weight_exp_floor_is_per_projection():
    """Two projections with e = -1 into one neuron: each Dense floors its own sum."""
    net = net2(
        QUIET,
        [spikes_at([[2], [2]])],
        [
            {
                "pre": "x",
                "post": "a",
                "connector": {"type": "list", "pairs": [[0, 0]]},
                "weight": 3,
                "weight_exp": -1,
            },
            {
                "pre": "x",
                "post": "a",
                "connector": {"type": "list", "pairs": [[1, 0]]},
                "weight": 3,
                "weight_exp": -1,
            },
        ],
        steps=4,
    )
    assert simulate(net, probe=[0]).i[3, 0, 0] == ((3 >> 1) + (3 >> 1)) << 6 == 128


def test_row_weights_sign_mode():
    """MIXED matrices floor to even (3 -> 2, -3 -> -4, -255 -> -256, 1 -> 0); single-sign ones
    keep odd weights. Loihi 1 uses the weights as given."""
    mixed = [3, -3, -255, 1]
    assert [first_u(QUIET, mixed, 0, [c]) >> 6 for c in range(4)] == [2, -4, -256, 0]
    assert first_u(QUIET, [3, 0], 0, [0]) >> 6 == 3  # EXCITATORY: odd kept
    assert first_u(QUIET, [-3, 0], 0, [0]) >> 6 == -3  # INHIBITORY: odd kept


def test_row_weight_bits_truncate_low_bits():
    """weight_bits 6 in an EXC matrix drops 2 low bits: 7 -> 4 (Lava's truncate_weights)."""
    net = net2(
        QUIET,
        [spikes_at([[2]])],
        [{"pre": "x", "post": "a", "weight": 7, "weight_exp": 0, "weight_bits": 6}],
        steps=4,
    )
    assert simulate(net, probe=[0]).i[3, 0, 0] == 4 << 6


def test_row_u_plus_bias_not_wrapped():
    """u = 8355840, bias = 4095 << 7: u + bias = 8880000 > 2**23 - 1. Loihi 1 wraps it to
    -7897216 (no spike); Lava clips v to 2**23 - 1 > vth = (2**17 - 1) << 6: a spike."""
    regs = dict(QUIET, bias_mant=4095, bias_exp=7)
    net = net2(
        regs,
        [spikes_at([[2]] * 4)],
        [{"pre": "x", "post": "a", "weight": 255, "weight_exp": 7}],
        steps=5,
    )
    r = simulate(net, probe=[0])
    assert r.i[3, 0, 0] == 8355840
    assert 3 in r.spike_steps()
    loihi1 = ((8355840 + (4095 << 7) + 2**23) % 2**24) - 2**23
    assert loihi1 < 0


def test_row_u_fold_one_sided_at_plus_2_23():
    """u' = +2**23 exactly is kept (Loihi 1's 24-bit wrap gives -2**23); one more unit folds."""
    r = simulate(
        net2(
            QUIET,
            [spikes_at([[2]] * 8)],
            [{"pre": "x", "post": "a", "weight": 128, "weight_exp": 7}],
            steps=4,
        ),
        probe=[0],
    )
    assert r.i[3, 0, 0] == 2**23
    assert r.sim.counters()["overflow_u"] == 0
    r = simulate(
        net2(
            QUIET,
            [spikes_at([[2]] * 9)],
            [
                {
                    "pre": "x",
                    "post": "a",
                    "connector": {"type": "matrix", "values": [[128]] * 8 + [[1]]},
                    "weight": 1,
                    "weight_exp": 7,
                }
            ],
            steps=4,
        ),
        probe=[0],
    )
    assert r.i[3, 0, 0] == 2**23 + 128 * 64 - 2**24
    assert r.sim.counters()["overflow_u"] == 1


def test_row_v_limits_fixed():
    """v clips at -(2**23 - 1) whatever the Loihi 1 vmin_exp; other limits are refused."""
    net = net2(
        dict(QUIET, decay_v=0),
        [spikes_at([[2, 3]] * 4)],
        [{"pre": "x", "post": "a", "weight": -255, "weight_exp": 7}],
        steps=5,
    )
    r = simulate(net, probe=[0])
    assert r.v[4, 0, 0] == -(2**23 - 1)
    with pytest.raises(NeuroError) as e:
        net2(dict(QUIET, vmin_exp=0), [], [])
    assert_one_line_error(e.value, "vmin_exp")


def test_graded_payloads_multiply_the_weight(tmp_path):
    inp = {
        "name": "x",
        "kind": "spike_times",
        "times": [[2.0, 3.0, 4.0], [3.0]],
        "message_bits": 8,
        "payloads": [[3, -2, 100], [5]],
    }
    proj = {
        "pre": "x",
        "post": "a",
        "connector": {"type": "matrix", "values": [[5], [7]]},
        "weight": 1,
        "weight_exp": 0,
        "message_bits": 8,
    }
    net = net2(
        {"decay_u": 4095, "decay_v": 4095, "vth_mant": 1000},
        [inp],
        [proj],
        steps=8,
        probes=[{"population": "a", "variables": ["i"]}],
    )
    r = simulate(net, probe=[0])
    assert r.i[3:6, 0, 0].tolist() == [15 << 6, (-10 + 35) << 6, 500 << 6]
    c = r.sim.counters()
    assert c["graded_input_spikes"] == 4 and c["graded_synaptic_events"] == 4
    res = run_spec(net, tmp_path / "out", progress=False)
    with h5py.File(res.path) as f:
        g = f["emulator/graded_inputs/x"]
        assert g["step"][:].tolist() == [2, 3, 3, 4]
        assert g["node_ids"][:].tolist() == [0, 0, 1, 0]
        assert g["payloads"][:].tolist() == [3, -2, 5, 100]


def test_graded_spikes_are_checked():
    inp = {"name": "x", "kind": "spike_times", "times": [[2.0]], "message_bits": 4, "payloads": [[8]]}
    proj = {"pre": "x", "post": "a", "weight": 5, "weight_exp": 0, "message_bits": 4}
    with pytest.raises(NeuroError) as e:
        net2(QUIET, [inp], [proj])
    assert_one_line_error(e.value, "inputs[0].payloads[0]", "[-8, 7]")
    inp["payloads"] = [[0]]
    with pytest.raises(NeuroError) as e:
        net2(QUIET, [inp], [proj])
    assert_one_line_error(e.value, "inputs[0].payloads[0]", "no spike")
    inp["payloads"] = [[5]]
    with pytest.raises(NeuroError) as e:
        net2(QUIET, [inp], [dict(proj, message_bits=0)])
    assert_one_line_error(e.value, "projections[0].message_bits", "4-bit payloads")
    spec = net2(QUIET, [inp], [proj]).to_dict()
    spec["simulation"].update(arithmetic="loihi", chip="loihi")
    with pytest.raises(NeuroError) as e:
        Network.from_dict(spec)
    assert_one_line_error(e.value, "message_bits", "loihi2")


def test_payload_free_network_is_unchanged_by_the_graded_path():
    """The same spikes with and without a graded input of payload 1."""
    proj = {"pre": "x", "post": "a", "weight": 40, "weight_exp": 0}
    regs = {"decay_u": 1024, "decay_v": 256, "vth_mant": 10}
    plain = simulate(net2(regs, [spikes_at([[2, 9]])], [proj], steps=20), probe=[0])
    inp = dict(spikes_at([[2, 9]]), message_bits=2, payloads=[[1, 1]])
    graded = simulate(net2(regs, [inp], [dict(proj, message_bits=2)], steps=20), probe=[0])
    assert plain.spike_steps() == graded.spike_steps() and plain.spike_steps()
    assert np.array_equal(plain.v, graded.v)


def _chip_net(convention):
    chip = np.loadtxt(DATA / "nir_lif_lava_loihi_fixed.csv", delimiter=",")
    steps = np.flatnonzero(chip[:, 0])
    net = net2(
        {"decay_u": 4095, "decay_v": 163, "vth_mant": 25},
        [spikes_at([steps.tolist()])],
        [{"pre": "x", "post": "a", "weight": 10, "weight_exp": 0}],
        steps=1000,
        probes=[{"population": "a", "variables": ["v"], "convention": convention}],
    )
    return chip, net


@pytest.mark.parametrize("convention, matching", [("chip", 1000), ("model", 996)])
def test_nir_paper_single_lif_on_loihi2_chip(tmp_path, convention, matching):
    """The NIR paper's LIF on a real Loihi 2 (neuromorphs/NIR paper/01_lif/lif_lava_loihi_fixed.csv):
    the chip's spikes on every step; its v on all 1000 steps with convention "chip" (996 with
    Lava CPU's reading, which differs exactly at the 4 spike steps)."""
    chip, net = _chip_net(convention)
    res = run_spec(net, tmp_path / "out", progress=False)
    with h5py.File(res.path) as f:
        v = f["emulator/probes/a/v"][:, 0]
        spikes = f["emulator/spike_steps/a"][:]
    assert spikes.tolist() == np.flatnonzero(chip[:, 2]).tolist() == [461, 511, 711, 761]
    assert int((v == chip[:, 1]).sum()) == matching
    if convention == "model":
        assert np.flatnonzero(v != chip[:, 1]).tolist() == [461, 511, 711, 761]


def test_chip_convention_refused_where_unknown():
    with pytest.raises(NeuroError) as e:
        Network.from_dict(
            {
                "simulation": {"arithmetic": "loihi"},
                "populations": [{"name": "a", "size": 1}],
                "probes": [{"population": "a", "convention": "chip"}],
            }
        )
    assert_one_line_error(e.value, "probes[0].convention")


def test_physical_population_runs_and_maps_on_loihi2():
    from neuro.chips import get_profile
    from neuro.mapping import place_cores
    from neuro.network import compile_network

    net = Network.from_dict(
        {
            "simulation": {"dt": 1.0, "steps": 50, "seed": 1, "arithmetic": "loihi2", "chip": "loihi2"},
            "populations": [{"name": "a", "size": 3, "tau_mem": 10.0, "tau_syn": 5.0, "v_threshold": 1.0}],
            "inputs": [{"name": "x", "kind": "spike_times", "times": [[float(t) for t in range(1, 9)]]}],
            "projections": [{"pre": "x", "post": "a", "weight": 0.8}],
        }
    )
    compiled = compile_network(net)
    assert compiled.weight_exps[0] >= 0
    w_mv = compiled.target.weights_to_physical(compiled, 0, compiled.weight)
    assert np.allclose(w_mv, 0.8, rtol=0.01)
    place_cores(compiled, get_profile("loihi2"), 1)
    r = simulate(net)
    assert r.spike_steps() == [8]  # as float (and loihi) arithmetic: v crosses 1 mV at step 8


@pytest.mark.parametrize("arithmetic", ["loihi", "loihi2"])
def test_per_neuron_bias_exp(arithmetic):
    """bias = bias_mant << bias_exp per neuron: with no leak (decay_v 0) v grows by the bias."""
    net = Network.from_dict(
        {
            "simulation": {"dt": 1.0, "steps": 3, "seed": 0, "arithmetic": arithmetic, "chip": "unbounded"},
            "populations": [
                {
                    "name": "a",
                    "size": 3,
                    "loihi": {
                        "decay_u": 0,
                        "decay_v": 0,
                        "vth_mant": 10000,
                        "bias_mant": [1, -2, 3],
                        "bias_exp": [0, 1, 7],
                    },
                }
            ],
        }
    )
    r = simulate(net, probe=[0, 1, 2])
    assert r.v[:, 0, :].tolist() == [[1, -4, 384], [2, -8, 768], [3, -12, 1152]]
    with pytest.raises(NeuroError) as e:
        Network.from_dict(dict(net.to_dict(), populations=[dict(net.to_dict()["populations"][0], size=2)]))
    assert_one_line_error(e.value, "loihi.bias_mant")


def test_row_int32_activation_wraps_like_lava():
    """1100 synapses 255 << 7: a = 35904000 arrives whole (no 16- or 21-bit wrap), a << 6 wraps in
    int32 (to -1997111296), the fold adds 2**24: u = -1980334080; next step the decayed u folds
    again (-1963073384). Values as Lava 0.10 gives them (tests/lava/run_lava.py)."""
    n = 1100
    net = net2(
        {"decay_u": 0, "decay_v": 0, "vth_mant": 100},
        [spikes_at([[2]] * n)],
        [{"pre": "x", "post": "a", "weight": 255, "weight_exp": 7}],
        steps=5,
    )
    r = simulate(net, probe=[0])
    assert ((n * 255 << 7 << 6) + 2**31) % 2**32 - 2**31 == -1997111296
    assert r.i[3:5, 0, 0].tolist() == [-1997111296 + 2**24, -1963073384]
    assert r.v[3:5, 0, 0].tolist() == [-(2**23 - 1)] * 2
    c = r.sim.counters()
    assert c["overflow_a_int32"] == 1 and c["overflow_u"] == 2
