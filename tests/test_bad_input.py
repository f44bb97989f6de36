"""Every class of bad input is a NeuroError whose message is one line naming the file and the field."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from neuro.chips import get_profile
from neuro.errors import NeuroError
from neuro.network import compile_network
from neuro.run import prepare
from neuro.spec import load_spec

from .conftest import assert_one_line_error, to_toml

REGS = {"decay_u": 0, "decay_v": 0, "vth_mant": 1}

BASE = {
    "name": "base",
    "simulation": {"dt": 1.0, "steps": 10, "seed": 1},
    "populations": [{"name": "a", "size": 3}, {"name": "r", "size": 2, "tau_syn_inh": 9.0}],
    "inputs": [{"name": "in", "kind": "spike_times", "times": [[1.0], [2.0]]}],
    "projections": [{"pre": "in", "post": "r", "connector": "one_to_one"}, {"pre": "a", "post": "r"}],
    "probes": [{"population": "a"}],
}

LOIHI_BASE = {
    "simulation": {"arithmetic": "loihi", "seed": 1},
    "populations": [{"name": "a", "size": 2, "loihi": dict(REGS)}],
    "projections": [{"pre": "a", "post": "a", "weight": 1, "weight_exp": 0}],
}


def setp(d, path, value):
    """Set d[path] where path is a tuple of keys/indices; value DELETE removes the key."""
    d = copy.deepcopy(d)
    node = d
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return d


DELETE = object()
nan, inf = float("nan"), float("inf")

# (base, path, value, field named in the message, fragment of the message)
CASES = [
    # ---- unknown keys, at every level
    (BASE, ("colour",), "red", "network.colour", "unknown key"),
    (BASE, ("simulation", "dtt"), 1.0, "simulation.dtt", "unknown key"),
    (BASE, ("populations", 0, "tau"), 1.0, "populations[0].tau", "unknown key"),
    (BASE, ("inputs", 0, "rate"), 1.0, "inputs[0].rate", "not used by a spike_times input"),
    (BASE, ("projections", 1, "wieght"), 1.0, "projections[1].wieght", "unknown key"),
    (
        BASE,
        ("projections", 1, "connector"),
        {"type": "all_to_all", "p": 0.5},
        "projections[1].connector.p",
        "",
    ),
    (BASE, ("probes", 0, "var"), "v", "probes[0].var", "unknown key"),
    (LOIHI_BASE, ("populations", 0, "loihi", "decay"), 1, "populations[0].loihi.decay", "unknown key"),
    (
        BASE,
        ("projections", 1, "weight"),
        {"dist": "uniform", "low": 0, "high": 1, "std": 1},
        "weight.std",
        "",
    ),
    # ---- wrong types
    (BASE, ("populations",), 5, "populations", "list"),
    (BASE, ("populations", 0), 5, "populations[0]", "table"),
    (BASE, ("simulation",), 3, "simulation", "table"),
    (BASE, ("populations", 0, "size"), "3", "populations[0].size", "integer"),
    (BASE, ("populations", 0, "size"), 1.5, "populations[0].size", "integer"),
    (BASE, ("populations", 0, "size"), True, "populations[0].size", "integer"),
    (BASE, ("populations", 0, "size"), 0, "populations[0].size", ""),
    (BASE, ("populations", 0, "tau_mem"), "20", "populations[0].tau_mem", "number"),
    (BASE, ("populations", 0, "v_threshold"), [1.0], "populations[0].v_threshold", "number"),
    (BASE, ("populations", 0, "name"), "a b", "populations[0].name", "name"),
    (BASE, ("populations", 0, "bias"), "bias.txt", "populations[0].bias", ".npy"),
    (BASE, ("populations", 0, "bias"), [1.0, 2.0], "populations[0].bias", "3 neurons"),
    (BASE, ("populations", 0, "v_init"), True, "populations[0].v_init", ""),
    (BASE, ("simulation", "steps"), 1.5, "simulation.steps", "integer"),
    (BASE, ("simulation", "steps"), -1, "simulation.steps", ""),
    (BASE, ("simulation", "seed"), -1, "simulation.seed", ""),
    (BASE, ("simulation", "arithmetic"), "fixed", "simulation.arithmetic", "float, loihi"),
    (BASE, ("simulation", "chip"), "truenorth2", "simulation.chip", "loihi"),
    (BASE, ("simulation", "chip"), 1, "simulation.chip", ""),
    (BASE, ("simulation", "chips"), 0, "simulation.chips", ""),
    (BASE, ("simulation", "dt"), 0, "simulation.dt", ""),
    (BASE, ("simulation", "dt"), nan, "simulation.dt", "finite"),
    (BASE, ("simulation", "duration"), 5.0, "simulation", "not both"),
    (BASE, ("projections", 1, "weight"), True, "projections[1].weight", ""),
    (BASE, ("projections", 1, "receptor"), "exc2", "projections[1].receptor", "exc, inh"),
    (BASE, ("projections", 1, "connector"), "some", "projections[1].connector.type", "one of"),
    (
        BASE,
        ("projections", 1, "connector"),
        {"type": "all_to_all", "allow_self": 1},
        "allow_self",
        "true or false",
    ),
    (
        BASE,
        ("projections", 1, "connector"),
        {"type": "fixed_probability"},
        "projections[1].connector.p",
        "missing",
    ),
    (BASE, ("projections", 1, "connector"), {"type": "fixed_probability", "p": 1.5}, "connector.p", "[0, 1]"),
    (BASE, ("projections", 1, "connector"), {"type": "list"}, "projections[1].connector", "exactly one"),
    (BASE, ("projections", 1, "connector"), {"type": "list", "pairs": [1, 2]}, "connector.pairs", "rows"),
    (
        BASE,
        ("projections", 1, "connector"),
        {"type": "matrix", "file": "nope.npy"},
        "connector.file",
        "not found",
    ),
    (BASE, ("projections", 1, "delay"), -1.0, "projections[1].delay", ">= 0"),
    (BASE, ("projections", 1, "weight_bits"), 9, "projections[1].weight_bits", ""),
    (BASE, ("projections", 1, "pre"), DELETE, "projections[1].pre", "missing"),
    (BASE, ("inputs", 0, "kind"), "noise", "inputs[0].kind", "spike_times"),
    (BASE, ("inputs", 0, "times"), [1, 2], "inputs[0].times[0]", "list"),
    (
        BASE,
        ("inputs", 0),
        {"name": "in", "kind": "spike_times", "size": 2, "times": [[1.0]]},
        "times",
        "channels",
    ),
    (BASE, ("inputs", 0, "times"), [[-1.0], [1.0]], "inputs[0].times[0]", ""),
    (BASE, ("inputs",), [{"name": "p", "kind": "poisson", "rate": -5.0}], "inputs[0].rate", ">= 0"),
    (BASE, ("inputs",), [{"name": "p", "kind": "poisson"}], "inputs[0].rate", "missing"),
    (
        BASE,
        ("inputs",),
        [{"name": "p", "kind": "poisson", "rate": 1.0, "start": 5.0, "stop": 1.0}],
        "stop",
        "",
    ),
    (BASE, ("inputs",), [{"name": "c", "kind": "current", "target": "a"}], "inputs[0].amplitude", "missing"),
    (BASE, ("probes", 0, "variables"), ["v", "w"], "probes[0].variables", "v, i"),
    (BASE, ("probes", 0, "neurons"), [0, 3], "probes[0].neurons", "out of range"),
    (BASE, ("probes", 0, "neurons"), [], "probes[0].neurons", "non-empty"),
    (
        BASE,
        ("probes",),
        [{"population": "a"}, {"population": "a", "variables": ["i"]}],
        "probes[1].population",
        "",
    ),
    (BASE, ("populations", 1, "name"), "a", "populations[1].name", "already used"),
    (BASE, ("inputs", 0, "name"), "a", "inputs[0].name", "already used"),
    (BASE, ("projections", 0, "connector"), "one_to_one", None, None),  # valid: sizes 2 == 2 (control)
    (BASE, ("projections", 1, "connector"), "one_to_one", "projections[1].connector", "equal sizes"),
    # ---- NaN / negative / zero time constants
    (BASE, ("populations", 0, "tau_mem"), nan, "populations[0].tau_mem", "finite"),
    (BASE, ("populations", 0, "tau_mem"), inf, "populations[0].tau_mem", "finite"),
    (BASE, ("populations", 0, "tau_mem"), -20.0, "populations[0].tau_mem", "> 0"),
    (BASE, ("populations", 0, "tau_syn"), -1.0, "populations[0].tau_syn", ">= 0"),  # 0: no filter (NIR)
    (BASE, ("populations", 1, "tau_syn"), 0.0, "populations[1].tau_syn_inh", "tau_syn = 0"),
    (BASE, ("populations", 0, "leak"), False, "populations[0].leak", "tau_syn = 0"),
    (BASE, ("populations", 0, "spiking"), 1, "populations[0].spiking", "true or false"),
    (BASE, ("populations", 0, "tau_syn"), nan, "populations[0].tau_syn", "finite"),
    (BASE, ("populations", 1, "tau_syn_inh"), -1.0, "populations[1].tau_syn_inh", "> 0"),
    (BASE, ("populations", 1, "tau_syn_inh"), nan, "populations[1].tau_syn_inh", "finite"),
    (BASE, ("populations", 0, "refractory"), -1.0, "populations[0].refractory", ""),
    (BASE, ("populations", 0, "v_threshold"), nan, "populations[0].v_threshold", "finite"),
    # ---- references to unknown names
    (BASE, ("projections", 1, "post"), "zz", "projections[1].post", "unknown population 'zz'"),
    (BASE, ("projections", 1, "pre"), "zz", "projections[1].pre", "unknown spike source 'zz'"),
    (BASE, ("probes", 0, "population"), "zz", "probes[0].population", "unknown population 'zz'"),
    (
        BASE,
        ("inputs",),
        [{"name": "c", "kind": "current", "target": "zz", "amplitude": 1.0}],
        "inputs[0].target",
        "",
    ),
    # ---- Loihi registers out of range
    *[
        (LOIHI_BASE, ("populations", 0, "loihi", key), value, f"populations[0].loihi.{key}", "")
        for key, value in [
            ("decay_u", -1),
            ("decay_u", 4096),
            ("decay_u_inh", 4096),
            ("decay_v", 4096),
            ("decay_v", -1),
            ("vth_mant", 0),
            ("vth_mant", 2**17),
            ("bias_mant", 4096),
            ("bias_mant", -4096),
            ("bias_mant", 1.5),
            ("bias_mant", {"dist": "uniform", "low": 0, "high": 1}),
            ("bias_exp", -1),
            ("bias_exp", 8),
            ("refract_delay", 0),
            ("refract_delay", 64),
            ("vmin_exp", -1),
            ("vmin_exp", 24),
            ("vmax_exp", -1),
            ("vmax_exp", 8),
            ("decay_u", 1.5),
            ("decay_v", "0"),
        ]
    ],
    (LOIHI_BASE, ("populations", 0, "loihi", "decay_v"), DELETE, "populations[0].loihi.decay_v", "missing"),
    (LOIHI_BASE, ("projections", 0, "weight_exp"), -7, "projections[0].weight_exp", "[-6, 7]"),
    (LOIHI_BASE, ("projections", 0, "weight_exp"), 8, "projections[0].weight_exp", "[-6, 7]"),
    (LOIHI_BASE, ("projections", 0, "weight"), 256, "projections[0].weight", "255"),
    (LOIHI_BASE, ("projections", 0, "weight"), -256, "projections[0].weight", "255"),
    (LOIHI_BASE, ("projections", 0, "weight_exp"), DELETE, "projections[0].weight_exp", "raw"),
    (BASE, ("projections", 1, "weight_exp"), 0, "projections[1].weight_exp", "raw"),
    (LOIHI_BASE, ("simulation", "arithmetic"), "float", "populations[0].loihi", "arithmetic 'loihi'"),
    # ---- delays above 62 steps: loihi arithmetic, and any arithmetic placed on Loihi cores
    (
        setp(BASE, ("simulation", "chip"), "unbounded"),
        ("projections", 1, "delay"),
        63.0,
        None,
        None,
    ),  # control
    (BASE, ("projections", 1, "delay"), 63.0, "delay", "62"),  # float on loihi cores: the chip's limit
    (
        setp(setp(BASE, ("simulation", "arithmetic"), "loihi"), ("simulation", "chip"), "unbounded"),
        ("projections", 1, "delay"),
        63.0,
        "delay",
        "62",
    ),  # loihi arithmetic: the synapse's delay field, whatever the chip
    (setp(BASE, ("simulation", "arithmetic"), "loihi"), ("projections", 1, "delay"), 63.0, "delay", "62"),
    (
        setp(BASE, ("simulation", "arithmetic"), "loihi"),
        ("projections", 1, "delay"),
        62.6,
        "delay",
        "63 steps",
    ),
    (
        setp(setp(BASE, ("simulation", "arithmetic"), "loihi"), ("simulation", "dt"), 0.5),
        ("projections", 1, "delay"),
        31.6,  # 63.2 -> 63 steps
        "projections[1].delay",
        "63 steps",
    ),
    (
        setp(BASE, ("simulation", "arithmetic"), "loihi"),
        ("projections", 1, "delay"),
        {"dist": "uniform", "low": 0.0, "high": 70.0},
        "projections[1].delay",
        "70 steps",
    ),
    (
        setp(BASE, ("simulation", "arithmetic"), "loihi"),
        ("projections", 1, "delay"),
        {"dist": "normal", "mean": 5.0, "std": 1.0, "low": 0.0},  # unbounded above
        "projections[1].delay",
        "62",
    ),
    (
        setp(BASE, ("simulation", "arithmetic"), "loihi"),
        ("projections", 1, "connector"),
        {"type": "list", "pairs": [[0, 0, 1.0, 1.0], [1, 1, 1.0, 100.0]]},  # delay column: 100 steps
        "projections[1].connector",
        "100 steps",
    ),
    (
        setp(BASE, ("simulation", "arithmetic"), "loihi"),
        ("populations", 0, "refractory"),
        64.0,
        "refractory",
        "63",
    ),
]


def _case_id(case):
    base, path, value, field, _ = case
    name = "loihi" if base is LOIHI_BASE else "base"
    return f"{name}:{'.'.join(map(str, path))}={value!r}"[:60]


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_bad_spec_is_one_line_error_naming_file_and_field(case, write_spec):
    base, path, value, field, fragment = case
    spec = write_spec(to_toml(setp(base, path, value)))
    if field is None:
        load_spec(spec)  # control case: valid
        return
    with pytest.raises(NeuroError) as ei:
        load_spec(spec)
    assert_one_line_error(ei.value, str(spec), field, fragment)
    assert ei.value.source == str(spec)


def test_missing_file_and_bad_toml(tmp_path, write_spec):
    with pytest.raises(NeuroError) as ei:
        load_spec(tmp_path / "nope.toml")
    assert_one_line_error(ei.value, "nope.toml", "not found")
    with pytest.raises(NeuroError) as ei:
        load_spec(tmp_path)
    assert_one_line_error(ei.value, str(tmp_path), "directory")
    bad = write_spec("[[populations]]\nname = \n")
    with pytest.raises(NeuroError) as ei:
        load_spec(bad)
    assert_one_line_error(ei.value, str(bad), "not valid TOML")


def test_no_population(write_spec):
    spec = write_spec('name = "x"\n')
    with pytest.raises(NeuroError) as ei:
        load_spec(spec)
    assert_one_line_error(ei.value, str(spec), "field 'populations'", "at least one")


def test_list_delay_column_in_npy_file_over_62_steps(tmp_path, write_spec):
    np.save(tmp_path / "pairs.npy", np.array([[0.0, 0.0, 1.0, 1.0], [1.0, 0.0, 1.0, 63.0]]))
    d = setp(LOIHI_BASE, ("projections", 0, "connector"), {"type": "list", "file": "pairs.npy"})
    spec = write_spec(to_toml(d))
    with pytest.raises(NeuroError) as ei:
        load_spec(spec)
    assert_one_line_error(ei.value, str(spec), "projections[0].connector", "63 steps")


# --------------------------------------------------------------------------- found when the network is built
def _compile(spec_path):
    compiled = compile_network(load_spec(spec_path))
    return compiled.target.simulator(compiled)


@pytest.mark.parametrize(
    ("connector", "field", "fragment"),
    [
        ({"type": "list", "pairs": [[0, 5]]}, "projections[1].connector", "post index out of range"),
        ({"type": "list", "pairs": [[-1, 0]]}, "projections[1].connector", "pre index out of range"),
        ({"type": "list", "pairs": [[0.5, 0]]}, "projections[1].connector", "integers"),
        ({"type": "list", "pairs": [[0, 1, 2, 3, 4]]}, "projections[1].connector", "rows"),
        ({"type": "matrix", "values": [[1, 2]]}, "projections[1].connector", "shape (3, 2)"),
    ],
)
def test_bad_connectivity_at_build(connector, field, fragment, write_spec):
    spec = write_spec(to_toml(setp(BASE, ("projections", 1, "connector"), connector)))
    with pytest.raises(NeuroError) as ei:
        _compile(spec)
    assert_one_line_error(ei.value, str(spec), field, fragment)


def test_weight_array_of_wrong_length(write_spec):
    # all_to_all a(3) -> r(2) has 6 synapses; 4 weights given
    spec = write_spec(to_toml(setp(BASE, ("projections", 1, "weight"), [1.0, 2.0, 3.0, 4.0])))
    with pytest.raises(NeuroError) as ei:
        _compile(spec)
    assert_one_line_error(ei.value, str(spec), "projections[1].weight", "4 values")


def test_non_integer_raw_weights(write_spec):
    spec = write_spec(
        to_toml(setp(LOIHI_BASE, ("projections", 0, "weight"), {"dist": "uniform", "low": 0, "high": 5}))
    )
    with pytest.raises(NeuroError) as ei:
        _compile(spec)
    assert_one_line_error(ei.value, str(spec), "projections[0].weight", "integers")


def test_poisson_rate_above_one_per_step(write_spec):
    # dt 1 ms: at most 1000 Hz
    poisson = {"name": "p", "kind": "poisson", "rate": 1500.0}
    spec = write_spec(to_toml(setp(BASE, ("inputs",), [*BASE["inputs"], poisson])))
    with pytest.raises(NeuroError) as ei:
        _compile(spec)
    assert_one_line_error(ei.value, str(spec), "inputs[1].rate", "1500")


def test_float_delay_above_255_steps(write_spec):
    spec = write_spec(to_toml(setp(BASE, ("projections", 1, "delay"), 300.0)))
    with pytest.raises(NeuroError) as ei:
        _compile(spec)
    assert_one_line_error(ei.value, str(spec), "projections[1].delay", "255")


def test_loihi_threshold_below_reset(write_spec):
    d = setp(setp(BASE, ("simulation", "arithmetic"), "loihi"), ("populations", 0, "v_threshold"), -1.0)
    spec = write_spec(to_toml(d))
    with pytest.raises(NeuroError) as ei:
        _compile(spec)
    assert_one_line_error(ei.value, str(spec), "populations[0].v_threshold", "v_reset")


def test_unknown_chip_profile():
    with pytest.raises(NeuroError) as ei:
        get_profile("spinnaker")
    assert_one_line_error(ei.value, "chip", "loihi", "unbounded")


# --------------------------------------------------------------------------- command-line overrides
@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"seed": 2**64}, "field 'simulation.seed'"),
        ({"chips": 0}, "field 'simulation.chips'"),
        ({"chip": "bogus"}, "field 'simulation.chip'"),
    ],
)
def test_override_errors_name_the_field_once(override, field, write_spec):
    spec = write_spec(to_toml(BASE))
    net = load_spec(spec)
    with pytest.raises(NeuroError) as ei:
        prepare(net, **override)
    msg = assert_one_line_error(ei.value, str(spec), field)
    assert "simulation.simulation" not in msg


def test_arithmetic_override_error_names_the_offending_field(write_spec):
    spec = write_spec(
        to_toml(setp(setp(BASE, ("projections", 1, "delay"), 100.0), ("simulation", "chip"), "unbounded"))
    )
    net = load_spec(spec)
    with pytest.raises(NeuroError) as ei:
        prepare(net, arithmetic="loihi")
    assert_one_line_error(ei.value, str(spec), "field 'projections[1].delay'", "100 steps")
