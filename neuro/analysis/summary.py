"""``neuro inspect``: per-population statistics, per-core spike counts and run metadata.

The statistics and their formulas are documented in :mod:`neuro.analysis.stats`. Per core
(from ``/emulator/placement`` and ``/emulator/cores``): the neurons and the spikes of the
neurons placed on it, and the busiest cores by spikes.
"""

from __future__ import annotations

import numpy as np

from neuro.analysis.source import SpikeSource, as_source
from neuro.analysis.stats import FANO_BIN_MS, SYNC_BIN_MS, accumulate

TOP_CORES = 5


def neuron_counts(src: SpikeSource, pop: str, t0: float, t1: float) -> np.ndarray:
    """Spike count of every neuron of ``pop`` in ``[t0, t1)`` (streamed)."""
    n = src.n_neurons(pop)
    c = np.zeros(n, np.int64)
    for ids, _ in src.chunks(pop, t0, t1):
        c += np.bincount(ids, minlength=n)[:n]
    return c


def core_table(src: SpikeSource, counts: dict) -> dict | None:
    """Per-core neurons and spikes from the placement and per-neuron ``counts`` (pop → array).

    Returns ``None`` when the file has no placement (another tool's file).
    """
    pops = [p for p in src.populations if src.placement(p) is not None]
    if not pops:
        return None
    n_cores = 0 if src.cores is None else len(src.cores)
    for p in pops:
        n_cores = max(n_cores, int(src.placement(p)[:, 1].max(initial=-1)) + 1)
    spikes = np.zeros(n_cores, np.int64)
    neurons = np.zeros(n_cores, np.int64)
    owner = [None] * n_cores
    for p in pops:
        core = src.placement(p)[:, 1].astype(np.int64)
        neurons += np.bincount(core, minlength=n_cores)
        if p in counts:
            spikes += np.bincount(core, weights=counts[p], minlength=n_cores).astype(np.int64)
        for c in np.unique(core):
            owner[c] = p if owner[c] in (None, p) else f"{owner[c]}+{p}"
    coords = src.cores if src.cores is not None and len(src.cores) >= n_cores else None
    rows = []
    for c in range(n_cores):
        row = {"core": c, "chip": None, "x": None, "y": None}
        if coords is not None:
            row.update(chip=int(coords[c, 0]), x=int(coords[c, 1]), y=int(coords[c, 2]))
        row.update(population=owner[c], neurons=int(neurons[c]), spikes=int(spikes[c]))
        rows.append(row)
    busiest = sorted(rows, key=lambda r: (-r["spikes"], r["core"]))[:TOP_CORES]
    return {"n_cores": n_cores, "per_core": rows, "busiest": busiest}


def inspect_spikes(
    source,
    t_start: float | None = None,
    t_stop: float | None = None,
    fano_bin_ms: float = FANO_BIN_MS,
    sync_bin_ms: float = SYNC_BIN_MS,
) -> dict:
    """Summarize a spike file (what ``neuro inspect --json`` prints).

    Parameters
    ----------
    source : path-like or SpikeSource
        A ``spikes.h5``, a run directory, or an open :class:`SpikeSource`.
    t_start, t_stop : float, optional
        Window in ms (default: the whole recording).
    fano_bin_ms, sync_bin_ms : float
        Bin widths of the Fano factor and of Golomb's chi (see :mod:`neuro.analysis.stats`).

    Returns
    -------
    dict
        ``file``, ``metadata``, ``window_ms``, ``bins_ms``, ``populations`` (name → stats),
        ``cores`` (``None`` without placement) and ``counters``.
    """
    src, own = as_source(source)
    try:
        t0, t1 = src.window(t_start, t_stop)
        pops, counts = {}, {}
        for p in src.populations:
            n = src.n_neurons(p)
            acc = accumulate(lambda p=p: src.chunks(p, t0, t1), n, t0, t1, fano_bin_ms, sync_bin_ms)
            pops[p] = acc.result()
            counts[p] = acc.count
        return {
            "file": str(src.path),
            "metadata": src.metadata(),
            "window_ms": [t0, t1],
            "bins_ms": {"fano": float(fano_bin_ms), "synchrony": float(sync_bin_ms)},
            "populations": pops,
            "cores": core_table(src, counts),
            "counters": dict(src.counters),
        }
    finally:
        if own:
            src.close()


def _num(v, fmt):
    return "-" if v is None else format(v, fmt)


def format_report(rep: dict) -> str:
    """The report of :func:`inspect_spikes` as plain text."""
    m = rep["metadata"]
    lines = [rep["file"]]
    if m.get("network") is not None or m.get("seed") is not None:
        steps = f"{m['steps_completed']}/{m['steps']}" if m.get("steps") is not None else "?"
        lines.append(
            f"run: {m.get('network') or '?'}, seed {m.get('seed')}, dt {m.get('dt_ms')} ms, {steps} steps, "
            f"{m.get('arithmetic')} arithmetic, chip {m.get('chip')} x{m.get('chips')}, "
            f"neuro {m.get('version')}, {'complete' if m['complete'] else 'INCOMPLETE (interrupted)'}"
        )
    else:
        lines.append("run: no /emulator metadata (file from another tool)")
    t0, t1 = rep["window_ms"]
    b = rep["bins_ms"]
    lines.append(f"window: [{t0:g}, {t1:g}) ms")
    head = (
        f"{'population':<14} {'neurons':>8} {'spikes':>10} {'mean Hz':>8} {'max Hz':>8} {'silent':>7} "
        f"{'CV ISI':>7} {'Fano':>7} {'chi':>6}"
    )
    lines += ["", head]
    for name, s in rep["populations"].items():
        silent = "-" if s["silent_fraction"] is None else f"{100 * s['silent_fraction']:.1f}%"
        lines.append(
            f"{name[:14]:<14} {s['neurons']:>8} {s['spikes']:>10} {_num(s['mean_rate_hz'], '.3f'):>8} "
            f"{_num(s['max_rate_hz'], '.2f'):>8} {silent:>7} {_num(s['cv_isi_mean'], '.3f'):>7} "
            f"{_num(s['fano_factor'], '.3f'):>7} {_num(s['synchrony_chi'], '.3f'):>6}"
        )
    lines.append(
        f"CV ISI: mean over neurons with >= 3 spikes; Fano: population count in {b['fano']:g} ms bins; "
        f"chi: Golomb's synchrony on {b['synchrony']:g} ms bins"
    )
    cores = rep["cores"]
    if cores:
        per = [r["spikes"] for r in cores["per_core"]]
        lines += [
            "",
            f"cores: {cores['n_cores']} used, spikes per core min {min(per)}, "
            f"mean {np.mean(per):.1f}, max {max(per)}; busiest:",
        ]
        for r in cores["busiest"]:
            where = f"chip {r['chip']} ({r['x']},{r['y']})" if r["chip"] is not None else ""
            lines.append(
                f"  core {r['core']:>4} {where:<16} {str(r['population'])[:14]:<14} "
                f"{r['neurons']:>6} neurons {r['spikes']:>10} spikes"
            )
    return "\n".join(lines)
