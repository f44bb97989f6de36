"""Conformance with Brian2: every network of :mod:`neuro.verify.suite`, in both arithmetics.

neuro's engine and an independent Brian2 model of the same spec (``neuro.verify``; numpy
target) see the same seeded draws; their spike trains must be identical, (step, neuron) for
(step, neuron). The only allowance is for chaotic float networks (recurrent), which may part
after the first divergence if their rates stay within 1% — none of the suite's does.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from neuro.errors import NeuroError
from neuro.spec import Network
from neuro.verify import layout, verify
from neuro.verify.brian2_net import run_brian2
from neuro.verify.compare import PopulationComparison, VerifyReport, compare_population, run_neuro
from neuro.verify.suite import CASES, by_name

pytestmark = [pytest.mark.brian2, pytest.mark.filterwarnings("ignore::pyparsing.PyparsingDeprecationWarning")]

RUNS = [(case.name, a) for case in CASES for a in case.arithmetics]


@pytest.mark.parametrize("name,arithmetic", RUNS, ids=[f"{n}-{a}" for n, a in RUNS])
def test_suite_case_matches_brian2(name, arithmetic):
    case = by_name(name)
    report = verify(case.network(), arithmetic)
    assert sum(p.neuro for p in report.populations) > 0, "a case without spikes checks nothing"
    if report.chaotic:
        assert report.agree, report.table()
    else:
        assert report.identical, report.table()


def test_suite_covers_the_required_features():
    assert len(CASES) >= 10
    assert sum(len(c.arithmetics) == 2 for c in CASES) >= 10


def test_worked_example_spikes_in_both_simulators():
    # loihi-semantics.md, section 3: decay_u 1024, decay_v 256, vth 640, refract_delay 2, W = 20 << 6,
    # one input spike at step 2 -> spikes at steps 3, 5 and 8.
    net = by_name("loihi_raw_registers").network()
    ours, _ = run_neuro(net, "loihi", 0, 12)
    theirs = run_brian2(net, "loihi", 0, 12)
    assert ours["a"][0].tolist() == [3, 5, 8]
    assert theirs.spikes["a"][0].tolist() == [3, 5, 8]


@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_a_one_step_latency_error_is_caught(arithmetic, monkeypatch):
    # The oracle has teeth: give every Brian2 synapse one step more delay and the comparison fails.
    real = layout.projection_synapses

    def late(net):
        out = real(net)
        for ps in out:
            ps.delay = ps.delay + 1
        return out

    monkeypatch.setattr(layout, "projection_synapses", late)
    report = verify(by_name("feedforward_two_layers").network(), arithmetic)
    assert not report.agree
    assert report.first_divergence is not None


def test_compare_population_counts_and_first_divergence():
    a = (np.array([1, 2, 5, 9]), np.array([0, 1, 0, 2]))
    b = (np.array([1, 2, 6, 9]), np.array([0, 1, 0, 2]))
    p = compare_population("x", 3, a, b)
    assert (p.neuro, p.brian2, p.matched, p.only_neuro, p.only_brian2) == (4, 4, 3, 1, 1)
    assert p.first_divergence == 5 and p.rate_diff_pct == 0.0 and not p.identical
    same = compare_population("x", 3, a, a)
    assert same.identical and same.first_divergence is None
    none = compare_population("x", 3, (np.zeros(0, int), np.zeros(0, int)), b)
    assert none.rate_diff_pct is None


def _report(arithmetic, recurrent, pops):
    return VerifyReport("n", None, arithmetic, 1, 100, 1.0, "numpy", "x", recurrent, pops, 0.0, 0.0)


def test_chaotic_networks_pass_only_with_rates_within_one_percent():
    near = PopulationComparison("e", 10, 1000, 1008, 900, 100, 108, 40, 0.8)
    far = PopulationComparison("e", 10, 1000, 1020, 900, 100, 120, 40, 2.0)
    assert _report("float", ["e"], [near]).agree
    assert not _report("float", ["e"], [far]).agree
    assert not _report("float", [], [near]).agree  # not recurrent: must be identical
    assert not _report("loihi", ["e"], [near]).agree  # integer arithmetic: must be identical
    text = _report("float", ["e"], [near]).table()
    assert "first divergence at step 40" in text and "AGREE" in text


def test_features_without_translation_are_refused():
    # adaptive thresholds are compared in float arithmetic (tests/test_verify_learning.py); in
    # loihi arithmetic, whose learning rounds stochastically, they are refused
    spec = by_name("bias_driven").spec
    pop = {**spec["populations"][0], "theta_plus": 0.1}
    net = Network.from_dict({**spec, "populations": [pop]})
    with pytest.raises(NeuroError, match="float arithmetic only"):
        verify(net, "loihi")


def test_unknown_target_is_refused():
    with pytest.raises(NeuroError, match="unknown Brian2 target"):
        verify(by_name("bias_driven").network(), "float", target="gpu")


def test_cli_verify_json_report_and_exit_status(tmp_path, monkeypatch):
    from neuro.cli import main

    spec = tmp_path / "ff.toml"
    spec.write_text(
        """
[simulation]
dt = 1.0
steps = 200
seed = 4
[[inputs]]
name = "p"
kind = "poisson"
size = 20
rate = 50.0
[[populations]]
name = "n"
size = 5
refractory = 2.0
[[projections]]
pre = "p"
post = "n"
weight = 0.6
delay = 1.0
"""
    )
    runner = CliRunner()
    out = tmp_path / "report.json"
    res = runner.invoke(main, ["verify", str(spec), "--arithmetic", "loihi", "--json", "-o", str(out)])
    assert res.exit_code == 0, res.output
    printed = json.loads(res.stdout)
    assert printed["agree"] and printed["identical"] and printed["arithmetic"] == "loihi"
    assert json.loads(out.read_text())["populations"][0]["neuro"] == printed["populations"][0]["neuro"] > 0

    res = runner.invoke(main, ["verify", str(spec), "--steps", "50"])
    assert res.exit_code == 0 and "identical spikes" in res.stdout and "population" in res.stdout

    real = layout.projection_synapses
    monkeypatch.setattr(
        layout,
        "projection_synapses",
        lambda net: [setattr(ps, "delay", ps.delay + 1) or ps for ps in real(net)],
    )
    res = runner.invoke(main, ["verify", str(spec)])
    assert res.exit_code == 1 and "FAIL" in res.stdout

    bad = tmp_path / "adaptive.toml"
    bad.write_text(spec.read_text().replace("refractory = 2.0", "refractory = 2.0\ntheta_plus = 0.1"))
    res = runner.invoke(main, ["verify", str(bad), "--arithmetic", "loihi"])
    assert res.exit_code == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "float arithmetic only" in res.stderr
