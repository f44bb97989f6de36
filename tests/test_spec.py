"""The spec: parsing, defaults, round trip through TOML and to_dict, and accepted ranges.

Rejections of bad input (one-line errors naming file and field) are in ``test_bad_input.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuro.errors import NeuroError
from neuro.spec import Connector, Network, Population, Projection, Simulation, load_spec
from neuro.values import Value, parse_value

from .conftest import MODELS, to_toml

RICH = {
    "name": "rich",
    "simulation": {
        "dt": 0.5,
        "steps": 123,
        "seed": 7,
        "arithmetic": "float",
        "chip": "unbounded",
        "chips": 2,
    },
    "populations": [
        {
            "name": "a",
            "size": 3,
            "tau_mem": 12.5,
            "tau_syn": 3.0,
            "tau_syn_inh": 7.0,
            "v_rest": -1.0,
            "v_threshold": 2.0,
            "v_reset": -0.5,
            "bias": [0.1, 0.2, 0.3],
            "refractory": 1.5,
            "v_init": {"dist": "normal", "mean": 0.0, "std": 0.5, "low": -1.0, "high": 1.0},
            "i_init": 0.25,
        },
        {"name": "b-2", "size": 2, "bias": {"dist": "uniform", "low": 0.0, "high": 1.0}},
    ],
    "inputs": [
        {"name": "st", "kind": "spike_times", "times": [[1.0, 2.5], [], [4.0]]},
        {"name": "po", "kind": "poisson", "size": 2, "rate": [5.0, 10.0], "start": 1.0, "stop": 50.0},
        {"name": "cu", "kind": "current", "target": "a", "amplitude": 0.5, "start": 2.0},
    ],
    "projections": [
        {"pre": "st", "post": "a", "connector": "one_to_one", "weight": 2.0, "delay": 1.0},
        {
            "pre": "a",
            "post": "a",
            "connector": {"type": "fixed_probability", "p": 0.5, "allow_self": True},
            "weight": {"dist": "normal", "mean": -1.0, "std": 0.1},
            "receptor": "inh",
            "name": "rec",
            "weight_bits": 6,
        },
        {
            "pre": "po",
            "post": "b-2",
            "connector": {"type": "list", "pairs": [[0, 1, 0.5, 2.0], [1, 0, 0.25, 0.0]]},
        },
        {"pre": "a", "post": "b-2", "connector": {"type": "matrix", "values": [[1, 0], [0, 2], [3, 0]]}},
        {
            "pre": "b-2",
            "post": "a",
            "connector": "all_to_all",
            "delay": {"dist": "uniform", "low": 0.0, "high": 3.0},
        },
    ],
    "probes": [{"population": "a", "variables": ["v", "i"], "neurons": [0, 2]}, {"population": "b-2"}],
}

LOIHI_RICH = {
    "simulation": {"arithmetic": "loihi", "seed": 1},
    "populations": [
        {
            "name": "r",
            "size": 2,
            "loihi": {
                "decay_u": 4095,
                "decay_u_inh": 10,
                "decay_v": 0,
                "vth_mant": 2**17 - 1,
                "bias_mant": [-4095, 4095],
                "bias_exp": 7,
                "refract_delay": 63,
                "vmin_exp": 0,
                "vmax_exp": 0,
                "v_init": [1, -2],
            },
        }
    ],
    "projections": [
        {"pre": "r", "post": "r", "weight": -255, "weight_exp": -6, "delay": 62.0},
        {"pre": "r", "post": "r", "weight": 255, "weight_exp": 7, "receptor": "inh"},
    ],
}


# --------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("model", ["cuba", "feedforward", "single_neuron"])
def test_models_round_trip(model):
    net = load_spec(MODELS / f"{model}.toml")
    again = Network.from_dict(net.to_dict())
    assert again == net
    assert again.to_dict() == net.to_dict()


@pytest.mark.parametrize("spec", [RICH, LOIHI_RICH], ids=["rich", "loihi"])
def test_toml_round_trip(spec, write_spec):
    path = write_spec(to_toml(spec))
    net = load_spec(path)
    assert net.source == str(path)
    d = net.to_dict()
    again = Network.from_dict(d)
    assert again == net
    assert again.to_dict() == d
    # and once more through TOML text
    assert load_spec(write_spec(to_toml(d), "again.toml")) == net


def test_round_trip_detects_differences():
    # Equality must see a change deep inside (an array value, a register), or the round trip proves nothing.
    a = Network.from_dict(RICH)
    d = a.to_dict()
    d["populations"][0]["bias"] = [0.1, 0.2, 0.31]
    assert Network.from_dict(d) != a
    b = Network.from_dict(LOIHI_RICH)
    d = b.to_dict()
    d["populations"][0]["loihi"]["decay_u_inh"] = 11
    assert Network.from_dict(d) != b


def test_npy_values_round_trip(tmp_path, write_spec):
    np.save(tmp_path / "bias.npy", np.array([1.0, 2.0, 3.0]))
    np.save(tmp_path / "pairs.npy", np.array([[0, 1, 0.5, 1.0], [2, 0, -0.5, 0.0]]))
    path = write_spec(
        """
        [[populations]]
        name = "a"
        size = 3
        bias = "bias.npy"

        [[projections]]
        pre = "a"
        post = "a"
        connector = {type = "list", file = "pairs.npy"}
        """
    )
    net = load_spec(path)
    assert net.populations[0].bias.array.tolist() == [1.0, 2.0, 3.0]
    assert net.projections[0].connector.file == str(tmp_path / "pairs.npy")
    assert Network.from_dict(net.to_dict()) == net


# --------------------------------------------------------------------------- defaults and parsing
def test_defaults():
    net = Network.from_dict({"populations": [{"name": "p", "size": 1}]})
    p = net.populations[0]
    assert (p.tau_mem, p.tau_syn, p.tau_syn_inh) == (20.0, 5.0, None)
    assert (p.v_rest, p.v_threshold, p.v_reset, p.refractory, p.i_init) == (0.0, 1.0, 0.0, 0.0, 0.0)
    assert p.bias == Value("constant", 0.0) and p.v_init is None and p.loihi is None
    assert not p.dual_current
    s = net.simulation
    assert (s.dt, s.steps, s.seed, s.arithmetic, s.chip, s.chips) == (1.0, 1000, None, "float", "loihi", 1)
    assert net.name == "network"


def test_duration_gives_steps():
    # duration 25 ms at dt 0.5 ms = 50 steps
    assert Simulation.from_dict({"dt": 0.5, "duration": 25.0}).steps == 50


def test_dual_current_property():
    assert Population.from_dict({"name": "p", "size": 1, "tau_syn_inh": 10.0}, "p").dual_current
    assert not Population.from_dict(
        {"name": "p", "size": 1, "tau_syn": 5.0, "tau_syn_inh": 5.0}, "p"
    ).dual_current
    regs = {"decay_u": 1, "decay_v": 0, "vth_mant": 1}
    assert Population.from_dict(
        {"name": "p", "size": 1, "loihi": {**regs, "decay_u_inh": 2}}, "p"
    ).dual_current
    assert not Population.from_dict({"name": "p", "size": 1, "loihi": regs}, "p").dual_current


def test_connector_string_shorthand_and_allowed_keys():
    assert Connector.from_dict("all_to_all", "c") == Connector("all_to_all")
    c = Connector.from_dict({"type": "fixed_probability", "p": 0.25, "allow_self": True}, "c")
    assert (c.p, c.allow_self) == (0.25, True)
    with pytest.raises(NeuroError, match="not used by a one_to_one connector"):
        Connector.from_dict({"type": "one_to_one", "p": 0.5}, "c")


def test_projection_defaults():
    p = Projection.from_dict({"pre": "a", "post": "b"}, "p")
    assert p.connector == Connector("all_to_all")
    assert p.weight == Value("constant", 1.0) and p.delay == Value("constant", 0.0)
    assert (p.receptor, p.weight_exp, p.weight_bits, p.label) == ("exc", None, 8, "a->b")


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (0.5, "constant"),
        (3, "constant"),
        ([1, 2.5], "array"),
        ({"dist": "uniform", "low": -1, "high": 1}, "uniform"),
        ({"dist": "normal", "mean": 0, "std": 1}, "normal"),
        ({"dist": "normal", "mean": 0, "std": 1, "low": 0}, "normal"),
    ],
)
def test_parse_value_kinds(raw, kind):
    v = parse_value(raw, "f")
    assert v.kind == kind
    assert parse_value(v.to_dict(), "f") == v


def test_value_bounds():
    assert parse_value({"dist": "uniform", "low": -1, "high": 2}, "f").bounds() == (-1, 2)
    assert parse_value({"dist": "normal", "mean": 0, "std": 1}, "f").bounds() == (-math.inf, math.inf)
    assert parse_value({"dist": "normal", "mean": 0, "std": 1, "high": 3}, "f").bounds() == (-math.inf, 3)
    assert parse_value([4, -2, 1], "f").bounds() == (-2, 4)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"dist": "gamma"}, "f.dist"),
        ({"dist": "uniform", "low": 0}, "f.high"),
        ({"dist": "uniform", "low": 2, "high": 1}, "f"),
        ({"dist": "normal", "mean": 0, "std": -1}, "f.std"),
        ({"dist": "uniform", "low": 0, "high": 1, "mean": 0}, "f.mean"),
        ({"dist": "normal", "mean": float("nan"), "std": 1}, "f.mean"),
        ([1, "x"], "f[1]"),
        ([1, float("inf")], "f[1]"),
        ("weights.txt", "f"),
        (True, "f"),
        (None, "f"),
    ],
)
def test_parse_value_rejects(raw, field):
    with pytest.raises(NeuroError) as ei:
        parse_value(raw, "f")
    assert ei.value.field == field


# ------------------------------------------------------------------- accepted Loihi ranges (the edges)
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("decay_u", 0),
        ("decay_u", 4095),
        ("decay_u_inh", 4095),
        ("decay_v", 4095),
        ("vth_mant", 1),
        ("vth_mant", 2**17 - 1),
        ("bias_mant", 4095),
        ("bias_mant", -4095),
        ("bias_exp", 0),
        ("bias_exp", 7),
        ("refract_delay", 1),
        ("refract_delay", 63),
        ("vmin_exp", 0),
        ("vmin_exp", 23),
        ("vmax_exp", 0),
        ("vmax_exp", 7),
    ],
)
def test_loihi_register_edges_accepted(key, value):
    regs = {"decay_u": 0, "decay_v": 0, "vth_mant": 1, key: value}
    net = Network.from_dict(
        {"simulation": {"arithmetic": "loihi"}, "populations": [{"name": "p", "size": 1, "loihi": regs}]}
    )
    got = getattr(net.populations[0].loihi, key)
    assert (got.constant if isinstance(got, Value) else got) == value


@pytest.mark.parametrize(("wgt", "exp"), [(255, -6), (-255, 7), (0, 0)])
def test_raw_weight_edges_accepted(wgt, exp):
    Network.from_dict(
        {
            "simulation": {"arithmetic": "loihi"},
            "populations": [{"name": "p", "size": 1, "loihi": {"decay_u": 0, "decay_v": 0, "vth_mant": 1}}],
            "projections": [{"pre": "p", "post": "p", "weight": wgt, "weight_exp": exp}],
        }
    )


@pytest.mark.parametrize(("dt", "delay"), [(1.0, 62.0), (1.0, 62.5), (0.5, 31.0), (0.1, 6.2)])
def test_loihi_delay_at_62_steps_accepted(dt, delay):
    # rint(delay / dt) = 62 (62.5 rounds half to even -> 62)
    Network.from_dict(
        {
            "simulation": {"arithmetic": "loihi", "dt": dt},
            "populations": [{"name": "p", "size": 2}],
            "projections": [{"pre": "p", "post": "p", "delay": delay}],
        }
    )


def test_long_delay_is_fine_in_float_on_unbounded_cores():
    net = Network.from_dict(
        {
            "simulation": {"chip": "unbounded"},
            "populations": [{"name": "p", "size": 2}],
            "projections": [{"pre": "p", "post": "p", "delay": 200.0}],
        }
    )
    assert net.simulation.arithmetic == "float"


def test_float_on_loihi_cores_is_held_to_the_chips_delay_limit():
    with pytest.raises(NeuroError, match=r"projections\[0\]\.delay.*200 steps.*loihi chip allows 0\.\.62"):
        Network.from_dict(
            {
                "populations": [{"name": "p", "size": 2}],
                "projections": [{"pre": "p", "post": "p", "delay": 200.0}],
            }
        )


def test_with_simulation_revalidates():
    net = Network.from_dict(
        {
            "simulation": {"chip": "unbounded"},
            "populations": [{"name": "p", "size": 2}],
            "projections": [{"pre": "p", "post": "p", "delay": 70.0}],
        },
        source="x.toml",
    )
    assert net.with_simulation(steps=5, seed=9).simulation.steps == 5
    with pytest.raises(NeuroError) as ei:
        net.with_simulation(arithmetic="loihi")
    assert "x.toml" in str(ei.value) and "projections[0].delay" in str(ei.value)
