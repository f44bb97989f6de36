"""Weights out of the emulator: per projection, as a dense matrix or (pre, post, weight) triplets.

:func:`read_weights` reads a checkpoint (a ``neuro train`` RUNDIR or any ``checkpoint.h5``)
or compiles a spec, and returns every projection's synapses; :func:`write_weights_npz` writes
them to one ``.npz`` that numpy alone reads (``neuro weights``). In the file, for projection
``NAME`` (its spec ``name``, else ``PRE->POST``; see
:func:`neuro.io.synapses.projection_names`):

* dense layout: ``NAME`` is the ``(n_pre, n_post)`` float64 matrix :math:`W_{ij}` (mV), 0
  where no synapse exists; loihi runs add ``NAME/register`` (int64, the chip's registers);
* sparse layout: ``NAME/pre``, ``NAME/post`` (int64 neuron indices), ``NAME/weight``
  (float64 mV), ``NAME/delay`` (int64 steps; a spike arrives ``1 + delay`` steps later);
  loihi runs add ``NAME/register``;
* ``_meta``: a JSON string with the source, arithmetic, ``dt_ms`` and, per projection, its
  pre and post population, shape, layout, synapse count, receptor and units.

``layout="auto"`` picks dense when the projection has no repeated (pre, post) pair and the
matrix is small (at most :data:`DENSE_SMALL` entries) or no larger than three entries per
synapse (the triplets' own size); sparse otherwise. In loihi arithmetic the weight in mV is
``register / register_per_mv`` (the value the register stands for); projections given as raw
registers (``weight_exp``) have no mV scale and report ``Wgt = register / 2**(6 + weight_exp)``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

import h5py
import numpy as np

from neuro.errors import NeuroError

LAYOUTS = ("auto", "dense", "sparse")
DENSE_SMALL = 1 << 16  # entries: a matrix this small is always written dense (512 KiB)


class ProjectionWeights(NamedTuple):
    """Synapses of one projection (sorted by pre, then post)."""

    pre_name: str
    post_name: str
    n_pre: int
    n_post: int
    receptor: str
    pre: np.ndarray  # int64
    post: np.ndarray  # int64
    weight: np.ndarray  # float64, mV (or raw Wgt, see ``units``)
    delay: np.ndarray  # int64, steps
    register: np.ndarray | None  # int64 Loihi registers, None in float arithmetic
    units: str  # "mV" or "Wgt (raw Loihi weight)"


class WeightSet(NamedTuple):
    """Every projection of a network, by name, with where they came from."""

    source: str
    arithmetic: str
    dt_ms: float
    projections: dict  # name -> ProjectionWeights


def _from_registers(reg: np.ndarray, per_mv: float, weight_exp: int) -> tuple[np.ndarray, str]:
    if per_mv > 0:
        return reg / per_mv, "mV"
    return reg / 2.0 ** (6 + weight_exp), "Wgt (raw Loihi weight)"


def _from_compiled(net, source: str) -> WeightSet:
    from neuro.io.synapses import projection_tables

    out = {}
    for k, t in enumerate(projection_tables(net)):
        stored = net.weight[t.positions]
        regs = net.target.weight_registers(net, k)
        if regs is not None:
            reg = stored.astype(np.int64)
            w, units = _from_registers(reg, regs["register_per_mv"], regs["weight_exp"])
        else:
            reg, w, units = None, stored.astype(np.float64), "mV"
        out[t.name] = ProjectionWeights(
            t.pre_name,
            t.post_name,
            t.n_pre,
            t.n_post,
            t.receptor,
            t.pre,
            t.post,
            w,
            net.delay[t.positions].astype(np.int64),
            reg,
            units,
        )
    return WeightSet(source, net.arithmetic, float(net.dt), out)


def _from_checkpoint_v2(f, source: str, arithmetic: str, dt: float) -> WeightSet:
    out = {}
    groups = sorted(f["synapses"].items(), key=lambda kv: int(kv[0]))
    for _, g in groups:
        a = g.attrs
        stored = g["weight"][()]
        if a["units"] == "register":
            reg = stored.astype(np.int64)
            w, units = _from_registers(reg, float(a["register_per_mv"]), int(a["weight_exp"]))
        else:
            reg, w, units = None, stored.astype(np.float64), "mV"
        out[str(a["name"])] = ProjectionWeights(
            str(a["pre"]),
            str(a["post"]),
            int(a["n_pre"]),
            int(a["n_post"]),
            str(a["receptor"]),
            g["pre"][()].astype(np.int64),
            g["post"][()].astype(np.int64),
            w,
            g["delay"][()].astype(np.int64),
            reg,
            units,
        )
    return WeightSet(source, arithmetic, dt, out)


def read_weights(source) -> WeightSet:
    """Every projection's synapses from a RUNDIR, a checkpoint file or a TOML spec.

    A checkpoint written by this version is read with h5py alone; an older one (a flat
    weight vector) and a spec are compiled with their seed to recover the indices. A spec
    gives its compiled, initial weights.
    """
    from neuro.io.checkpoint import read_checkpoint_meta

    src = Path(source)
    if src.is_dir():
        if not (src / "checkpoint.h5").is_file():
            raise NeuroError(
                "no checkpoint.h5: not a training run directory (a `neuro run` output stores no "
                "weights; pass its spec instead)",
                str(src),
            )
        src = src / "checkpoint.h5"
    if src.suffix.lower() == ".toml":
        from neuro.network import compile_network
        from neuro.spec import load_spec

        net = load_spec(src)
        compiled = compile_network(net)
        if not compiled.target.exports_weights:
            raise NeuroError(
                f"{compiled.arithmetic} networks have crossbars, not projections: no weights to export",
                str(src),
            )
        return _from_compiled(compiled, str(src))
    meta = read_checkpoint_meta(src)  # one-line errors: missing, not HDF5, not a checkpoint
    dt = float(meta["spec"].get("simulation", {}).get("dt", 1.0))
    with h5py.File(src, "r") as f:
        if "synapses" in f:
            return _from_checkpoint_v2(f, str(src), str(meta["arithmetic"]), dt)
    from neuro.io.checkpoint import load_checkpoint

    sim, _ = load_checkpoint(src, learning=False)
    return _from_compiled(sim.net, str(src))


def _duplicates(p: ProjectionWeights) -> bool:
    key = p.pre * p.n_post + p.post  # sorted by (pre, post)
    return bool(key.size > 1 and np.any(key[1:] == key[:-1]))


def choose_layout(p: ProjectionWeights, layout: str = "auto") -> str:
    """``"dense"`` or ``"sparse"`` for projection ``p`` (see module docstring)."""
    if layout == "sparse":
        return "sparse"
    dup = _duplicates(p)
    if layout == "dense":
        if dup:
            raise NeuroError(
                f"projection {p.pre_name}->{p.post_name} has several synapses between the same "
                "neurons, which one matrix cannot hold: use --layout sparse",
                field="layout",
            )
        return "dense"
    entries = p.n_pre * p.n_post
    return "dense" if not dup and (entries <= DENSE_SMALL or entries <= 3 * p.pre.size) else "sparse"


def weight_arrays(ws: WeightSet, layout: str = "auto") -> dict:
    """The arrays :func:`write_weights_npz` stores, by key (module docstring)."""
    if layout not in LAYOUTS:
        raise NeuroError(f"unknown layout {layout!r} (allowed: {', '.join(LAYOUTS)})", field="layout")
    arrays, meta = {}, {}
    for name, p in ws.projections.items():
        kind = choose_layout(p, layout)
        if kind == "dense":
            m = np.zeros((p.n_pre, p.n_post))
            m[p.pre, p.post] = p.weight
            arrays[name] = m
            if p.register is not None:
                r = np.zeros((p.n_pre, p.n_post), dtype=np.int64)
                r[p.pre, p.post] = p.register
                arrays[f"{name}/register"] = r
        else:
            arrays[f"{name}/pre"] = p.pre
            arrays[f"{name}/post"] = p.post
            arrays[f"{name}/weight"] = p.weight
            arrays[f"{name}/delay"] = p.delay
            if p.register is not None:
                arrays[f"{name}/register"] = p.register
        meta[name] = {
            "pre": p.pre_name,
            "post": p.post_name,
            "shape": [p.n_pre, p.n_post],
            "layout": kind,
            "synapses": int(p.pre.size),
            "receptor": p.receptor,
            "units": p.units,
            "delay_units": "steps",
        }
    arrays["_meta"] = np.array(
        json.dumps({"source": ws.source, "arithmetic": ws.arithmetic, "dt_ms": ws.dt_ms, "projections": meta})
    )
    return arrays


def write_weights_npz(ws: WeightSet, path, layout: str = "auto") -> Path:
    """Write ``ws`` to ``path`` (``.npz``) atomically: a temporary name, then a rename."""
    path = Path(path)
    if not path.parent.is_dir():
        raise NeuroError("directory does not exist", str(path.parent))
    arrays = weight_arrays(ws, layout)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
