"""Spike rasters: per population, spikes over time and neuron index with the population rate under it.

A raster is drawn as points while they stay readable (at most one spike per
``POINTS_PER_PIXEL``-th pixel of the raster axes, or ``max_points``), else as a density
image: a 2-D histogram of spikes per (time bin x neuron bin) with one bin per pixel,
streamed chunk by chunk (:mod:`neuro.analysis.binning`), so a file of 10^7 spikes is never
loaded at once. The rate panel shows the population rate in Hz: spikes in a bin /
(neurons shown x bin width in s).
"""

from __future__ import annotations

import numpy as np

from neuro.analysis.binning import rate_bin_width, rate_edges, scan_raster
from neuro.analysis.figure import new_figure
from neuro.analysis.source import as_source, parse_neuron_range
from neuro.errors import NeuroError

POINTS_PER_PIXEL = 0.1  # points mode while spikes <= 0.1 x pixels of the raster axes
MODES = ("auto", "points", "density")

# layout, inches
_LEFT, _RIGHT, _TOP, _BOTTOM = 0.95, 1.05, 0.45, 0.55
_TITLE, _GAP_RATE, _GAP_POP = 0.28, 0.08, 0.35
_RASTER_H, _RATE_H = 2.6, 0.85


def _layout(n_pops: int, width: float, height: float | None):
    """Axes rectangles (figure fractions) and the figure height."""
    fixed = _TOP + _BOTTOM + n_pops * (_TITLE + _GAP_RATE) + (n_pops - 1) * _GAP_POP
    if height is None:
        rh, hh = _RASTER_H, _RATE_H
        height = fixed + n_pops * (rh + hh)
    else:
        free = max(height - fixed, 0.2 * n_pops)
        rh, hh = free / n_pops * 0.75, free / n_pops * 0.25
    rects, y = [], height - _TOP
    w = max(width - _LEFT - _RIGHT, 0.5)
    for _ in range(n_pops):
        y -= _TITLE + rh
        raster = (_LEFT / width, y / height, w / width, rh / height)
        y -= _GAP_RATE + hh
        rate = (_LEFT / width, y / height, w / width, hh / height)
        y -= _GAP_POP
        rects.append((raster, rate))
    return rects, height, (w, rh)


def _density_cmap():
    from matplotlib.colors import LinearSegmentedColormap

    cmap = LinearSegmentedColormap.from_list("neuro_spikes", ["#b0b0b0", "#000000"])
    return cmap.with_extremes(bad=(0, 0, 0, 0))


def _neurons(n0: int, n1: int) -> str:
    return f"neurons {n0}-{n1 - 1}" if n1 > n0 else "no neurons"


