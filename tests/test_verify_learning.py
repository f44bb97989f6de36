"""`neuro verify` on networks that learn: spikes, learned weights and adaptive thresholds vs Brian2.

The CLI runs ``models/stdp.toml`` (pair STDP with a delay, a general rule, adaptive thresholds,
a recurrent inhibitory loop) in neuro and in Brian2's plastic formulation
(:mod:`neuro.verify.brian2_plastic`) and must report agreement; a run whose Brian2 side learns
with a learning rate or threshold step changed by a small fraction must be reported as a
disagreement (exit 1); what has no formulation is refused in one line (exit 2).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from neuro.cli import main
from neuro.verify import brian2_plastic
from neuro.verify.compare import PopulationComparison, VerifyReport
from neuro.verify.learning_compare import (
    LEARNING_RTOL,
    LearnedComparison,
    _sample,
    learning_table,
    learning_verdict,
    sample_steps,
)

STDP_SPEC = Path(__file__).resolve().parents[1] / "models" / "stdp.toml"
brian2 = pytest.mark.brian2
quiet = pytest.mark.filterwarnings("ignore::pyparsing.PyparsingDeprecationWarning")

ADAPTIVE_SPEC = """
[simulation]
dt = 0.1
steps = 4000
seed = 3
[[inputs]]
name = "in"
kind = "poisson"
size = 100
rate = 20.0
[[populations]]
name = "n"
size = 5
tau_mem = 10.0
tau_syn = 5.0
refractory = 2.0
theta_plus = 0.1
tau_theta = 100.0
[[projections]]
pre = "in"
post = "n"
weight = {dist = "uniform", low = 0.0, high = 0.3}
"""


def _verify(*args):
    return CliRunner().invoke(main, ["verify", *map(str, args)])


# --------------------------------------------------------------------------- with Brian2
@brian2
@quiet
def test_verify_plastic_spec_agrees_with_brian2(tmp_path):
    out = tmp_path / "report.json"
    res = _verify(STDP_SPEC, "--steps", 5000, "--json", "-o", out)
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)
    assert json.loads(out.read_text()) == rep
    assert rep["agree"] and rep["identical"]
    assert all(p["neuro"] >= 50 for p in rep["populations"]), rep["populations"]
    kinds = [(c["kind"], c["name"], c["count"]) for c in rep["learning"]]
    assert kinds[0] == ("weights", "in -> exc", 1600)
    assert kinds[1][:2] == ("weights", "in -> inh") and kinds[1][2] > 300
    assert kinds[2] == ("theta", "exc", 8)
    for c in rep["learning"]:
        assert c["agree"] and [s["step"] for s in c["samples"]] == [1250, 2500, 3750, 5000]
        assert all(s["within"] and s["required"] and s["max_abs_diff"] < 1e-12 for s in c["samples"])
        moved = [s["moved"] for s in c["samples"]]
        assert min(moved) > 1e-3, f"{c['name']} did not learn: {moved}"  # there is something to compare

    res = _verify(STDP_SPEC, "--steps", 5000)  # the text report: spikes, then what was learned
    assert res.exit_code == 0
    text = res.stdout
    assert "population" in text and "exc" in text and "inh" in text
    assert "weights  [0] in -> exc" in text and "theta    [0] exc" in text
    assert "AGREE: identical spikes" in text and "2 plastic projections" in text
    assert f"agree to {LEARNING_RTOL:g} at 4 samples" in text


@brian2
@quiet
def test_a_changed_learning_rate_is_a_disagreement(monkeypatch):
    real = brian2_plastic.learning_code

    def faster(plasticity):
        model, on_pre, on_post, ns = real(plasticity)
        if "A_plus" in ns:
            ns["A_plus"] *= 1.001
        return model, on_pre, on_post, ns

    monkeypatch.setattr(brian2_plastic, "learning_code", faster)
    res = _verify(STDP_SPEC, "--steps", 5000, "--json")
    assert res.exit_code == 1, res.output
    rep = json.loads(res.stdout)
    assert not rep["agree"]
    assert not rep["learning"][0]["agree"] and rep["learning"][1]["agree"]
    assert rep["verdict"].endswith(f"tolerance {LEARNING_RTOL:g})")
    assert "weights of [0] in -> exc differ" in rep["verdict"]


@brian2
@quiet
def test_adaptive_thresholds_without_plasticity_and_a_changed_theta_step(write_spec, monkeypatch):
    spec = write_spec(ADAPTIVE_SPEC)
    res = _verify(spec)
    assert res.exit_code == 0, res.output
    assert "theta    [0] n" in res.stdout and "thresholds of 1 adaptive population agree" in res.stdout

    real = brian2_plastic.population_group

    def larger_step(net, index, clock):
        group = real(net, index, clock)
        group.namespace["theta_plus"] *= 1 + 1e-6
        return group

    monkeypatch.setattr(brian2_plastic, "population_group", larger_step)
    res = _verify(spec, "--json")
    assert res.exit_code == 1, res.output
    rep = json.loads(res.stdout)
    theta = rep["learning"][0]
    assert theta["kind"] == "theta" and not theta["agree"]
    assert 1e-8 < max(s["max_rel_diff"] for s in theta["samples"]) < 1e-5


@brian2
def test_refusals_are_one_line_with_exit_2(write_spec):
    res = _verify(STDP_SPEC, "--arithmetic", "loihi")
    assert res.exit_code == 2
    (line,) = res.stderr.strip().splitlines()
    assert "stdp.toml" in line and "simulation.arithmetic" in line and "float arithmetic only" in line
    assert "stochastically" in line

    res = _verify(STDP_SPEC, "--brian2-target", "cpp_standalone")
    assert res.exit_code == 2
    (line,) = res.stderr.strip().splitlines()
    assert "runtime targets (numpy, cython)" in line

    nir = write_spec(ADAPTIVE_SPEC.replace("tau_syn = 5.0", "tau_syn = 0.0"), "nir.toml")
    res = _verify(nir)
    assert res.exit_code == 2
    (line,) = res.stderr.strip().splitlines()
    assert "nir.toml" in line and "populations[0]" in line and "tau_syn = 0" in line


# --------------------------------------------------------------------------- the comparison rule
def test_sample_steps():
    assert sample_steps(5000) == [1250, 2500, 3750, 5000]
    assert sample_steps(2) == [1, 2]
    assert sample_steps(0) == []


def test_a_value_agrees_within_1e_9_of_itself_or_its_scale():
    a = np.array([0.5, 0.0, 1e-3])
    assert _sample(7, a, a * (1 + 0.9e-9), 1.0).within
    assert not _sample(7, a, a * (1 + 1.1e-9), 1e-3).within
    # near 0 the scale counts: 0 vs 0.9e-9 (scale 1) agrees, 0 vs 1.1e-9 does not
    assert _sample(7, np.zeros(2), np.array([0.0, 0.9e-9]), 1.0).within
    s = _sample(7, np.zeros(2), np.array([0.0, 1.1e-9]), 1.0)
    assert not s.within and s.max_abs_diff == 1.1e-9 and s.max_rel_diff == 1.0
    assert not _sample(7, np.zeros(2), np.zeros(3), 1.0).within  # a synapse missing on one side
    assert not _sample(7, np.array([np.nan]), np.array([np.nan]), 1.0).within


def _report(learning, first_divergence):
    pops = [
        PopulationComparison("e", 10, 1000, 1005, 900, 100, 105, first_divergence, 0.5)
        if first_divergence is not None
        else PopulationComparison("e", 10, 1000, 1000, 1000, 0, 0, None, 0.0)
    ]
    r = VerifyReport("n", None, "float", 1, 400, 0.1, "numpy", "2.9.0", ["e"], pops, 0.1, 0.1)
    r.learning = learning
    return r


def _weights(rel_at: dict, first_divergence=None) -> LearnedComparison:
    c = LearnedComparison("weights", "in -> e", 0, 3, 1.0)
    for k in (100, 200, 300, 400):
        a = np.array([0.2, 0.4, 0.6])
        c.samples.append(_sample(k, a, a * (1 + rel_at.get(k, 0.0)), 1.0))
        c.samples[-1].required = first_divergence is None or k <= first_divergence
    return c


def test_weights_decide_the_verdict_up_to_the_first_spike_divergence():
    ok = _report([_weights({})], None)
    assert (
        ok.agree and "weights of 1 plastic projection (3 synapses) agree to 1e-09 at 4 samples" in ok.verdict
    )
    bad = _report([_weights({300: 1e-6})], None)
    assert bad.identical and not bad.agree
    assert "weights of [0] in -> e differ from step 300 on" in bad.verdict
    assert "FAIL" in bad.table() and "DIFFER" in bad.table()
    # chaotic: spikes part at step 250 (rates within 1%); the weights must agree up to there
    late = _report([_weights({300: 1e-6}, first_divergence=250)], 250)
    assert late.spikes_agree and late.agree
    assert "DIFFER*" in late.table() and "reported, not required" in late.table()
    early = _report([_weights({200: 1e-6}, first_divergence=250)], 250)
    assert not early.agree
    assert learning_verdict([]) == "" and learning_table([]) == []
