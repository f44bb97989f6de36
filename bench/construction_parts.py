"""Time the per-synapse passes around a run on the full-chip network of ``bench/full_chip.py``.

The passes are:

* the energy ledger's synapse groups (``neuro.energy.ledger.synapse_groups``);
* the NeuroBench dense-matrix counts (``neuro.energy.neurobench.dense_tables``), which every
  ``neuro run`` computes;
* the whole network compiled from the spec (``neuro.network.compile_network``), as a run on one
  thread builds it;
* one worker's share built from the spec, as each worker of ``neuro run --threads 2`` and each
  of 2 MPI ranks build it (``neuro.parallel.construct.build_worker``: every draw made twice,
  only the worker's synapses kept).

Each pass runs ``--repeat`` times; the first call also loads (or compiles) its kernel.
``--no-hugepages`` switches off numpy's transparent-huge-page ``madvise`` for large arrays
first: on a machine whose THP ``defrag`` setting is ``madvise`` (see
``/sys/kernel/mm/transparent_hugepage/defrag``), first writes to fresh large arrays may stall
in direct compaction, and the passes that allocate (the compile, a worker's share) show it.

    python bench/construction_parts.py [--cores 128] [--repeat 2]

There is no peer: these passes are neuro's own bookkeeping. Compare one checkout against
another with ``PYTHONPATH=<checkout>``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from full_chip import build_spec  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cores", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-hugepages", action="store_true", help="numpy's huge-page madvise off")
    args = ap.parse_args()
    if args.no_hugepages:
        from numpy._core.multiarray import _set_madvise_hugepage

        _set_madvise_hugepage(False)
    from neuro import chips
    from neuro.energy.ledger import synapse_groups
    from neuro.energy.neurobench import dense_tables
    from neuro.mapping import place
    from neuro.network import compile_network
    from neuro.parallel.construct import build_worker

    chips.PROFILES["loihi"] = chips.LOIHI.with_limits(synapse_memory_bits_per_core=None)
    spec = build_spec(args.cores, 1024, 1000, 10, 1, "loihi")
    net = compile_network(spec)
    pl = place(net, chips.PROFILES["loihi"], 1)
    print(f"{net.n_neurons:,} neurons, {net.n_synapses:,} synapses, {pl.n_cores} cores")

    passes = {
        "ledger synapse groups": lambda: synapse_groups(net, pl.core_of, pl.n_cores)["n"].size,
        "NeuroBench dense tables": lambda: dense_tables(net)[1],
        "whole network compiled": lambda: compile_network(spec).n_synapses,
        "worker 0's share (2 workers)": lambda: build_worker(spec, 2, 0)[2].net.n_synapses,
    }
    for name, run in passes.items():
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            size = run()
            times.append(time.perf_counter() - t0)
        print(f"  {name:28} " + " / ".join(f"{t:.2f}" for t in times) + f" s  ({size:,})")


if __name__ == "__main__":
    main()
