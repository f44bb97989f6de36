"""TrueNorth spec sections: bad input is one line naming the file and the field (exit 2 from the
CLI); round trips; the example models run and map from the command line."""

from __future__ import annotations

import copy
import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from neuro.cli import main
from neuro.errors import NeuroError
from neuro.network import compile_network
from neuro.spec import Network, load_spec
from neuro.truenorth.energy import TRUENORTH_26PJ, energy_counts

from .conftest import MODELS, assert_one_line_error, to_toml

BASE = {
    "name": "tn",
    "simulation": {"arithmetic": "truenorth", "steps": 10, "seed": 1},
    "inputs": [{"name": "in", "kind": "spike_times", "times": [[1.0], [2.0]]}],
    "populations": [
        {"name": "a", "size": 2, "truenorth": {"weights": [1, -1, 2, 0], "threshold": 3}},
        {"name": "b", "size": 2, "truenorth": {"threshold": 2}},
        {"name": "c", "size": 2},
    ],
    "projections": [
        {"pre": "in", "post": "a", "connector": "one_to_one", "axon_type": 0},
        {"pre": "a", "post": "b", "weight": 2, "delay": 1.0},
        {"pre": "a", "post": "c", "weight": 0.5, "delay": 1.0},
    ],
}


def setp(path, value, base=BASE):
    d = copy.deepcopy(base)
    node = d
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return d


DELETE = object()
TN = ("populations", 0, "truenorth")

BAD = [
    # weights out of 9-bit signed range
    (setp((*TN, "weights"), [300, 0, 0, 0]), "populations[0].truenorth.weights", "[-256, 255]"),
    (setp((*TN, "weights"), [[1, 2, 3, -257], [0, 0, 0, 0]]), "populations[0].truenorth.weights", "-257"),
    (setp(("projections", 1, "weight"), 256), "projections[1].weight", "[-256, 255]"),
    (setp(("projections", 1, "weight"), 1.5), "projections[1].weight", "integers"),
    # more than 4 axon types
    (setp((*TN, "weights"), [1, 2, 3, 4, 5]), "populations[0].truenorth.weights", "4 entries"),
    (setp(("projections", 0, "axon_type"), 4), "projections[0].axon_type", "[0, 3]"),
    (
        setp((*TN, "stochastic_synapse"), [True] * 5),
        "populations[0].truenorth.stochastic_synapse",
        "4 entries",
    ),
    # delays outside 1..15 ticks
    (setp(("projections", 1, "delay"), 15.0), "projections[1].delay", "1..15 ticks"),
    (
        setp(("projections", 2, "delay"), {"dist": "normal", "mean": 2, "std": 1, "low": 0}),
        "projections[2].delay",
        "unbounded",
    ),
    # parameter ranges and modes
    (setp((*TN, "threshold"), 2**18), "populations[0].truenorth.threshold", "262143"),
    (setp((*TN, "threshold"), -1), "populations[0].truenorth.threshold", "[0, 262143]"),
    (setp((*TN, "leak"), 300), "populations[0].truenorth.leak", "[-256, 255]"),
    (setp((*TN, "neg_threshold"), 2.5), "populations[0].truenorth.neg_threshold", "integers"),
    (setp((*TN, "reset_mode"), "hard"), "populations[0].truenorth.reset_mode", "value, linear, none"),
    (setp((*TN, "neg_mode"), "clip"), "populations[0].truenorth.neg_mode", "saturate, reset"),
    (setp((*TN, "leak_reversal"), 1), "populations[0].truenorth.leak_reversal", "true or false"),
    (
        setp((*TN, "threshold_mask"), {"dist": "uniform", "low": 0, "high": 3}),
        "truenorth.threshold_mask",
        "random",
    ),
    (setp((*TN, "v_init"), [1, 2, 3]), "populations[0].truenorth.v_init", "3 values"),
    (setp((*TN, "tau"), 1), "populations[0].truenorth.tau", "unknown key"),
    # how projections use the crossbar
    (setp(("projections", 0, "axon_type"), DELETE), "projections[0].axon_type", "axon_type"),
    (setp(("projections", 0, "weight"), 3), "projections[0].weight", "remove weight"),
    (setp(("projections", 1, "axon_type"), 1), "projections[1].axon_type", "no truenorth.weights"),
    (setp(("projections", 2, "axon_type"), 1), "projections[2].axon_type", "LIF population"),
    # arithmetic, chip and what TrueNorth cannot do
    (setp(("simulation", "chip"), "loihi"), "simulation.chip", "truenorth"),
    (setp(("simulation", "arithmetic"), "float"), "populations[0].truenorth", "arithmetic 'truenorth'"),
    (
        setp(
            ("inputs",),
            [{"name": "in", "kind": "current", "target": "c", "amplitude": 1.0}],
            setp(("projections",), []),
        ),
        "inputs[0].kind",
        "no bias",
    ),
    (setp(("populations", 2, "theta_plus"), 0.1), "populations[2].theta_plus", "adaptive"),
    (setp(("populations", 2, "v_threshold"), -1.0), "populations[2].v_threshold", "v_threshold > v_reset"),
    (
        setp(("projections", 2, "plasticity"), {"kind": "pair_stdp"}),
        "projections[2].plasticity",
        "no on-chip learning",
    ),
]


