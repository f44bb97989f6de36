"""Checkpoints of a simulation's learned and dynamic state (HDF5), for exact resumption.

A checkpoint holds everything that changes while a network runs: synaptic weights, neuron
state (ring buffer, v, currents, refractory counters, adaptive thresholds), learning traces
and flags, counters, the step, and the state of the run's generator — plus the spec, seed
and arithmetic it was compiled with. :func:`load_checkpoint` recompiles the spec with the
same seed (identical connectivity), then overwrites every array, so a resumed run continues
bit for bit as the uninterrupted one. Files are written to a temporary name and renamed:
a checkpoint is never left half-written.

Weights are stored per projection with the indices of their neurons, so a checkpoint is
readable without the emulator (:func:`neuro.io.weights.read_weights`)::

    /synapses/<k>/     attrs name, pre, post (population or input names), n_pre, n_post,
                       receptor, arithmetic, units ("mV" or "register"), register_per_mv
                       (loihi: register units per mV, 0 for raw registers), weight_exp;
                       k = the projection's index in the spec
        pre, post      uint32 (S,) neuron index within ``pre`` / ``post``, sorted by (pre, post)
        weight         (S,) float64 mV (float arithmetic) or int32 registers (loihi)
        delay          uint8 (S,) steps

Version 1 checkpoints (one flat ``weight`` vector in the engine's CSR order) still load.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

from neuro import __version__
from neuro.errors import NeuroError

FORMAT = "neuro-checkpoint"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: flat /weight vector in CSR order; 2: /synapses per projection


def save_checkpoint(sim, path, extra: dict | None = None) -> Path:
    """Write ``sim``'s state to ``path`` atomically; ``extra`` (JSON-able) is stored too."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    net = sim.net
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["version"] = __version__
        f.attrs["spec"] = json.dumps(net.spec.to_dict())
        f.attrs["seed"] = net.seed
        f.attrs["arithmetic"] = net.arithmetic
        f.attrs["step"] = sim.step
        f.attrs["batch"] = sim.batch
        f.attrs["learning"] = sim.learning
        f.attrs["adapt"] = sim.adapt
        f.attrs["rng_state"] = json.dumps(net.rng.bit_generator.state)
        f.attrs["host_ops"] = json.dumps(sim.host_ops)
        f.attrs["extra"] = json.dumps(extra or {})
        _write_synapses(f.create_group("synapses"), net)
        g = f.create_group("state")
        for k, v in sim.state.items():
            g.create_dataset(k, data=v)
        g = f.create_group("learning")
        for k, v in sim.tables.arrays.items():
            if k in (
                "x",
                "y",
                "x_last",
                "y_last",
                "x_flag",
                "y_flag",
                "x_list",
                "y_list",
                "n_list",
                "reward",
                "counts",
            ):
                g.create_dataset(k, data=v)
        if hasattr(sim.inputs, "get_state"):
            g = f.create_group("inputs")
            for k, v in sim.inputs.get_state().items():
                g.create_dataset(k, data=v)
        f.create_dataset("spike_count", data=sim.spike_count)
        f.create_dataset("overflow", data=sim.overflow)
        f.create_dataset("active", data=sim.active)  # active neuron updates (counters)
        f.create_dataset("membrane", data=sim.membrane)  # membrane updates (counters)
        f.attrs["sample_start"] = sim._sample_start
        f.create_dataset("bias", data=sim.params["bias"])
    os.replace(tmp, path)
    return path


def _write_synapses(group, net) -> None:
    """Store every projection's (pre, post, weight, delay) under ``group`` (module docstring)."""
    from neuro.io.synapses import projection_tables

    opts = {"compression": "gzip", "compression_opts": 1, "shuffle": True}
    for k, t in enumerate(projection_tables(net)):
        g = group.create_group(str(k))
        regs = net.target.weight_registers(net, k)
        if regs is not None:
            g.attrs.update(regs)
        else:
            g.attrs["units"] = "mV"
        for key, val in (
            ("name", t.name),
            ("pre", t.pre_name),
            ("post", t.post_name),
            ("n_pre", t.n_pre),
            ("n_post", t.n_post),
            ("receptor", t.receptor),
            ("arithmetic", net.arithmetic),
        ):
            g.attrs[key] = val
        chunks = (max(1, min(t.pre.size, 1 << 16)),) if t.pre.size else None
        g.create_dataset("pre", data=t.pre.astype(np.uint32), chunks=chunks, **(opts if chunks else {}))
        g.create_dataset("post", data=t.post.astype(np.uint32), chunks=chunks, **(opts if chunks else {}))
        g.create_dataset("weight", data=net.weight[t.positions], chunks=chunks, **(opts if chunks else {}))
        g.create_dataset("delay", data=net.delay[t.positions], chunks=chunks, **(opts if chunks else {}))


