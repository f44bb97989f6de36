"""Spec objects built in Python are checked on construction, like the TOML path.

Every spec class refuses an out-of-range field with the project's one-line error naming that
field (relative to the object); read from TOML the same check names the full path and the file.
A network built in Python from raw values equals the one loaded from the equivalent TOML.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuro.errors import NeuroError
from neuro.plasticity import Plasticity, Term, Trace
from neuro.registers import LoihiRegisters, TrueNorthNeuron
from neuro.spec import Connector, Input, Network, Population, Probe, Projection, Simulation, load_spec
from neuro.values import Value

from .conftest import assert_one_line_error, to_toml

nan, inf = float("nan"), float("inf")
REGS = {"decay_u": 0, "decay_v": 0, "vth_mant": 1}
POP = {"name": "a", "size": 2}
CASES = [
    # (class, valid keyword arguments, field changed, bad value, fragment of the message)
    (Population, POP, "name", "", "non-empty name"),
    (Population, POP, "name", "a b", "non-empty name"),
    (Population, POP, "size", 0, "[1, 2147483647]"),
    (Population, POP, "size", 1.5, "integer"),
    (Population, POP, "tau_mem", -5.0, "> 0"),
    (Population, POP, "tau_mem", 0.0, "> 0"),
    (Population, POP, "tau_mem", nan, "finite"),
    (Population, POP, "tau_syn", "5", "number"),
    (Population, POP, "tau_syn_inh", -1.0, "> 0"),
    (Population, POP, "tau_theta", 0, "> 0"),
    (Population, POP, "v_threshold", inf, "finite"),
    (Population, POP, "v_rest", True, "number"),
    (Population, POP, "refractory", -1.0, ">= 0"),
    (Population, POP, "theta_plus", -0.1, ">= 0"),
    (Population, POP, "theta_init", -0.1, ">= 0"),
    (Population, POP, "i_init", nan, "finite"),
    (Population, POP, "bias", [1.0, 2.0, 3.0], "3 values"),
    (Population, POP, "bias", {"dist": "gauss"}, "dist"),
    (Population, POP, "v_init", [0.0], "1 values"),
    (Population, POP, "loihi", {"decay_u": 0}, "missing"),
    (Population, POP, "loihi", {**REGS, "bias_mant": [1, 2, 3]}, "3 values but the population has 2"),
    (Population, POP, "loihi", 5, "must be a table"),
    (Population, POP, "truenorth", {"leak": [1, 2, 3]}, "3 values"),
    (LoihiRegisters, REGS, "decay_u", 4096, "[0, 4095]"),
    (LoihiRegisters, REGS, "decay_v", -1, "[0, 4095]"),
    (LoihiRegisters, REGS, "decay_u_inh", 4096, "[0, 4095]"),
    (LoihiRegisters, REGS, "vth_mant", 0, "[1, 131071]"),
    (LoihiRegisters, REGS, "bias_mant", 4096, "[-4095, 4095]"),
    (LoihiRegisters, REGS, "bias_mant", 1.5, "integers"),
    (LoihiRegisters, REGS, "bias_mant", {"dist": "uniform", "low": 0, "high": 1}, "random"),
    (LoihiRegisters, REGS, "bias_exp", 8, "[0, 7]"),
    (LoihiRegisters, REGS, "refract_delay", 0, "[1, 63]"),
    (LoihiRegisters, REGS, "vmin_exp", 24, "[0, 23]"),
    (LoihiRegisters, REGS, "vmax_exp", -1, "[0, 7]"),
    (LoihiRegisters, REGS, "v_init", 2**23, "[-8388608, 8388607]"),
    (TrueNorthNeuron, {}, "weights", [1, 2, 3], "4 entries"),
    (TrueNorthNeuron, {}, "weights", [1, 2, 3, 256], "[-256, 255]"),
    (TrueNorthNeuron, {}, "stochastic_synapse", [True] * 3, "4 entries"),
    (TrueNorthNeuron, {}, "leak_reversal", 1, "true or false"),
    (TrueNorthNeuron, {}, "stochastic_leak", "yes", "true or false"),
    (TrueNorthNeuron, {}, "leak", 300, "[-256, 255]"),
    (TrueNorthNeuron, {}, "threshold", -1, "[0, 262143]"),
    (TrueNorthNeuron, {}, "threshold_mask", 2**18, "[0, 262143]"),
    (TrueNorthNeuron, {}, "neg_threshold", 2.5, "integers"),
    (TrueNorthNeuron, {}, "reset_value", 2**18, "[-262143, 262143]"),
    (TrueNorthNeuron, {}, "v_init", 2**19, "[-524288, 524287]"),
    (TrueNorthNeuron, {}, "neg_mode", "clip", "saturate, reset"),
    (TrueNorthNeuron, {}, "reset_mode", "hard", "value, linear, none"),
    (Input, {"name": "i", "kind": "poisson", "rate": 1.0}, "kind", "noise", "spike_times, poisson"),
    (Input, {"name": "i", "kind": "poisson", "rate": 1.0}, "size", 0, "[1, 2147483647]"),
    (Input, {"name": "i", "kind": "poisson", "rate": 1.0}, "rate", -1.0, ">= 0"),
    (Input, {"name": "i", "kind": "poisson", "rate": 1.0}, "rate", [1.0, 2.0], "2 values but size is 1"),
    (Input, {"name": "i", "kind": "poisson", "rate": 1.0}, "start", -1.0, ">= 0"),
    (Input, {"name": "i", "kind": "poisson", "rate": 1.0, "start": 5.0}, "stop", 4.0, ">= 5.0"),
    (Input, {"name": "i", "kind": "poisson", "rate": 1.0}, "times", ((1.0,),), "not used by a poisson"),
    (Input, {"name": "i", "kind": "spike_times", "times": [[1.0]]}, "times", [[-1.0]], ">= 0"),
    (Input, {"name": "i", "kind": "spike_times", "times": [[1.0]]}, "times", [[1.0], [2.0]], "2 channels"),
    (Input, {"name": "i", "kind": "current", "target": "a"}, "target", None, "missing"),
    (Input, {"name": "i", "kind": "current", "target": "a"}, "rate", 5.0, "not used by a current"),
    (Connector, {"type": "all_to_all"}, "type", "random", "all_to_all, one_to_one"),
    (Connector, {"type": "all_to_all"}, "allow_self", 1, "true or false"),
    (Connector, {"type": "one_to_one"}, "p", 0.5, "not used by a one_to_one"),
    (Connector, {"type": "fixed_probability", "p": 0.5}, "p", 1.5, "[0, 1]"),
    (Connector, {"type": "fixed_probability", "p": 0.5}, "p", None, "missing"),
    (Connector, {"type": "list", "pairs": [[0, 1]]}, "pairs", [[0, "x"]], "number"),
    (Connector, {"type": "matrix", "values": [[1.0]]}, "values", [1.0], "list of rows"),
    (Projection, {"pre": "a", "post": "b"}, "pre", "", "non-empty name"),
    (Projection, {"pre": "a", "post": "b"}, "connector", "dense", "all_to_all"),
    (Projection, {"pre": "a", "post": "b"}, "delay", -1.0, ">= 0"),
    (Projection, {"pre": "a", "post": "b"}, "weight", [1.0, nan], "finite"),
    (Projection, {"pre": "a", "post": "b"}, "receptor", "gaba", "exc, inh"),
    (Projection, {"pre": "a", "post": "b"}, "weight_exp", 8, "[-6, 7]"),
    (Projection, {"pre": "a", "post": "b", "weight_exp": 0}, "weight", 256, "[-255, 255]"),
    (Projection, {"pre": "a", "post": "b"}, "weight_bits", 9, "[1, 8]"),
    (Projection, {"pre": "a", "post": "b"}, "axon_type", 4, "[0, 3]"),
    (Projection, {"pre": "a", "post": "b"}, "plasticity", {"kind": "hebb"}, "rule, pair_stdp"),
    (Probe, {"population": "a"}, "variables", ("v", "w"), "v, i"),
    (Probe, {"population": "a"}, "variables", (), "list of v, i"),
    (Probe, {"population": "a"}, "neurons", (), "non-empty"),
    (Probe, {"population": "a"}, "neurons", (0, -1), ">= 0"),
    (Simulation, {}, "dt", 0.0, "> 0"),
    (Simulation, {}, "steps", -1, "[0, 1099511627776]"),
    (Simulation, {}, "seed", -1, "[0, 9223372036854775807]"),
    (Simulation, {}, "arithmetic", "fixed", "float, loihi, loihi2, truenorth"),
    (Simulation, {}, "chip", "spinnaker", "known: loihi"),
    (Simulation, {}, "chips", 0, "[1, 16384]"),
    (Trace, {}, "tau", 0.0, "> 0"),
    (Trace, {}, "impulse", -1.0, ">= 0"),
    (Trace, {}, "mode", "max", "add or set"),
    (Term, {"coef": 1.0, "factors": (0,) * 7, "dependency": "x0"}, "dependency", "x1", "x0, y0"),
    (Term, {"coef": 1.0, "factors": (0,) * 7, "dependency": "x0"}, "coef", nan, "finite"),
    (Term, {"coef": 1.0, "factors": (0,) * 7, "dependency": "x0"}, "factors", (0,) * 6, "7 powers"),
]
PLASTIC = {"kind": "rule", "terms": (Term(1.0, (1, 0, 0, 0, 0, 0, 0), "y0"),)}
CASES += [
    (Plasticity, PLASTIC, "kind", "hebb", "rule, pair_stdp, diehl_cook"),
    (Plasticity, PLASTIC, "epoch", 64, "[1, 63]"),
    (Plasticity, PLASTIC, "epoch", 2.0, "integer"),
    (Plasticity, PLASTIC, "w_max", nan, "finite"),
    (Plasticity, PLASTIC, "terms", ("dw = x0",), "list of Term"),
    (Plasticity, PLASTIC, "traces", {"z1": Trace()}, "traces.z1"),
    (Plasticity, PLASTIC, "traces", {"x1": {"tau": -1.0}}, "> 0"),
]


def _id(case) -> str:
    return f"{case[0].__name__}.{case[2]}={case[3]!r}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_python_built_spec_refuses_bad_field(case):
    cls, valid, key, bad, fragment = case
    cls(**valid)  # the control: the same object with a good value is accepted
    with pytest.raises(NeuroError) as ei:
        cls(**{**valid, key: bad})
    assert ei.value.field is not None and ei.value.field.split(".")[0].split("[")[0] == key.split(".")[0]
    assert_one_line_error(ei.value, f"field '{key}", fragment)


def test_population_tau_mem_negative_names_the_field():
    with pytest.raises(NeuroError) as ei:
        Population(name="a", size=1, tau_mem=-5.0)
    assert ei.value.field == "tau_mem"
    assert str(ei.value) == "field 'tau_mem': must be > 0, got -5.0"


def test_plasticity_w_min_above_w_max():
    with pytest.raises(NeuroError) as ei:
        Plasticity(**PLASTIC, w_min=1.0, w_max=0.5)
    assert "w_min 1.0 > w_max 0.5" in str(ei.value)


def test_connector_file(tmp_path):
    w = tmp_path / "w.npy"
    np.save(w, np.ones((2, 2)))
    assert Connector("matrix", file=w).file == str(w)  # a Path is accepted and kept as a string
    with pytest.raises(NeuroError) as ei:
        Connector("matrix", file=str(tmp_path / "nowhere.npy"))
    assert ei.value.field == "file" and "file not found" in str(ei.value)
    with pytest.raises(NeuroError) as ei:
        Connector("list", pairs=[[0, 1]], file=str(w))
    assert ei.value.field is None and "give exactly one of 'pairs' or 'file'" in str(ei.value)
    with pytest.raises(NeuroError) as ei:
        Connector("list")
    assert "give exactly one of 'pairs' or 'file'" in str(ei.value)


def test_network_names_the_bad_part():
    with pytest.raises(NeuroError) as ei:
        Network(populations=[Population("a", 1)], probes=["a"])
    assert ei.value.field == "probes[0]" and "must be a Probe" in str(ei.value)
    with pytest.raises(NeuroError) as ei:
        Network(populations=[Population("a", 1)], name="my net", source="n.toml")
    assert_one_line_error(ei.value, "n.toml", "field 'name'", "non-empty name")
    with pytest.raises(NeuroError) as ei:
        Network(populations=[{"name": "a", "size": 1, "tau_syn": -1.0}])
    assert ei.value.field == "populations[0].tau_syn"
    with pytest.raises(NeuroError) as ei:
        Network(populations=Population("a", 1))
    assert ei.value.field == "populations" and "list of Population" in str(ei.value)
    net = Network(populations=(Population(n, 1) for n in "ab"), simulation={"steps": 5})
    assert [p.name for p in net.populations] == ["a", "b"] and net.simulation == Simulation(steps=5)


def test_with_simulation_names_the_simulation_field():
    net = Network(populations=[Population("a", 1)], source="n.toml")
    with pytest.raises(NeuroError) as ei:
        net.with_simulation(steps=-3)
    assert_one_line_error(ei.value, "n.toml", "field 'simulation.steps'", "[0, 1099511627776]")


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("populations", 0, "tau_mem"), -5.0, "populations[0].tau_mem"),
        (("populations", 0, "loihi", "decay_v"), 4096, "populations[0].loihi.decay_v"),
        (("populations", 1, "truenorth", "leak"), 300, "populations[1].truenorth.leak"),
        (("projections", 0, "connector", "p"), 2.0, "projections[0].connector.p"),
        (("projections", 0, "plasticity", "x1", "tau"), -1.0, "projections[0].plasticity.x1.tau"),
        (("inputs", 0, "times"), [[-1.0]], "inputs[0].times[0]"),
        (("probes", 0, "neurons"), [-1], "probes[0].neurons"),
        (("simulation", "chips"), 0, "simulation.chips"),
    ],
)
def test_constructor_checks_are_located_in_the_toml_path(tmp_path, path, value, field):
    d = {
        "simulation": {"arithmetic": "loihi"},
        "populations": [
            {"name": "a", "size": 2, "loihi": dict(REGS)},
            {"name": "b", "size": 1, "truenorth": {}},
        ],
        "inputs": [{"name": "in", "kind": "spike_times", "times": [[1.0]]}],
        "projections": [
            {
                "pre": "in",
                "post": "a",
                "connector": {"type": "fixed_probability", "p": 0.5},
                "weight": 1,
                "weight_exp": 0,
                "plasticity": {"kind": "rule", "rule": "dw = x1*y0", "x1": {"tau": 5.0}},
            }
        ],
        "probes": [{"population": "a"}],
    }
    node = d
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    spec = tmp_path / "bad.toml"
    spec.write_text(to_toml(d))
    with pytest.raises(NeuroError) as ei:
        load_spec(spec)
    assert ei.value.field == field and ei.value.source == str(spec)


TOML = """
name = "built"

