"""Plasticity specs: the rule grammar, the convenience rules, their errors and the round trip.

A rule is ``dw = sum of coef * factors``; every term carries exactly one of ``x0`` / ``y0``.
Coefficients are numbers, ``2^e`` or ``m*2^e``. Errors are one line naming the field. Raw Loihi
rules (a projection with ``weight_exp`` onto a population with raw ``loihi`` registers) must use
coefficients that are exactly ``m * 2^e`` with m in -8..7 and e in -7..8; that is checked when
the learning tables are built (it depends on the arithmetic).
"""

from __future__ import annotations

import math

import pytest

from neuro.engine import Simulator
from neuro.errors import NeuroError
from neuro.network import compile_network
from neuro.plasticity import Plasticity, Term, format_rule, parse_rule
from neuro.spec import Network, load_spec

from .conftest import assert_one_line_error, to_toml

FACTOR_ORDER = ("x1", "x2", "y1", "y2", "y3", "w", "r")


def powers(term: Term) -> dict:
    return {f: term.power(f) for f in FACTOR_ORDER if term.power(f)}


# --------------------------------------------------------------------------- grammar
def test_parse_two_term_rule():
    terms = parse_rule("dw = 2^-2*x1*y0 - 2^-3*y1*x0")
    assert len(terms) == 2
    assert terms[0].coef == 0.25 and terms[0].dependency == "y0" and powers(terms[0]) == {"x1": 1}
    assert terms[1].coef == -0.125 and terms[1].dependency == "x0" and powers(terms[1]) == {"y1": 1}


@pytest.mark.parametrize(
    ("text", "coef", "dep", "pw"),
    [
        ("dw = 3*2^-4*x1*x2*y0", 3 / 16, "y0", {"x1": 1, "x2": 1}),
        ("dw=-1.5e-3*y1*x0", -1.5e-3, "x0", {"y1": 1}),
        ("dw = x0", 1.0, "x0", {}),
        ("dw = - 2^+3 * w * r * y0", -8.0, "y0", {"w": 1, "r": 1}),
        ("dw = 0.5*y1*y1*y3*x0", 0.5, "x0", {"y1": 2, "y3": 1}),
        ("dw = 2E2*x0", 200.0, "x0", {}),
    ],
)
def test_parse_coefficients_and_factors(text, coef, dep, pw):
    (t,) = parse_rule(text)
    assert t.coef == coef and t.dependency == dep and powers(t) == pw


def test_format_rule_parses_back_to_the_same_terms():
    text = "dw = 2^-2*x1*y0 - 3*2^-3*y1*w*x0 + 0.125*r*x2*y2*y3*y0"
    terms = parse_rule(text)
    assert parse_rule(format_rule(terms)) == terms


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ("dw = 2^-2*z1*y0", "unknown term 'z1'"),
        ("dw = 2^-2*x1*y0 - pre*x0", "unknown term 'pre'"),
        ("dw = 2^x*y0", "cannot parse '2^x'"),
        ("dw = 2^1.5*y0", "cannot parse '2^1.5'"),
        ("dw = 2^-*y0", "cannot parse"),
        ("dw = 0.1*x1*y1", "exactly one of x0 or y0"),
        ("dw = 0.1*x0*y0", "exactly one of x0 or y0"),
        ("dw = 0.1*x0*x0", "exactly one of x0 or y0"),
        ("w = 0.1*x0", "must start with 'dw ='"),
        ("dw =", "empty rule"),
        ("dw = x0 + - y0", "empty term"),
        ("dw = 1e999*x0", "non-finite coefficient"),
        ("dw = 1.2.3*x0", "bad coefficient"),
        (5, "must be a string"),
    ],
)
def test_bad_rule_is_one_line_error_naming_the_field(rule, fragment):
    d = {
        "populations": [{"name": "b", "size": 1}],
        "inputs": [{"name": "a", "kind": "spike_times", "times": [[1.0]]}],
        "projections": [{"pre": "a", "post": "b", "plasticity": {"kind": "rule", "rule": rule}}],
    }
    with pytest.raises(NeuroError) as e:
        Network.from_dict(d, source="x.toml")
    assert_one_line_error(e.value, "x.toml", "projections[0].plasticity.rule", fragment)