def _read_synapses(f, net, path) -> None:
    """Overwrite ``net.weight`` with the checkpoint's weights (either format version)."""
    from neuro.io.synapses import projection_tables

    mismatch = NeuroError("checkpoint weights do not match the network it names", str(path))
    if "synapses" not in f:  # version 1: the flat CSR vector
        w = f["weight"][()]
        if w.shape != net.weight.shape:
            raise mismatch
        net.weight[...] = w
        return
    tables = projection_tables(net)
    if len(f["synapses"]) != len(tables):
        raise mismatch
    for k, t in enumerate(tables):
        g = f["synapses"].get(str(k))
        if g is None or g["pre"].shape != t.pre.shape:
            raise mismatch
        if not (np.array_equal(g["pre"][()], t.pre) and np.array_equal(g["post"][()], t.post)):
            raise mismatch
        net.weight[t.positions] = g["weight"][()]


def read_checkpoint_meta(path) -> dict:
    """Attributes of a checkpoint (spec, seed, arithmetic, step, extra, ...), checked."""
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except FileNotFoundError:
        raise NeuroError("checkpoint not found", str(path)) from None
    except OSError:
        raise NeuroError("not an HDF5 checkpoint", str(path)) from None
    with f:
        if f.attrs.get("format") != FORMAT:
            raise NeuroError("not a neuro checkpoint", str(path))
        if int(f.attrs.get("format_version", -1)) not in READABLE_VERSIONS:
            raise NeuroError(
                f"checkpoint format version {f.attrs.get('format_version')} is not supported "
                f"(this neuro reads versions {', '.join(map(str, READABLE_VERSIONS))})",
                str(path),
            )
        meta = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
    for k in ("spec", "rng_state", "host_ops", "extra"):
        meta[k] = json.loads(meta[k])
    return meta


def load_checkpoint(
    path, probe_neurons=None, inputs=None, learning: bool | None = None, adapt: bool | None = None
):
    """Rebuild the simulator saved at ``path`` (see module docstring); returns (sim, meta)."""
    from neuro.engine import Simulator
    from neuro.network import compile_network
    from neuro.spec import Network

    meta = read_checkpoint_meta(path)
    net = Network.from_dict(meta["spec"], source=str(path))
    compiled = compile_network(net, arithmetic=meta["arithmetic"], seed=int(meta["seed"]))
    sim = Simulator(
        compiled,
        batch=int(meta["batch"]),
        probe_neurons=probe_neurons,
        inputs=inputs,
        learning=bool(meta["learning"]) if learning is None else learning,
        adapt=bool(meta["adapt"]) if adapt is None else adapt,
    )
    with h5py.File(path, "r") as f:
        _read_synapses(f, compiled, path)
        for k in sim.state:
            sim.state[k][...] = f["state"][k][()]
        for k in f["learning"]:
            if k in sim.tables.arrays and sim.tables.arrays[k].shape == f["learning"][k].shape:
                sim.tables.arrays[k][...] = f["learning"][k][()]
        if "inputs" in f and hasattr(sim.inputs, "set_state"):
            sim.inputs.set_state({k: d[()] for k, d in f["inputs"].items()})
        sim.spike_count[...] = f["spike_count"][()]
        sim.overflow[...] = f["overflow"][()]
        if "active" in f:  # absent in checkpoints written before the counter existed
            sim.active[...] = f["active"][()]
        if "membrane" in f:  # absent before the membrane-update counter
            sim.membrane[...] = f["membrane"][()]
            sim._sample_start = int(f.attrs["sample_start"])
        sim.params["bias"] = f["bias"][()]
        sim._bias_base = sim.params["bias"].copy()
    compiled.rng.bit_generator.state = meta["rng_state"]
    sim.step = int(meta["step"])
    sim.host_ops = dict(meta["host_ops"])
    return sim, meta