def raster_figure(
    source,
    populations=None,
    t_start: float | None = None,
    t_stop: float | None = None,
    neurons=None,
    *,
    mode: str = "auto",
    max_points: int | None = None,
    figsize: tuple | None = None,
    dpi: float = 100,
    antialiased: bool = True,
    rate_bin_ms: float | None = None,
):
    """Raster plot of a spike file, one raster and rate panel per population.

    Parameters
    ----------
    source : path-like or SpikeSource
        A ``spikes.h5``, a run directory or an open :class:`~neuro.analysis.source.SpikeSource`.
    populations : list of str, optional
        Populations to show (default all, in the spec's order).
    t_start, t_stop : float, optional
        Time window ``[t_start, t_stop)`` in ms (default: the recording).
    neurons : str or (int, int or None), optional
        Neuron range within each population, ``"0:100"`` or ``(0, 100)``.
    mode : {"auto", "points", "density"}
        ``auto`` draws points when there are at most ``max_points`` spikes, else density.
    max_points : int, optional
        Default: ``POINTS_PER_PIXEL`` x the pixels of a raster axes.
    figsize : (float, float), optional
        Inches; default 10 wide and 4.6 per population.
    dpi : float
    antialiased : bool
        Off gives crisp, exactly placed pixels (used by the tests).
    rate_bin_ms : float, optional
        Bin width of the rate panel (default about 150 round bins).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.colors import LogNorm, Normalize
    from matplotlib.ticker import MaxNLocator

    if mode not in MODES:
        raise NeuroError(f"unknown raster mode {mode!r} (known: {', '.join(MODES)})")
    rng = parse_neuron_range(neurons) if isinstance(neurons, str) or neurons is None else tuple(neurons)
    src, own = as_source(source)
    try:
        pops = src.check_populations(populations)
        t0, t1 = src.window(t_start, t_stop)
        sel = {p: src.neuron_window(p, rng) for p in pops}
        width = 10.0 if figsize is None else float(figsize[0])
        rects, height, (ax_w, ax_h) = _layout(len(pops), width, None if figsize is None else figsize[1])
        fig = new_figure((width, height), dpi)
        nx, ny_px = max(1, int(round(ax_w * dpi))), max(1, int(round(ax_h * dpi)))
        limit = int(POINTS_PER_PIXEL * nx * ny_px) if max_points is None else int(max_points)
        width_ms = rate_bin_ms or rate_bin_width(t0, t1, src.dt)
        if width_ms <= 0:
            raise NeuroError("rate bin width must be positive")
        edges = rate_edges(t0, t1, width_ms)
        ax_rate = None
        for p, (r_raster, r_rate) in zip(pops, rects, strict=True):
            n0, n1 = sel[p]
            ny = max(1, min(n1 - n0, ny_px))
            scan = scan_raster(src, p, t0, t1, (n0, n1), nx, ny, edges, None if mode == "density" else limit)
            ax = fig.add_axes(r_raster, label=f"raster:{p}")
            ax_rate = fig.add_axes(r_rate, label=f"rate:{p}", sharex=ax)
            draw_points = scan.points is not None and mode != "density"
            if mode == "points" and not draw_points:
                raise NeuroError(f"population {p!r}: {scan.n_spikes} spikes exceed max_points={limit}")
            if draw_points:
                ts, ids = scan.points
                row_pt = ax_h * 72.0 / max(n1 - n0, 1)
                ax.plot(
                    ts,
                    ids,
                    linestyle="none",
                    marker="|",
                    markersize=float(np.clip(0.9 * row_pt, 3.0, 8.0)),
                    markeredgewidth=1.0,
                    color="k",
                    antialiased=antialiased,
                )
            else:
                vmax = max(2, int(scan.grid.max()))
                norm = Normalize(0, vmax) if vmax <= 20 else LogNorm(1, vmax)
                im = ax.imshow(
                    np.ma.masked_equal(scan.grid, 0),
                    origin="lower",
                    aspect="auto",
                    interpolation="nearest",
                    extent=(t0, t1, n0 - 0.5, n1 - 0.5),
                    cmap=_density_cmap(),
                    norm=norm,
                    resample=False,
                )
                cax = ax.inset_axes([1.012, 0.0, 0.018, 1.0])
                cb = fig.colorbar(im, cax=cax)
                cb.set_label(f"spikes per {(t1 - t0) / nx:.3g} ms x {(n1 - n0) / ny:.3g} neurons", fontsize=8)
                cb.ax.tick_params(labelsize=7)
                if vmax <= 20:
                    cb.locator = MaxNLocator(integer=True)
                    cb.update_ticks()
            ax.set_xlim(t0, t1)
            ax.set_ylim(n0 - 0.5, max(n1, n0 + 1) - 0.5)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
            ax.set_ylabel("neuron index")
            ax.tick_params(labelbottom=False)
            mean = scan.n_spikes / max(n1 - n0, 1) / ((t1 - t0) / 1000.0)
            drawn = "points" if draw_points else "density"
            ax.set_title(
                f"{p}: {scan.n_spikes} spikes, {_neurons(n0, n1)}, mean {mean:.3g} Hz ({drawn})",
                loc="left",
                fontsize=9,
            )
            rate = scan.rate_hz
            ax_rate.stairs(rate, edges, fill=True, color="0.35", antialiased=antialiased)
            ax_rate.set_ylim(0, max(float(rate.max(initial=0)) * 1.1, 1e-9) if rate.size else 1)
            ax_rate.yaxis.set_major_locator(MaxNLocator(nbins=3))
            ax_rate.set_ylabel("rate (Hz)", fontsize=8)
            ax_rate.tick_params(labelbottom=False, labelsize=8)
        ax_rate.tick_params(labelbottom=True)
        ax_rate.set_xlabel("time (ms)")
        note = "" if src.complete else "  (INCOMPLETE: interrupted run)"
        fig.text(
            _LEFT / width,
            1 - 0.12 / height,
            f"{src.path.name}: [{t0:g}, {t1:g}) ms{note}",
            va="top",
            ha="left",
            fontsize=10,
            color="k" if src.complete else "#b00000",
        )
        return fig
    finally:
        if own:
            src.close()