@pytest.mark.parametrize(
    ("pl", "field", "fragment"),
    [
        ({"kind": "hebb"}, "plasticity.kind", "must be one of rule, pair_stdp, diehl_cook"),
        ({"kind": "rule"}, "plasticity.rule", "missing"),
        ({"kind": "pair_stdp", "nu_pre": 0.1}, "plasticity.nu_pre", "not used by a pair_stdp rule"),
        ({"kind": "diehl_cook", "A_plus": 0.1}, "plasticity.A_plus", "not used by a diehl_cook rule"),
        ({"kind": "rule", "rule": "dw = x0", "z1": {}}, "plasticity.z1", "not used by a rule rule"),
        ({"kind": "pair_stdp", "epoch": 0}, "plasticity.epoch", "[1, 63]"),
        ({"kind": "pair_stdp", "epoch": 64}, "plasticity.epoch", "[1, 63]"),
        ({"kind": "pair_stdp", "epoch": 2.0}, "plasticity.epoch", "integer"),
        ({"kind": "pair_stdp", "w_min": 1.0, "w_max": 0.5}, "plasticity'", "w_min 1.0 > w_max 0.5"),
        ({"kind": "pair_stdp", "w_max": "big"}, "plasticity.w_max", "finite number"),
        ({"kind": "pair_stdp", "tau_plus": 0.0}, "plasticity.tau_plus", "> 0"),
        ({"kind": "pair_stdp", "A_minus": -0.1}, "plasticity.A_minus", ">= 0"),
        ({"kind": "diehl_cook", "tau_post2": -1.0}, "plasticity.tau_post2", "> 0"),
        ({"kind": "diehl_cook", "nu_post": float("nan")}, "plasticity.nu_post", "finite"),
        ({"kind": "rule", "rule": "dw = x1*y0", "x1": {"mode": "max"}}, "plasticity.x1.mode", "add or set"),
        ({"kind": "rule", "rule": "dw = x1*y0", "x1": {"decay": 2}}, "plasticity.x1.decay", "unknown key"),
        ({"kind": "rule", "rule": "dw = x1*y0", "x1": {"tau": 0}}, "plasticity.x1.tau", "> 0"),
        ({"kind": "rule", "rule": "dw = x1*y0", "x1": {"impulse": -1}}, "plasticity.x1.impulse", ">= 0"),
        ({"kind": "rule", "rule": "dw = x1*y0", "x1": 3}, "plasticity.x1", "must be a table"),
        ("stdp", "plasticity", "must be a table"),
    ],
)
def test_bad_plasticity_table(pl, field, fragment):
    d = {
        "populations": [{"name": "b", "size": 1}],
        "inputs": [{"name": "a", "kind": "spike_times", "times": [[1.0]]}],
        "projections": [{"pre": "a", "post": "b", "plasticity": pl}],
    }
    with pytest.raises(NeuroError) as e:
        Network.from_dict(d, source="x.toml")
    assert_one_line_error(e.value, "x.toml", f"projections[0].{field}", fragment)


# --------------------------------------------------------------------------- raw Loihi rules
RAW_REGS = {"decay_u": 4095, "decay_v": 4095, "vth_mant": 2**14}


def raw_net(rule: str, **pl) -> Network:
    return Network.from_dict(
        {
            "simulation": {"dt": 1.0, "steps": 10, "seed": 0, "arithmetic": "loihi"},
            "populations": [{"name": "b", "size": 1, "loihi": RAW_REGS}],
            "inputs": [{"name": "a", "kind": "spike_times", "times": [[1.0]]}],
            "projections": [
                {
                    "pre": "a",
                    "post": "b",
                    "weight": 10,
                    "weight_exp": 0,
                    "plasticity": {"kind": "rule", "rule": rule, "w_min": -255, "w_max": 255, **pl},
                }
            ],
        },
        source="raw.toml",
    )


