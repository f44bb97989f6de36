"""Deterministic TrueNorth modes cross-checked against Brian2 (numpy target), spike for spike.

Brian2 simulates the *logical* network written in the spec — one NeuronGroup per population
with integer state, the TrueNorth update written as branch-free integer code in a
``run_regularly`` operation, one ``Synapses`` per projection whose ``on_pre`` adds the
target's weight for the synapse's axon type — independently of neuro's compiler, mapper and
kernel. neuro runs the placed network, splitter neurons included, so agreement also checks
that splitters keep the end-to-end delays.

Timing in Brian2: the update of tick t runs at step t in the ``after_synapses`` slot and sets
``fired``; Brian2's threshold emits that spike at step t + 1, so Brian2 times are tick + 1.
A spike of tick t must be integrated at tick t + D (D = 1 + delay steps): neuron synapses get
a Brian2 delay of (D - 1) dt, input synapses (SpikeGeneratorGroup, emitting at step k) D dt.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuro.network import compile_network
from neuro.spec import Network

from .conftest import simulate

pytestmark = [pytest.mark.brian2, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

b2 = pytest.importorskip("brian2")

UPDATE = """
x0 = v + inp
inp = 0
om = (1 - eps) + eps * sign(x0)
x1 = x0 + om * lam
x2 = x1 * (1 - eps * int(sign(x0) * sign(x1) < 0))
x3 = clip(x2, -524288, 524287)
spk = int(x3 >= alpha)
nsat = (1 - spk) * kappa * int(x3 < -beta)
nrst = (1 - spk) * (1 - kappa) * int(x3 < -beta)
g0 = int(gamma == 0)
g1 = int(gamma == 1)
g2 = int(gamma == 2)
xp = g0 * R + g1 * (x3 - alpha) + g2 * x3
xn = -g0 * R + g1 * (x3 + beta) + g2 * x3
v = spk * xp + nsat * (-beta) + nrst * xn + (1 - spk - nsat - nrst) * x3
fired = spk == 1
"""
MODEL = """
v : integer
inp : integer
lam : integer (constant)
eps : integer (constant)
alpha : integer (constant)
beta : integer (constant)
kappa : integer (constant)
gamma : integer (constant)
R : integer (constant)
fired : boolean
"""


def spec(steps=150, seed=0):
    rs = np.random.RandomState(4)
    times = [sorted({float(t) for t in rs.randint(0, steps - 20, 25)}) for _ in range(6)]
    b_list = [[i, i % 5, i % 3] for i in range(300)]
    bb_list = [[i, (i + 7) % 300, 3] for i in range(300)]
    return {
        "name": "tn_brian2",
        "simulation": {"arithmetic": "truenorth", "steps": steps, "seed": seed},
        "inputs": [{"name": "in", "kind": "spike_times", "times": times}],
        "populations": [
            {
                "name": "a",
                "size": 4,
                "truenorth": {
                    "weights": [3, -2, 1, 0],
                    "leak": -1,
                    "leak_reversal": True,
                    "threshold": 5,
                    "reset_value": 1,
                    "neg_threshold": 4,
                },
            },
            {
                "name": "b",
                "size": 300,
                "truenorth": {
                    "weights": [2, -1, 4, -3],
                    "leak": 1,
                    "threshold": [20 + (i % 7) for i in range(300)],
                    "reset_mode": "linear",
                    "neg_threshold": 6,
                    "neg_mode": "reset",
                },
            },
            {
                "name": "c",
                "size": 5,
                "truenorth": {
                    "weights": [1, 1, -2, 3],
                    "threshold": 12,
                    "leak": -2,
                    "reset_mode": "none",
                    "neg_threshold": 3,
                    "neg_mode": "reset",
                    "v_init": [0, 1, 2, -1, -2],
                },
            },
            {
                "name": "d",
                "size": 3,
                "truenorth": {
                    "leak": -2,
                    "leak_reversal": True,
                    "threshold": 6,
                    "reset_value": -2,
                    "neg_threshold": 5,
                    "neg_mode": "reset",
                },
            },
        ],
        "projections": [
            {
                "pre": "in",
                "post": "a",
                "connector": {
                    "type": "list",
                    "pairs": [[i, j, 2 * ((i + j) % 2)] for i in range(6) for j in range(4)],
                },
            },
            {"pre": "in", "post": "b", "axon_type": 0},
            {"pre": "a", "post": "b", "axon_type": 2, "delay": 2.0},
            {"pre": "a", "post": "c", "axon_type": 3, "delay": 1.0},
            {"pre": "b", "post": "c", "connector": {"type": "list", "pairs": b_list}, "delay": 1.0},
            {"pre": "b", "post": "b", "connector": {"type": "list", "pairs": bb_list}, "delay": 1.0},
            {"pre": "c", "post": "a", "axon_type": 1, "delay": 3.0},
            {
                "pre": "in",
                "post": "d",
                "connector": {
                    "type": "list",
                    "pairs": [[0, 0, 4], [1, 0, -3], [2, 1, 2], [3, 1, -1], [4, 2, 5], [5, 2, 1], [1, 2, -4]],
                },
            },
            {"pre": "c", "post": "d", "weight": 2, "delay": 4.0},
        ],
    }


def _pairs(net: Network, k: int):
    """(pre, post, axon type or integer weight, D ticks) of projection ``k`` from the spec."""
    pr = net.projections[k]
    n_pre, n_post = net.source_size(pr.pre), net.source_size(pr.post)
    D = 1 + int(round(pr.delay.constant))
    if pr.connector.type == "list":
        rows = np.array(pr.connector.pairs, dtype=np.int64)
        return rows[:, 0], rows[:, 1], rows[:, 2], D
    pre = np.repeat(np.arange(n_pre), n_post)
    post = np.tile(np.arange(n_post), n_pre)
    if pr.axon_type is not None:
        val = np.full(pre.size, pr.axon_type)
    else:
        val = np.full(pre.size, int(pr.weight.constant))
    return pre, post, val, D


def run_brian2(d: dict) -> dict:
    net = Network.from_dict(d)
    steps = net.simulation.steps
    b2.prefs.codegen.target = "numpy"
    b2.start_scope()
    b2.defaultclock.dt = 1 * b2.ms
    groups, monitors = {}, {}
    for p in net.populations:
        tn = p.truenorth
        g = b2.NeuronGroup(p.size, MODEL, threshold="fired", name=f"pop_{p.name}")
        g.v = tn.per_neuron("v_init", p.size)
        g.lam = tn.per_neuron("leak", p.size)
        g.eps = int(tn.leak_reversal)
        g.alpha = tn.per_neuron("threshold", p.size)
        g.beta = tn.per_neuron("neg_threshold", p.size)
        g.kappa = int(tn.neg_mode == "saturate")
        g.gamma = ("value", "linear", "none").index(tn.reset_mode)
        g.R = tn.per_neuron("reset_value", p.size)
        g.run_regularly(UPDATE, when="after_synapses")
        groups[p.name] = g
        monitors[p.name] = b2.SpikeMonitor(g)
    inp = net.inputs[0]
    idx = np.concatenate([np.full(len(t), c) for c, t in enumerate(inp.times)]).astype(int)
    tt = np.concatenate([np.asarray(t) for t in inp.times])
    groups[inp.name] = b2.SpikeGeneratorGroup(inp.size, idx, tt * b2.ms)
    syns = []
    for k, pr in enumerate(net.projections):
        pre, post, val, D = _pairs(net, k)
        tn = net.population(pr.post).truenorth
        w = tn.weight_table(net.population(pr.post).size)[post, val] if tn.weights is not None else val
        s = b2.Synapses(groups[pr.pre], groups[pr.post], "w : integer (constant)", on_pre="inp_post += w")
        s.connect(i=pre, j=post)
        s.w = w
        s.delay = (D if pr.pre == inp.name else D - 1) * b2.ms
        syns.append(s)
    b2.Network(*groups.values(), *monitors.values(), *syns).run((steps + 1) * b2.ms)
    out = {}
    for name, m in monitors.items():
        ticks = np.rint(np.asarray(m.t / b2.ms)).astype(int) - 1
        out[name] = sorted(zip(ticks.tolist(), np.asarray(m.i).tolist(), strict=True))
    return out


def test_deterministic_modes_match_brian2_spike_for_spike():
    d = spec()
    net = Network.from_dict(d)
    c = compile_network(net)
    assert c.placement.splitters > 0  # a and b fan out to several cores: the check covers splitters
    res = simulate(net)
    ours = {}
    for p in net.populations:
        sl = c.pop_slice(p.name)
        sel = (res.neuron >= sl.start) & (res.neuron < sl.stop)
        ours[p.name] = sorted(
            zip(res.steps[sel].tolist(), (res.neuron[sel] - sl.start).tolist(), strict=True)
        )
    theirs = run_brian2(d)
    for name in ours:
        assert len(ours[name]) > 5, name  # every population takes part
        assert ours[name] == theirs[name], name
