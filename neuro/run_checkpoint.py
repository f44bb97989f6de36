"""Checkpoints of ``neuro run`` (``--checkpoint-every``, ``--resume``), in the whole network's layout.

A run's state at a chunk boundary (step ``k``, every delivery of steps ``< k`` done) is, in the
whole network's numbering (neurons ``0..N-1``, sources ``0..S-1``):

* ``state/<key>``: the neuron state (``v``, currents ``cur``, refractory counters ``ref``,
  thresholds ``theta``), neuron index last;
* ``pending`` ``(D + 1, channels, N)``: the ring buffer as absolute rows, ``pending[r]`` the
  input arriving at step ``k + r`` (a ring of ``D' + 1`` rows holds row ``k + r`` at ``(k + r) %
  (D' + 1)``; a worker's ring may be shorter than the whole network's, its extra rows are zero);
* ``weight``: the whole CSR's weights (learning runs);
* learning (per rule ``r``): pre traces ``x (r, 2, S)`` (and ``x_last``, float), post traces ``y
  (r, 3, N)`` (and ``y_last``), and in Loihi arithmetic the sources / neurons that spiked in the
  open learning epoch (``x_open``, ``y_open``); ``weight_updates`` and ``trace_updates`` (of the
  epochs that ended), ``reward``;
* counters: ``spike_count (S)``, ``update_counts (2, N)`` (active, membrane updates),
  ``overflow (3)``, and the bytes the workers exchanged;
* the run's generator state and the current Poisson block (:class:`~neuro.inputs.SpecInputs`).

A single process writes its simulator's arrays as they are; ``T`` threads or ``R`` MPI ranks
each export their part (local neurons, mirrored sources, kept synapses), rank / worker 0
gathers and merges them and writes the one file. The layout does not depend on the number of
workers, so a checkpoint written by ``R`` workers resumes on ``R'`` (1 process, threads or
ranks) and the run continues bit for bit. Pre traces are held by every worker that mirrors
the source (identical copies); a source no worker mirrors has no synapse and its trace is never
read. Trace-update counts are kept as "closed" (epochs that ended) plus the open epoch's flags,
which both :class:`~neuro.parallel.learning.TraceUpdates` and the single-process tables can
rebuild.

The file is HDF5, written to a temporary name, sealed (SHA-256, :func:`neuro.io.checkpoint.seal`)
and renamed; its attributes hold the spec, its hash, the seed and arithmetic, so a resume with
another spec is refused in one line.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import h5py
import numpy as np

from neuro import __version__
from neuro.errors import NeuroError
from neuro.io.checkpoint import USERBLOCK, check_seal, seal
from neuro.io.guard import integer, reading

CHECKPOINT = "checkpoint.h5"
FORMAT = "neuro-run-checkpoint"
FORMAT_VERSION = 1
NEURON_KEYS = ("v", "cur", "ref", "theta")  # sim.state arrays with the neuron index last
SOURCE_TRACES = ("x", "x_last")  # learning arrays per (rule, ..., source)
NEURON_TRACES = ("y", "y_last")  # learning arrays per (rule, ..., neuron)
#: emulator attributes of spikes.h5 that belong to one transport (rewritten by the resumed run)
TRANSPORT_ATTRS = (
    "mpi_ranks",
    "threads",
    "mpi_bytes_exchanged",
    "thread_bytes_exchanged",
    "exchange_window",
    "exchange_overlap",
)


def spec_hash(net) -> str:
    """SHA-256 of the spec as run (command-line overrides applied), canonical JSON."""
    return hashlib.sha256(json.dumps(net.to_dict(), sort_keys=True).encode()).hexdigest()


# ---------------------------------------------------------------------------- export
def _pending(buf: np.ndarray, step: int, n_rows: int, n_ch: int, n: int) -> np.ndarray:
    """Ring buffer ``buf`` (rows, 1, channels * n) as absolute rows from ``step`` (module docstring)."""
    rows = buf.shape[0]
    out = np.zeros((n_rows, n_ch, n), dtype=buf.dtype)
    for r in range(rows):
        out[r, : buf.shape[2] // n] = buf[(step + r) % rows, 0].reshape(-1, n)
    return out


def export_simulator(sim) -> dict:
    """The whole-network state of a single-process :class:`~neuro.engine.Simulator` (batch 1)."""
    net, arr = sim.net, sim.tables.arrays
    n = net.n_neurons
    st = {f"state/{k}": sim.state[k].copy() for k in NEURON_KEYS}
    st["pending"] = _pending(sim.state["buf"], sim.step, sim.n_rows, sim.n_channels, n)
    st["spike_count"] = sim.spike_count.copy()
    st["update_counts"] = sim.update_counts[0].copy()
    st["overflow"] = sim.overflow.copy()
    if sim.learning:
        st["weight"] = net.weight.copy()
        for k in (*SOURCE_TRACES, *NEURON_TRACES):
            if k in arr:
                st[f"learning/{k}"] = arr[k].copy()
        if "x_flag" in arr:
            st["learning/x_open"] = arr["x_flag"].copy()
            st["learning/y_open"] = arr["y_flag"].copy()
        st["learning/reward"] = arr["reward"].copy()
        st["learning/weight_updates"] = np.int64(arr["counts"][0])
        st["learning/trace_updates"] = np.int64(arr["counts"][1])
    return st


def export_worker(sim, sub, spike_count: np.ndarray, bytes_sent: int) -> dict:
    """Worker ``sim``'s part of the state, with the global indices it belongs at (for :func:`merge_parts`).

    ``spike_count`` is the runner's count per global source (worker 0: the input spikes)."""
    n_loc = sub.local.size
    p = {"local": sub.local, "mirrors": sub.mirrors, "bytes": int(bytes_sent)}
    p.update({k: sim.state[k] for k in NEURON_KEYS})
    p["buf"] = sim.state["buf"]
    counts = spike_count.copy()
    counts[sub.local] += sim.spike_count[:n_loc]
    p["spike_count"], p["update_counts"], p["overflow"] = counts, sim.update_counts[0], sim.overflow
    if sim.learning:
        arr = sim.tables.arrays
        p["global_pos"], p["weight"] = sub.global_pos, sim.net.weight
        for k in SOURCE_TRACES:
            if k in arr:
                p[k] = arr[k][..., n_loc:]
        for k in NEURON_TRACES:
            if k in arr:
                p[k] = arr[k][..., :n_loc]
        p["reward"], p["weight_updates"] = arr["reward"], int(arr["counts"][0])
        tu = sim.trace_updates
        p["trace_events"] = tu.events
        p["trace_sides"] = [(lo, hi, e, last) for lo, hi, e, last in tu.sides]
    return p


