"""Spike rasters as text, in Unicode braille, for a quick look in a terminal (over SSH).

Each character is a 2 x 4 braille cell, so a raster of ``W x H`` characters has ``2W``
time columns and ``4H`` neuron rows of dots; a dot is set when at least one spike falls in
its (time, neuron) bin (:mod:`neuro.analysis.binning`). Neuron index grows upwards, as in
the PNG raster. When more than ``BRAILLE_MAX_FILL`` of the dots would be set (a dense
raster, where dots saturate), each character shows instead the spike count of its bin in
five shades (`` ░▒▓█``, relative to the densest bin). Under each raster, one line of block
characters (``▁`` to ``█``) shows the population rate per character column, scaled to its
maximum.
"""

from __future__ import annotations

import shutil

import numpy as np

from neuro.analysis.binning import scan_raster
from neuro.analysis.source import as_source, parse_neuron_range
from neuro.errors import NeuroError

BRAILLE_BASE = 0x2800
# bit of the dot at (row within the cell, top to bottom; column)
BRAILLE_DOTS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.int64)
SPARK = " ▁▂▃▄▅▆▇█"
SHADE = " ░▒▓█"
STYLES = ("auto", "braille", "shade")
BRAILLE_MAX_FILL = 0.35  # auto: shade when more than this share of the dots would be set
DEFAULT_SIZE = (100, 30)


def braille(dots: np.ndarray) -> list[str]:
    """Encode a boolean dot matrix ``(4H, 2W)`` (row 0 at the top) as ``H`` strings of ``W`` chars."""
    r, c = dots.shape
    h, w = -(-r // 4), -(-c // 2)
    pad = np.zeros((4 * h, 2 * w), dtype=bool)
    pad[:r, :c] = dots
    cells = pad.reshape(h, 4, w, 2).transpose(0, 2, 1, 3)  # (h, w, 4, 2)
    codes = (cells * BRAILLE_DOTS).sum(axis=(2, 3)) + BRAILLE_BASE
    return ["".join(map(chr, row)) for row in codes]


def sparkline(values: np.ndarray) -> str:
    """Block characters for ``values`` scaled to their maximum (any non-zero value shows)."""
    v = np.asarray(values, dtype=np.float64)
    top = v.max(initial=0)
    if top <= 0:
        return " " * v.size
    level = np.ceil(v / top * (len(SPARK) - 1)).astype(int)
    return "".join(SPARK[i] for i in level)


def shade(grid: np.ndarray) -> list[str]:
    """Encode counts ``(H, W)`` (row 0 at the top) in shades relative to the maximum."""
    top = grid.max(initial=0)
    if top <= 0:
        return [" " * grid.shape[1]] * grid.shape[0]
    level = np.ceil(grid / top * (len(SHADE) - 1)).astype(int)
    return ["".join(SHADE[i] for i in row) for row in level]


def terminal_raster(
    source,
    populations=None,
    t_start: float | None = None,
    t_stop: float | None = None,
    neurons=None,
    width: int | None = None,
    height: int | None = None,
    style: str = "auto",
) -> str:
    """Raster of a spike file as braille text sized to the terminal.

    Parameters
    ----------
    source : path-like or SpikeSource
    populations, t_start, t_stop, neurons
        As for :func:`neuro.analysis.raster.raster_figure`.
    width, height : int, optional
        Characters and lines to fill (default: :func:`shutil.get_terminal_size`).
    style : {"auto", "braille", "shade"}
        Braille dots, shaded blocks, or braille unless the raster is dense (see above).

    Returns
    -------
    str
        Per population: a header line, ``H`` raster lines (``label ┤`` then ``W`` braille
        characters), a rate line; then a time axis.
    """
    cols, lines = shutil.get_terminal_size(DEFAULT_SIZE)
    cols = int(width or cols)
    lines = int(height or lines)
    if style not in STYLES:
        raise NeuroError(f"unknown terminal style {style!r} (known: {', '.join(STYLES)})")
    rng = parse_neuron_range(neurons) if isinstance(neurons, str) or neurons is None else tuple(neurons)
    src, own = as_source(source)
    try:
        pops = src.check_populations(populations)
        t0, t1 = src.window(t_start, t_stop)
        sel = {p: src.neuron_window(p, rng) for p in pops}
        label_w = max(4, *(len(str(n1 - 1)) for _, n1 in sel.values()))
        w = max(8, cols - label_w - 2)
        # one line of title, per population a header and a rate line, two lines of time axis,
        # one line left for the prompt
        h_all = max(1, (lines - 4 - 2 * len(pops)) // len(pops))
        edges = t0 + (t1 - t0) * np.arange(w + 1) / w
        note = "" if src.complete else "  (INCOMPLETE: interrupted run)"
        out = [f"{src.path.name}: [{t0:g}, {t1:g}) ms{note}"]
        for p in pops:
            n0, n1 = sel[p]
            if n1 <= n0:
                out.append(f"{p}: no neurons")
                continue
            # no more character rows than 4 neurons each, but two (bottom and top label) if possible
            h = max(min(h_all, -(-(n1 - n0) // 4)), 2 if n1 - n0 >= 2 else 1)
            scan = scan_raster(src, p, t0, t1, (n0, n1), 2 * w, 4 * h, edges)
            dots = scan.grid[::-1] > 0  # row 0 = top = highest neuron index
            if style == "shade" or (style == "auto" and dots.mean() > BRAILLE_MAX_FILL):
                cells = scan.grid[::-1].reshape(h, 4, w, 2).sum(axis=(1, 3))
                rows = shade(cells)
            else:
                rows = braille(dots)
            mean = scan.n_spikes / max(n1 - n0, 1) / ((t1 - t0) / 1000.0)
            peak = float(scan.rate_hz.max(initial=0))
            out.append(
                f"{p}: {scan.n_spikes} spikes, neurons {n0}-{n1 - 1}, mean {mean:.3g} Hz, peak {peak:.3g} Hz"
            )
            for i, row in enumerate(rows):
                label = str(n1 - 1) if i == 0 else (str(n0) if i == h - 1 else "")
                out.append(f"{label:>{label_w}} ┤{row}")
            out.append(f"{'Hz':>{label_w}} ┤{sparkline(scan.counts)}")
        marks = (0, w // 2, w - 1)
        out.append(" " * label_w + " └" + "".join("┬" if j in marks else "─" for j in range(w)))
        ticks = [" "] * w
        mid, right = f"{(t0 + t1) / 2:g}", f"{t1:g} ms"
        for pos, text in ((0, f"{t0:g}"), (w // 2 - len(mid) // 2, mid), (w - len(right), right)):
            pos = max(pos, 0)
            ticks[pos : pos + len(text)] = list(text)
        out.append(" " * (label_w + 2) + "".join(ticks)[:w].rstrip())
        return "\n".join(line[:cols] for line in out)
    finally:
        if own:
            src.close()