[simulation]
dt = 0.5
steps = 40
seed = 3
arithmetic = "loihi"
chip = "unbounded"

[[populations]]
name = "exc"
size = 3
tau_mem = 15.0
bias = [0.1, 0.2, 0.3]
v_init = {dist = "uniform", low = 0.0, high = 0.5}
refractory = 2.0

[[populations]]
name = "raw"
size = 2

[populations.loihi]
decay_u = 100
decay_v = 200
vth_mant = 300
bias_mant = [1, -2]

[[inputs]]
name = "st"
kind = "spike_times"
times = [[1.0, 2.0], [], [3.5]]

[[inputs]]
name = "po"
kind = "poisson"
size = 2
rate = 20.0
stop = 10.0

[[projections]]
pre = "st"
post = "exc"
connector = "one_to_one"
weight = 1.5
delay = 1.0

[[projections]]
pre = "po"
post = "raw"
weight = 3
weight_exp = 1
connector = {type = "list", pairs = [[0, 1], [1, 0]]}

[projections.plasticity]
kind = "pair_stdp"
A_plus = 0.02
w_max = 100

[[projections]]
pre = "exc"
post = "exc"
receptor = "inh"
weight = -0.5
connector = {type = "fixed_probability", p = 0.25}

[[probes]]
population = "exc"
variables = ["v", "i"]
neurons = [0, 2]
"""


def test_python_built_network_equals_the_toml_one(tmp_path):
    spec = tmp_path / "built.toml"
    spec.write_text(TOML)
    loaded = load_spec(spec)
    built = Network(
        name="built",
        simulation=Simulation(dt=0.5, steps=40, seed=3, arithmetic="loihi", chip="unbounded"),
        populations=[
            Population(
                "exc",
                3,
                tau_mem=15.0,
                bias=[0.1, 0.2, 0.3],
                v_init={"dist": "uniform", "low": 0.0, "high": 0.5},
                refractory=2.0,
            ),
            Population("raw", 2, loihi=LoihiRegisters(100, 200, 300, bias_mant=[1, -2])),
        ],
        inputs=[
            Input("st", "spike_times", size=3, times=[[1.0, 2.0], [], [3.5]]),
            Input("po", "poisson", size=2, rate=20.0, stop=10.0),
        ],
        projections=[
            Projection("st", "exc", connector="one_to_one", weight=1.5, delay=1.0),
            Projection(
                "po",
                "raw",
                weight=3,
                weight_exp=1,
                connector={"type": "list", "pairs": [[0, 1], [1, 0]]},
                plasticity=Plasticity.from_dict({"kind": "pair_stdp", "A_plus": 0.02, "w_max": 100}),
            ),
            Projection(
                "exc", "exc", receptor="inh", weight=-0.5, connector=Connector("fixed_probability", p=0.25)
            ),
        ],
        probes=[Probe("exc", variables=["v", "i"], neurons=[0, 2])],
    )
    assert built == loaded
    assert built.to_dict() == loaded.to_dict()
    assert isinstance(built.populations[0].bias, Value) and built.populations[0].bias.kind == "array"
    assert built.inputs[0].times == ((1.0, 2.0), (), (3.5,))
    assert built.probes[0].neurons == (0, 2)
    assert isinstance(built.populations[1].loihi.bias_mant, Value)
    # and the Python-built network goes back through TOML unchanged
    again = tmp_path / "again.toml"
    again.write_text(to_toml(built.to_dict()))
    assert load_spec(again) == built


def test_truenorth_neuron_built_in_python_equals_parsed():
    tn = TrueNorthNeuron(weights=[1, -1, 2, 0], stochastic_synapse=True, threshold=3, leak=[1, 2])
    assert tn == TrueNorthNeuron.from_dict(
        {"weights": [1, -1, 2, 0], "stochastic_synapse": [True] * 4, "threshold": 3, "leak": [1, 2]},
        "tn",
        size=2,
    )
    assert tn.weights == (1, -1, 2, 0) and tn.threshold == Value("constant", 3.0)
    np.testing.assert_array_equal(tn.per_neuron("leak", 2), [1, 2])
    with pytest.raises(NeuroError) as ei:
        Population("p", 3, truenorth=tn)
    assert ei.value.field == "truenorth.leak" and "2 values but the population has 3" in str(ei.value)