def merge_parts(parts: list, full, step: int) -> dict:
    """The whole-network state from every worker's :func:`export_worker` part (``full``: the whole
    compiled network; its synapse table is not read)."""
    n, n_src = full.n_neurons, full.n_sources
    n_rows, n_ch = full.max_delay + 1, full.target.n_channels(full)
    first = parts[0]
    st = {}
    for k in NEURON_KEYS:
        a = np.zeros((*first[k].shape[:-1], n), dtype=first[k].dtype)
        for p in parts:
            a[..., p["local"]] = p[k]
        st[f"state/{k}"] = a
    pend = np.zeros((n_rows, n_ch, n), dtype=first["buf"].dtype)
    for p in parts:
        pend[..., p["local"]] = _pending(p["buf"], step, n_rows, n_ch, p["local"].size)
    st["pending"] = pend
    st["spike_count"] = sum(p["spike_count"] for p in parts)
    upd = np.zeros((2, n), dtype=np.int64)
    for p in parts:
        upd[:, p["local"]] = p["update_counts"]
    st["update_counts"] = upd
    st["overflow"] = sum(p["overflow"] for p in parts)
    st["bytes"] = sum(p["bytes"] for p in parts)
    if "weight" not in first:
        return st
    w = np.empty(int(full.indptr[-1]), dtype=first["weight"].dtype)  # every synapse is some worker's
    for p in parts:
        w[p["global_pos"]] = p["weight"]
    st["weight"] = w
    for keys, size, ids in ((SOURCE_TRACES, n_src, "mirrors"), (NEURON_TRACES, n, "local")):
        for k in keys:
            if k in first:
                a = np.zeros((*first[k].shape[:-1], size), dtype=first[k].dtype)
                for p in parts:
                    a[..., p[ids]] = p[k]
                st[f"learning/{k}"] = a
    st["learning/reward"] = first["reward"].copy()
    st["learning/weight_updates"] = np.int64(sum(p["weight_updates"] for p in parts))
    events = sum(p["trace_events"] for p in parts)
    sides = first["trace_sides"]  # TraceUpdates: (pre, post) of every rule; epoch None in float
    if sides and sides[0][2] is not None:  # Loihi: the open epoch's flags, from every worker's owned events
        x_open = np.zeros((len(sides) // 2, n_src), dtype=np.int64)
        y_open = np.zeros((len(sides) // 2, n), dtype=np.int64)
        for q, (lo, hi, e, _last) in enumerate(sides):
            flags = x_open if q % 2 == 0 else y_open
            for p in parts:
                flags[q // 2, lo:hi] |= p["trace_sides"][q][3] >= step // e
        st["learning/x_open"], st["learning/y_open"] = x_open, y_open
        events -= int(x_open.sum() + y_open.sum())
    st["learning/trace_updates"] = np.int64(events)
    return st


# ---------------------------------------------------------------------------- import
def _rebuild_lists(arr: dict) -> None:
    """Loihi tables: the lists of flagged sources / neurons from their flags (order is immaterial)."""
    for r in range(arr["x_flag"].shape[0]):
        for flag, lst, side in (("x_flag", "x_list", 0), ("y_flag", "y_list", 1)):
            idx = np.flatnonzero(arr[flag][r])
            arr[lst][r, : idx.size] = idx
            arr["n_list"][r, side] = idx.size


def _set_ring(buf: np.ndarray, pending: np.ndarray, step: int, cols: np.ndarray, where) -> None:
    rows, n = buf.shape[0], cols.size
    n_ch = buf.shape[2] // max(n, 1) if n else 0
    buf[...] = 0
    for r in range(pending.shape[0]):
        part = pending[r][:, cols]
        if r >= rows or n_ch < part.shape[0]:
            if np.any(part[n_ch:] if r < rows else part):
                raise NeuroError("checkpoint ring buffer does not fit the network (changed delays?)", where)
            if r >= rows:
                continue
            part = part[:n_ch]
        buf[(step + r) % rows, 0] = part.reshape(-1)


def import_simulator(sim, st: dict, meta: dict) -> None:
    """Put a whole-network state into a fresh single-process simulator."""
    k = meta["step"]
    cols = np.arange(sim.net.n_neurons)
    for key in NEURON_KEYS:
        sim.state[key][...] = st[f"state/{key}"]
    _set_ring(sim.state["buf"], st["pending"], k, cols, meta["path"])
    sim.spike_count[...] = st["spike_count"]
    sim.update_counts[0] = st["update_counts"]
    sim.overflow[...] = st["overflow"]
    if sim.learning:
        arr = sim.tables.arrays
        sim.net.weight[...] = st["weight"]
        for key in (*SOURCE_TRACES, *NEURON_TRACES):
            if key in arr:
                arr[key][...] = st[f"learning/{key}"]
        if "x_flag" in arr:
            arr["x_flag"][...] = st["learning/x_open"]
            arr["y_flag"][...] = st["learning/y_open"]
            _rebuild_lists(arr)
        arr["reward"][...] = st["learning/reward"]
        arr["counts"][:] = (st["learning/weight_updates"], st["learning/trace_updates"])
    _restore_inputs(sim.inputs, sim.net.rng, st, meta)
    sim.step = k
    sim._sample_start = 0 if k == 0 else -1


def import_worker(sim, sub, st: dict, meta: dict, rank: int, worker_of, spike_count) -> None:
    """Put a whole-network state into worker ``rank``'s fresh simulator (its local neurons,
    mirrors and kept synapses); ``spike_count`` is the runner's per-source count (worker 0
    takes every total, so that the sums over workers are the checkpoint's)."""
    k, n_loc, local = meta["step"], sub.local.size, sub.local
    for key in NEURON_KEYS:
        sim.state[key][...] = st[f"state/{key}"][..., local]
    _set_ring(sim.state["buf"], st["pending"], k, local, meta["path"])
    sim.update_counts[0] = st["update_counts"][:, local]
    if rank == 0:
        spike_count[...] = st["spike_count"]
        sim.overflow[...] = st["overflow"]
    if sim.learning:
        arr = sim.tables.arrays
        sim.net.weight[...] = st["weight"][sub.global_pos]
        for key in SOURCE_TRACES:
            if key in arr:
                arr[key][..., n_loc:] = st[f"learning/{key}"][..., sub.mirrors]
        for key in NEURON_TRACES:
            if key in arr:
                arr[key][..., :n_loc] = st[f"learning/{key}"][..., local]
        arr["reward"][...] = st["learning/reward"]
        arr["counts"][:] = (st["learning/weight_updates"] if rank == 0 else 0, 0)
        tu = sim.trace_updates
        tu.events = int(st["learning/trace_updates"]) if rank == 0 else 0
        if "x_flag" in arr:
            x_open, y_open = st["learning/x_open"], st["learning/y_open"]
            arr["x_flag"][:, n_loc:] = x_open[:, sub.mirrors]
            arr["y_flag"][:, :n_loc] = y_open[:, local]
            _rebuild_lists(arr)
            n = worker_of.size
            for q, (lo, hi, e, last) in enumerate(tu.sides):
                ids = np.arange(lo, hi)
                owned = worker_of[np.minimum(ids, n - 1)] == rank
                owned = np.where(ids < n, owned, rank == 0)  # input channels: worker 0
                flags = (x_open if q % 2 == 0 else y_open)[q // 2, lo:hi].astype(bool)
                last[...] = np.where(flags & owned, k // e, -1)
                if rank == 0:
                    tu.events += int(flags.sum())  # counted when their epoch ends (TraceUpdates.total)
    _restore_inputs(sim.inputs, sim.full.rng, st, meta)
    sim.step = k
    sim._sample_start = 0 if k == 0 else -1


def _restore_inputs(inputs, rng, st: dict, meta: dict) -> None:
    block = {k.split("/", 1)[1]: v for k, v in st.items() if k.startswith("inputs/")}
    inputs.set_state(block)
    rng.bit_generator.state = meta["rng_state"]


def restore_exchange(xchg, nbytes: int) -> None:
    """Worker 0's exchange counts the bytes of the steps before the checkpoint too."""
    if hasattr(xchg, "_received"):  # threads: bytes_sent is recomputed from the ids received
        xchg._received[0] += nbytes // 8
    xchg.bytes_sent += nbytes


# ---------------------------------------------------------------------------- file
def save(path, st: dict, meta: dict) -> Path:
    """Write state ``st`` and ``meta`` (JSON-able attributes) to ``path`` atomically (sealed)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        with h5py.File(tmp, "w", userblock_size=USERBLOCK) as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["version"] = __version__
            for key, val in meta.items():
                f.attrs[key] = val if isinstance(val, int | float | str | np.generic) else json.dumps(val)
            for key, val in st.items():
                if key != "bytes":
                    f.create_dataset(key, data=val)
        seal(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise NeuroError(f"cannot write the checkpoint: {exc.strerror or exc}", str(path)) from None
    return path


def load(path) -> tuple[dict, dict]:
    """(state, meta) of a run checkpoint; damage or another format is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise NeuroError(
            f"nothing to resume: no {CHECKPOINT} (run with --checkpoint-every)", str(path.parent)
        )
    check_seal(path)
    with reading(path, "checkpoint"), h5py.File(path, "r") as f:
        if f.attrs.get("format") != FORMAT:
            raise NeuroError("not a neuro run checkpoint", str(path))
        if int(f.attrs.get("format_version", -1)) != FORMAT_VERSION:
            raise NeuroError(
                f"checkpoint format version {f.attrs.get('format_version')} is not supported", str(path)
            )
        meta = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
        for key in ("spec", "rng_state"):
            meta[key] = json.loads(meta[key])
        st = {}
        f.visititems(
            lambda name, obj: st.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
        )
    for key in ("step", "steps", "seed"):
        meta[key] = integer(meta.get(key), f"checkpoint {key}", path)
    meta["path"] = str(path)
    return st, meta


def check_shapes(st: dict, full, path) -> None:
    """Refuse a checkpoint whose arrays do not fit the compiled network ``full``."""
    n, n_src = full.n_neurons, full.n_sources
    want = {
        "pending": (full.max_delay + 1, full.target.n_channels(full), n),
        "spike_count": (n_src,),
        "update_counts": (2, n),
        "overflow": (3,),
    }
    if "weight" in st:
        want["weight"] = (int(full.indptr[-1]),)  # (a worker's copy of the whole network has no synapses)
    for key, shape in want.items():
        if key not in st or st[key].shape != shape:
            got = st[key].shape if key in st else "nothing"
            raise NeuroError(f"checkpoint {key} has shape {got}, the network needs {shape}", str(path))
    for key in NEURON_KEYS:
        a = st.get(f"state/{key}")
        if a is None or a.shape[-1] != n:
            raise NeuroError(f"checkpoint state/{key} does not fit the network's {n} neurons", str(path))
    for key, a in st.items():
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise NeuroError(f"checkpoint {key} holds NaN or infinite values", str(path))


# ---------------------------------------------------------------------------- policy
class Checkpointer:
    """When and where a run writes its checkpoint, and the state it resumes from.

    Parameters
    ----------
    outdir : path-like
        The run's output directory (the checkpoint is ``OUTDIR/checkpoint.h5``).
    every : float or None
        Wall-clock seconds between checkpoints (0: after every chunk); None: none (the resumed
        state, if any, is still applied).
    meta : dict
        Attributes stored with every checkpoint (spec, hash, seed, arithmetic, steps).
    resume : tuple (state, meta) or None
        The checkpoint to continue from.
    stop_after : int, optional
        Stop as if interrupted once this many steps are done (a chunk boundary there);
        for tests and scripted preemption.
    """

    def __init__(self, outdir, every: float | None, meta: dict, resume=None, stop_after: int | None = None):
        self.path = Path(outdir) / CHECKPOINT
        self.every, self.meta = every, meta
        self.state, self.resumed = resume if resume is not None else (None, None)
        self.stop_after = stop_after
        self._last = time.monotonic()
        self.written = 0

    @property
    def start(self) -> int:
        return 0 if self.resumed is None else int(self.resumed["step"])

    def boundaries(self, changes: list) -> list:
        """Chunk boundaries of the run: ``changes`` and the stop step."""
        return sorted({*changes, *([self.stop_after] if self.stop_after else [])})

    def stop_now(self, step: int) -> bool:
        """The stop step is reached (never at the run's last step: the run then completes)."""
        return self.stop_after is not None and self.stop_after <= step < self.meta["steps"]

    def due(self, step: int, stopping: bool) -> bool:
        """A checkpoint is due after ``step`` steps: at a stop (interrupt) or when ``every`` seconds
        have passed (never at the run's last step)."""
        if self.every is None or step >= self.meta["steps"]:
            return False
        return stopping or time.monotonic() - self._last >= self.every

    def write(self, st: dict, step: int, rng_state: dict, workers: int) -> None:
        meta = dict(self.meta, step=int(step), rng_state=rng_state, workers=int(workers))
        meta["bytes_exchanged"] = int(st.get("bytes", 0))
        save(self.path, st, meta)
        self._last = time.monotonic()
        self.written += 1

    def finished(self) -> None:
        """The run completed: its checkpoint is of no further use."""
        if self.every is not None or self.resumed is not None:
            self.path.unlink(missing_ok=True)


def at_chunk_end(ckpt: Checkpointer, group, sim, sub, full, spike_count, xchg, stopped: bool) -> bool:
    """After a chunk on every worker of ``group``: write a checkpoint when one is due (worker 0's
    clock decides; every worker's part is gathered and merged on worker 0); returns whether the
    run stops here (``stopped``, or the stop step reached)."""
    stopped = stopped or ckpt.stop_now(sim.step)
    if not group.any(group.rank == 0 and ckpt.due(sim.step, stopped)):
        return stopped
    parts = group.gather(export_worker(sim, sub, spike_count, xchg.bytes_sent))
    if parts is not None:
        st = merge_parts(parts, full, sim.step)
        st.update(inputs_state(sim.inputs))
        ckpt.write(st, sim.step, full.rng.bit_generator.state, group.size)
    group.barrier()  # (threads) no worker steps on before worker 0 has written its state
    return stopped


def inputs_state(inputs) -> dict:
    return {f"inputs/{k}": v for k, v in inputs.get_state().items()}
