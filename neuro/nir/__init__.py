"""NIR (Neuromorphic Intermediate Representation) import and export (``docs/nir.md``).

* :func:`graph_network` / :func:`load_nir`: a NIR graph → a spec (:class:`neuro.spec.Network`),
  the same pure data a TOML file gives (:mod:`neuro.nir.importer`);
* :func:`with_input`: the spikes of an array ``X`` (steps, *input_shape) as the graph input;
  :func:`with_currents`: real values of ``X`` as currents held over each step;
* :func:`import_nir`: graph → TOML spec with its ``.npy`` files beside it;
* :func:`run_nir`, :func:`map_nir`: run or place a graph;
* :func:`export_nir`: spec → graph (:mod:`neuro.nir.exporter`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from neuro.errors import NeuroError

try:
    import nir  # noqa: F401  (the nir package is an extra: pip install 'neuro[nir]')
except ImportError:  # pragma: no cover - installed with the test extra
    raise NeuroError("NIR support needs the 'nir' package: pip install 'neuro[nir]'") from None

from neuro.nir.currents import with_currents  # noqa: E402
from neuro.nir.exporter import export_graph, export_nir  # noqa: E402
from neuro.nir.graph import read_graph  # noqa: E402
from neuro.nir.importer import TIME_UNITS, GraphImport  # noqa: E402
from neuro.nir.specfile import write_spec  # noqa: E402
from neuro.spec import Input  # noqa: E402

__all__ = [
    "TIME_UNITS",
    "export_graph",
    "export_nir",
    "graph_network",
    "import_nir",
    "load_nir",
    "map_nir",
    "read_graph",
    "run_nir",
    "with_currents",
    "with_input",
]


def _unit(time_unit: str) -> float:
    if time_unit not in TIME_UNITS:
        raise NeuroError(f"time unit must be one of {', '.join(TIME_UNITS)}, got {time_unit!r}")
    return TIME_UNITS[time_unit]


def graph_network(graph, dt: float, weights_dir, time_unit: str = "s", name: str = "nir", steps: int = 0):
    """The spec of a NIR graph (a ``nir.NIRGraph``) stepped at ``dt`` ms; its connectivity files
    go to ``weights_dir``. Graph times are in ``time_unit`` (``s``: NIR's convention, or ``ms``)."""
    if not (isinstance(dt, int | float) and dt > 0):
        raise NeuroError(f"dt must be > 0 ms, got {dt!r}", field="dt")
    return GraphImport(graph, dt, _unit(time_unit)).network(Path(weights_dir), name=name, steps=steps)


def load_nir(path, dt: float, weights_dir, time_unit: str = "s"):
    """:func:`graph_network` of the ``.nir`` file ``path`` (errors name the file)."""
    path = Path(path)
    graph = read_graph(path)
    try:
        return graph_network(graph, dt, weights_dir, time_unit, name=_spec_name(path))
    except NeuroError as exc:
        raise exc.at(str(path)) from None


def _spec_name(path: Path) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_]", "_", path.stem) or "nir"


def load_input(path) -> np.ndarray:
    path = Path(path)
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise NeuroError(f"not a readable .npy array: {exc}", str(path)) from None
    return x


