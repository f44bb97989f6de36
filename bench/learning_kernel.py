"""Loihi learning kernel alone: the single-process tables vs a worker's tables with global ids.

The kernel (``neuro.learning.loihi.learn_loihi``) runs on the Diehl & Cook network's Loihi
learning tables (784 inputs x N excitatory neurons, the model's trace rule) for S steps of
synthetic events drawn once with a fixed seed (5 % of the inputs and 0.5 % of the neurons
spike per step). Two rows, both on the whole network:

* *whole network*: the tables as one process builds them (no global ids: numba compiles the
  identity, so this is the training hot loop);
* *ids = identity arrays*: the same tables with ``syn_gid`` / ``src_gid`` / ``nrn_gid`` set
  to 0..n-1, i.e. the worker's code path (an index load per synapse and trace) on ids that
  change nothing — its weights and traces must be the first row's, bit for bit.

Figures are the best CPU time of R repeats (``time.process_time``; the other jobs on a shared
machine perturb wall time more). To compare two source trees, run the script from each
(``PYTHONPATH=TREE python bench/learning_kernel.py``; the first row is the hot loop) — an
older tree without global ids runs the first row only.

    python bench/learning_kernel.py [--neurons 400] [--steps 5000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import hashlib
import time

import numpy as np

from neuro.learning import loihi
from neuro.learning.tables import build_loihi_tables
from neuro.models.diehl_cook import DiehlCookConfig, build_network
from neuro.network import compile_network


def timed(net, events, repeats: int, ids: bool) -> tuple[float, str]:
    """Best CPU seconds of ``repeats`` runs (after one untimed warm-up), and a hash of the
    learned weights and traces."""
    n = net.n_neurons
    best, digest = float("inf"), None
    for rep in range(repeats + 1):
        tables = build_loihi_tables(net)
        if ids:
            tables.set_global_ids(np.arange(net.n_synapses), np.arange(net.n_sources), np.arange(n))
        lrn = tables.pack(loihi.LoihiTables)
        w = net.weight.copy()
        c0 = time.process_time()
        for k, (out, inp) in enumerate(events):
            loihi.learn_loihi(k, n, out, 0, out.size, inp, 0, inp.size, net.slot, w, lrn)
        if rep:
            best = min(best, time.process_time() - c0)
        h = hashlib.sha1(w.tobytes() + tables.arrays["x"].tobytes() + tables.arrays["y"].tobytes())
        digest = h.hexdigest()[:16]
    return best, digest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--neurons", type=int, default=400)
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    net = compile_network(build_network(DiehlCookConfig(n_neurons=args.neurons), arithmetic="loihi", seed=0))
    n, n_in = net.n_neurons, net.n_sources - net.n_neurons
    rng = np.random.default_rng(1)
    events = [
        (
            np.flatnonzero(rng.random(args.neurons) < 0.005).astype(np.int64),
            n + np.flatnonzero(rng.random(n_in) < 0.05).astype(np.int64),
        )
        for _ in range(args.steps)
    ]
    rows = [("whole network", False)]
    if hasattr(build_loihi_tables(net), "set_global_ids"):
        rows.append(("ids = identity arrays", True))
    print(f"learn_loihi, {args.steps} steps, {net.n_synapses} synapses, best of {args.repeats} (CPU s)")
    first = None
    for name, ids in rows:
        best, digest = timed(net, events, args.repeats, ids)
        first = first or (best, digest)
        ratio = best / first[0]
        same = "same" if digest == first[1] else "DIFFERENT"
        per_step = 1e6 * best / args.steps
        print(f"  {name:24s} {best:7.3f} s  {per_step:7.1f} us/step  x{ratio:.3f}  {same} {digest}")


if __name__ == "__main__":
    main()