@pytest.mark.parametrize("spec, field, needle", BAD, ids=[f"{i}-{b[1]}" for i, b in enumerate(BAD)])
def test_bad_spec_is_one_line_naming_the_field(tmp_path, spec, field, needle):
    path = tmp_path / "bad.toml"
    path.write_text(to_toml(spec))
    with pytest.raises(NeuroError) as exc:
        compile_network(load_spec(path))
    assert_one_line_error(exc.value, str(path), field, needle)
    r = CliRunner().invoke(main, ["run", str(path), "-o", str(tmp_path / "out")], catch_exceptions=False)
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and field in lines[0], r.stderr


COMPILE_BAD = [
    # more than 4 distinct integer weights into one neuron of a population without a table
    (
        setp(
            ("projections", 1),
            {"pre": "a", "post": "b", "connector": {"type": "list", "pairs": [[0, 0, 1], [1, 0, 2]]}},
            setp(
                ("projections",),
                [
                    *BASE["projections"],
                    {
                        "pre": "in",
                        "post": "b",
                        "connector": {"type": "list", "pairs": [[0, 0, 3], [1, 0, 4], [1, 0, 5]]},
                    },
                ],
            ),
        ),
        "populations[1].truenorth",
        "5 distinct weights",
    ),
    # axon type column of a list connector outside 0..3
    (
        setp(
            ("projections", 0),
            {"pre": "in", "post": "a", "connector": {"type": "list", "pairs": [[0, 0, 4]]}},
        ),
        "projections[0].connector",
        "0..3",
    ),
    # a delay column beyond 15 ticks
    (
        setp(
            ("projections", 1),
            {"pre": "a", "post": "b", "connector": {"type": "list", "pairs": [[0, 0, 1, 20.0]]}},
        ),
        "projections[1].connector.pairs",
        "1..15 ticks",
    ),
    # a network that needs more cores than the chip has
    (setp(("populations", 2, "size"), 256 * 4096), "simulation.chips", "--chips 2"),
]


