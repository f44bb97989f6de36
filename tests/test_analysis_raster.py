"""Raster images: spikes land on the right pixels; windows are read in bounded chunks."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from neuro.analysis.raster import raster_figure
from neuro.analysis.source import SpikeSource
from neuro.io.sonata import iter_spike_window, time_index
from tests.analysis_files import write_ours, write_plain

# (time ms, neuron) of the test raster: 10 neurons, recording [0, 100) ms, dt 0.1 ms
SPIKES = [(10.0, 1), (50.0, 5), (90.0, 8), (30.0, 8)]
FIGSIZE, DPI = (6, 4), 100


@pytest.fixture
def small_file(tmp_path):
    t = np.array([s[0] for s in SPIKES])
    i = np.array([s[1] for s in SPIKES])
    order = np.argsort(t)
    steps = np.rint(t[order] / 0.1).astype(np.int64)
    return write_ours(tmp_path / "s.h5", {"p": (10, i[order], steps)}, steps=1000)


def _render(fig):
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].astype(int)
    return img, img.shape[0]


def _axes(fig, label):
    return next(a for a in fig.axes if a.get_label() == label)


def _inner_dark(img, height, ax, margin=3):
    """(x, y) display coordinates of the non-white pixels strictly inside ``ax``."""
    bb = ax.get_window_extent()
    ys, xs = np.nonzero(img.min(axis=2) < 230)
    x, y = xs + 0.5, height - ys - 0.5  # pixel centres, display coordinates (origin bottom left)
    inside = (x > bb.x0 + margin) & (x < bb.x1 - margin) & (y > bb.y0 + margin) & (y < bb.y1 - margin)
    return x[inside], y[inside]


def _spike_px(ax):
    return ax.transData.transform(np.array([[t, i] for t, i in SPIKES], dtype=float))


@pytest.mark.parametrize("mode", ["points", "density"])
def test_raster_pixels_at_spikes_only(small_file, mode):
    fig = raster_figure(small_file, figsize=FIGSIZE, dpi=DPI, antialiased=False, mode=mode)
    img, h = _render(fig)
    ax = _axes(fig, "raster:p")
    x, y = _inner_dark(img, h, ax)
    centres = _spike_px(ax)
    row_px = abs(ax.transData.transform((0, 1))[1] - ax.transData.transform((0, 0))[1])
    # every dark pixel belongs to a spike: within 2 px in time and half a neuron row
    dx = np.abs(x[:, None] - centres[None, :, 0])
    dy = np.abs(y[:, None] - centres[None, :, 1])
    near = (dx <= 2.5) & (dy <= row_px / 2 + 1)
    assert x.size > 0 and near.any(axis=1).all()
    # every spike is drawn
    assert near.any(axis=0).all()
    # density mode draws an image, points mode a line of markers
    assert bool(ax.images) == (mode == "density")


def test_rate_panel_bars_where_spikes_are(small_file):
    fig = raster_figure(small_file, figsize=FIGSIZE, dpi=DPI, antialiased=False, rate_bin_ms=10.0)
    img, h = _render(fig)
    ax = _axes(fig, "rate:p")
    y0 = ax.get_window_extent().y0
    with_spikes = {int(t // 10) for t, _ in SPIKES}  # bins 1, 3, 5, 9
    for b in range(10):
        px, _ = ax.transData.transform((10 * b + 5, 0))
        row = int(round(h - (y0 + 4)))  # 4 px above the baseline
        dark = img[row, int(px)].min() < 200
        assert dark == (b in with_spikes), b
    # one spike in a 10 ms bin of 10 neurons is 10 Hz: all bars reach the same height
    top = ax.transData.transform((0, 10.0))[1]
    for b in with_spikes:
        px, _ = ax.transData.transform((10 * b + 5, 0))
        assert img[int(round(h - top + 3)), int(px)].min() < 200  # just below the bar top
        assert img[int(round(h - top - 3)), int(px)].min() > 230  # just above it


def test_window_and_neuron_range(small_file):
    fig = raster_figure(small_file, t_start=20, t_stop=60, neurons="4:9", figsize=FIGSIZE, antialiased=False)
    ax = _axes(fig, "raster:p")
    assert ax.get_xlim() == (20.0, 60.0) and ax.get_ylim() == (3.5, 8.5)
    line = ax.get_lines()[0]
    assert sorted(zip(line.get_xdata(), line.get_ydata(), strict=True)) == [(30.0, 8), (50.0, 5)]


def test_auto_switches_to_density(tmp_path):
    rng = np.random.default_rng(1)
    steps = np.sort(rng.integers(0, 1000, 20000))
    path = write_ours(tmp_path / "d.h5", {"p": (10, rng.integers(0, 10, steps.size), steps)}, steps=1000)
    fig = raster_figure(path, figsize=FIGSIZE, dpi=DPI)
    ax = _axes(fig, "raster:p")
    assert ax.images and not ax.get_lines()
    # the density image holds every spike
    assert int(np.asarray(ax.images[0].get_array()).sum()) == 20000
    fig = raster_figure(path, figsize=FIGSIZE, dpi=DPI, max_points=10**6)
    assert _axes(fig, "raster:p").get_lines()


def test_incomplete_run_is_marked(small_file):
    with h5py.File(small_file, "r+") as f:
        f["emulator"].attrs["complete"] = False
    fig = raster_figure(small_file, figsize=FIGSIZE)
    assert any("INCOMPLETE" in t.get_text() for t in fig.texts)


def test_foreign_file_multiple_populations(tmp_path):
    path = write_plain(
        tmp_path / "f.h5",
        {"one": ([0, 3], [5.0, 1.0]), "two": ([2], [7.0])},
        sorting="none",
    )
    fig = raster_figure(path, figsize=(6, 6))
    labels = [a.get_label() for a in fig.axes]
    assert labels == ["raster:one", "rate:one", "raster:two", "rate:two"]
    assert _axes(fig, "raster:one").get_ylim() == (-0.5, 3.5)  # max node id + 1 = 4 neurons


class _Spy:
    """A dataset wrapper that records what is read."""

    def __init__(self, ds):
        self.ds, self.reads = ds, []
        self.shape, self.file = ds.shape, ds.file

    def __getitem__(self, key):
        out = self.ds[key]
        self.reads.append(np.size(out))
        return out


def test_window_read_is_bounded(tmp_path):
    rng = np.random.default_rng(2)
    n = 200_000
    t = np.sort(rng.uniform(0, 1000, n))
    path = write_plain(tmp_path / "big.h5", {"p": (rng.integers(0, 100, n), t)}, sorting="by_time")
    with h5py.File(path) as f:
        ts, ids = _Spy(f["spikes/p/timestamps"]), _Spy(f["spikes/p/node_ids"])
        got = list(iter_spike_window(ids, ts, 400.0, 401.0, sorted_by_time=True, chunk=1000))
    expect = np.count_nonzero((t >= 400) & (t < 401))
    assert sum(c[1].size for c in got) == expect
    assert all(((c[1] >= 400) & (c[1] < 401)).all() for c in got)
    # a binary search (single elements, then one block per bound) and the window itself, in chunks
    assert max(ts.reads) <= 4096 and sum(ts.reads) <= 2 * 4096 + 64 + expect
    assert sum(ids.reads) == expect and max(ids.reads) <= 1000


def test_time_index_matches_searchsorted(tmp_path):
    rng = np.random.default_rng(4)
    t = np.sort(rng.integers(0, 500, 20000).astype(float))  # many ties
    with h5py.File(tmp_path / "t.h5", "w") as f:
        ds = f.create_dataset("t", data=t, chunks=(1024,))
        for q in [-1.0, 0.0, 0.5, 17.0, 250.0, 499.0, 499.5, 600.0]:
            for block in (1, 16, 4096):
                assert time_index(ds, q, block) == np.searchsorted(t, q, side="left")


def test_claimed_sorting_is_checked(tmp_path):
    path = write_plain(tmp_path / "bad.h5", {"p": ([0, 0, 0], [3.0, 1.0, 2.0])}, sorting="by_time")
    from neuro.errors import NeuroError

    with SpikeSource(path) as src, pytest.raises(NeuroError, match="not sorted"):
        list(src.chunks("p", 0.0, 10.0))


def test_sorting_as_string_is_understood(tmp_path):
    path = write_plain(
        tmp_path / "s.h5", {"p": ([0, 1], [1.0, 2.0])}, sorting="by_time", sorting_as_string=True
    )
    with SpikeSource(path) as src:
        assert src.sorted_by_time("p")
