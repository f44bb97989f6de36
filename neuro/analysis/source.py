"""A spike file opened for analysis: metadata and placement in memory, spikes streamed.

Accepts this emulator's ``spikes.h5`` (with ``/emulator``), a run directory holding one,
and plain SONATA spike files from other tools. Time windows are half-open,
``t_start <= t < t_stop`` in ms; neuron ranges are half-open ``start:stop`` indices within a
population.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from neuro.errors import NeuroError
from neuro.io.guard import finite_number, integer, reading
from neuro.io.sonata import WINDOW_CHUNK, iter_spike_window, open_spike_h5, spike_datasets

META_KEYS = (
    "network",
    "seed",
    "dt_ms",
    "steps",
    "steps_completed",
    "t_start_ms",
    "t_stop_ms",
    "arithmetic",
    "chip",
    "chips",
    "version",
    "complete",
)
MAX_NEURONS = 1 << 24  # per population: per-neuron statistics take ~100 bytes per neuron
MAX_MESH = 1 << 12  # cores per mesh side (and chips) a drawn placement may use


def _plain(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def _table(d: h5py.Dataset, path) -> np.ndarray:
    """A placement or core table ``(n, 3)`` read as int64, its size checked before it is read."""
    if len(d.shape) != 2 or d.shape[1] != 3 or d.shape[0] > MAX_NEURONS:
        raise NeuroError(f"{d.name} has shape {d.shape}, expected (n, 3) with n <= {MAX_NEURONS}", path)
    return np.asarray(d[()], dtype=np.int64)


def resolve_spike_path(path) -> Path:
    """``path`` itself, or ``path/spikes.h5`` when ``path`` is a run directory."""
    p = Path(path)
    if p.is_dir():
        if not (p / "spikes.h5").is_file():
            raise NeuroError("directory holds no spikes.h5", str(path))
        return p / "spikes.h5"
    return p


def parse_neuron_range(text: str | None) -> tuple[int, int | None] | None:
    """Parse ``"start:stop"`` (either side may be empty) or a single index ``"i"``.

    Returns ``(start, stop)`` with ``stop`` ``None`` for open-ended, or ``None`` for no
    selection.
    """
    if text is None or str(text).strip() in ("", ":"):
        return None
    s = str(text).strip()
    try:
        if ":" in s:
            a, b = s.split(":", 1)
            start = int(a) if a.strip() else 0
            stop = int(b) if b.strip() else None
        else:
            start = int(s)
            stop = start + 1
    except ValueError:
        raise NeuroError(f"bad neuron range {text!r} (expected START:STOP, e.g. 0:100)") from None
    if start < 0 or (stop is not None and stop <= start):
        raise NeuroError(f"bad neuron range {text!r} (need 0 <= START < STOP)")
    return start, stop


class SpikeSource:
    """Read-only view of a spike file for analysis.

    Parameters
    ----------
    path : path-like
        A ``spikes.h5`` (SONATA) or a run directory that holds one.
    chunk : int
        Spikes read per chunk when streaming (bounds the memory used).

    Attributes
    ----------
    path : pathlib.Path
    populations : list of str
        In the order of the run's spec when known, else the file's order.
    meta : dict
        ``/emulator`` attributes (empty for other tools' files).
    counters : dict
        ``/emulator/counters`` attributes (empty when absent).
    cores : numpy.ndarray or None
        ``(n_cores, 3)`` chip, x, y of every core (``/emulator/cores``).
    """

    def __init__(self, path, chunk: int = WINDOW_CHUNK):
        self.path = resolve_spike_path(path)
        self.chunk = int(chunk)
        self.file = open_spike_h5(self.path)
        try:
            with reading(self.path, "spike file"):
                self._load()
        except BaseException:
            self.file.close()
            raise
        self._n_neurons: dict = {}
        self._range = None

    def _load(self) -> None:
        self._data = spike_datasets(self.file)
        if not self._data:
            raise NeuroError("no spike populations under /spikes", str(self.path))
        self.meta, self.counters, self._placement, self.cores = {}, {}, {}, None
        emu = self.file.get("emulator")
        if isinstance(emu, h5py.Group):
            self.meta = {k: _plain(v) for k, v in emu.attrs.items()}
            if isinstance(emu.get("counters"), h5py.Group):
                self.counters = {k: _plain(v) for k, v in emu["counters"].attrs.items()}
            if isinstance(emu.get("placement"), h5py.Group):
                self._placement = {
                    k: _table(d, self.path)
                    for k, d in emu["placement"].items()
                    if isinstance(d, h5py.Dataset)
                }
            if isinstance(emu.get("cores"), h5py.Dataset):
                self.cores = _table(emu["cores"], self.path)
        self._check_meta()
        order = list(self._data)
        try:
            spec_pops = [p["name"] for p in json.loads(self.meta.get("spec", "{}")).get("populations", [])]
            order = [p for p in spec_pops if p in self._data] + [p for p in order if p not in spec_pops]
        except (ValueError, TypeError, KeyError, AttributeError):
            pass
        self.populations = order

    def _check_meta(self) -> None:
        """Refuse recording times, steps and placements no run could have written."""
        p = self.path
        for key in ("t_start_ms", "t_stop_ms"):
            if key in self.meta:
                self.meta[key] = finite_number(self.meta[key], key, p, -1e300, 1e300)
        if "dt_ms" in self.meta:
            self.meta["dt_ms"] = finite_number(self.meta["dt_ms"], "dt_ms", p, 1e-300, 1e300)
            if self.meta["dt_ms"] <= 0:
                raise NeuroError(f"dt_ms must be > 0, got {self.meta['dt_ms']!r}", str(p))
        for key in ("steps", "steps_completed"):
            if key in self.meta:
                self.meta[key] = integer(self.meta[key], key, p)
        n_cores = None
        if self.cores is not None:
            if self.cores.size and (self.cores.min() < 0 or self.cores.max() >= MAX_MESH):
                raise NeuroError(f"/emulator/cores holds coordinates outside 0..{MAX_MESH - 1}", str(p))
            n_cores = self.cores.shape[0]
        for pop, pl in self._placement.items():
            if pl.shape[0] > MAX_NEURONS:
                raise NeuroError(
                    f"placement of {pop!r} has {pl.shape[0]} rows (at most {MAX_NEURONS})", str(p)
                )
            high = n_cores if n_cores is not None else MAX_MESH * MAX_MESH
            if pl.size and (pl.min() < 0 or pl[:, 1].max() >= high or pl[:, 0].max() >= MAX_MESH):
                raise NeuroError(
                    f"placement of {pop!r} names chips or cores that do not exist (cores 0..{high - 1})",
                    str(p),
                )

    # ------------------------------------------------------------------ basics
    def close(self) -> None:
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def has_emulator(self) -> bool:
        """Whether the file has this emulator's ``/emulator`` group."""
        return bool(self.meta)

    @property
    def complete(self) -> bool:
        """False for a run that was interrupted (``/emulator`` attribute ``complete``)."""
        return bool(self.meta.get("complete", True))

    @property
    def dt(self) -> float | None:
        v = self.meta.get("dt_ms")
        return float(v) if v is not None else None

    def incomplete_message(self) -> str:
        """One line describing an interrupted run (empty when complete)."""
        if self.complete:
            return ""
        done, total = self.meta.get("steps_completed"), self.meta.get("steps")
        steps = f" ({done} of {total} steps)" if done is not None and total is not None else ""
        return f"{self.path}: incomplete file from an interrupted run{steps}"

    def metadata(self) -> dict:
        """The run's metadata (keys of :data:`META_KEYS`; ``None`` where unknown)."""
        out = {k: self.meta.get(k) for k in META_KEYS}
        out["complete"] = self.complete
        return out

    def check_populations(self, names=None) -> list:
        """``names`` (default: all) checked against the file's populations."""
        if not names:
            return list(self.populations)
        for n in names:
            if n not in self._data:
                raise NeuroError(
                    f"unknown population {n!r} (in file: {', '.join(self.populations)})", str(self.path)
                )
        return list(dict.fromkeys(names))

    def sorted_by_time(self, pop: str) -> bool:
        return self._data[pop][2] == "by_time"

    def n_spikes_total(self, pop: str) -> int:
        """Spikes of ``pop`` in the whole file."""
        return int(self._data[pop][1].shape[0])

    def placement(self, pop: str) -> np.ndarray | None:
        """``(n, 3)`` chip, core, compartment of each neuron of ``pop`` (``None`` if not stored)."""
        return self._placement.get(pop)

    def n_neurons(self, pop: str) -> int:
        """Neurons in ``pop``: rows of its placement, else the largest node id + 1."""
        if pop not in self._n_neurons:
            pl = self.placement(pop)
            if pl is not None:
                n = int(pl.shape[0])
            else:
                n = 0
                for ids, _ in self._raw_chunks(pop):
                    n = max(n, int(ids.max()) + 1)
                if n > MAX_NEURONS:
                    raise NeuroError(
                        f"population {pop!r} has node ids up to {n - 1} (analysis supports < {MAX_NEURONS})",
                        str(self.path),
                    )
            self._n_neurons[pop] = n
        return self._n_neurons[pop]

    # ------------------------------------------------------------- streaming
    def chunks(self, pop: str, t_start=None, t_stop=None, neurons: tuple | None = None):
        """Yield ``(node_ids, timestamps)`` chunks of ``pop`` in ``[t_start, t_stop)``.

        ``neurons`` = ``(n0, n1)`` keeps node ids ``n0 <= id < n1``.
        """
        n = self.n_neurons(pop)
        for ids, ts in self._raw_chunks(pop, t_start, t_stop):
            if ids.min() < 0 or ids.max() >= n:
                raise NeuroError(
                    f"population {pop!r} has node id {int(ids.max() if ids.max() >= n else ids.min())} "
                    f"outside 0..{n - 1}",
                    str(self.path),
                )
            if neurons is not None:
                keep = (ids >= neurons[0]) & (ids < neurons[1])
                if not keep.all():
                    ids, ts = ids[keep], ts[keep]
                    if not ids.size:
                        continue
            yield ids, ts

    def _raw_chunks(self, pop: str, t_start=None, t_stop=None):
        """Chunks as stored, with one-line errors for unreadable chunks and non-finite times."""
        ids_ds, ts_ds, _ = self._data[pop]
        with reading(self.path, "spike file"):
            for ids, ts in iter_spike_window(
                ids_ds, ts_ds, t_start, t_stop, self.sorted_by_time(pop), chunk=self.chunk
            ):
                if not np.all(np.isfinite(ts)):
                    raise NeuroError(f"population {pop!r} has NaN or infinite spike times", str(self.path))
                yield ids, ts

    def data_range(self) -> tuple[float, float] | None:
        """``(first, last)`` spike time over all populations (``None`` if there are no spikes)."""
        if self._range is None:
            lo, hi = np.inf, -np.inf
            for pop in self.populations:
                ts_ds = self._data[pop][1]
                if not ts_ds.shape[0]:
                    continue
                if self.sorted_by_time(pop):
                    with reading(self.path, "spike file"):
                        first, last = float(ts_ds[0]), float(ts_ds[-1])
                    if not (np.isfinite(first) and np.isfinite(last)):
                        raise NeuroError(
                            f"population {pop!r} has NaN or infinite spike times", str(self.path)
                        )
                    lo, hi = min(lo, first), max(hi, last)
                else:
                    for _, ts in self.chunks(pop):
                        lo, hi = min(lo, float(ts.min())), max(hi, float(ts.max()))
            self._range = (lo, hi) if lo <= hi else ()
        return self._range or None

    def recording(self) -> tuple[float, float] | None:
        """The recorded interval ``[t0, t1)`` in ms.

        From ``/emulator`` (``t_start_ms``, ``t_stop_ms`` = steps completed x dt) when present;
        for other tools' files ``[min(0, first spike), last spike]`` (closed at the end).
        ``None`` for a foreign file without spikes.
        """
        if "t_stop_ms" in self.meta or "steps_completed" in self.meta:
            t0 = float(self.meta.get("t_start_ms", 0.0))
            t1 = self.meta.get("t_stop_ms")
            if t1 is None:
                t1 = t0 + float(self.meta["steps_completed"]) * (self.dt or 1.0)
            return t0, float(t1)
        rng = self.data_range()
        if rng is None:
            return None
        return min(0.0, rng[0]), float(np.nextafter(rng[1], np.inf))

    def window(self, t_start: float | None = None, t_stop: float | None = None) -> tuple[float, float]:
        """Resolve a requested ``[t_start, t_stop)`` (ms) against the recording.

        Missing bounds default to the recording's. For this emulator's files the window is
        clipped to the recording. Raises :class:`NeuroError` if ``t_start >= t_stop`` or the
        window does not overlap the recording.
        """
        if t_start is not None and t_stop is not None and t_start >= t_stop:
            raise NeuroError(f"t-start ({t_start:g} ms) must be smaller than t-stop ({t_stop:g} ms)")
        rec = self.recording()
        if rec is None:
            if t_start is None or t_stop is None:
                raise NeuroError("file holds no spikes and no recording time: give t-start and t-stop")
            return float(t_start), float(t_stop)
        t0 = rec[0] if t_start is None else float(t_start)
        t1 = rec[1] if t_stop is None else float(t_stop)
        if self.has_emulator:
            t0, t1 = max(t0, rec[0]), min(t1, rec[1])
        if t1 <= t0 or t0 >= rec[1] or t1 <= rec[0]:
            a = rec[0] if t_start is None else t_start
            b = rec[1] if t_stop is None else t_stop
            raise NeuroError(
                f"empty time window: [{a:g}, {b:g}) ms does not overlap the recording "
                f"[{rec[0]:g}, {rec[1]:g}) ms",
                str(self.path),
            )
        return t0, t1

    def neuron_window(self, pop: str, rng: tuple | None) -> tuple[int, int]:
        """Clip a neuron range ``(start, stop)`` to ``pop``; raise if nothing is left."""
        n = self.n_neurons(pop)
        if rng is None:
            return 0, n
        n0, n1 = rng[0], n if rng[1] is None else min(rng[1], n)
        if n0 >= n1:
            stop = "" if rng[1] is None else rng[1]
            raise NeuroError(f"neuron range {rng[0]}:{stop} is outside population {pop!r} ({n} neurons)")
        return n0, n1


def as_source(src) -> tuple[SpikeSource, bool]:
    """``(SpikeSource, opened_here)`` for a path or an open source."""
    if isinstance(src, SpikeSource):
        return src, False
    return SpikeSource(src), True