@pytest.mark.parametrize(
    ("rule", "field", "fragment"),
    [
        # 9 = m * 2^e has no m in -8..7 (9 is odd and > 7)
        ("dw = 9*x1*y0", "plasticity.rule", "coefficient 9 of term 1 is not m*2^e"),
        ("dw = x0 - 2^-3*y1*x0 + 15*2^2*x1*y0", "plasticity.rule", "of term 3 is not m*2^e"),
        # 3 * 2^-8 needs m = 1.5 at the smallest exponent -7
        ("dw = 3*2^-8*x0", "plasticity.rule", "not m*2^e with m in -8..7, e in -7..8"),
        # 2^-8 rounds to mantissa 0 at exponent -7: below the smallest scale
        ("dw = 2^-8*x0", "plasticity.terms[0]", "below Loihi's smallest scale"),
        # 2^11 = 2048 > 7 * 2^8 = 1792: above the largest scale
        ("dw = x0 + 2^11*x1*y0", "plasticity.terms[1]", "exceeds Loihi's largest scale"),
        ("dw = -9*2^8*y0", "plasticity.terms[0]", "exceeds Loihi's largest scale"),
    ],
)
def test_raw_rule_coefficient_out_of_range(rule, field, fragment):
    net = raw_net(rule)
    with pytest.raises(NeuroError) as e:
        Simulator(compile_network(net))
    assert_one_line_error(e.value, "raw.toml", f"projections[0].{field}", fragment)


@pytest.mark.parametrize(
    "rule",
    ["dw = 7*2^8*x0", "dw = -8*2^8*y0", "dw = 2^-7*x0", "dw = -2^-7*y0", "dw = 5*2^-7*x0 - 3*y1*x0"],
)
def test_raw_rule_coefficients_at_the_limits_are_accepted(rule):
    sim = Simulator(compile_network(raw_net(rule)))
    t = sim.tables.arrays
    for k, term in enumerate(parse_rule(rule)):
        assert t["t_mant"][0, k] * 2.0 ** t["t_exp"][0, k] == term.coef
        assert -8 <= t["t_mant"][0, k] <= 7 and -7 <= t["t_exp"][0, k] <= 8


def test_raw_trace_impulse_above_127():
    net = raw_net("dw = x1*y0", x1={"impulse": 128})
    with pytest.raises(NeuroError) as e:
        Simulator(compile_network(net))
    assert_one_line_error(e.value, "raw.toml", "projections[0].plasticity", "impulse 128 exceeds 127")


def test_loihi_coefficient_too_large_after_scaling():
    # A_plus = 100 mV per pair is far above 7 * 2^8 Wgt once scaled to weight units
    d = {
        "simulation": {"dt": 1.0, "steps": 10, "seed": 0, "arithmetic": "loihi"},
        "populations": [{"name": "b", "size": 1}],
        "inputs": [{"name": "a", "kind": "spike_times", "times": [[1.0]]}],
        "projections": [
            {"pre": "a", "post": "b", "weight": 0.5, "plasticity": {"kind": "pair_stdp", "A_plus": 100.0}}
        ],
    }
    with pytest.raises(NeuroError) as e:
        Simulator(compile_network(Network.from_dict(d, source="s.toml")))
    assert_one_line_error(e.value, "s.toml", "projections[0].plasticity.terms[0]", "exceeds")


# --------------------------------------------------------------------------- convenience rules
def test_pair_stdp_compiles_to_two_terms():
    pl = Plasticity.from_dict(
        {"kind": "pair_stdp", "A_plus": 0.01, "A_minus": 0.012, "tau_plus": 16.8, "tau_minus": 33.7}
    )
    assert pl.terms == (Term(0.01, (1, 0, 0, 0, 0, 0, 0), "y0"), Term(-0.012, (0, 0, 1, 0, 0, 0, 0), "x0"))
    assert pl.traces["x1"].tau == 16.8 and pl.traces["y1"].tau == 33.7
    assert pl.traces["x1"].mode == pl.traces["y1"].mode == "add"
    assert pl.uses("x1") and pl.uses("y1") and not pl.uses("y2") and not pl.uses("w")


def test_pair_stdp_nearest_sets_traces():
    pl = Plasticity.from_dict({"kind": "pair_stdp", "nearest": True})
    assert pl.traces["x1"].mode == pl.traces["y1"].mode == "set"
    assert pl.traces["x1"].impulse == 1.0


def test_pair_stdp_weight_dependent_terms():
    # dw = A+ (w_max - w) x1 y0 - A- (w - w_min) y1 x0, expanded into four products
    pl = Plasticity.from_dict(
        {
            "kind": "pair_stdp",
            "A_plus": 0.1,
            "A_minus": 0.2,
            "w_min": -0.5,
            "w_max": 2.0,
            "weight_dependent": True,
        }
    )
    got = {(t.dependency, tuple(sorted(powers(t).items()))): t.coef for t in pl.terms}
    assert got == {
        ("y0", (("x1", 1),)): 0.1 * 2.0,
        ("y0", (("w", 1), ("x1", 1))): -0.1,
        ("x0", (("w", 1), ("y1", 1))): -0.2,
        ("x0", (("y1", 1),)): 0.2 * -0.5,
    }


