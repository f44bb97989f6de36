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

import hashlib
import json
import os
from pathlib import Path

import h5py
import numpy as np

from neuro import __version__, targets
from neuro.errors import NeuroError
from neuro.io.guard import integer, reading

FORMAT = "neuro-checkpoint"
FORMAT_VERSION = 2  # 2: sealed (SHA-256 of the file in its user block), /synapses per projection
READ_VERSIONS = (1, 2)  # 1: unsealed, flat /weight vector in CSR order
READABLE_VERSIONS = READ_VERSIONS
_JSON_ATTRS = ("spec", "rng_state", "host_ops", "extra")


USERBLOCK = 512  # bytes before the HDF5 data; HDF5 ignores them
SEAL = b"neuro-checkpoint-sha256:"


def seal(path) -> None:
    """Write the SHA-256 of everything after the user block into the user block.

    The whole file is covered — data, attributes and HDF5's own metadata — and it is checked
    before HDF5 parses a byte (:func:`check_seal`): damaged HDF5 metadata can hang or crash the
    HDF5 library itself, so it must never get to read a damaged checkpoint.
    """
    with open(path, "r+b") as fh:
        digest = _digest(fh)
        fh.seek(0)
        fh.write(SEAL + digest.encode())


def _digest(fh) -> str:
    h = hashlib.sha256()
    fh.seek(USERBLOCK)
    for block in iter(lambda: fh.read(1 << 20), b""):
        h.update(block)
    return h.hexdigest()


def check_seal(path) -> bool:
    """True for a sealed, intact checkpoint; False for an unsealed (version 1) file.

    Raises :class:`NeuroError` when the seal does not match the contents, or when a version-2
    file (HDF5 data after the user block) has lost its seal.
    """
    with open(path, "rb") as fh:
        head = fh.read(USERBLOCK + 8)
        if head.startswith(SEAL):
            want = head[len(SEAL) : len(SEAL) + 64].decode("ascii", "replace")
            if _digest(fh) == want:
                return True
        elif not head[USERBLOCK:].startswith(b"\x89HDF"):
            return False
    raise NeuroError("checkpoint is damaged: its checksum does not match its contents", str(path))


def save_checkpoint(sim, path, extra: dict | None = None) -> Path:
    """Write ``sim``'s state to ``path`` atomically; ``extra`` (JSON-able) is stored too."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    net = sim.net
    with h5py.File(tmp, "w", userblock_size=USERBLOCK) as f:
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
    seal(tmp)
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
        net.weight[...] = _array(f, "weight", net.weight, path)
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
        w = _array(f, f"synapses/{k}/weight", net.weight[t.positions], path)
        net.weight[t.positions] = w


def read_checkpoint_meta(path) -> dict:
    """Attributes of a checkpoint (spec, seed, arithmetic, step, extra, ...), checked."""
    path = Path(path)
    try:
        sealed = check_seal(path)
        f = h5py.File(path, "r")
    except FileNotFoundError:
        raise NeuroError("checkpoint not found", str(path)) from None
    except IsADirectoryError:
        raise NeuroError("is a directory, not a checkpoint", str(path)) from None
    except PermissionError:
        raise NeuroError("permission denied", str(path)) from None
    except OSError:
        raise NeuroError("not an HDF5 checkpoint", str(path)) from None
    with f, reading(path, "checkpoint"):
        if f.attrs.get("format") != FORMAT:
            raise NeuroError("not a neuro checkpoint", str(path))
        version = f.attrs.get("format_version", -1)
        if not isinstance(version, int | np.integer) or int(version) not in READ_VERSIONS:
            raise NeuroError(
                f"checkpoint format version {version} is not supported "
                f"(this neuro reads versions {', '.join(map(str, READ_VERSIONS))})",
                str(path),
            )
        if int(version) >= 2 and not sealed:
            raise NeuroError("checkpoint is damaged: its checksum is missing", str(path))
        meta = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
        missing = [k for k in (*_JSON_ATTRS, "seed", "arithmetic", "step", "batch") if k not in meta]
        if missing:
            raise NeuroError(f"checkpoint lacks {', '.join(missing)}", str(path))
        for k in _JSON_ATTRS:
            try:
                meta[k] = json.loads(meta[k])
            except (TypeError, ValueError, RecursionError):
                raise NeuroError(f"checkpoint attribute {k!r} is not valid JSON", str(path)) from None
        for k in ("spec", "rng_state", "host_ops", "extra"):
            if not isinstance(meta[k], dict):
                raise NeuroError(f"checkpoint attribute {k!r} must be a JSON object", str(path))
        meta["seed"] = integer(meta["seed"], "checkpoint seed", path)
        meta["step"] = integer(meta["step"], "checkpoint step", path)
        meta["batch"] = integer(meta["batch"], "checkpoint batch", path, low=1, high=1 << 20)
        if meta["arithmetic"] not in targets.names():
            raise NeuroError(f"checkpoint arithmetic {meta['arithmetic']!r} is unknown", str(path))
    return meta


def load_checkpoint(
    path, probe_neurons=None, inputs=None, learning: bool | None = None, adapt: bool | None = None
):
    """Rebuild the simulator saved at ``path`` (see module docstring); returns (sim, meta).

    Damage (checksum mismatch, missing or misshapen arrays, NaN state) is a :class:`NeuroError`.
    """
    meta = read_checkpoint_meta(path)
    with reading(path, "checkpoint"):
        return _restore(path, meta, probe_neurons, inputs, learning, adapt)


def _array(f: h5py.File, name: str, like: np.ndarray, path) -> np.ndarray:
    """Dataset ``name`` checked against the shape of ``like`` and for finite values."""
    if not isinstance(f.get(name), h5py.Dataset):
        raise NeuroError(f"checkpoint lacks dataset {name!r}", str(path))
    d = f[name]
    if d.shape != like.shape:
        raise NeuroError(
            f"checkpoint dataset {name!r} has shape {d.shape}: the arrays do not match the network it names "
            f"(expected {like.shape})",
            str(path),
        )
    a = d[()]
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise NeuroError(f"checkpoint dataset {name!r} holds NaN or infinite values", str(path))
    return a


def _restore(path, meta, probe_neurons, inputs, learning, adapt):
    from neuro.engine import Simulator
    from neuro.network import compile_network
    from neuro.spec import Network

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
            sim.state[k][...] = _array(f, f"state/{k}", sim.state[k], path)
        for k in f["learning"]:
            if k in sim.tables.arrays and sim.tables.arrays[k].shape == f["learning"][k].shape:
                sim.tables.arrays[k][...] = f["learning"][k][()]
        if "inputs" in f and hasattr(sim.inputs, "set_state"):
            sim.inputs.set_state({k: d[()] for k, d in f["inputs"].items()})
        sim.spike_count[...] = _array(f, "spike_count", sim.spike_count, path)
        sim.overflow[...] = _array(f, "overflow", sim.overflow, path)
        if "active" in f:  # absent in checkpoints written before the counter existed
            sim.active[...] = _array(f, "active", sim.active, path)
        if "membrane" in f:  # absent before the membrane-update counter
            sim.membrane[...] = _array(f, "membrane", sim.membrane, path)
            sim._sample_start = integer(
                f.attrs.get("sample_start", -1), "checkpoint sample_start", path, low=-1
            )
        sim.params["bias"] = _array(f, "bias", sim.params["bias"], path)
        sim._bias_base = sim.params["bias"].copy()
    compiled.rng.bit_generator.state = meta["rng_state"]
    sim.step = int(meta["step"])
    sim.host_ops = dict(meta["host_ops"])
    return sim, meta
