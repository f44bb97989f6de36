r"""Streamed binning of a population's spikes for rasters: time x neuron grid, rate histogram.

One pass over the window fills, chunk by chunk,

* a grid of ``ny x nx`` spike counts: spike :math:`(t, i)` falls in column
  :math:`\lfloor (t - t_0)\, n_x / (t_1 - t_0) \rfloor` and row
  :math:`\lfloor (i - i_0)\, n_y / (i_1 - i_0) \rfloor` (row 0 = lowest neuron index);
* population spike counts in the bins of ``rate_edges`` (rate in Hz =
  count / (neurons x bin width in s));
* the spikes themselves, as long as there are at most ``max_points`` of them.

Memory is ``O(nx * ny + chunk + max_points)`` whatever the size of the file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuro.analysis.source import SpikeSource

_NICE = (1.0, 2.0, 2.5, 5.0)


def rate_bin_width(t0: float, t1: float, dt: float | None = None, target: int = 150) -> float:
    """A round bin width (1, 2, 2.5 or 5 x 10^k ms) giving about ``target`` bins, at least ``dt``."""
    raw = max((t1 - t0) / max(target, 1), dt or 0.0, 1e-9)
    exp = np.floor(np.log10(raw))
    for m in _NICE:
        w = m * 10.0**exp
        if w >= raw * (1 - 1e-9):
            return float(w)
    return float(10.0 ** (exp + 1))


def rate_edges(t0: float, t1: float, width: float) -> np.ndarray:
    """Bin edges ``t0, t0 + w, ...`` ending at ``t1`` (the last bin may be shorter)."""
    k = int(np.ceil((t1 - t0) / width - 1e-9))
    edges = t0 + width * np.arange(k + 1, dtype=np.float64)
    edges[-1] = t1
    return edges


@dataclass
class RasterScan:
    """Binned spikes of one population in a window (see module docstring)."""

    t0: float
    t1: float
    n0: int
    n1: int
    grid: np.ndarray
    edges: np.ndarray
    counts: np.ndarray
    points: tuple | None
    n_spikes: int

    @property
    def rate_hz(self) -> np.ndarray:
        """Population rate per bin of ``edges``: count / (neurons x width in s)."""
        width_s = np.diff(self.edges) / 1000.0
        return self.counts / (max(self.n1 - self.n0, 1) * width_s)


def scan_raster(
    src: SpikeSource,
    pop: str,
    t0: float,
    t1: float,
    neurons: tuple[int, int],
    nx: int,
    ny: int,
    edges: np.ndarray | None = None,
    max_points: int | None = None,
) -> RasterScan:
    """Stream ``pop``'s spikes in ``[t0, t1)`` and neurons ``[n0, n1)`` into a :class:`RasterScan`."""
    n0, n1 = neurons
    nx, ny = max(1, int(nx)), max(1, int(ny))
    span_t, span_n = t1 - t0, max(n1 - n0, 1)
    grid = np.zeros(ny * nx, np.int64)
    if edges is None:
        edges = rate_edges(t0, t1, rate_bin_width(t0, t1, src.dt))
    counts = np.zeros(edges.size - 1, np.int64)
    pts_t, pts_i, n_pts, total = [], [], 0, 0
    keep_points = max_points is not None
    for ids, ts in src.chunks(pop, t0, t1, (n0, n1)):
        total += ids.size
        col = np.minimum(((ts - t0) * (nx / span_t)).astype(np.int64), nx - 1)
        row = np.minimum((ids - n0) * ny // span_n, ny - 1)
        grid += np.bincount(row * nx + col, minlength=ny * nx)
        b = np.clip(np.searchsorted(edges, ts, side="right") - 1, 0, counts.size - 1)
        counts += np.bincount(b, minlength=counts.size)
        if keep_points:
            n_pts += ids.size
            if n_pts > max_points:
                keep_points, pts_t, pts_i = False, [], []
            else:
                pts_t.append(ts)
                pts_i.append(ids)
    points = None
    if keep_points:
        points = (
            np.concatenate(pts_t) if pts_t else np.zeros(0),
            np.concatenate(pts_i) if pts_i else np.zeros(0, np.int64),
        )
    return RasterScan(t0, t1, n0, n1, grid.reshape(ny, nx), edges, counts, points, total)
