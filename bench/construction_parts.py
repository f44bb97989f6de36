"""Time the per-synapse passes around a run on the full-chip network of ``bench/full_chip.py``.

The passes are:

* the energy ledger's synapse groups (``neuro.energy.ledger.synapse_groups``);
* the NeuroBench dense-matrix counts (``neuro.energy.neurobench.dense_tables``), which every
  ``neuro run`` computes;
* one worker's cut of the whole network for ``neuro run --threads 2``
  (``neuro.parallel.subnet.build_subnet``; the cores split in half, one chip per half).

Each pass runs ``--repeat`` times; the first call also loads (or compiles) its kernel.

    python bench/construction_parts.py [--cores 128] [--repeat 2]

There is no peer: these passes are neuro's own bookkeeping. Compare one checkout against
another with ``PYTHONPATH=<checkout>``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from full_chip import build_spec  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cores", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    from neuro.chips import LOIHI
    from neuro.energy.ledger import synapse_groups
    from neuro.energy.neurobench import dense_tables
    from neuro.mapping import place
    from neuro.network import compile_network
    from neuro.parallel.subnet import build_subnet

    net = compile_network(build_spec(args.cores, 1024, 1000, 10, 1, "loihi"))
    pl = place(net, LOIHI.with_limits(synapse_memory_bits_per_core=None), 1)
    half = pl.n_cores // 2
    worker_of = (pl.core_of >= half).astype(np.int64)
    chip_of_core = (np.arange(pl.n_cores) >= half).astype(np.int64)
    print(f"{net.n_neurons:,} neurons, {net.n_synapses:,} synapses, {pl.n_cores} cores")

    def cut():
        return build_subnet(net, worker_of, 0, 2, pl.core_of, chip_of_core).net.n_synapses

    passes = {
        "ledger synapse groups": lambda: synapse_groups(net, pl.core_of, pl.n_cores)["n"].size,
        "NeuroBench dense tables": lambda: dense_tables(net)[1],
        "worker 0's cut (2 workers)": cut,
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
