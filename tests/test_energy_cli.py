"""``neuro energy`` end to end: a tiny trained RUNDIR, a run's spikes.h5, and every bad input."""

from __future__ import annotations

import json
import math

import h5py
import pytest
from click.testing import CliRunner

from cli import main
from neuro.energy.ledger import EVENTS
from neuro.energy.profile import load_profile
from neuro.evaluate import evaluate
from neuro.run import run_spec
from neuro.spec import Network
from neuro.train import train
from tests.energy_files import spec_dict

NEUROBENCH = (
    "Effective_ACs",
    "Effective_MACs",
    "Dense",
    "ActivationSparsity",
    "ConnectionSparsity",
    "Footprint",
)


@pytest.fixture(scope="module")
def rundir(tmp_path_factory):
    d = tmp_path_factory.mktemp("energy") / "run"
    train(d, n_neurons=8, images=12, seed=4, label_images=60, progress=False)
    return d


@pytest.fixture(scope="module")
def spikes_h5(tmp_path_factory):
    d = tmp_path_factory.mktemp("energy_run") / "run"
    run_spec(Network.from_dict(spec_dict("loihi")), d, progress=False)
    return d / "spikes.h5"


def _ok(args):
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output + str(r.exception)
    return r


def test_rundir_json_is_a_real_evaluation_with_neurobench_names(rundir, tmp_path):
    chart = tmp_path / "chart.png"
    r = _ok(["-q", "energy", str(rundir), "--json", "--ann", "hidden=12,max_iter=5", "-o", str(chart)])
    res = json.loads(r.stdout)
    snn, ann = res["snn"], res["ann"]
    # the same frozen evaluation as neuro evaluate (all 1000 test images, batch 100)
    assert res["inferences"] == 1000
    assert snn["accuracy"] == evaluate(rundir, progress=False, write=False)["accuracy"]
    for name in (*NEUROBENCH, "MembraneUpdates"):
        assert name in snn
    for p in ("int8", "fp32"):
        for name in NEUROBENCH:
            assert name in ann["precisions"][p]
        assert ann["precisions"][p]["Dense"] == 784 * 12 + 12 * 10
    c = snn["counts_per_inference"]
    assert snn["Effective_ACs"] == c["sop"]  # no pair of neurons has two synapses here
    # NeuroBench's dense matrices: pixels 784 x 8, exc -> inh 8 x 8, inh -> exc 8 x 8, every step
    assert snn["Dense"] == (784 * 8 + 64 + 64) * snn["steps_per_inference"]
    assert snn["stored_synapse_ops"] == (784 * 8 + 8 + 56) * snn["steps_per_inference"]
    assert snn["ConnectionSparsity"] >= round((56 + 8) / (784 * 8 + 128), 4)  # the 2 x 8 x 8 zeros
    assert snn["active_neuron_updates"] == c["active_neuron_updates"]
    assert 16 * res["presentations"] / 1000 <= snn["MembraneUpdates"] <= c["neuron_updates"]
    assert snn["Effective_MACs"] == 0.0  # pixels are encoded on the host
    # neuron updates: 2 x 8 neurons, 700 steps per presentation, re-presentations included
    assert c["neuron_updates"] == 16 * 700 * res["presentations"] / 1000
    # SNN energy = sum over priced events of count x constant (loihi: constants)
    prof = load_profile("loihi")
    expect = sum(c[e] * p.pj for e, p in prof.events.items())
    assert math.isclose(snn["energy_pj"], expect, rel_tol=1e-12)
    assert math.isclose(snn["mac_equivalents"], expect / 0.23)
    ratio = res["ratio"]["int8_max_reuse"]
    assert math.isclose(ratio, expect / ann["precisions"]["int8"]["energy_pj"]["max_reuse"])
    assert chart.stat().st_size > 0 and res["chart"] == str(chart)


def test_rundir_table_lists_assumptions_and_unpriced_events(rundir):
    r = _ok(["-q", "energy", str(rundir), "--images", "40", "--ann", "max_iter=3", "--profile", "cmos45"])
    out = r.stdout
    for text in ("SNN on chip", "ANN int8 max-reuse", "ANN fp32 no-reuse", "SNN / ANN", "Assumptions:"):
        assert text in out
    assert "not priced:" in out and "hops_x" in out and "host (off-chip" in out
    assert "40 inference(s)" in out


def test_spikes_h5_with_truenorth_all_in(spikes_h5):
    res = json.loads(
        _ok(["energy", str(spikes_h5), "--json", "--profile", "truenorth", "--images", "4"]).stdout
    )
    assert res["ann"] is None and res["kind"] == "spikes" and res["inferences"] == 4
    c = res["snn"]["counts_per_inference"]
    assert set(c) == set(EVENTS)
    assert res["snn"]["energy_pj_per_inference"] == {"synaptic_events": 26.0 * c["synaptic_events"]}
    with h5py.File(spikes_h5) as f:
        assert c["sop"] * 4 == f["emulator/counters"].attrs["sop"]


def _err(args):
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


def test_bad_inputs_exit_2_with_one_line(rundir, spikes_h5, tmp_path):
    assert "unknown energy profile 'nope'" in _err(["energy", str(spikes_h5), "--profile", "nope"])
    good = (
        "name = 'x'\n[events.sop]\npj = 1.0\nsource = 's'\ntag = 'U'\n[unpriced]\n"
        + "\n".join(f"{e} = 'no'" for e in EVENTS if e != "sop")
        + "\n"
    )
    for text, msg in (
        (good.replace("pj = 1.0\n", ""), "missing constant"),
        (good.replace("pj = 1.0", "pj = -1.0"), ">= 0"),
        (good.replace("[events.sop]", "[events.sops]"), "unknown event type"),
    ):
        path = tmp_path / "p.toml"
        path.write_text(text)
        assert msg in _err(["energy", str(spikes_h5), "--profile", str(path)])
    # a run without counts (a SONATA file from before the ledger, or another tool's)
    bare = tmp_path / "bare.h5"
    with h5py.File(spikes_h5) as src, h5py.File(bare, "w") as dst:
        src.copy("spikes", dst)
        dst.create_group("emulator")
    assert "holds no operation counts" in _err(["energy", str(bare)])
    # ANN specs that do not fit
    for ann, msg in (("hidden=0", "hidden"), ("precision=int4", "precision"), ("layers=2", "unknown key")):
        assert msg in _err(["energy", str(rundir), "--ann", ann, "--images", "10"])
    assert "needs a training RUNDIR" in _err(["energy", str(spikes_h5), "--ann", "hidden=10"])
    assert "not found" in _err(["energy", str(tmp_path / "nothing")])
    assert "not a training or run directory" in _err(["energy", str(tmp_path)])
    assert "figure format" in _err(["energy", str(spikes_h5), "-o", str(tmp_path / "c.xyz")])


def test_chart_output_is_announced(spikes_h5, tmp_path):
    chart = tmp_path / "chart.svg"
    r = _ok(["-q", "energy", str(spikes_h5), "-o", str(chart)])
    assert r.stdout.strip().splitlines()[-1] == f"wrote {chart}" and chart.is_file()
