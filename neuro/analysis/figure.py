"""Matplotlib figures without pyplot: an Agg canvas, no global state, saved as png, svg or pdf.

Matplotlib is imported inside the functions so that importing :mod:`neuro` (and
``neuro --help``) stays fast.
"""

from __future__ import annotations

from pathlib import Path

from neuro.errors import NeuroError

FORMATS = ("png", "svg", "pdf")


def new_figure(figsize, dpi: float = 100):
    """A :class:`matplotlib.figure.Figure` on an Agg canvas (works headless and in notebooks)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def output_format(path, fmt: str | None = None) -> str:
    """The format to save ``path`` in: ``fmt`` if given, else the file suffix (default png)."""
    if fmt is None:
        suffix = Path(path).suffix.lower().lstrip(".")
        fmt = suffix if suffix else "png"
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise NeuroError(f"unknown figure format {fmt!r} (known: {', '.join(FORMATS)})", str(path))
    return fmt


def save_figure(fig, path, fmt: str | None = None) -> Path:
    """Save ``fig`` to ``path`` in ``fmt`` (see :func:`output_format`); return the path."""
    fmt = output_format(path, fmt)
    path = Path(path)
    try:
        fig.savefig(path, format=fmt)
    except OSError as exc:
        raise NeuroError(f"cannot write figure: {exc.strerror or exc}", str(path)) from None
    return path
