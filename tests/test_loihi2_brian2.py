"""``neuro verify --arithmetic loihi2``: the engine against the Brian2 model of
:mod:`neuro.verify.brian2_loihi2` (integer variables), spike for spike."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from neuro.spec import Network
from neuro.verify import verify

pytestmark = [pytest.mark.brian2, pytest.mark.filterwarnings("ignore::pyparsing.PyparsingDeprecationWarning")]

_RNG = np.random.default_rng(11)
_W1 = _RNG.integers(-120, 251, size=(6, 8)).tolist()  # integer weights of a MIXED matrix
_W2 = (_RNG.integers(0, 256, size=(6, 8)) * (_RNG.random((6, 8)) < 0.5)).tolist()  # EXC, sparse

RAW = {
    "simulation": {"dt": 1.0, "steps": 300, "seed": 3, "arithmetic": "loihi2", "chip": "loihi2"},
    "populations": [
        {
            "name": "a",
            "size": 8,
            "loihi": {
                "decay_u": 600,
                "decay_v": 300,
                "vth_mant": 60,
                "bias_mant": [0, 10, 20, 30, 40, 50, 60, 70],
                "bias_exp": 1,
            },
        },
        {"name": "b", "size": 5, "loihi": {"decay_u": 200, "decay_v": 900, "vth_mant": 40}},
    ],
    "inputs": [{"name": "x", "kind": "poisson", "size": 6, "rate": 80.0}],
    "projections": [
        # MIXED with a negative exponent: floored sum, odd weights floored to even
        {
            "pre": "x",
            "post": "a",
            "connector": {"type": "matrix", "values": _W1},
            "weight": 1,
            "weight_exp": -2,
        },
        # a second negative-exponent projection into the same population: its own floor
        {
            "pre": "x",
            "post": "a",
            "connector": {"type": "matrix", "values": _W2},
            "weight": 1,
            "weight_exp": -1,
            "delay": 2.0,
        },
        {"pre": "a", "post": "b", "weight": 201, "weight_exp": 1},
        {"pre": "b", "post": "a", "weight": -97, "weight_exp": 0},  # INHIBITORY, odd kept
        {
            "pre": "b",
            "post": "b",
            "connector": {"type": "all_to_all", "allow_self": False},
            "weight": 33,
            "weight_exp": 0,
        },
    ],
}

PHYSICAL = {
    "simulation": {"dt": 1.0, "steps": 400, "seed": 5, "arithmetic": "loihi2", "chip": "loihi2"},
    "populations": [
        {
            "name": "n",
            "size": 20,
            "tau_mem": 20.0,
            "tau_syn": 5.0,
            "bias": {"dist": "uniform", "low": 0.5, "high": 1.5},
        }
    ],
    "inputs": [{"name": "x", "kind": "poisson", "size": 10, "rate": 40.0}],
    "projections": [
        {"pre": "x", "post": "n", "weight": {"dist": "uniform", "low": -0.4, "high": 0.8}},
        {"pre": "n", "post": "n", "connector": {"type": "fixed_probability", "p": 0.2}, "weight": -0.3},
    ],
}


@pytest.mark.parametrize("spec", [RAW, PHYSICAL], ids=["raw-registers", "physical"])
def test_loihi2_matches_brian2(spec):
    report = verify(Network.from_dict(spec), "loihi2")
    assert sum(p.neuro for p in report.populations) > 20, "too few spikes to check anything"
    assert report.identical, report.table()


def test_verify_cli_accepts_loihi2(write_spec):
    from cli import main

    spec = write_spec(
        """
        [simulation]
        steps = 60
        seed = 1
        arithmetic = "loihi2"
        chip = "loihi2"
        [[populations]]
        name = "a"
        size = 2
        loihi = { decay_u = 1024, decay_v = 256, vth_mant = 10 }
        [[inputs]]
        name = "x"
        kind = "spike_times"
        times = [[2.0, 30.0]]
        [[projections]]
        pre = "x"
        post = "a"
        weight = 20
        weight_exp = 0
        """
    )
    res = CliRunner().invoke(main, ["verify", str(spec), "--arithmetic", "loihi2", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["arithmetic"] == "loihi2" and report["identical"]
    # 2 neurons x 2 inputs x 5 spikes (the worked example: spikes 1, 2, 3, 5, 8 steps after each input)
    assert report["populations"][0]["neuro"] == 2 * 2 * 5
