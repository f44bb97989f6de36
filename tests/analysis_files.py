"""Small spike files with known content for the tests of :mod:`neuro.analysis`."""

from __future__ import annotations

from types import SimpleNamespace

import h5py
import numpy as np

from neuro.io.sonata import SORTING, SpikeWriter


def write_ours(path, pops, dt=0.1, steps=10000, complete=True, cores=None, coords=None, spec=None):
    """Write ``path`` with :class:`SpikeWriter`, as a run of this emulator would.

    Parameters
    ----------
    pops : dict name -> (size, node_ids, steps)
    cores : dict name -> per-neuron global core index (default: one core per population)
    coords : (n_cores, 3) chip, x, y (default: core c at (0, c, 0))
    """
    names = list(pops)
    sizes = [pops[p][0] for p in names]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    core_of = np.concatenate(
        [np.asarray(cores[p]) if cores else np.full(pops[p][0], i) for i, p in enumerate(names)]
    ).astype(np.int32)
    n_cores = int(core_of.max()) + 1
    if coords is None:
        coords = np.array([[0, c, 0] for c in range(n_cores)], dtype=np.int64)
    comp = np.zeros_like(core_of)
    for c in range(n_cores):
        comp[core_of == c] = np.arange(np.sum(core_of == c))
    placement = SimpleNamespace(
        core_of=core_of, compartment_of=comp, core_coords=lambda: np.asarray(coords, dtype=np.int64)
    )
    attrs = {"seed": 7, "steps": steps, "arithmetic": "float", "chip": "loihi", "chips": 1, "version": "test"}
    if spec is not None:
        attrs["spec"] = spec
    w = SpikeWriter(path, names, offsets, dt, attrs)
    w.write_placement(placement)
    g_step = np.concatenate([np.asarray(pops[p][2], dtype=np.int64) for p in names])
    g_id = np.concatenate([offsets[i] + np.asarray(pops[p][1], dtype=np.int64) for i, p in enumerate(names)])
    order = np.argsort(g_step, kind="stable")
    w.write_spikes(g_step[order], g_id[order])
    w.flush(steps)
    w.close(complete, {"spikes": int(g_step.size)})
    return path


def write_plain(path, pops, sorting="none", sorting_as_string=False):
    """Write a plain SONATA spike file (no ``/emulator``) with h5py, as another tool would.

    ``pops``: dict name -> (node_ids, timestamps ms), written in the order given.
    """
    with h5py.File(path, "w") as f:
        f.attrs["magic"] = np.uint32(0x0A7A)
        f.attrs["version"] = np.array([0, 1], dtype=np.uint32)
        for name, (ids, ts) in pops.items():
            g = f.create_group(f"spikes/{name}")
            if sorting is not None:
                if sorting_as_string:
                    g.attrs["sorting"] = sorting
                else:
                    g.attrs.create("sorting", {"none": 0, "by_id": 1, "by_time": 2}[sorting], dtype=SORTING)
            g.create_dataset("node_ids", data=np.asarray(ids, dtype=np.uint64))
            d = g.create_dataset("timestamps", data=np.asarray(ts, dtype=np.float64))
            d.attrs["units"] = "ms"
    return path


# The hand-computed example (see test_analysis_stats.py): 4 neurons, 1000 ms, dt 0.1 ms.
HAND_IDS = np.array([0, 0, 0, 1, 1, 1, 1, 2])
HAND_TIMES = np.array([105.0, 205.0, 405.0, 105.0, 305.0, 505.0, 705.0, 155.0])
HAND_CORES = {"a": [0, 0, 1, 1], "b": [2, 2]}
HAND_COORDS = [[0, 0, 0], [0, 1, 0], [0, 0, 1]]


def hand_file(path, **kw):
    """Population ``a`` (4 neurons on cores 0, 0, 1, 1) with the hand spikes, ``b`` (2 neurons
    on core 2) with one spike of neuron 1 at 999 ms."""
    steps = np.rint(HAND_TIMES / 0.1).astype(np.int64)
    kw.setdefault("cores", HAND_CORES)
    kw.setdefault("coords", HAND_COORDS)
    return write_ours(path, {"a": (4, HAND_IDS, steps), "b": (2, np.array([1]), np.array([9990]))}, **kw)
