"""The learning kernels' fast path (rules linear in the other side's traces) against the general path.

For a dependency whose terms are, per synapse, one of ``1, z, w, z*w`` (z one trace of the
other side), the kernels fold the per-event constants into ``dw = A(z) + B(z) w`` (float) or
per-term integers (loihi) instead of evaluating every term's factors per synapse. Forcing the
general path (``lin = 0``) on the same run must give the same weights: bit for bit in loihi
arithmetic (integer products commute), to rounding in float (the sum is regrouped). Rules with a
product of two traces of one side take the general path by construction.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuro.engine import Simulator
from neuro.network import compile_network
from neuro.spec import Network


def spec(rule: dict, arithmetic: str) -> dict:
    return {
        "simulation": {"dt": 1.0, "steps": 400, "seed": 3, "arithmetic": arithmetic},
        "inputs": [{"name": "in", "kind": "poisson", "size": 40, "rate": 60.0}],
        "populations": [{"name": "post", "size": 8, "tau_mem": 10.0, "tau_syn": 2.0, "v_threshold": 1.0}],
        "projections": [
            {
                "pre": "in",
                "post": "post",
                "weight": {"dist": "uniform", "low": 0.1, "high": 0.5},
                "plasticity": {"w_min": 0.0, "w_max": 1.0, **rule},
            }
        ],
    }


TRACES = {
    "x1": {"tau": 20.0, "impulse": 0.5},
    "x2": {"tau": 40.0, "impulse": 0.25},
    "y1": {"tau": 20.0, "impulse": 0.5},
    "y2": {"tau": 30.0, "impulse": 0.5, "mode": "set"},
}
RULES = {
    # weight-dependent pair rule: two terms per dependency, w in one of them
    "weight_dependent": ("dw = 2^-4*x1*y0 - 2^-4*x1*w*y0 - 2^-5*y1*x0 - 2^-6*y1*w*x0", (1, 1)),
    # several traces, a constant term and the reward factor
    "mixed": (
        "dw = 2^-4*x2*y0 - 2^-5*x2*w*y0 + 2^-5*x1*y2*y0 + 2^-7*y0 - 2^-5*y2*x0 + 2^-7*r*x0 - 2^-6*x1*y1*x0",
        (1, 1),
    ),
    # products of two traces of one side: the general path only
    "nonlinear": ("dw = 2^-3*x1*x2*y0 - 2^-4*y1*y2*x0", (0, 0)),
}


def run(text: str, arithmetic: str, force_general: bool):
    c = compile_network(Network.from_dict(spec({"kind": "rule", "rule": text, **TRACES}, arithmetic)))
    sim = Simulator(c)
    sim.tables.arrays["reward"][0] = 64 if arithmetic == "loihi" else 0.5
    lin = sim.tables.arrays["lin"]
    flags = tuple(int(v) for v in lin[0])
    if force_general:
        lin[:] = 0
    sim.run(400)
    return c.weight.copy(), flags, sim.tables.arrays["counts"].copy()


@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
@pytest.mark.parametrize("name", list(RULES))
def test_fast_path_equals_general_path(name, arithmetic):
    text, expected_flags = RULES[name]
    fast, flags, counts = run(text, arithmetic, False)
    general, _, counts_general = run(text, arithmetic, True)
    assert flags == expected_flags
    assert counts[0] > 1000  # many synapse updates happened
    np.testing.assert_array_equal(counts, counts_general)
    if arithmetic == "loihi":
        np.testing.assert_array_equal(fast, general)
    else:
        np.testing.assert_allclose(fast, general, rtol=1e-12, atol=1e-15)
    initial = compile_network(Network.from_dict(spec({"kind": "rule", "rule": text, **TRACES}, arithmetic)))
    assert not np.array_equal(fast, initial.weight)  # learning changed the weights
