"""Heat maps of the core mesh: resource utilization of a mapped spec, or spike activity of a run.

Every core is drawn at its mesh position ``(x, y)`` (``ChipProfile.core_xy``; chips are tiled
along x). Utilization of a resource on a core is ``100 * used / limit`` (%), or the raw count
when the chip profile has no limit; activity is the number of spikes of the neurons placed
on the core (``/emulator/placement``) in the time window. Mesh positions without a core in
use are left blank.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np

from neuro.errors import NeuroError
from neuro.io.guard import reading
from neuro.mapping import RESOURCES, Placement

METRICS = ("utilization", "activity")
BINDING = "binding"  # the resource nearest its limit
_ANNOTATE_MAX_CELLS = 512


@dataclass
class CoreMap:
    """Per-core values with their mesh coordinates, ready to draw.

    Attributes
    ----------
    values : numpy.ndarray (n_cores,)
    coords : numpy.ndarray (n_cores, 3)
        chip, x, y.
    mesh : (int, int)
        Columns and rows of the drawn mesh.
    mesh_cols : int or None
        Columns per chip (to draw chip boundaries).
    label, title : str
    percent : bool
        Values are percentages of a limit.
    """

    values: np.ndarray
    coords: np.ndarray
    mesh: tuple
    mesh_cols: int | None
    label: str
    title: str
    percent: bool = False

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """``(values, core index)`` as ``(rows, cols)`` arrays (NaN and -1 where no core)."""
        cols, rows = self.mesh
        val = np.full((rows, cols), np.nan)
        idx = np.full((rows, cols), -1, np.int64)
        x, y = self.coords[:, 1], self.coords[:, 2]
        val[y, x] = self.values
        idx[y, x] = np.arange(len(self.values))
        return val, idx


def _mesh(coords: np.ndarray, profile) -> tuple[tuple, int | None]:
    cols = int(coords[:, 1].max(initial=0)) + 1
    rows = int(coords[:, 2].max(initial=0)) + 1
    if profile is not None and profile.cores_per_chip is not None:
        chips = int(coords[:, 0].max(initial=0)) + 1
        return (max(cols, chips * profile.mesh_cols), max(rows, profile.mesh_rows)), profile.mesh_cols
    return (cols, rows), None


def binding_resource(placement: Placement) -> str:
    """The resource closest to its limit on some core: ``argmax_r max_c used[r, c] / limit[r]``
    (``compartments`` when the profile has no limits)."""
    best, best_frac = "compartments", -1.0
    for res, limit in placement.profile.limits().items():
        if res in RESOURCES and limit:
            frac = float(np.max(placement.usage[res], initial=0)) / limit
            if frac > best_frac:
                best, best_frac = res, frac
    return best


def placement_map(placement: Placement, resource: str = "compartments", name: str = "") -> CoreMap:
    """Utilization of ``resource`` per core of a :class:`~neuro.mapping.Placement`
    (``"binding"``: the resource closest to its limit, see :func:`binding_resource`)."""
    binding = resource == BINDING
    if binding:
        resource = binding_resource(placement)
    if resource not in RESOURCES:
        raise NeuroError(f"unknown resource {resource!r} (known: {', '.join(RESOURCES)}, {BINDING})")
    used = np.asarray(placement.usage[resource], dtype=np.float64)
    limit = placement.profile.limits()[resource]
    coords = placement.core_coords()
    mesh, mesh_cols = _mesh(coords, placement.profile)
    res = resource.replace("_", " ")
    head = f"{name}: " if name else ""
    title = f"{head}{res}{' (the binding resource)' if binding else ''} on {placement.n_cores} "
    title += f"{placement.profile.name} cores"
    if limit:
        return CoreMap(
            100.0 * used / limit, coords, mesh, mesh_cols, f"{res} used (% of {limit})", title, True
        )
    return CoreMap(used, coords, mesh, mesh_cols, f"{res} used (no limit)", title)


def spec_map(
    spec, resource: str = "compartments", chip: str | None = None, chips: int | None = None
) -> CoreMap:
    """Map a TOML spec (compile, place) and return its utilization :class:`CoreMap`."""
    from neuro.chips import get_profile
    from neuro.mapping import place
    from neuro.network import compile_network
    from neuro.resources import check_resources
    from neuro.spec import load_spec

    net = load_spec(spec)
    if chip is not None or chips is not None:
        try:
            net = net.with_simulation(chip=chip, chips=chips)
        except NeuroError as exc:
            inside = (exc.field or "").startswith("simulation")
            raise exc.at(net.source, None if inside else "simulation") from None
    check_resources(net, get_profile(net.simulation.chip), net.simulation.chips)  # before building
    placement = place(compile_network(net), get_profile(net.simulation.chip), net.simulation.chips)
    return placement_map(placement, resource, Path(spec).name)


def run_activity_map(source, t_start: float | None = None, t_stop: float | None = None) -> CoreMap:
    """Spikes per core of a run (``spikes.h5`` or run directory) from its stored placement."""
    from neuro.analysis.source import as_source
    from neuro.analysis.summary import core_table, neuron_counts
    from neuro.chips import get_profile

    src, own = as_source(source)
    try:
        if src.cores is None or not any(src.placement(p) is not None for p in src.populations):
            raise NeuroError(
                "no /emulator/placement and /emulator/cores: not a run of this emulator", str(src.path)
            )
        t0, t1 = src.window(t_start, t_stop)
        counts = {p: neuron_counts(src, p, t0, t1) for p in src.populations if src.placement(p) is not None}
        table = core_table(src, counts)
        values = np.array([r["spikes"] for r in table["per_core"]], dtype=np.float64)
        coords = src.cores[: len(values)]
        try:
            profile = get_profile(str(src.meta.get("chip")))
        except NeuroError:
            profile = None
        mesh, mesh_cols = _mesh(coords, profile)
        title = f"{src.path.name}: spikes per core in [{t0:g}, {t1:g}) ms"
        if not src.complete:
            title += " (INCOMPLETE run)"
        return CoreMap(values, coords, mesh, mesh_cols, "spikes", title)
    finally:
        if own:
            src.close()


def run_utilization_map(source, resource: str = "compartments") -> CoreMap:
    """Utilization of a run: its stored spec (``/emulator`` attr ``spec``) mapped again."""
    from neuro.analysis.source import as_source
    from neuro.chips import get_profile
    from neuro.mapping import place
    from neuro.network import compile_network
    from neuro.spec import Network

    src, own = as_source(source)
    try:
        text = src.meta.get("spec")
        if not text:
            raise NeuroError(
                "no stored spec (/emulator attr spec): cannot compute utilization", str(src.path)
            )
        with reading(src.path, "spike file"):
            spec = json.loads(text)
        net = Network.from_dict(spec, source=str(src.path), base_dir=src.path.parent)
        placement = place(compile_network(net), get_profile(net.simulation.chip), net.simulation.chips)
        return placement_map(placement, resource, src.path.name)
    finally:
        if own:
            src.close()


def is_spec(path) -> bool:
    """Whether ``path`` names a TOML spec (else a spikes.h5, a run directory or an open source)."""
    return isinstance(path, str | PathLike) and Path(path).suffix.lower() == ".toml"


def core_map(source, metric: str | None = None, resource: str = "compartments", **kw) -> CoreMap:
    """The :class:`CoreMap` of a spec (utilization) or a run (activity by default)."""
    if metric is not None and metric not in METRICS:
        raise NeuroError(f"unknown metric {metric!r} (known: {', '.join(METRICS)})")
    if resource not in (*RESOURCES, BINDING):
        raise NeuroError(f"unknown resource {resource!r} (known: {', '.join(RESOURCES)}, {BINDING})")
    if is_spec(source):
        if metric == "activity":
            raise NeuroError(
                "a spec has no spikes: activity needs a run (spikes.h5 or run directory)", str(source)
            )
        return spec_map(source, resource, kw.get("chip"), kw.get("chips"))
    if metric == "utilization":
        return run_utilization_map(source, resource)
    return run_activity_map(source, kw.get("t_start"), kw.get("t_stop"))


def cores_figure(
    source,
    metric: str | None = None,
    resource: str = "compartments",
    *,
    figsize: tuple | None = None,
    dpi: float = 100,
    **kw,
):
    """Heat map of the core mesh (see :func:`core_map`); returns a matplotlib Figure.

    Parameters
    ----------
    source : path-like or CoreMap
        A TOML spec, a ``spikes.h5``, a run directory, or a ready :class:`CoreMap`.
    metric : {"utilization", "activity"}, optional
        Default: utilization for a spec, activity for a run.
    resource : str
        One of :data:`neuro.mapping.RESOURCES` (for utilization).
    figsize : (float, float), optional
    dpi : float
    **kw
        ``chip``, ``chips`` (spec overrides), ``t_start``, ``t_stop`` (activity window, ms).
    """
    from matplotlib.ticker import FixedLocator, MaxNLocator

    from neuro.analysis.figure import new_figure

    cm = source if isinstance(source, CoreMap) else core_map(source, metric, resource, **kw)
    val, idx = cm.grid()
    rows, cols = val.shape
    left, right, bottom, top = 0.8, 1.3, 0.6, 0.5  # inches around the mesh
    if figsize is None:
        cell = float(min(0.9, 11.0 / cols, 9.0 / rows))
        figsize = (max(left + right + cols * cell, 5.5), max(bottom + top + rows * cell, 3.0))
    fw, fh = figsize
    fig = new_figure(figsize, dpi)
    aw, ah = max(fw - left - right, 0.5), max(fh - bottom - top, 0.5)
    ax = fig.add_axes((left / fw, bottom / fh, aw / fw, ah / fh), label="cores")
    cax = fig.add_axes(((fw - right + 0.25) / fw, bottom / fh, 0.15 / fw, ah / fh), label="colorbar")
    cmap = _cmap()
    vmax = 100.0 if cm.percent else max(float(np.nanmax(val)) if np.isfinite(val).any() else 1.0, 1.0)
    im = ax.imshow(
        np.ma.masked_invalid(val),
        origin="lower",
        cmap=cmap,
        vmin=0,
        vmax=vmax,
        interpolation="nearest",
        aspect="equal",
        extent=(-0.5, cols - 0.5, -0.5, rows - 0.5),
    )
    fig.colorbar(im, cax=cax).set_label(cm.label)
    ax.set_xlabel("mesh x")
    ax.set_ylabel("mesh y")
    for axis, n in ((ax.xaxis, cols), (ax.yaxis, rows)):
        axis.set_major_locator(FixedLocator(range(n)) if n <= 16 else MaxNLocator(integer=True))
    ax.set_title(cm.title, fontsize=10)
    if cm.mesh_cols:
        for c in range(cm.mesh_cols, cols, cm.mesh_cols):
            ax.axvline(c - 0.5, color="k", linewidth=1.5)
    if rows * cols <= _ANNOTATE_MAX_CELLS:
        cell_in = min(aw / cols, ah / rows)
        size = float(np.clip(cell_in * 72 / 3.2, 4, 9))
        for y, x in zip(*np.nonzero(idx >= 0), strict=True):
            v = val[y, x]
            text = f"{v:.0f}%" if cm.percent else f"{v:.0f}"
            dark = cmap((v / vmax) if vmax else 0)[:3]
            color = "k" if 0.299 * dark[0] + 0.587 * dark[1] + 0.114 * dark[2] > 0.5 else "w"
            ax.text(x, y, f"{idx[y, x]}\n{text}", ha="center", va="center", fontsize=size, color=color)
    return fig


def _cmap():
    import matplotlib

    return matplotlib.colormaps["viridis"].with_extremes(bad="#eeeeee")