@pytest.mark.parametrize("spec, field, needle", COMPILE_BAD, ids=[b[1] for b in COMPILE_BAD])
def test_unexpressible_network_is_refused(tmp_path, spec, field, needle):
    path = tmp_path / "bad.toml"
    path.write_text(to_toml(spec))
    with pytest.raises(NeuroError) as exc:
        compile_network(load_spec(path))
    msg = assert_one_line_error(exc.value, str(path), field, needle)
    if "distinct" in needle:
        assert "(1, 2, 3, 4, 5)" in msg and "projections[1], projections[3]" in msg
    r = CliRunner().invoke(main, ["map", str(path)], catch_exceptions=False)
    assert r.exit_code == 2
    assert field in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_round_trip_and_defaults():
    net = Network.from_dict(BASE)
    again = Network.from_dict(net.to_dict())
    assert again == net
    tn = net.populations[0].truenorth
    assert tn.weights == (1, -1, 2, 0) and tn.reset_mode == "value" and tn.neg_mode == "saturate"
    assert net.simulation.chip == "truenorth"  # implied by the arithmetic
    assert net.projections[0].axon_type == 0


def test_cli_arithmetic_truenorth_implies_the_chip(tmp_path, caplog):
    out = tmp_path / "out"
    r = CliRunner().invoke(
        main,
        [
            "run",
            str(MODELS / "feedforward.toml"),
            "-o",
            str(out),
            "--arithmetic",
            "truenorth",
            "--steps",
            "50",
        ],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.output
    assert "(truenorth, seed 42" in r.stdout and "truenorth cores" in r.stdout
    assert "converted to TrueNorth" in caplog.text  # the approximation is reported (a warning)


@pytest.mark.parametrize("model", ["truenorth_stochastic.toml", "truenorth_classifier.toml"])
def test_examples_run_and_map(tmp_path, model):
    runner = CliRunner()
    r = runner.invoke(main, ["map", str(MODELS / model)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "chip profile truenorth" in r.stdout and "splitter neurons" in r.stdout
    r = runner.invoke(main, ["map", str(MODELS / model), "--json"], catch_exceptions=False)
    d = json.loads(r.stdout)
    assert d["chip"] == "truenorth" and "truenorth" in d
    out = tmp_path / "out"
    r = runner.invoke(main, ["-q", "run", str(MODELS / model), "-o", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    with h5py.File(out / "spikes.h5") as f:
        assert f["emulator"].attrs["arithmetic"] == "truenorth"
        net = load_spec(MODELS / model)
        assert set(f["spikes"]) == {p.name for p in net.populations}  # no splitter population
        counters = dict(f["emulator/counters"].attrs)
    assert counters["spikes"] > 0 and "splitter_neurons" in counters


def test_stochastic_example_behaves_as_documented(tmp_path):
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["-q", "run", str(MODELS / "truenorth_stochastic.toml"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    with h5py.File(out / "spikes.h5") as f:
        steps = {p: f[f"emulator/spike_steps/{p}"][()] for p in f["spikes"]}
        floor_v = f["emulator/probes/floor/v"][()][:, 0]
        counters = dict(f["emulator/counters"].attrs)
    assert steps["clock"].tolist() == list(range(9, 1000, 10))  # V = 1..10, fires at 9, 19, ...
    assert floor_v.min() == -12  # saturates at -beta
    # coin: 20 neurons x each clock spike that arrives (2 ticks later) with p = 1/2
    arrived = int((steps["clock"] + 2 < 1000).sum())
    assert abs(steps["coin"].size - 10 * arrived) < 4 * np.sqrt(20 * arrived * 0.25)
    # divider: 3 per clock spike, linear reset by 7 -> floor(3 m / 7) spikes after m arrivals
    assert steps["divider"].size == (3 * arrived) // 7
    relayed = int((steps["clock"] + 1 < 1000).sum())  # splitters fire one tick after the clock
    assert counters["splitter_neurons"] == 3 and counters["splitter_spikes"] == 3 * relayed


def test_energy_hook_counts():
    counters = {"synaptic_events": 1000, "spikes": 10, "splitter_neurons": 3, "hops_x": 4, "hops_y": 5}
    e = energy_counts(counters)
    assert e["hops"] == 9 and e["splitter_neurons"] == 3
    assert TRUENORTH_26PJ.estimate(counters) == pytest.approx(26e-9)
    assert "synaptic_events" == TRUENORTH_26PJ.event and TRUENORTH_26PJ.tag == "[S]"
