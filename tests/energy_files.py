"""A small multi-core network for the energy-ledger tests, and an independent recount.

The network has deterministic inputs (``spike_times``), so every input spike is known from
the spec; neuron spikes are read back from ``spikes.h5``. The recount walks every synapse of
every spiking source in plain Python (no ledger code): SOPs are spikes x non-zero fan-out,
packed words are ceil(n * weight_bits / 64) per (source, core, projection) group, messages
are spikes x distinct destination cores and hops are |dx| and |dy| between the source's core
(inputs: mesh position (-1, 0)) and each destination core.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

STEPS = 120


def spec_dict(arithmetic: str = "float") -> dict:
    rng = np.random.default_rng(3)
    times = [sorted(set(np.round(rng.uniform(0, STEPS - 5, 25)).tolist())) for _ in range(10)]
    list_rows = [[i, j, (0.0 if (i + j) % 3 == 0 else 0.8)] for i in range(12) for j in range(8)]
    return {
        "name": "energy_small",
        "simulation": {"dt": 1.0, "steps": STEPS, "seed": 5, "arithmetic": arithmetic},
        "inputs": [{"name": "stim", "kind": "spike_times", "size": 10, "times": times}],
        "populations": [
            {"name": "a", "size": 12, "tau_mem": 10.0, "tau_syn": 3.0, "v_threshold": 1.0, "refractory": 2.0},
            {
                "name": "b",
                "size": 8,
                "tau_mem": 10.0,
                "tau_syn": 3.0,
                "tau_syn_inh": 6.0,
                "v_threshold": 1.0,
                "refractory": 1.0,
            },
            {"name": "c", "size": 5, "tau_mem": 8.0, "tau_syn": 2.0, "v_threshold": 0.8},
        ],
        "projections": [
            {
                "name": "in",
                "pre": "stim",
                "post": "a",
                "connector": {"type": "fixed_probability", "p": 0.6},
                "weight": {"dist": "uniform", "low": 0.4, "high": 1.6},
                "delay": {"dist": "uniform", "low": 0.0, "high": 3.0},
            },
            {"name": "ab", "pre": "a", "post": "b", "connector": {"type": "list", "pairs": list_rows}},
            {
                "name": "ab_inh",
                "pre": "a",
                "post": "b",
                "connector": "all_to_all",
                "weight": -0.1,
                "receptor": "inh",
            },
            {
                "name": "bc",
                "pre": "b",
                "post": "c",
                "connector": "all_to_all",
                "weight": 0.5,
                "weight_bits": 4,
            },
            {
                "name": "ca",
                "pre": "c",
                "post": "a",
                "connector": "all_to_all",
                "weight": -0.2,
                "receptor": "inh",
            },
        ],
    }


def input_spike_counts(spec: dict, n_channels: int = 10) -> np.ndarray:
    """Spikes per channel of the spec's ``spike_times`` input that fall inside the run."""
    dt, steps = spec["simulation"]["dt"], spec["simulation"]["steps"]
    out = np.zeros(n_channels, dtype=np.int64)
    for ch, ts in enumerate(spec["inputs"][0]["times"]):
        out[ch] = sum(1 for t in ts if int(round(t / dt)) < steps)
    return out


def recount(net, placement, spikes: np.ndarray) -> dict:
    """Independent per-core recount (see module docstring); last entry = off-core."""
    n, n_cores = net.n_neurons, placement.n_cores
    coords = placement.core_coords()
    proj_of = {}
    for p, pos in enumerate(net.projection_positions()):
        for q in pos.tolist():
            proj_of[q] = p
    bits = [p.weight_bits for p in net.spec.projections]
    out = {
        k: [0] * (n_cores + 1)
        for k in ("sop", "synaptic_events", "weight_words", "messages", "hops_x", "hops_y")
    }
    for s in range(net.n_sources):
        c = int(spikes[s])
        if c == 0:
            continue
        groups = defaultdict(int)
        for pos in range(int(net.indptr[s]), int(net.indptr[s + 1])):
            core = int(placement.core_of[int(net.slot[pos]) % n])
            out["synaptic_events"][core] += c
            if net.weight[pos] != 0:
                out["sop"][core] += c
            groups[(core, proj_of[pos])] += 1
        for (core, p), cnt in groups.items():
            out["weight_words"][core] += c * math.ceil(cnt * bits[p] / 64)
        dests = {core for core, _p in groups}
        if s < n:
            sender = int(placement.core_of[s])
            sx, sy = int(coords[sender, 1]), int(coords[sender, 2])
        else:
            sender, sx, sy = n_cores, -1, 0
        out["messages"][sender] += c * len(dests)
        for d in dests:
            out["hops_x"][sender] += c * abs(int(coords[d, 1]) - sx)
            out["hops_y"][sender] += c * abs(int(coords[d, 2]) - sy)
    return {k: np.array(v, dtype=np.int64) for k, v in out.items()}
