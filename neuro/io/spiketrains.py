"""Spike files as neo ``SpikeTrain`` objects, the input of Elephant's analyses.

:func:`to_neo` reads a SONATA spike file with :func:`neuro.io.sonata.read_spikes` and returns
one ``neo.Segment`` holding one ``SpikeTrain`` per neuron (silent neurons included when the
file says how many there are), each annotated with its ``population`` and ``node_id``. Times
are in ms; ``t_start`` and ``t_stop`` are the simulated window stored with the run
(``/emulator`` ``t_start_ms`` / ``t_stop_ms``), else ``0`` and the last spike. neo is an
optional dependency (``pip install neo``), imported only here.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from neuro.errors import NeuroError
from neuro.io.sonata import read_spikes


def _run_window_and_sizes(path: Path) -> tuple[float | None, float | None, dict]:
    """``(t_start, t_stop, {population: size})`` from ``/emulator`` where the file has it."""
    with h5py.File(path, "r") as f:
        emu = f.get("emulator")
        if not isinstance(emu, h5py.Group):
            return None, None, {}
        t0 = emu.attrs.get("t_start_ms")
        t1 = emu.attrs.get("t_stop_ms")
        sizes = {}
        spec = emu.attrs.get("spec")
        if spec is not None:
            try:
                sizes = {p["name"]: int(p["size"]) for p in json.loads(spec).get("populations", [])}
            except (ValueError, TypeError, KeyError, AttributeError):
                sizes = {}
    return (None if t0 is None else float(t0)), (None if t1 is None else float(t1)), sizes


def to_neo(path, populations=None):
    """A ``neo.Segment`` with one ``SpikeTrain`` (ms) per neuron of ``path``'s populations.

    Parameters
    ----------
    path : path-like
        A SONATA ``spikes.h5`` or a run directory holding one.
    populations : iterable of str, optional
        Populations to convert (default: all, in file order).

    Returns
    -------
    neo.Segment
        ``segment.spiketrains[k]`` has ``annotations == {"population": p, "node_id": i}``;
        neurons are listed population by population, in ``node_id`` order.
    """
    import neo
    import quantities as pq

    path = Path(path)
    if path.is_dir() and (path / "spikes.h5").is_file():
        path = path / "spikes.h5"
    pops = read_spikes(path)
    names = list(pops) if populations is None else list(populations)
    for name in names:
        if name not in pops:
            raise NeuroError(f"no population {name!r} (the file has: {', '.join(pops) or 'none'})", str(path))
    t0, t1, sizes = _run_window_and_sizes(path)
    t_start = 0.0 if t0 is None else t0
    last = max((float(pops[n].timestamps.max()) for n in names if pops[n].timestamps.size), default=t_start)
    t_stop = max(last, t_start) if t1 is None else max(t1, last)
    seg = neo.Segment(name=str(path))
    for name in names:
        ids, ts = pops[name]
        n = max(sizes.get(name, 0), int(ids.max()) + 1 if ids.size else 0)
        order = np.argsort(ids, kind="stable")
        ids, ts = ids[order], ts[order]
        bounds = np.searchsorted(ids, np.arange(n + 1))
        for i in range(n):
            seg.spiketrains.append(
                neo.SpikeTrain(
                    np.sort(ts[bounds[i] : bounds[i + 1]]) * pq.ms,
                    t_start=t_start * pq.ms,
                    t_stop=t_stop * pq.ms,
                    population=name,
                    node_id=i,
                )
            )
    return seg
