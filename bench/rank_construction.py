"""Construction time of one MPI rank: the whole network then its cut, against the rank's share
streamed (:mod:`neuro.parallel.construct`).

The workload of ``bench/multichip.py`` (bench/full_chip.py's network, Loihi arithmetic, on
``--chips`` chips of ``--cores`` cores). Per round, in this one process, one after the other:

* **whole, then cut** (what every rank did before): ``compile_network`` + ``mapping.place`` +
  the partition + ``build_subnet`` of rank 0;
* **share streamed**: ``build_worker(net, ranks, 0)`` (every projection drawn twice, only
  rank 0's synapses kept).

Each rank of ``mpiexec -n R`` does this work at the same time as the others, so the time of one
rank is the construction's wall time on R free cores. Prints the best of ``--rounds`` rounds of
each and the ratio; the memory of each is measured by ``bench/multichip.py`` (peak RSS per rank).

    python bench/rank_construction.py --cores 32 --rounds 3
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cores", type=int, default=32, help="cores per chip")
    ap.add_argument("--chips", type=int, default=2)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))  # this tree's neuro

    import importlib.util

    from neuro import chips
    from neuro.mapping import place
    from neuro.network import compile_network
    from neuro.parallel.construct import build_worker
    from neuro.parallel.partition import worker_of_neuron
    from neuro.parallel.subnet import build_subnet

    chips.PROFILES["loihi"] = dataclasses.replace(
        chips.LOIHI.with_limits(synapse_memory_bits_per_core=None), cores_per_chip=args.cores
    )
    spec = importlib.util.spec_from_file_location("full_chip", ROOT / "bench" / "full_chip.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    net = mod.build_spec(args.cores * args.chips, 1024, 1000, 10, args.seed, "loihi")
    net = net.with_simulation(chips=args.chips)
    small = mod.build_spec(min(4, args.cores), 64, 16, 10, args.seed, "loihi").with_simulation(chips=1)

    def whole_then_cut(net):
        compiled = compile_network(net)
        placement = place(compiled, chips.PROFILES["loihi"], net.simulation.chips)
        worker_of = worker_of_neuron(placement, args.ranks)
        chip = placement.core_coords()[:, 0]
        sub = build_subnet(compiled, worker_of, 0, args.ranks, placement.core_of, chip)
        return sub.net.n_synapses

    def streamed(net):
        _full, _placement, sub = build_worker(net, args.ranks, 0)
        return sub.net.n_synapses

    for f in (whole_then_cut, streamed):  # compile or load the kernels
        f(small)
    best = {}
    for _ in range(args.rounds):
        for f in (whole_then_cut, streamed):
            gc.collect()
            t0 = time.perf_counter()
            kept = f(net)
            dt = time.perf_counter() - t0
            best[f.__name__] = min(dt, best.get(f.__name__, dt))
            print(f"{f.__name__:>15}: {dt:6.2f} s (rank 0 keeps {kept} synapses)", flush=True)
    ratio = best["streamed"] / best["whole_then_cut"]
    print(
        f"best of {args.rounds}: whole then cut {best['whole_then_cut']:.2f} s, share streamed "
        f"{best['streamed']:.2f} s: {ratio:.2f}x the time"
    )


if __name__ == "__main__":
    main()
