"""Technology profiles: shipped values, validation, and energy = sum of count x constant."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from neuro.chips import get_profile
from neuro.energy.ledger import EVENTS, ledger_from_simulator
from neuro.energy.price import memory_sizes, price
from neuro.energy.profile import load_profile, parse_profile, shipped_profiles
from neuro.engine import Simulator
from neuro.errors import NeuroError
from neuro.mapping import place
from neuro.network import compile_network
from neuro.spec import Network
from tests.energy_files import STEPS, spec_dict


@pytest.fixture(scope="module")
def ledger():
    net = compile_network(Network.from_dict(spec_dict("loihi")))
    sim = Simulator(net)
    sim.run(STEPS)
    return ledger_from_simulator(sim, place(net, get_profile("loihi")), inferences=2)


def test_shipped_profiles_and_their_constants():
    assert {"loihi", "truenorth", "cmos45"} <= set(shipped_profiles())
    lo = load_profile("loihi")
    expect = {
        "sop": 23.6,
        "active_neuron_updates": 81.0,
        "idle_neuron_updates": 52.0,
        "spikes": 1.7,
        "hops_x": 3.0,
        "hops_y": 4.0,
        "learning_weight_updates": 120.0,
    }
    assert {e: p.pj for e, p in lo.events.items()} == expect
    assert all(p.tag == "S" and p.source for p in lo.events.values())
    tn = load_profile("truenorth")
    assert (
        tn.kind == "all-in"
        and list(tn.events) == ["synaptic_events"]
        and tn.events["synaptic_events"].pj == 26.0
    )
    for ev in ("neuron_updates", "spikes", "hops_x", "hops_y", "messages", "weight_words"):
        assert ev in tn.included  # covered by the all-in figure, never charged again
    cm = load_profile("cmos45")
    assert math.isclose(cm.mac_pj("int8"), 0.23) and math.isclose(cm.mac_pj("fp32"), 4.6)
    assert math.isclose(cm.mac_pj("fp16"), 1.5) and math.isclose(cm.mac_pj("int32"), 3.2)
    assert cm.mem_pj(1000) == 10.0 and cm.mem_pj(8192) == 10.0 and cm.mem_pj(32768) == 20.0
    assert cm.mem_pj(1 << 20) == 100.0 and cm.mem_pj(2 << 20) == 1950.0
    mid = 20.0 * (131072 / 32768) ** (math.log(5) / math.log(32))  # log-log between 32 KB and 1 MB
    assert math.isclose(cm.mem_pj(131072), mid)
    for name in shipped_profiles():  # every event is priced, included or unpriced exactly once
        p = load_profile(name)
        cats = list(p.events) + list(p.included) + list(p.unpriced)
        assert sorted(cats) == sorted(EVENTS)


HAND = """
name = "hand"
kind = "per-term"
[events.sop]
pj = 2.0
source = "test"
tag = "U"
[events.neuron_updates]
pj = 0.5
source = "test"
tag = "U"
[events.hops_x]
pj = 3.0
source = "test"
tag = "U"
[included]
weight_reads = "in sop"
[unpriced]
{unpriced}
"""


def _hand_profile(tmp_path):
    rest = [e for e in EVENTS if e not in ("sop", "neuron_updates", "hops_x", "weight_reads")]
    text = HAND.format(unpriced="\n".join(f'{e} = "not priced"' for e in rest))
    path = tmp_path / "hand.toml"
    path.write_text(text)
    return path


def test_energy_is_sum_of_count_times_constant(tmp_path, ledger):
    prof = load_profile(str(_hand_profile(tmp_path)))
    pr = price(ledger, prof)
    t = ledger.totals()
    expect = 2.0 * t["sop"] + 0.5 * t["neuron_updates"] + 3.0 * t["hops_x"]
    assert math.isclose(pr.total_pj, expect)
    assert math.isclose(pr.total_per_inference_pj, expect / 2)
    assert set(pr.energy_pj) == {"sop", "neuron_updates", "hops_x"}  # nothing else priced
    # the same profile as JSON
    d = {
        "name": "hand-json",
        "events": {"sop": {"pj": 2.0, "source": "test", "tag": "P"}},
        "unpriced": {e: "no" for e in EVENTS if e != "sop"},
    }
    jpath = tmp_path / "hand.json"
    jpath.write_text(json.dumps(d))
    assert math.isclose(price(ledger, load_profile(str(jpath))).total_pj, 2.0 * t["sop"])


def test_composed_events_priced_per_core_by_memory_size(ledger):
    cm = load_profile("cmos45")
    pr = price(ledger, cm)
    sizes = memory_sizes(ledger, cm)
    c = cm.constants
    # sop: one int32 add + state read and write at each core's state-memory size
    unit = c["int32_add"].pj + 2 * np.array([cm.mem_pj(s) for s in sizes["state"]])
    assert math.isclose(pr.energy_pj["sop"], float(ledger.cores["sop"] @ unit))
    unit = np.array([cm.mem_pj(s) for s in sizes["synapse"]])
    assert math.isclose(pr.energy_pj["weight_words"], float(ledger.cores["weight_words"] @ unit))
    unit = (
        2 * c["int32_mult"].pj + 4 * c["int32_add"].pj + 2 * np.array([cm.mem_pj(s) for s in sizes["state"]])
    )
    assert math.isclose(pr.energy_pj["neuron_updates"], float(ledger.cores["neuron_updates"] @ unit))
    assert sizes["state"][0] == ledger.core_compartments[0] * 64 / 8
    assert sizes["synapse"][0] == ledger.core_synapse_bits[0] / 8
    # truenorth: only the all-in term, never anything else
    tn = price(ledger, load_profile("truenorth"))
    assert tn.energy_pj == {"synaptic_events": 26.0 * ledger.total("synaptic_events")}


def _bad(tmp_path, text, name="bad.toml"):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(NeuroError) as exc:
        load_profile(str(path))
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_bad_profiles_are_one_line_errors(tmp_path):
    good = _hand_profile(tmp_path).read_text()
    assert "missing constant" in _bad(tmp_path, good.replace("pj = 2.0\n", "", 1))
    assert ">= 0" in _bad(tmp_path, good.replace("pj = 2.0", "pj = -2.0"))
    assert "unknown event type 'sops'" in _bad(tmp_path, good.replace("[events.sop]", "[events.sops]"))
    assert "does not say how to treat" in _bad(tmp_path, good.replace('weight_reads = "in sop"', ""))
    assert "both" in _bad(tmp_path, good.replace('weight_reads = "in sop"', 'sop = "twice"'))
    assert "tag" in _bad(tmp_path, good.replace('tag = "U"', 'tag = "X"', 1))
    assert "source" in _bad(tmp_path, good.replace('source = "test"\n', "", 1))
    assert "all-in" in _bad(tmp_path, good.replace('kind = "per-term"', 'kind = "all-in"'))
    assert "cannot parse" in _bad(tmp_path, "name = [")
    assert "unknown key" in _bad(tmp_path, good.replace('kind = "per-term"', 'kind = "per-term"\ncolour = 1'))
    assert "finite number" in _bad(tmp_path, good.replace("pj = 2.0", 'pj = "two"'))
    with pytest.raises(NeuroError, match="unknown energy profile 'loihi9'"):
        load_profile("loihi9")
    with pytest.raises(NeuroError, match="not found"):
        load_profile(str(tmp_path / "missing.toml"))
    with pytest.raises(NeuroError, match="unknown constant"):
        parse_profile(good.replace("pj = 2.0", "ops = {nope = 1}"), "x.toml")
