"""Input rows delivered and learned in one pass (:mod:`neuro.learning.fused`, float arithmetic)
against the two passes.

``Simulator.fuse_inputs = False`` runs the step as before (deliver every row, then learn); the
fused run must give the same weights, thresholds, traces, spikes and counters bit for bit: on
Diehl & Cook training images (dense rows, delays, normalization between images) and on rules
with several terms, constant and reward factors, with and without repeated input sources. The
fused function is also called directly, so a test fails if the fused path were never taken.
(Loihi arithmetic keeps the two passes: ``learn_inputs`` declines.)
"""

from __future__ import annotations

import numpy as np
import pytest

import neuro.dynamics.floating  # noqa: F401  (registers the float kernels)
from neuro.datasets import load_dataset
from neuro.engine import Simulator
from neuro.inputs import ScheduledInputs
from neuro.learning.fused import learn_inputs_float
from neuro.models.diehl_cook_protocol import make_config
from neuro.models.registry import model_kind
from neuro.network import compile_network
from neuro.spec import Network


def _state(sim) -> dict:
    out = {"weight": sim.net.weight.copy()}
    out.update({f"state.{k}": v.copy() for k, v in sim.state.items()})
    out.update({f"tables.{k}": np.asarray(v).copy() for k, v in sim.tables.arrays.items() if k != "scratch"})
    out["counters"] = np.array(sorted(sim.counters().items()), dtype=object)
    return out


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if key in ("tables.y_now", "tables.y_stamp"):  # caches of y decayed to a step
            continue
        x, y = a[key], b[key]
        if x.dtype == object:
            assert x.tolist() == y.tolist(), key
        else:
            assert x.dtype == y.dtype and np.array_equal(x, y), key  # bit for bit (no NaN here)


def _train(arithmetic: str, fuse: bool, images: int = 3):
    kind = model_kind("diehl-cook")
    cfg = make_config(40, {}, "paper", kind.name)
    sim = Simulator(compile_network(kind.build_network(cfg, arithmetic, 5)), inputs=ScheduledInputs())
    sim.fuse_inputs = fuse
    pr = kind.make_presenter(sim, cfg)
    spikes = []
    ds = load_dataset("embedded", "train")
    for img in ds.images[:images]:
        counts, tries = pr.train_image(img)
        spikes.append((counts.copy(), tries))
    return sim, spikes


def test_diehl_cook_training_is_bit_identical():
    arithmetic = "float"
    fused, s1 = _train(arithmetic, True)
    plain, s2 = _train(arithmetic, False)
    assert len(s1) == len(s2)
    for (c1, t1), (c2, t2) in zip(s1, s2, strict=True):
        assert t1 == t2 and np.array_equal(c1, c2)
    assert sum(int(c.sum()) for c, _ in s1) > 0  # neurons spiked: post terms and traces were exercised
    a, b = _state(fused), _state(plain)
    _assert_same(a, b)
    assert not np.array_equal(compile_network(fused.net.spec).weight, a["weight"])  # it learned


def spec(rule: dict, arithmetic: str, duplicate: bool) -> dict:
    """Inputs with delays onto two populations (two channels); ``duplicate``: a spike list that
    repeats a source within a step (the two passes must then run)."""
    inputs = [{"name": "in", "kind": "poisson", "size": 30, "rate": 80.0}]
    if duplicate:
        inputs.append(
            {"name": "list", "kind": "spike_times", "size": 3, "times": [[2.0, 2.0, 5.0], [3.0], []]}
        )
    proj = [
        {
            "pre": "in",
            "post": "post",
            "weight": {"dist": "uniform", "low": 0.1, "high": 0.5},
            "delay": {"dist": "uniform", "low": 0.0, "high": 4.0},
            "plasticity": {"w_min": 0.0, "w_max": 1.0, **rule},
        },
        {"pre": "in", "post": "other", "weight": 0.2},
        {"pre": "post", "post": "other", "weight": -0.3, "receptor": "inh"},
    ]
    if duplicate:
        proj.append({"pre": "list", "post": "post", "weight": 0.4})
    return {
        "simulation": {"dt": 1.0, "steps": 300, "seed": 4, "arithmetic": arithmetic},
        "inputs": inputs,
        "populations": [
            {"name": "post", "size": 8, "tau_mem": 10.0, "tau_syn": 2.0, "v_threshold": 1.0},
            {
                "name": "other",
                "size": 5,
                "tau_mem": 10.0,
                "tau_syn": 2.0,
                "tau_syn_inh": 6.0,
                "v_threshold": 1.0,
            },
        ],
        "projections": proj,
    }


