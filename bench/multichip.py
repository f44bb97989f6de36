"""The full-chip workload of bench/full_chip.py on several chips and several MPI ranks.

Each chip holds ``--cores`` populations of ``--per-core`` LIF neurons wired as in
``bench/full_chip.py`` (population c receives from c..c+3 mod the number of populations, ~1000
synapses per neuron, Loihi arithmetic, every neuron firing ~10 Hz on its bias); with ``--chips
2`` the ring of populations spans both chips, so 1/4 of a chip's boundary populations' input
crosses chips. A chip here has ``--cores`` cores (128 on Loihi; fewer for a reduced run), and
the per-core synapse memory limit is lifted as in bench/full_chip.py.

Rows (each in its own process group, one after the other, the same seed):

* 2 chips on 1 rank (``python``: the single-process engine) — the baseline;
* 2 chips on 2 ranks (``mpiexec -n 2``) — strong scaling: speed-up, parallel efficiency
  ``steps/s(2 ranks) / (2 x steps/s(1 rank))``, bytes exchanged per step, peak RSS per rank,
  spikes identical to the baseline (SHA-256 of the spike file's datasets);
* 2 chips on 1 rank with 2 worker threads (``--threads 2``: the same partition, spikes through
  shared memory);
* 1 chip on 1 rank — for weak scaling: efficiency ``steps/s(2 chips, 2 ranks) / steps/s(1 chip,
  1 rank)``.

    python bench/multichip.py --cores 32 --steps 500      # reduced: 2 x 32 cores of 1024 neurons
    python bench/multichip.py                             # 2 full chips (2 x 131k neurons, ~2 x 2.4 GiB)
    python bench/multichip.py --cores 32 --steps 300 --repeat 5   # best loop of 5 per row

Every row also prints peak and final RSS per rank and ``setup s``: the first run's time outside
its loop (construction, placement, partition, output set-up, and the final counters and ledger).

``--rounds R`` runs the rows R times, one after the other (1 rank, 2 ranks, 2 threads, 1 chip,
then again), and pools each row's runs: on a machine whose speed drifts the rows then share
its slow and fast spells. The summary gives the ratios of the fastest runs and of the medians.

``--repeat N`` runs each row's simulation N times in its process(es) (the network compiled once,
every run from the initial state, the same spikes) and reports the fastest loop and the median:
on a machine shared with other jobs the fastest run is the one least disturbed by them.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build_spec(*args):
    """bench/full_chip.py's network (loaded by path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("full_chip", ROOT / "bench" / "full_chip.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.build_spec(*args)


def _rss_now_gib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def _spike_digest(path) -> str:
    import h5py

    h = hashlib.sha256()
    with h5py.File(path, "r") as f:
        for name in sorted(f["spikes"]):
            h.update(f["spikes"][name]["node_ids"][()].tobytes())
            h.update(f["emulator/spike_steps"][name][()].tobytes())
    return h.hexdigest()[:16]


def _compile_once() -> None:
    """Let repeated runs of one spec in this process reuse its compiled network, or an MPI
    rank's share (construction is not part of the timed loop; the runs start from the same
    initial state: a rank's generator is restored to where its construction left it)."""
    import copy

    from neuro import network, run
    from neuro.parallel import runner

    cache = {}

    def compile_cached(net):
        if id(net) not in cache:
            cache[id(net)] = network.compile_network(net)
        return cache[id(net)]

    build = runner.build_worker

    def build_cached(net, n_workers, me):
        key = (id(net), n_workers, me)
        if key not in cache:
            full, placement, sub = build(net, n_workers, me)
            cache[key] = (full, placement, sub, copy.deepcopy(full.rng.bit_generator.state))
        full, placement, sub, state = cache[key]
        full.rng.bit_generator.state = state
        return full, placement, sub

    run.compile_network = runner.compile_network = compile_cached
    runner.build_worker = build_cached