def _is_spikes(x: np.ndarray) -> bool:
    """Spikes are non-negative integer counts; anything else is read as currents."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        return False
    return bool(np.all(np.isfinite(x)) and np.all(x >= 0) and np.all(x == np.rint(x)))


def with_input(net, x: np.ndarray, source: str | None = None):
    """``net`` with its one external input (the graph's ``Input`` node) fed the spikes of ``x``:
    shape ``(steps, *input_shape)``, non-negative integers (0/1 spikes or counts per step); the
    ``c`` spikes of step ``k`` are ``c`` events at ``k * dt``. The run's steps default to
    ``len(x)``."""
    ext = [s for s in net.inputs if s.kind == "external"]
    if len(ext) != 1:
        raise NeuroError(f"the graph has {len(ext)} Input nodes; --input feeds exactly one", source)
    x = np.asarray(x)
    if x.ndim < 1 or x.size == 0:
        raise NeuroError("input must be an array of shape (steps, *input_shape)", source)
    if x.dtype.kind not in "biuf" or not np.all(np.isfinite(x)):
        raise NeuroError("input must hold finite numbers", source)
    flat = x.reshape(x.shape[0], -1)
    if flat.shape[1] != ext[0].size:
        raise NeuroError(
            f"input has {flat.shape[1]} values per step ({x.shape[1:]}) but Input node {ext[0].name!r} "
            f"has {ext[0].size}",
            source,
        )
    if not _is_spikes(flat):
        raise NeuroError(
            "input must be spikes: non-negative integer counts per step (real values are currents: "
            "neuro.nir.currents.with_currents, which run_nir uses for them)",
            source,
        )
    dt = net.simulation.dt
    counts = flat.astype(np.int64)
    times = []
    for ch in range(counts.shape[1]):
        steps = np.repeat(np.arange(counts.shape[0]), counts[:, ch])
        times.append([float(k * dt) for k in steps])
    new = Input(name=ext[0].name, kind="spike_times", size=ext[0].size, times=times)
    inputs = tuple(new if s is ext[0] else s for s in net.inputs)
    from dataclasses import replace

    out = replace(net, inputs=inputs)
    return out.with_simulation(steps=int(counts.shape[0]))


def import_nir(path, dt: float, spec_path, time_unit: str = "s"):
    """Write the spec of the graph ``path`` to ``spec_path`` (TOML) with its ``.npy`` files in
    ``<spec stem>_weights/`` beside it; return the network."""
    import shutil

    spec_path = Path(spec_path)
    weights = spec_path.parent / f"{spec_path.stem}_weights"
    fresh = not weights.exists()
    try:
        net = load_nir(path, dt, weights, time_unit)
        write_spec(net, spec_path)
    except BaseException:
        if fresh:  # no half-written output
            shutil.rmtree(weights, ignore_errors=True)
        raise
    return net


def run_nir(
    path,
    dt: float,
    input_path,
    outdir,
    time_unit: str = "s",
    steps=None,
    seed=None,
    arithmetic=None,
    chip=None,
    chips=None,
    overwrite: bool = False,
    progress: bool = True,
):
    """Import the graph ``path``, feed it ``input_path`` (see :func:`with_input`; no input: the
    graph runs without input spikes) and run it like ``neuro run`` (:func:`neuro.run.run_spec`)."""
    from neuro.run import check_outdir, prepare, run_spec

    check_outdir(Path(outdir), overwrite)
    with tempfile.TemporaryDirectory(prefix="neuro-nir-") as tmp:
        graph = read_graph(path)
        try:
            gi = GraphImport(graph, dt, _unit(time_unit))
            net = gi.network(Path(tmp), name=_spec_name(Path(path)))
        except NeuroError as exc:
            raise exc.at(str(path)) from None
        if input_path is not None:
            x = load_input(input_path)
            if _is_spikes(x):
                net = with_input(net, x, str(input_path))
            else:  # real values: currents held over each step
                net = with_currents(gi, net, x, str(input_path))
        elif steps is None:
            raise NeuroError("give --steps or --input (whose length sets the steps)")
        net = prepare(net, steps, seed, arithmetic, chip, chips)
        return run_spec(net, outdir, overwrite=overwrite, progress=progress)


def map_nir(path, dt: float, time_unit: str = "s", arithmetic=None, chip=None, chips=None, seed=None):
    """Place the graph ``path``: ``(placement, notes)`` where the notes say which synapses come
    from shared (convolution/pooling) weights."""
    from neuro.chips import get_profile
    from neuro.mapping import place
    from neuro.network import compile_network
    from neuro.run import prepare

    graph = read_graph(path)
    with tempfile.TemporaryDirectory(prefix="neuro-nir-") as tmp:
        try:
            gi = GraphImport(graph, dt, _unit(time_unit))
            net = gi.network(Path(tmp), name=_spec_name(Path(path)))
        except NeuroError as exc:
            raise exc.at(str(path)) from None
        net = prepare(net, None, seed, arithmetic, chip, chips)
        compiled = compile_network(net)
        placement = place(compiled, get_profile(net.simulation.chip), net.simulation.chips)
    return placement, shared_weight_notes(gi, compiled)


def shared_weight_notes(gi: GraphImport, compiled) -> list[str]:
    """One line per convolution/pooling node: its shared weights against the synapses written out."""
    notes = []
    for name, node in gi.nodes.items():
        kind = type(node).__name__
        if kind in ("Conv1d", "Conv2d"):
            k = int(np.count_nonzero(node.weight))
            notes.append(
                f"note: {kind} {name!r} shares {k} kernel weights over its output; each synapse is stored "
                f"per core here (Loihi 1 cannot share weights; a convolutional chip stores the kernel once)"
            )
        elif kind in ("SumPool2d", "AvgPool2d"):
            notes.append(
                f"note: {kind} {name!r} applies one weight to every window; each synapse is stored per core "
                "here (Loihi 1 cannot share weights)"
            )
    if notes:
        notes.append(f"note: {compiled.n_synapses} synapses in all, counted per core as stored")
    return notes
