"""SONATA spike files (``spikes.h5``), written as a stream and read back.

Layout (SONATA "Spike file", plus emulator extras that SONATA readers ignore)::

    /                      attrs magic=uint32 0x0A7A, version=uint32[2]
    /spikes/<population>/  attr sorting = enum{none:0, by_id:1, by_time:2} (by_time)
        timestamps         float64 (N,), attr units="ms"  (= step * dt)
        node_ids           uint64  (N,), index within the population
    /emulator/             attrs dt_ms, steps, steps_completed, complete, seed, arithmetic, chip,
                           chips, version, spec (JSON), t_start_ms, t_stop_ms
        spike_steps/<pop>  int64 (N,) exact step of every spike, aligned with /spikes/<pop>
        placement/<pop>    uint32 (n, 3): chip, core, compartment of every neuron
        cores              int64 (n_cores, 3): chip, x, y of every core
        probes/<pop>/v|i   (steps, n_probed) state traces, neurons = probed indices
        graded_inputs/<input>/step, node_ids, payloads
                           int64/uint64/int64 (N,): every spike of a graded input (loihi2)
                           with its payload, sorted by step
        counters           attrs: operation counts of the run
        committed          attrs: rows of every streamed dataset at the last completed flush

Datasets are chunked and resizable and the file is flushed after every chunk of steps, so
an interrupted run leaves a readable file with ``complete = False``. Streamed datasets are
unfiltered: a chunk has a fixed place in the file and is only ever extended in place, so a
kill (even ``kill -9``) in the middle of a write cannot damage what an earlier flush wrote.
After each flush the writer records the committed length of every streamed dataset in
``/emulator/committed``; neuro's readers read no further (a torn tail is ignored), and
h5py or libsonata read every spike up to that flush. With no filter on ``/spikes``, every
SONATA reader opens the file (libsonata's wheels have no deflate filter).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

import h5py
import numpy as np

from neuro.errors import NeuroError
from neuro.io.guard import reading

LOCKED = "the file is being written by a running process; read it when the run ends or is stopped"
SONATA_MAGIC = 0x0A7A
SONATA_VERSION = (0, 1)
SORTING = h5py.enum_dtype({"none": 0, "by_id": 1, "by_time": 2}, basetype="u1")
CHUNK = 1 << 13  # rows per chunk: 64 KiB of float64, unfiltered


def _appendable(group, name, dtype, shape_tail=()):
    # Unfiltered: a compressed chunk is reallocated whenever it grows, and a kill between the
    # new chunk's write and the index update leaves an unreadable chunk (see module docstring).
    return group.create_dataset(
        name,
        shape=(0, *shape_tail),
        maxshape=(None, *shape_tail),
        dtype=dtype,
        chunks=(CHUNK if not shape_tail else max(1, CHUNK // max(1, shape_tail[0])), *shape_tail),
    )


def _append(ds, data):
    """Extend ``ds`` along its first axis by ``data`` (of ``ds``'s dtype), through h5py's low-level
    calls: a run appends to every population's datasets once per chunk, and the high-level
    ``resize`` and slice assignment cost ~10x more per call than the write itself."""
    data = np.ascontiguousarray(data, dtype=ds.dtype)
    dsid = ds.id
    start = (dsid.shape[0],) + (0,) * (data.ndim - 1)
    dsid.set_extent((start[0] + data.shape[0], *data.shape[1:]))
    space = dsid.get_space()
    space.select_hyperslab(start, data.shape)
    dsid.write(h5py.h5s.create_simple(data.shape), space, data)


class SpikeWriter:
    """Stream spikes (and probe traces) of one run into a SONATA file.

    Parameters
    ----------
    path : path-like
    pop_names : list of str
    pop_offsets : array of int
        Start of each population in the global neuron index (last entry: total).
    dt : float
        Step in ms.
    attrs : dict
        Stored as attributes of ``/emulator`` (non-scalar values as JSON).
    """

    def __init__(self, path, pop_names, pop_offsets, dt, attrs: dict):
        self.path = Path(path)
        self.pop_names = list(pop_names)
        self.pop_offsets = np.asarray(pop_offsets, dtype=np.int64)
        self.dt = float(dt)
        # no chunk cache: appends to unfiltered chunks go straight to the file, and HDF5's
        # free lists do not keep a growing set of evicted chunk buffers (flat RSS in long runs)
        self.f = h5py.File(self.path, "w", rdcc_nbytes=0)
        self.f.attrs["magic"] = np.uint32(SONATA_MAGIC)
        self.f.attrs["version"] = np.array(SONATA_VERSION, dtype=np.uint32)
        spikes = self.f.create_group("spikes")
        emu = self.f.create_group("emulator")
        steps_grp = emu.create_group("spike_steps")
        self._ts, self._ids, self._steps = [], [], []
        for name in self.pop_names:
            g = spikes.create_group(name)
            g.attrs.create("sorting", 2, dtype=SORTING)
            ts = _appendable(g, "timestamps", np.float64)
            ts.attrs["units"] = "ms"
            self._ts.append(ts)
            self._ids.append(_appendable(g, "node_ids", np.uint64))
            self._steps.append(_appendable(steps_grp, name, np.int64))
        for key, val in attrs.items():
            emu.attrs[key] = val if isinstance(val, int | float | str | np.generic) else json.dumps(val)
        emu.attrs["dt_ms"] = self.dt
        emu.attrs["complete"] = False
        emu.attrs["t_start_ms"] = 0.0
        self._probes = {}
        self._counters = {}  # (group, attribute name) -> its open attribute, rewritten in place
        self.flush(0)  # creates the committed lengths (0) now, not in the run's first flush

    @classmethod
    def reopen(cls, path, pop_names, pop_offsets, dt, step: int, attrs: dict, drop=()) -> SpikeWriter:
        """Continue writing the file of an interrupted run from step ``step``: every spike at a later
        step and every probe row from ``step`` on are cut off (``drop``: ``/emulator`` attributes
        removed; ``attrs`` stored again). A file holding fewer steps is refused."""
        self = cls.__new__(cls)
        self.path, self.pop_names = Path(path), list(pop_names)
        self.pop_offsets, self.dt = np.asarray(pop_offsets, dtype=np.int64), float(dt)
        self.f = h5py.File(self.path, "r+", rdcc_nbytes=0)
        emu = self.f["emulator"]
        if int(emu.attrs.get("steps_completed", 0)) < step:
            self.f.close()
            raise NeuroError(f"holds fewer than the checkpoint's {step} steps", str(path))
        self._ts, self._ids, self._steps = [], [], []
        for name in self.pop_names:
            ts, ids = self.f[f"spikes/{name}/timestamps"], self.f[f"spikes/{name}/node_ids"]
            st = self.f[f"emulator/spike_steps/{name}"]
            keep = int(np.searchsorted(committed(self.f, st)[()], step, side="left"))
            for ds, out in ((ts, self._ts), (ids, self._ids), (st, self._steps)):
                ds.resize(keep, axis=0)
                out.append(ds)
        self._probes = {}
        for pop, g in self.f["emulator"].get("probes", {}).items():
            for var, ds in g.items():
                if var != "neurons":
                    ds.resize(step, axis=0)
                    self._probes[(pop, var)] = ds
        if "counters" in emu:
            del emu["counters"]
        for key in drop:
            emu.attrs.pop(key, None)
        for key, val in attrs.items():
            emu.attrs[key] = val if isinstance(val, int | float | str | np.generic) else json.dumps(val)
        emu.attrs["complete"] = False
        self._counters = {}
        self.flush(step)
        return self

    def write_placement(self, placement) -> None:
        emu = self.f["emulator"]
        g = emu.create_group("placement")
        coords = placement.core_coords()
        emu.create_dataset("cores", data=coords)
        for name, start, stop in zip(
            self.pop_names, self.pop_offsets[:-1], self.pop_offsets[1:], strict=True
        ):
            core = placement.core_of[start:stop]
            g.create_dataset(
                name,
                data=np.stack([coords[core, 0], core, placement.compartment_of[start:stop]], axis=1).astype(
                    np.uint32
                ),
                compression="gzip",
            )

    def write_spikes(self, step: np.ndarray, neuron: np.ndarray) -> None:
        """Append spikes given as global step and neuron index arrays (in step order)."""
        if step.size == 0:
            return
        pop = np.searchsorted(self.pop_offsets, neuron, side="right") - 1
        if np.all(pop == pop[0]):
            groups = [(int(pop[0]), slice(None))]
        else:  # one stable sort by population (keeps each population's spikes in step order)
            small = pop.astype(np.int16) if self.pop_offsets.size <= np.iinfo(np.int16).max else pop
            order = np.argsort(small, kind="stable")
            ends = np.cumsum(np.bincount(pop, minlength=self.pop_offsets.size - 1))
            groups = [(p, order[ends[p] - c : ends[p]]) for p, c in enumerate(np.diff(ends, prepend=0)) if c]
        for p, sel in groups:
            s = step[sel]
            _append(self._ts[p], s * self.dt)
            _append(self._ids[p], (neuron[sel] - self.pop_offsets[p]).astype(np.uint64))
            _append(self._steps[p], s.astype(np.int64))

    def write_graded_input(self, inp, dt: float) -> None:
        """Every spike of graded input ``inp`` (a spec ``Input`` with payloads) and its payload."""
        steps = [np.rint(np.asarray(t, dtype=np.float64) / dt).astype(np.int64) for t in inp.times]
        ids = [np.full(len(t), ch, dtype=np.uint64) for ch, t in enumerate(inp.times)]
        pays = [np.asarray(p, dtype=np.int64) for p in inp.payloads]
        st, nid, pay = (np.concatenate(x) if x else np.zeros(0) for x in (steps, ids, pays))
        order = np.lexsort((nid, st))
        g = self.f.require_group(f"emulator/graded_inputs/{inp.name}")
        g.attrs["message_bits"] = int(inp.message_bits)
        g.create_dataset("step", data=st[order].astype(np.int64))
        g.create_dataset("node_ids", data=nid[order].astype(np.uint64))
        g.create_dataset("payloads", data=pay[order].astype(np.int64))

    def write_probe(self, pop: str, var: str, neurons: np.ndarray, data: np.ndarray) -> None:
        key = (pop, var)
        if key not in self._probes:
            g = self.f.require_group(f"emulator/probes/{pop}")
            if "neurons" not in g:
                g.create_dataset("neurons", data=np.asarray(neurons, dtype=np.int64))
            self._probes[key] = _appendable(g, var, data.dtype, (data.shape[1],))
        _append(self._probes[key], data)

    def flush(self, steps_completed: int) -> None:
        """Commit what was written: two HDF5 flushes, so that the committed lengths on disk
        never point past data on disk. HDF5 writes a flush's raw chunks and metadata in no
        guaranteed order, so a kill in the middle of a single flush could leave the new
        lengths and not all of the new rows (neuro's reader would then read zeros). First the
        rows and extents reach the file, then the lengths that point at them."""
        self.f.flush()
        emu = self.f["emulator"]
        rec = emu.require_group("committed")
        for ds in (*self._ts, *self._ids, *self._steps, *self._probes.values()):
            self._set(rec, ds.name, np.int64(ds.id.shape[0]))
        self._set(emu, "steps_completed", np.int64(steps_completed))
        self._set(emu, "t_stop_ms", np.float64(steps_completed * self.dt))
        self.f.flush()

    def _set(self, group, name: str, value: np.generic) -> None:
        """``group.attrs[name] = value``, written in place from the second time on: replacing an
        attribute of a group with many (HDF5's dense attribute storage) costs ~3 ms, 0.6 s per
        flush for the committed lengths of 64 populations; an in-place write ~30 us."""
        attr = self._counters.get((group.name, name))
        if attr is None:
            group.attrs[name] = value
            attr = self._counters[group.name, name] = h5py.h5a.open(group.id, name.encode())
        attr.write(np.asarray(value))

    def close(self, complete: bool, counters: dict | None = None) -> None:
        if not self.f:
            return
        emu = self.f["emulator"]
        emu.attrs["complete"] = bool(complete)
        if counters:
            g = emu.require_group("counters")
            for k, v in counters.items():
                g.attrs[k] = v
        self.f.close()


# ---------------------------------------------------------------------- reading
class SpikeFile:
    """Read a SONATA spike file (ours, or any tool's; the legacy flat layout too).

    ``populations`` maps name → (node_ids, timestamps ms); ``meta`` holds ``/emulator``
    attributes when present (empty for other tools' files).
    """

    def __init__(self, path):
        self.path = Path(path)
        try:
            f = h5py.File(self.path, "r")
        except FileNotFoundError:
            raise NeuroError("file not found", str(path)) from None
        except BlockingIOError:
            raise NeuroError(LOCKED, str(path)) from None
        except OSError:
            raise NeuroError("not an HDF5 file", str(path)) from None
        with f, reading(self.path, "spike file"):
            if "spikes" not in f:
                raise NeuroError("no /spikes group: not a SONATA spike file", str(path))
            sp = f["spikes"]
            self.populations = {}
            if isinstance(sp.get("timestamps"), h5py.Dataset):  # legacy flat layout
                ids = sp["gids"] if "gids" in sp else sp["node_ids"]
                self.populations["default"] = (
                    ids[()].astype(np.int64),
                    sp["timestamps"][()].astype(np.float64),
                )
            for name, g in sp.items():
                if isinstance(g, h5py.Group) and "timestamps" in g:
                    self.populations[name] = (
                        committed(f, g["node_ids"])[()].astype(np.int64),
                        committed(f, g["timestamps"])[()].astype(np.float64),
                    )
            self.meta = {}
            self.counters = {}
            self.steps = {}
            self.placement = {}
            if "emulator" in f:
                emu = f["emulator"]
                for k, v in emu.attrs.items():
                    self.meta[k] = v.item() if isinstance(v, np.generic) else v
                if "spike_steps" in emu:
                    self.steps = {k: committed(f, d)[()] for k, d in emu["spike_steps"].items()}
                if "placement" in emu:
                    self.placement = {k: d[()] for k, d in emu["placement"].items()}
                if "counters" in emu:
                    self.counters = {
                        k: (v.item() if isinstance(v, np.generic) else v)
                        for k, v in emu["counters"].attrs.items()
                    }

    @property
    def complete(self) -> bool:
        return bool(self.meta.get("complete", True))

    def spike_steps(self, population: str) -> np.ndarray:
        """Exact step of each spike (from ``/emulator``, or ``rint(t / dt)``)."""
        if population in self.steps:
            return self.steps[population]
        dt = float(self.meta.get("dt_ms", 1.0))
        return np.rint(self.populations[population][1] / dt).astype(np.int64)


# ------------------------------------------------------------- chunked reading
MAX_EXPANSION = 1000  # largest believable ratio of a dataset's size to its file's (compression)
WINDOW_CHUNK = 1 << 18  # spikes read per chunk by :func:`iter_spike_window` (4 MiB of ids + times)
_SORTING_NAMES = {0: "none", 1: "by_id", 2: "by_time"}


def open_spike_h5(path) -> h5py.File:
    """Open a SONATA spike file for reading, with the one-line errors of :class:`SpikeFile`.

    Unlike :class:`SpikeFile`, nothing is read: spikes stay on disk for
    :func:`iter_spike_window`. The caller closes the returned file.
    """
    try:
        f = h5py.File(Path(path), "r")
    except FileNotFoundError:
        raise NeuroError("file not found", str(path)) from None
    except PermissionError:
        raise NeuroError("permission denied", str(path)) from None
    except BlockingIOError:
        raise NeuroError(LOCKED, str(path)) from None
    except OSError:
        raise NeuroError("not an HDF5 file", str(path)) from None
    try:
        with reading(path, "spike file"):
            if "spikes" not in f or not isinstance(f["spikes"], h5py.Group):
                raise NeuroError("no /spikes group: not a SONATA spike file", str(path))
    except NeuroError:
        f.close()
        raise
    return f


class Committed:
    """The first ``n`` rows of a dataset, read like the dataset (``shape``, slices, indices).

    What :func:`spike_datasets` returns when the file records a committed length shorter than
    the dataset (a run killed between a write and the flush that records it).
    """

    def __init__(self, ds: h5py.Dataset, n: int):
        self.ds, self.n = ds, int(n)
        self.shape = (self.n, *ds.shape[1:])
        self.dtype, self.file, self.attrs, self.name = ds.dtype, ds.file, ds.attrs, ds.name

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, key):
        if key is Ellipsis or key == ():
            return self.ds[: self.n]
        if isinstance(key, slice):
            start, stop, step = key.indices(self.n)
            return self.ds[start:stop:step] if stop > start else self.ds[0:0]
        k = int(key)
        k = k + self.n if k < 0 else k
        if not 0 <= k < self.n:
            raise IndexError(f"index {key} out of range for {self.n} rows")
        return self.ds[k]


def committed(f: h5py.File, ds: h5py.Dataset):
    """``ds``, or its committed prefix when ``/emulator/committed`` records a shorter length.

    A dataset whose header claims far more data than the file could hold (a flipped bit in its
    dimensions: at most :data:`MAX_EXPANSION` times the file size, or 1 MiB) is refused rather
    than read as billions of fill values.
    """
    claimed = int(np.prod(ds.shape, dtype=np.float64) * ds.dtype.itemsize)
    if claimed > max(1 << 20, MAX_EXPANSION * os.path.getsize(f.filename)):
        raise NeuroError(
            f"{ds.name} claims shape {ds.shape}, more than the file can hold (corrupt?)", f.filename
        )
    rec = f.get("emulator/committed")
    if not isinstance(rec, h5py.Group) or ds.name not in rec.attrs:
        return ds
    n = rec.attrs[ds.name]
    if not isinstance(n, int | np.integer) or not 0 <= int(n) <= ds.shape[0]:
        raise NeuroError(f"committed length {n!r} of {ds.name} is outside 0..{ds.shape[0]}", f.filename)
    return ds if int(n) == ds.shape[0] else Committed(ds, int(n))


def spike_datasets(f: h5py.File) -> dict:
    """Populations of an open spike file: name → ``(node_ids, timestamps, sorting)``.

    ``node_ids`` and ``timestamps`` are the h5py datasets (not read); ``sorting`` is
    ``"none"``, ``"by_id"`` or ``"by_time"``. The legacy flat layout (``/spikes/timestamps``
    with ``gids`` or ``node_ids``) is population ``"default"``.
    """
    sp = f["spikes"]
    out = {}
    if isinstance(sp.get("timestamps"), h5py.Dataset):
        ids = sp.get("gids", sp.get("node_ids"))
        if isinstance(ids, h5py.Dataset):
            out["default"] = (ids, sp["timestamps"], sorting_of(sp))
    for name, g in sp.items():
        if isinstance(g, h5py.Group) and "timestamps" in g:
            if "node_ids" not in g:
                raise NeuroError(f"population {name!r} has timestamps but no node_ids", f.filename)
            ids, ts = g["node_ids"], g["timestamps"]
            if not isinstance(ids, h5py.Dataset) or not isinstance(ts, h5py.Dataset):
                raise NeuroError(f"population {name!r}: node_ids and timestamps must be datasets", f.filename)
            ids, ts = committed(f, ids), committed(f, ts)
            if ids.shape != ts.shape or len(ts.shape) != 1:
                raise NeuroError(f"population {name!r}: node_ids and timestamps differ in length", f.filename)
            out[name] = (ids, ts, sorting_of(g))
    return out


def sorting_of(group) -> str:
    """The SONATA ``sorting`` attribute of ``group`` as a name (enum or string; ``"none"`` if absent)."""
    val = group.attrs.get("sorting")
    if val is None:
        return "none"
    if isinstance(val, bytes):
        val = val.decode("utf-8", "replace")
    if isinstance(val, str):
        return val if val in ("by_id", "by_time") else "none"
    try:
        return _SORTING_NAMES.get(int(val), "none")
    except (TypeError, ValueError):
        return "none"


def time_index(timestamps, t: float, block: int = 4096) -> int:
    """First index ``i`` with ``timestamps[i] >= t`` in a dataset sorted by time.

    A binary search that reads single elements until the bracket is ``block`` long, then
    reads that block: about ``log2(N / block)`` chunk reads, never the whole dataset.
    """
    lo, hi = 0, int(timestamps.shape[0])
    while hi - lo > block:
        mid = (lo + hi) // 2
        if timestamps[mid] < t:
            lo = mid + 1
        else:
            hi = mid
    return lo + int(np.searchsorted(timestamps[lo:hi], t, side="left"))


def iter_spike_window(
    node_ids,
    timestamps,
    t_start: float | None = None,
    t_stop: float | None = None,
    sorted_by_time: bool = False,
    chunk: int = WINDOW_CHUNK,
):
    """Yield ``(node_ids int64, timestamps float64)`` of the spikes with ``t_start <= t < t_stop``.

    Reads ``chunk`` spikes at a time, so memory stays bounded whatever the file size. When
    the dataset is sorted by time, the window is located by :func:`time_index` and only
    its spikes are read; otherwise every chunk is read and masked. A dataset that claims
    ``by_time`` but is not sorted raises :class:`NeuroError`.
    """
    n = int(timestamps.shape[0])
    lo_t = -np.inf if t_start is None else float(t_start)
    hi_t = np.inf if t_stop is None else float(t_stop)
    i0, i1 = 0, n
    if sorted_by_time and n:
        i0 = 0 if t_start is None else time_index(timestamps, lo_t)
        i1 = n if t_stop is None else time_index(timestamps, hi_t)
    prev = -np.inf
    chunk = max(1, int(chunk))
    for a in range(i0, i1, chunk):
        b = min(a + chunk, i1)
        ts = timestamps[a:b].astype(np.float64, copy=False)
        ids = node_ids[a:b].astype(np.int64, copy=False)
        if sorted_by_time:
            if ts.size and (ts[0] < prev or np.any(ts[1:] < ts[:-1])):
                raise NeuroError(
                    "timestamps are marked sorting=by_time but are not sorted", timestamps.file.filename
                )
            prev = ts[-1] if ts.size else prev
        else:
            keep = (ts >= lo_t) & (ts < hi_t)
            if not keep.all():
                ts, ids = ts[keep], ids[keep]
        if ts.size:
            yield ids, ts


# ------------------------------------------------------------ per-population arrays
class PopulationSpikes(NamedTuple):
    """Spikes of one population: ``node_ids`` (int64, index within the population) and
    ``timestamps`` (float64, ms), in file order (``by_time`` for files neuro writes)."""

    node_ids: np.ndarray
    timestamps: np.ndarray


def read_spikes(path) -> dict[str, PopulationSpikes]:
    """Every population of a SONATA spike file as numpy arrays.

    Parameters
    ----------
    path : path-like
        A ``spikes.h5`` (ours or any SONATA writer's, the legacy flat layout as population
        ``"default"``), or a run directory holding one.

    Returns
    -------
    dict of str -> PopulationSpikes
        Population name → ``(node_ids, timestamps)``; spike ``k`` of population ``p`` is
        neuron ``node_ids[k]`` at ``timestamps[k]`` ms.

    Raises
    ------
    NeuroError
        Missing file, not HDF5, no ``/spikes`` group, or a population whose datasets are
        missing, of different lengths or not numeric.
    """
    path = Path(path)
    if path.is_dir() and (path / "spikes.h5").is_file():
        path = path / "spikes.h5"
    with open_spike_h5(path) as f:
        out = {}
        for name, (ids, ts, _) in spike_datasets(f).items():
            try:
                out[name] = PopulationSpikes(
                    ids[()].astype(np.int64, copy=False), ts[()].astype(np.float64, copy=False)
                )
            except (TypeError, ValueError):
                raise NeuroError(
                    f"population {name!r}: node_ids/timestamps are not numeric", str(path)
                ) from None
    return out
