"""The conformance suite: small networks, one feature each, compared with Brian2 in both arithmetics.

Used by ``tests/test_conformance_brian2.py`` (every case must agree; all but the chaotic ones
with identical spikes) and by ``bench/conformance_table.py`` (the table in
``docs/verification.md``). Each case is a plain spec dictionary, as a TOML file would hold it.
"""

from __future__ import annotations

from dataclasses import dataclass

from neuro.spec import Network


@dataclass(frozen=True)
class Case:
    """One network of the suite and the arithmetics it runs in."""

    name: str
    what: str
    spec: dict
    arithmetics: tuple = ("float", "loihi")

    def network(self) -> Network:
        return Network.from_dict(self.spec, source=f"<conformance case {self.name}>")


def _sim(steps: int, dt: float = 1.0, seed: int = 7) -> dict:
    return {"dt": dt, "steps": steps, "seed": seed}


def _lif(name: str, size: int, **kw) -> dict:
    return {"name": name, "size": size, "tau_mem": 20.0, "tau_syn": 5.0, **kw}


CASES = [
    Case(
        "bias_driven",
        "neurons driven by a constant bias only (uniform spread), refractory 2 ms",
        {
            "simulation": _sim(500),
            "populations": [
                _lif("n", 20, bias={"dist": "uniform", "low": 1.05, "high": 3.0}, refractory=2.0)
            ],
        },
    ),
    Case(
        "spike_driven_exc_inh",
        "spike-time inputs through excitatory and inhibitory projections (one current)",
        {
            "simulation": _sim(300),
            "inputs": [
                {
                    "name": "ex",
                    "kind": "spike_times",
                    "times": [[5, 6, 7, 8, 40, 41, 42, 43, 44], [20, 21, 22]],
                },
                {"name": "ih", "kind": "spike_times", "times": [[41, 42, 120], [6]]},
            ],
            "populations": [_lif("n", 3, bias=0.5)],
            "projections": [
                {"pre": "ex", "post": "n", "weight": {"dist": "uniform", "low": 1.5, "high": 4.0}},
                {"pre": "ih", "post": "n", "weight": -3.0, "receptor": "inh"},
            ],
        },
    ),
    Case(
        "refractory_lengths",
        "refractory periods of 0, 1, 2, 3, 7 and 20 steps under the same drive",
        {
            "simulation": _sim(600, dt=0.5),
            "inputs": [{"name": "p", "kind": "poisson", "size": 30, "rate": 40.0}],
            "populations": [
                _lif(
                    f"r{r}", 5, bias=1.2, refractory=r * 0.5, v_init={"dist": "uniform", "low": 0, "high": 1}
                )
                for r in (0, 1, 2, 3, 7, 20)
            ],
            "projections": [
                {
                    "pre": "p",
                    "post": f"r{r}",
                    "connector": {"type": "fixed_probability", "p": 0.5},
                    "weight": 0.3,
                }
                for r in (0, 1, 2, 3, 7, 20)
            ],
        },
    ),
    Case(
        "delays",
        "per-synapse delays of 0..40 steps (uniform), plus a fixed 62-step delay",
        {
            "simulation": _sim(400),
            "inputs": [{"name": "p", "kind": "poisson", "size": 40, "rate": 30.0}],
            "populations": [_lif("a", 10), _lif("b", 4)],
            "projections": [
                {
                    "pre": "p",
                    "post": "a",
                    "connector": {"type": "fixed_probability", "p": 0.5},
                    "weight": 0.6,
                    "delay": {"dist": "uniform", "low": 0.0, "high": 40.0},
                },
                {"pre": "p", "post": "b", "weight": 0.25, "delay": 62.0},
            ],
        },
    ),
    Case(
        "fan_in_4000",
        "4000 Poisson sources into one neuron (near Loihi's 4096 input axons per core)",
        {
            "simulation": _sim(500),
            "inputs": [{"name": "p", "kind": "poisson", "size": 4000, "rate": 5.0}],
            "populations": [_lif("n", 1, refractory=2.0)],
            "projections": [
                {"pre": "p", "post": "n", "weight": {"dist": "uniform", "low": -0.02, "high": 0.05}}
            ],
        },
    ),
    Case(
        "split_across_cores",
        "one population of 2500 neurons (3 Loihi cores) driven by Poisson input",
        {
            "simulation": _sim(200),
            "inputs": [{"name": "p", "kind": "poisson", "size": 200, "rate": 20.0}],
            "populations": [
                _lif("big", 2500, refractory=2.0, v_init={"dist": "uniform", "low": 0, "high": 1})
            ],
            "projections": [
                {
                    "pre": "p",
                    "post": "big",
                    "connector": {"type": "fixed_probability", "p": 0.1},
                    "weight": {"dist": "uniform", "low": 0.0, "high": 0.5},
                }
            ],
        },
    ),
    Case(
        "recurrent_cuba_400",
        "a 400-neuron CUBA network (320 exc / 80 inh, p = 0.2), dt 0.1 ms, 200 ms",
        {
            "simulation": _sim(2000, dt=0.1, seed=3),
            "populations": [
                {
                    "name": name,
                    "size": size,
                    "tau_mem": 20.0,
                    "tau_syn": 5.0,
                    "tau_syn_inh": 10.0,
                    "v_rest": -49.0,
                    "v_threshold": -50.0,
                    "v_reset": -60.0,
                    "refractory": 5.0,
                    "v_init": {"dist": "uniform", "low": -60.0, "high": -50.0},
                }
                for name, size in (("exc", 320), ("inh", 80))
            ],
            "projections": [
                {
                    "pre": pre,
                    "post": post,
                    "connector": {"type": "fixed_probability", "p": 0.2},
                    "weight": w,
                    "receptor": rec,
                }
                for pre, w, rec in (("exc", 0.162, "exc"), ("inh", -0.9, "inh"))
                for post in ("exc", "inh")
            ],
        },
    ),
    Case(
        "poisson_exc_inh",
        "Poisson inputs, excitatory and inhibitory, with start/stop windows",
        {
            "simulation": _sim(800, dt=0.5),
            "inputs": [
                {
                    "name": "e",
                    "kind": "poisson",
                    "size": 50,
                    "rate": {"dist": "uniform", "low": 5, "high": 60},
                },
                {"name": "i", "kind": "poisson", "size": 20, "rate": 40.0, "start": 100.0, "stop": 300.0},
            ],
            "populations": [_lif("n", 8, refractory=1.0)],
            "projections": [
                {
                    "pre": "e",
                    "post": "n",
                    "connector": {"type": "fixed_probability", "p": 0.6},
                    "weight": 0.35,
                },
                {"pre": "i", "post": "n", "weight": -0.5, "receptor": "inh", "delay": 1.5},
            ],
        },
    ),
    Case(
        "feedforward_two_layers",
        "input -> 40 hidden -> 10 output, random weights and 1-3 ms delays",
        {
            "simulation": _sim(600),
            "inputs": [{"name": "stim", "kind": "poisson", "size": 60, "rate": 25.0}],
            "populations": [_lif("hidden", 40, refractory=2.0), _lif("output", 10, refractory=2.0)],
            "projections": [
                {
                    "pre": "stim",
                    "post": "hidden",
                    "connector": {"type": "fixed_probability", "p": 0.3},
                    "weight": {"dist": "uniform", "low": 0.0, "high": 0.8},
                    "delay": 1.0,
                },
                {
                    "pre": "hidden",
                    "post": "output",
                    "weight": {"dist": "normal", "mean": 0.3, "std": 0.2},
                    "delay": {"dist": "uniform", "low": 1.0, "high": 3.0},
                },
            ],
        },
    ),
    Case(
        "dual_current",
        "a population with tau_syn_inh != tau_syn (two current compartments on Loihi)",
        {
            "simulation": _sim(600),
            "inputs": [
                {"name": "e", "kind": "poisson", "size": 40, "rate": 30.0},
                {"name": "i", "kind": "poisson", "size": 20, "rate": 30.0},
            ],
            "populations": [_lif("n", 12, tau_syn_inh=15.0, refractory=3.0, bias=0.6)],
            "projections": [
                {
                    "pre": "e",
                    "post": "n",
                    "connector": {"type": "fixed_probability", "p": 0.5},
                    "weight": 1.0,
                },
                {"pre": "i", "post": "n", "weight": -0.2, "receptor": "inh"},
            ],
        },
    ),
    Case(
        "tau_syn_equals_tau_mem",
        "tau_syn = tau_mem with a refractory period (Brian2's exact solver needs the held-v form)",
        {
            "simulation": _sim(500),
            "inputs": [{"name": "p", "kind": "poisson", "size": 30, "rate": 30.0}],
            "populations": [{"name": "n", "size": 10, "tau_mem": 10.0, "tau_syn": 10.0, "refractory": 4.0}],
            "projections": [
                {"pre": "p", "post": "n", "weight": {"dist": "uniform", "low": 0.0, "high": 0.3}}
            ],
        },
    ),
    Case(
        "current_injection",
        "a current input switched on and off, plus spike times repeated within one step",
        {
            "simulation": _sim(400, dt=0.5),
            "inputs": [
                {
                    "name": "step",
                    "kind": "current",
                    "target": "n",
                    "amplitude": {"dist": "uniform", "low": 0.3, "high": 1.5},
                    "start": 40.0,
                    "stop": 120.0,
                },
                {"name": "tt", "kind": "spike_times", "times": [[1.0, 1.2, 1.1, 30.0, 150.0], [5.0, 150.2]]},
            ],
            "populations": [_lif("n", 10, tau_mem=10.0, bias={"dist": "uniform", "low": 0.2, "high": 1.1})],
            "projections": [{"pre": "tt", "post": "n", "weight": 0.45, "delay": 2.0}],
        },
    ),
    Case(
        "loihi_raw_registers",
        "raw registers (loihi-semantics.md worked example: spikes at steps 3, 5, 8)",
        {
            "simulation": {**_sim(12), "arithmetic": "loihi"},
            "inputs": [{"name": "s", "kind": "spike_times", "times": [[2.0]]}],
            "populations": [
                {
                    "name": "a",
                    "size": 1,
                    "loihi": {"decay_u": 1024, "decay_v": 256, "vth_mant": 10, "refract_delay": 2},
                }
            ],
            "projections": [{"pre": "s", "post": "a", "weight": 20, "weight_exp": 0}],
        },
        arithmetics=("loihi",),
    ),
    Case(
        "loihi_register_overflow",
        "raw registers driven into the 21/23-bit wraps of q and u, vmin clip, dual current",
        {
            "simulation": {**_sim(300), "arithmetic": "loihi"},
            "inputs": [{"name": "p", "kind": "poisson", "size": 64, "rate": 200.0}],
            "populations": [
                {
                    "name": "a",
                    "size": 6,
                    "loihi": {
                        "decay_u": 0,
                        "decay_u_inh": 4000,
                        "decay_v": 100,
                        "vth_mant": 60000,
                        "refract_delay": 3,
                        "bias_mant": [0, 100, -100, 4095, -4095, 7],
                        "bias_exp": 6,
                        "vmin_exp": 20,
                    },
                }
            ],
            "projections": [
                {"pre": "p", "post": "a", "weight": 255, "weight_exp": 7},
                {
                    "pre": "p",
                    "post": "a",
                    "connector": {"type": "fixed_probability", "p": 0.5},
                    "weight": -200,
                    "weight_exp": 6,
                    "receptor": "inh",
                },
            ],
        },
        arithmetics=("loihi",),
    ),
]


def by_name(name: str) -> Case:
    for case in CASES:
        if case.name == name:
            return case
    raise KeyError(name)