def test_diehl_cook_terms_and_traces():
    pl = Plasticity.from_dict({"kind": "diehl_cook", "nu_pre": 1e-4, "nu_post": 1e-2})
    assert pl.terms == (Term(-1e-4, (0, 0, 1, 0, 0, 0, 0), "x0"), Term(1e-2, (1, 0, 0, 1, 0, 0, 0), "y0"))
    assert {k: (t.tau, t.impulse, t.mode) for k, t in pl.traces.items()} == {
        "x1": (20.0, 1.0, "set"),
        "y1": (20.0, 1.0, "set"),
        "y2": (40.0, 1.0, "set"),
    }
    assert (pl.w_min, pl.w_max, pl.epoch) == (0.0, 1.0, 1)


def test_rule_traces_default_when_used_but_not_declared():
    pl = Plasticity.from_dict(
        {"kind": "rule", "rule": "dw = x1*y2*y0 - y1*x0", "y1": {"tau": 5, "mode": "set"}}
    )
    assert set(pl.traces) == {"x1", "y1", "y2"}
    assert (pl.traces["y1"].tau, pl.traces["y1"].mode) == (5, "set")
    assert (pl.traces["x1"].tau, pl.traces["x1"].impulse, pl.traces["x1"].mode) == (20.0, 1.0, "add")


# --------------------------------------------------------------------------- round trip
PLASTIC_SPEC = {
    "name": "plastic",
    "simulation": {"dt": 0.5, "steps": 100, "seed": 4},
    "populations": [
        {"name": "e", "size": 3, "theta_plus": 0.05, "tau_theta": 1e4, "theta_init": 0.1},
    ],
    "inputs": [{"name": "in", "kind": "poisson", "size": 4, "rate": 20.0}],
    "projections": [
        {
            "pre": "in",
            "post": "e",
            "weight": 0.2,
            "plasticity": {"kind": "pair_stdp", "A_plus": 0.01, "nearest": True, "w_max": 0.8, "epoch": 2},
        },
        {"pre": "in", "post": "e", "weight": 0.1, "plasticity": {"kind": "diehl_cook", "nu_post": 0.05}},
        {
            "pre": "e",
            "post": "e",
            "weight": 0.0,
            "plasticity": {
                "kind": "rule",
                "rule": "dw = 2^-2*x1*y0 - 3*2^-3*y1*x0 + 0.5*r*x2*y3*y0",
                "x1": {"tau": 10.0},
                "y1": {"impulse": 0.5, "mode": "set"},
                "w_min": -1.0,
            },
        },
    ],
}


def test_spec_round_trip_with_plasticity():
    net = Network.from_dict(PLASTIC_SPEC)
    back = Network.from_dict(net.to_dict())
    assert back == net
    for a, b in zip(net.projections, back.projections, strict=True):
        assert a.plasticity == b.plasticity
    # and once more: to_dict is a fixed point
    assert Network.from_dict(back.to_dict()).to_dict() == back.to_dict()


def test_spec_round_trip_through_toml(tmp_path):
    net = Network.from_dict(PLASTIC_SPEC)
    path = tmp_path / "p.toml"
    path.write_text(to_toml(net.to_dict()))
    back = load_spec(path)
    assert back.projections == net.projections
    assert back.populations == net.populations


def test_plasticity_to_dict_keeps_parameters():
    d = Network.from_dict(PLASTIC_SPEC).to_dict()["projections"]
    assert d[0]["plasticity"] == {
        "kind": "pair_stdp",
        "A_plus": 0.01,
        "nearest": True,
        "w_min": 0.0,
        "w_max": 0.8,
        "epoch": 2,
    }
    assert d[2]["plasticity"]["rule"] == PLASTIC_SPEC["projections"][2]["plasticity"]["rule"]
    assert d[2]["plasticity"]["y1"] == {"tau": 20.0, "impulse": 0.5, "mode": "set"}
    assert math.isclose(d[1]["plasticity"]["nu_post"], 0.05)
