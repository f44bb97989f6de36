"""Shared helpers for the core tests.

Every expected value in this suite is worked out by hand (the arithmetic is written in the
test's comments) or comes from a closed form; nothing is compared with output the engine
produced earlier.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from neuro.engine import Simulator
from neuro.errors import NeuroError
from neuro.network import compile_network
from neuro.spec import Network

MODELS = Path(__file__).resolve().parent.parent / "models"


@dataclass
class SimResult:
    """Spikes and probe traces of one run of :func:`simulate`."""

    steps: np.ndarray  # spike steps, in emission order
    batch: np.ndarray  # batch element of every spike
    neuron: np.ndarray  # global neuron index of every spike
    v: np.ndarray  # (steps, B, probes)
    i: np.ndarray  # (steps, B, probes)
    sim: Simulator

    def spike_steps(self, neuron: int = 0, b: int = 0) -> list[int]:
        sel = (self.neuron == neuron) & (self.batch == b)
        return self.steps[sel].tolist()


def simulate(net, steps: int | None = None, probe=None, batch: int = 1, seed: int | None = None) -> SimResult:
    """Compile ``net`` (a Network or a spec dict), run it and collect spikes and probes."""
    if isinstance(net, dict):
        net = Network.from_dict(net)
    compiled = compile_network(net, seed=seed if seed is not None else (net.simulation.seed or 0))
    sim = compiled.target.simulator(compiled, batch=batch, probe_neurons=probe)
    out_s, out_b, out_n, pv, pi = [], [], [], [], []

    def on_spikes(s, b, n):
        out_s.append(s.copy())
        out_b.append(b.copy())
        out_n.append(n.copy())

    def on_probe(k0, v, i):
        pv.append(v.copy())
        pi.append(i.copy())

    sim.run(net.simulation.steps if steps is None else steps, on_spikes=on_spikes, on_probe=on_probe)
    cat = lambda xs, dt: np.concatenate(xs) if xs else np.zeros(0, dtype=dt)  # noqa: E731
    n_probe = 0 if probe is None else len(probe)
    return SimResult(
        cat(out_s, np.int64),
        cat(out_b, np.int32),
        cat(out_n, np.int32),
        np.concatenate(pv) if pv else np.zeros((0, batch, n_probe)),
        np.concatenate(pi) if pi else np.zeros((0, batch, n_probe)),
        sim,
    )


def loihi_net(
    regs: dict,
    size: int = 1,
    inputs: list | None = None,
    projections: list | None = None,
    steps: int = 20,
    extra_pops: list | None = None,
) -> Network:
    """One raw-register population ``a`` (plus ``extra_pops``) in loihi arithmetic, dt = 1 ms."""
    return Network.from_dict(
        {
            "simulation": {"dt": 1.0, "steps": steps, "seed": 0, "arithmetic": "loihi"},
            "populations": [{"name": "a", "size": size, "loihi": regs}, *(extra_pops or [])],
            "inputs": inputs or [],
            "projections": projections or [],
        }
    )


def assert_one_line_error(exc: NeuroError, *needles: str) -> str:
    """The message is one line and names every ``needle`` (file, field, limit...)."""
    msg = str(exc)
    assert "\n" not in msg and "\r" not in msg, msg
    for needle in needles:
        assert needle in msg, f"{needle!r} not in {msg!r}"
    return msg


@pytest.fixture
def write_spec(tmp_path):
    """Write TOML text (dedented) to ``tmp_path/name`` and return the path."""

    def _write(text: str, name: str = "spec.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return _write


SMALL_SPEC = """\
name = "small"

[simulation]
dt = 1.0
steps = 60
seed = 3

[[inputs]]
name = "stim"
kind = "spike_times"
times = [[1.0, 5.0, 9.0], [2.0]]

[[populations]]
name = "a"
size = 2
tau_mem = 10.0
tau_syn = 2.0
v_threshold = 1.0
bias = 0.5

[[populations]]
name = "b"
size = 3
tau_mem = 10.0
tau_syn = 2.0
refractory = 2.0

[[projections]]
pre = "stim"
post = "a"
connector = "one_to_one"
weight = 5.0

[[projections]]
pre = "a"
post = "b"
weight = 4.0
delay = 2.0

[[probes]]
population = "a"
variables = ["v", "i"]
"""


@pytest.fixture
def small_spec(write_spec):
    """A small two-population spec with spike_times input, delays and a probe."""
    return write_spec(SMALL_SPEC, "small.toml")


# --------------------------------------------------------------------------- a tiny TOML writer
def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def _is_table_array(v) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def to_toml(d: dict) -> str:
    """Serialize a spec dict: plain values first, then [tables], then [[arrays of tables]]."""
    lines = [
        f"{k} = {_toml_value(v)}" for k, v in d.items() if not isinstance(v, dict) and not _is_table_array(v)
    ]
    for k, v in d.items():
        if isinstance(v, dict):
            lines += ["", f"[{k}]"] + [f"{kk} = {_toml_value(vv)}" for kk, vv in v.items()]
    for k, v in d.items():
        if _is_table_array(v):
            for item in v:
                lines += ["", f"[[{k}]]"] + [f"{kk} = {_toml_value(vv)}" for kk, vv in item.items()]
    return "\n".join(lines) + "\n"


def as_version_1(path, weight) -> None:
    """Rewrite checkpoint ``path`` as format version 1 wrote it: no user block and no seal, the
    weights as one flat vector in the engine's CSR order (``weight``) instead of /synapses."""
    import h5py

    path = Path(path)
    old = path.with_suffix(".v2")
    path.rename(old)
    with h5py.File(old, "r") as src, h5py.File(path, "w") as dst:
        for key in src:
            if key != "synapses":
                src.copy(src[key], dst, key)
        dst.attrs.update(src.attrs)
        dst.create_dataset("weight", data=weight)
        dst.attrs["format_version"] = 1
    old.unlink()