def run_one(args) -> None:
    """Run in this process (one rank of an mpiexec, or alone) and print a JSON row on rank 0."""
    from neuro import chips
    from neuro.parallel import world
    from neuro.run import run_spec

    # a chip of `--cores` cores, synapse memory unbounded (as bench/full_chip.py)
    chips.PROFILES["loihi"] = dataclasses.replace(
        chips.LOIHI.with_limits(synapse_memory_bits_per_core=None), cores_per_chip=args.cores
    )
    comm = world()
    rank, size = (comm.Get_rank(), comm.Get_size()) if comm else (0, 1)
    out = Path(args.outdir)
    warm = build_spec(min(4, args.cores), 64, 16, 2, args.seed, "loihi").with_simulation(chips=1)
    run_spec(warm, out / "warm", overwrite=True, progress=False, threads=args.threads)  # load the kernels
    net = build_spec(args.cores * args.chips, args.per_core, args.fan_in, args.steps, args.seed, "loihi")
    net = net.with_simulation(chips=args.chips)
    _compile_once()
    speeds = []
    for r in range(args.repeat):
        res = run_spec(net, out / "run", overwrite=True, progress=False, threads=args.threads)
        speeds.append(res.steps / res.loop_s)
        if r == 0:  # the first run's time outside the loop: construction, placement, output, ledger
            setup_s = res.wall_s - res.loop_s
        if comm is not None:  # every rank's loop ends together; rank 0's time is the run's
            speeds[-1] = comm.bcast(speeds[-1], root=0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    rss = [(peak, _rss_now_gib())]
    if comm is not None:
        rss = comm.gather(rss[0], root=0)
    if rank != 0:
        return
    c = res.counters
    print(
        json.dumps(
            {
                "chips": args.chips,
                "ranks": size,
                "threads": args.threads,
                "neurons": res.compiled.n_neurons,
                "synapses": res.compiled.n_synapses,
                "loop_s": res.loop_s,
                "steps_per_s": max(speeds),
                "median_steps_per_s": sorted(speeds)[len(speeds) // 2],
                "speeds": speeds,
                "wall_s": res.wall_s,
                "setup_s": setup_s,
                "spikes": c["spikes"],
                "bytes_per_step": res.bytes_exchanged / res.steps,
                "messages_inter_chip": c.get("messages_inter_chip"),
                "peak_rss_gib": [r[0] for r in rss],
                "rss_after_gib": [r[1] for r in rss],
                "digest": _spike_digest(res.path),
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cores", type=int, default=128, help="cores per chip (128 on Loihi)")
    ap.add_argument("--per-core", type=int, default=1024)
    ap.add_argument("--fan-in", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--chips", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1, help="runs per row; the fastest loop is reported")
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the rows this many times, one after the other (each row's runs pooled)",
    )
    ap.add_argument("--outdir", help=argparse.SUPPRESS)
    ap.add_argument("--only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rounds < 1 or args.repeat < 1:
        ap.error("--rounds and --repeat must be at least 1")
    if args.only:
        run_one(args)
        return
    base = [sys.executable, __file__, "--only", "--cores", str(args.cores), "--per-core", str(args.per_core)]
    base += ["--fan-in", str(args.fan_in), "--steps", str(args.steps), "--seed", str(args.seed)]
    base += ["--repeat", str(args.repeat)]
    tmp = Path(tempfile.mkdtemp(prefix="neuro_multichip_"))
    layouts = ((2, 1, 1), (2, 2, 1), (2, 1, 2), (1, 1, 1))
    pooled = {}
    try:
        for _round in range(args.rounds):
            for chips, ranks, threads in layouts:
                cmd = base + ["--chips", str(chips), "--threads", str(threads)]
                cmd += ["--outdir", str(tmp / f"{chips}c{ranks}r{threads}t")]
                if ranks > 1:
                    cmd = ["mpiexec", "-n", str(ranks), *cmd]
                t0 = time.perf_counter()
                env = {
                    **os.environ,
                    "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                }
                out = subprocess.run(cmd, capture_output=True, text=True, env=env)
                if out.returncode != 0:
                    sys.exit(
                        f"{chips} chips on {ranks} ranks x {threads} threads failed:\n{out.stderr[-3000:]}"
                    )
                row = json.loads(out.stdout.strip().splitlines()[-1])
                row["process_s"] = time.perf_counter() - t0
                first = pooled.setdefault((chips, ranks, threads), row)
                if first is not row:
                    first["speeds"] += row["speeds"]
                    first["same_digest"] = first.get("same_digest", True) and row["digest"] == first["digest"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [pooled[key] for key in layouts]
    for r in rows:  # every run of a row pooled: fastest and median over all of them
        r["steps_per_s"] = max(r["speeds"])
        r["median_steps_per_s"] = statistics.median(r["speeds"])
    one, two, threaded, single = rows
    print(f"workload: bench/full_chip.py network, {args.cores} cores/chip x {args.per_core} neurons, ")
    print(f"~{args.fan_in} synapses/neuron, Loihi arithmetic, {args.steps} steps; {os.cpu_count()} CPUs")
    print(
        f"{'chips':>5} {'ranks':>5} {'threads':>7} {'neurons':>9} {'synapses':>12} "
        f"{'steps/s':>8} {'median':>7} {'bytes/step':>10} "
        f"{'peak RSS GiB/rank':>18} {'RSS after GiB/rank':>19} {'setup s':>7} {'spikes':>9} digest"
    )
    for r in rows:
        print(
            f"{r['chips']:>5} {r['ranks']:>5} {r['threads']:>7} {r['neurons']:>9} {r['synapses']:>12} "
            f"{r['steps_per_s']:>8.1f} {r['median_steps_per_s']:>7.1f} "
            f"{r['bytes_per_step']:>10.0f} {' '.join(f'{x:.2f}' for x in r['peak_rss_gib']):>18} "
            f"{' '.join(f'{x:.2f}' for x in r['rss_after_gib']):>19} {r['setup_s']:>7.1f} {r['spikes']:>9} "
            f"{r['digest']}"
        )
    speedup = two["steps_per_s"] / one["steps_per_s"]
    print(
        f"strong scaling (2 chips): 2 ranks / 1 rank = {speedup:.2f}x, parallel efficiency {speedup / 2:.0%}"
    )
    t_speed = threaded["steps_per_s"] / one["steps_per_s"]
    print(f"2 threads / 1 thread (2 chips, 1 rank) = {t_speed:.2f}x, parallel efficiency {t_speed / 2:.0%}")
    m_speed = two["median_steps_per_s"] / one["median_steps_per_s"]
    m_threads = threaded["median_steps_per_s"] / one["median_steps_per_s"]
    n_runs = len(one["speeds"])
    print(
        f"medians ({n_runs} runs per row): 2 ranks / 1 rank = {m_speed:.2f}x, "
        f"2 threads / 1 thread = {m_threads:.2f}x"
    )
    print(f"weak scaling (1 chip per rank): efficiency {two['steps_per_s'] / single['steps_per_s']:.0%}")
    same = all(r["digest"] == one["digest"] and r["spikes"] == one["spikes"] for r in (two, threaded))
    same = same and all(r.get("same_digest", True) for r in rows)
    print(f"spikes identical 1 rank vs 2 ranks vs 2 threads: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