TRACES = {
    "x1": {"tau": 20.0, "impulse": 0.5},
    "x2": {"tau": 40.0, "impulse": 0.25},
    "y1": {"tau": 20.0, "impulse": 0.5},
    "y2": {"tau": 30.0, "impulse": 0.5, "mode": "set"},
}
RULES = {
    "diehl_cook": {"kind": "diehl_cook", "nu_pre": 0.01, "nu_post": 0.05},
    "weight_dependent": {
        "kind": "rule",
        "rule": "dw = 2^-4*x1*y0 - 2^-4*x1*w*y0 - 2^-5*y1*x0 - 2^-6*y1*w*x0",
        **TRACES,
    },
    "constant_and_reward": {
        "kind": "rule",
        "rule": "dw = 2^-4*x2*y0 + 2^-7*x0 - 2^-5*y2*x0 + 2^-7*r*x0",
        **TRACES,
    },
}


def _run_spec(rule: dict, arithmetic: str, fuse: bool, duplicate: bool):
    sim = Simulator(compile_network(Network.from_dict(spec(rule, arithmetic, duplicate))))
    sim.fuse_inputs = fuse
    sim.tables.arrays["reward"][0] = 64 if arithmetic == "loihi" else 0.5
    got = []
    sim.run(300, on_spikes=lambda k, b, i: got.append((k.copy(), i.copy())))
    steps = np.concatenate([k for k, _ in got]) if got else np.zeros(0)
    src = np.concatenate([i for _, i in got]) if got else np.zeros(0)
    return sim, steps, src


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("duplicate", [False, True])
def test_rules_with_delays_are_bit_identical(rule, duplicate):
    arithmetic = "float"
    a, ka, ia = _run_spec(RULES[rule], arithmetic, True, duplicate)
    b, kb, ib = _run_spec(RULES[rule], arithmetic, False, duplicate)
    assert np.array_equal(ka, kb) and np.array_equal(ia, ib)
    assert ia.size > 0
    _assert_same(_state(a), _state(b))


def _step_args(sim, in_src):
    """Arguments of the fused functions for one step (row 0 of a one-step input CSR)."""
    net = sim.net
    in_ptr = np.array([0, len(in_src)], dtype=np.int64)
    src = np.asarray(in_src, dtype=np.int64)
    lrn = sim.tables.pack(sim.target.tables_type)
    sc = np.zeros(net.n_sources, dtype=np.int64)
    args = (0, 0, net.n_neurons, in_ptr, src, sim.n_rows, net.indptr, net.slot, net.weight, net.delay)
    return args + (sim.state["buf"], sc, lrn), sc


def test_fused_path_is_taken_and_refuses_repeats():
    sim = Simulator(compile_network(Network.from_dict(spec(RULES["diehl_cook"], "float", True))))
    n = sim.net.n_neurons
    w = sim.net.weight.copy()
    args, sc = _step_args(sim, [n + 1, n + 4, n + 30])  # two plastic inputs, one spike-list source
    assert learn_inputs_float(*args)
    assert sc[n + 1] == sc[n + 4] == sc[n + 30] == 1
    assert sim.state["buf"].any()  # delivered
    assert (
        sim.tables.arrays["x_last"][0, n + 1] == 0 and sim.tables.arrays["x"][0, 0, n + 1] == 1.0
    )  # learned
    assert np.array_equal(w, sim.net.weight)  # the pre term reads post traces, all 0 here
    args, sc = _step_args(sim, [n + 30, n + 30])  # a source twice in a step: two passes
    assert not learn_inputs_float(*args)
    args, sc = _step_args(sim, [n + 4, n + 1])  # not increasing
    assert not learn_inputs_float(*args)
    assert not sc.any()
