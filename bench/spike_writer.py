"""The output path alone: ``SpikeWriter`` appending chunks of spikes and flushing after each.

Spikes like ``bench/multichip.py``'s (``--pops`` populations of ``--size`` neurons firing at
``--rate`` Hz, drawn from one seeded generator, sorted by step then neuron) are written in
``--chunks`` chunks of ``--chunk-steps`` steps, as a run's worker 0 writes them: one
``write_spikes`` (every population's timestamps, node ids and steps) and one ``flush`` (the
committed lengths of every dataset, ``steps_completed``) per chunk. Prints the time per chunk
of each, the first chunk apart (it allocates the datasets' first HDF5 chunks).

    python bench/spike_writer.py                         # 64 x 1024 neurons, 300-step chunks
    python bench/spike_writer.py --pops 128 --chunk-steps 1000   # bench/full_chip.py's chunk

``--workers W`` splits each chunk's spikes into W workers' parts (contiguous populations) and
writes them as the multi-worker runner's worker 0 does (merged, then written: the runner's own
``_write_parts``). ``--pages small`` writes inside :func:`neuro.io.pages.small_pages`, as
``neuro run`` does; ``--pages default`` with numpy's huge-page advice; ``--pages both`` runs the
two one after the other, each in a fresh process, and prints both (on a machine whose THP
``defrag`` is ``madvise`` the first chunk differs):

    python bench/spike_writer.py --pops 128 --chunk-steps 1000 --chunks 3 --workers 2 --pages both
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from neuro.io.pages import small_pages
from neuro.io.sonata import SpikeWriter
from neuro.parallel.runner import _write_parts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pops", type=int, default=64)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--rate", type=float, default=11.4, help="Hz per neuron (dt = 1 ms)")
    ap.add_argument("--chunk-steps", type=int, default=300)
    ap.add_argument("--chunks", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1, help="parts merged as worker 0 merges them")
    ap.add_argument("--pages", choices=["small", "default", "both"], default="small")
    args = ap.parse_args()
    if min(args.pops, args.size, args.chunk_steps, args.chunks, args.workers) < 1:
        ap.error("--pops, --size, --chunk-steps, --chunks and --workers must be at least 1")
    if args.pages == "both":
        for pages in ("default", "small"):
            cmd = [sys.executable, __file__, *sys.argv[1:]]
            cmd[cmd.index("both")] = pages
            print(f"--pages {pages}:", flush=True)
            subprocess.run(cmd, check=True)
        return
    pages = small_pages if args.pages == "small" else contextlib.nullcontext
    rng = np.random.default_rng(args.seed)
    n = args.pops * args.size
    offsets = np.arange(args.pops + 1, dtype=np.int64) * args.size
    names = [f"c{p}" for p in range(args.pops)]
    writes, flushes, total = [], [], 0
    with tempfile.TemporaryDirectory(prefix="neuro_spike_writer_") as tmp:
        w = SpikeWriter(Path(tmp) / "spikes.h5", names, offsets, 1.0, {"seed": args.seed})
        for c in range(args.chunks):
            k0 = c * args.chunk_steps
            ids = [np.flatnonzero(rng.random(n) < args.rate * 1e-3) for _ in range(args.chunk_steps)]
            step = np.repeat(np.arange(k0, k0 + args.chunk_steps), [i.size for i in ids])  # by step,
            neuron = np.concatenate(ids)  # then neuron
            total += step.size
            neuron = neuron.astype(np.int64)
            parts = []  # worker q: its populations' spikes, by step then neuron
            for q in range(args.workers):
                lo, hi = offsets[args.pops * q // args.workers], offsets[args.pops * (q + 1) // args.workers]
                sel = (neuron >= lo) & (neuron < hi)
                parts.append((step[sel], neuron[sel], np.zeros(0, np.int64), None, None))
            no_probes = np.zeros((args.chunk_steps, 1, 0))
            t0 = time.perf_counter()
            with pages():
                if args.workers == 1:
                    w.write_spikes(step, neuron)
                else:  # the runner's merge, write_spikes and flush
                    _write_parts(w, k0, parts, no_probes, [])
            t1 = time.perf_counter()
            if args.workers == 1:
                w.flush(k0 + args.chunk_steps)
            t2 = time.perf_counter()
            writes.append(t1 - t0)
            flushes.append(t2 - t1)
        w.close(True)
    later = slice(1, None) if args.chunks > 1 else slice(None)
    print(
        f"{args.pops} populations x {args.size} neurons, {args.rate} Hz, {args.chunks} chunks of "
        f"{args.chunk_steps} steps, {total / args.chunks:,.0f} spikes per chunk"
    )
    if args.workers > 1:
        print(f"{args.workers} workers' parts: 'write_spikes' below is the merge, write and flush")
    print(f"first chunk:  write_spikes {writes[0] * 1e3:7.1f} ms   flush {flushes[0] * 1e3:7.1f} ms")
    print(
        f"later chunks: write_spikes {statistics.median(writes[later]) * 1e3:7.1f} ms   "
        f"flush {statistics.median(flushes[later]) * 1e3:7.1f} ms   (median)"
    )
    both = np.add(writes, flushes)[later]
    print(f"output per chunk after the first: {statistics.median(both) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
