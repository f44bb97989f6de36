"""One full Loihi chip in Loihi arithmetic (neuro) and the same network in Brian2 (float).

Network: 128 populations ("cores") of 1024 current-based LIF neurons (tau_mem 20 ms,
tau_syn 5 ms, dt 1 ms). Neurons of population c receive from populations c..c+3 (mod 128)
with p = 1000/4096 each, so 1000 synapses per neuron on average and 4096 input axons per
core (the Loihi limit). Weights ~ N(0, 0.02 theta); a bias uniform in [1.0, 1.02] theta makes
every neuron fire on its own at ~10 Hz. The per-core synapse memory limit (1 Mbit) cannot hold
~1M synapses per core, so the mapper's memory limit is lifted for this throughput benchmark
(reported below); every other limit is checked.

neuro and Brian2 run in separate processes of this script, one after the other; each reports
construction time, simulation-loop steps/s, synaptic events/s, and peak RSS. Brian2 uses
cpp_standalone (or --brian2-target cython) with synapses created source-sorted.

    python bench/full_chip.py                  # full chip, 1000 steps
    python bench/full_chip.py --cores 32       # 32,768 neurons (peer figure: Brian2 ~830 steps/s)
    python bench/full_chip.py --threads 1 2    # and the loop on 2 worker threads (neuro.parallel)
    python bench/full_chip.py --threads 1 2 --repeat 3   # 3 loops per row, medians compared

With ``--threads 1 T ...`` the neuro process also runs the same network with its cores split over
``T`` worker threads (``neuro run --threads T``: the same spikes; its loop time includes writing
the spikes file, which the 1-thread loop above does not do, so it is also printed without the
time worker 0 spends writing, ``RunResult.output_s``) and prints the loop speed-up; the
whole-process time printed is the 1-thread run's (the extra runs' time is subtracted).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def build_spec(cores: int, per_core: int, fan_in: int, steps: int, seed: int, arithmetic: str):
    from neuro.spec import Network

    window = 4
    pops, projs = [], []
    for c in range(cores):
        pops.append(
            {
                "name": f"c{c}",
                "size": per_core,
                "tau_mem": 20.0,
                "tau_syn": 5.0,
                "v_threshold": 1.0,
                "v_reset": 0.0,
                "bias": {"dist": "uniform", "low": 1.0, "high": 1.02},
                "v_init": {"dist": "uniform", "low": 0.0, "high": 1.0},
            }
        )
    p = fan_in / (window * per_core)
    for c in range(cores):
        for d in range(window):
            projs.append(
                {
                    "pre": f"c{(c + d) % cores}",
                    "post": f"c{c}",
                    "connector": {"type": "fixed_probability", "p": min(1.0, p), "allow_self": True},
                    "weight": {"dist": "normal", "mean": 0.0, "std": 0.02},
                }
            )
    return Network.from_dict(
        {
            "name": "full_chip",
            "populations": pops,
            "projections": projs,
            "simulation": {"dt": 1.0, "steps": steps, "seed": seed, "arithmetic": arithmetic},
        }
    )


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run_neuro(args) -> dict:
    t0 = time.perf_counter()
    from neuro.chips import LOIHI
    from neuro.engine import Simulator
    from neuro.mapping import place
    from neuro.network import compile_network

    net = build_spec(args.cores, args.per_core, args.fan_in, args.steps, args.seed, "loihi")
    compiled = compile_network(net)
    profile = LOIHI.with_limits(synapse_memory_bits_per_core=None)
    placement = place(compiled, profile, 1)
    sim = Simulator(compiled)
    counted = [0]  # spikes of steps 0 .. steps-1 (the threaded runs' steps)

    def count(steps, _b, _ids):
        counted[0] += int((steps < args.steps).sum())

    sim.run(1, on_spikes=count)  # compile/load the kernel outside the timed loop
    t1 = time.perf_counter()
    sim.run(args.steps, on_spikes=count)
    t2 = time.perf_counter()
    c = sim.counters(placement)
    loop = t2 - t1
    steps_run = sim.step
    speeds = [args.steps / loop]
    t_extra = time.perf_counter()
    for _ in range(args.repeat - 1):  # the same network stepped on (steady state), timed again
        t = time.perf_counter()
        sim.run(args.steps)
        speeds.append(args.steps / (time.perf_counter() - t))
    t_extra = time.perf_counter() - t_extra  # not part of the whole process
    peak = peak_rss_gib()
    threaded, t_threads = {}, t_extra
    if any(t > 1 for t in args.threads):
        del sim
        t3 = time.perf_counter()
        threaded = run_threads(args, compiled.n_neurons)
        t_threads += time.perf_counter() - t3  # not part of the 1-thread whole process
    return {
        "tool": "neuro (loihi arithmetic)",
        "construction_s": t1 - t0,
        "loop_s": loop,
        "steps_per_s": args.steps / loop,
        "speeds": speeds,
        "synaptic_events_per_s": c["synaptic_events"] / loop,
        "mean_rate_hz": c["spikes"] / (compiled.n_neurons * steps_run * compiled.dt / 1000),
        "synapses": compiled.n_synapses,
        "peak_rss_gib": peak,
        "threads": threaded,
        "threads_s": t_threads,
        "spikes": counted[0],
        "cores_used": placement.n_cores,
        "peak_input_axons": int(placement.usage["input_axons"].max()),
        "peak_synapse_memory_bits": int(placement.usage["synapse_memory_bits"].max()),
    }


def run_threads(args, n_neurons: int) -> dict:
    """Loop steps/s of the same network on T worker threads (``run_spec(..., threads=T)``) for
    every ``T > 1`` of ``--threads``, and whether its spikes equal the 1-thread run's."""
    import shutil

    from neuro import chips
    from neuro.run import run_spec

    chips.PROFILES["loihi"] = chips.LOIHI.with_limits(synapse_memory_bits_per_core=None)
    tmp = tempfile.mkdtemp(prefix="neuro_fullchip_")
    out = {}
    try:
        for t in sorted({t for t in args.threads if t > 1}):
            warm = build_spec(4, 64, 16, 2, args.seed, "loihi")  # load the worker kernels first
            run_spec(warm, os.path.join(tmp, "warm"), overwrite=True, progress=False, threads=t)
            net = build_spec(args.cores, args.per_core, args.fan_in, args.steps, args.seed, "loihi")
            runs = []
            for _ in range(args.repeat):  # each run builds the workers' shares again
                res = run_spec(net, os.path.join(tmp, f"t{t}"), overwrite=True, progress=False, threads=t)
                runs.append(res)
            out[t] = {
                "speeds": [r.steps / r.loop_s for r in runs],
                # as the 1-thread loop and Brian2's are measured: spikes kept, not written to a file
                "speeds_no_output": [r.steps / (r.loop_s - r.output_s) for r in runs],
                "output_s": [r.output_s for r in runs],
                "spikes": res.counters["spikes"],
            }
            shutil.rmtree(os.path.join(tmp, f"t{t}"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def run_whole_threads(args) -> dict:
    """The whole of ``neuro run --threads T`` in this process (``--only neuro-whole``, T from
    ``--whole-threads``): the spec compiled, placed and run, the energy ledger and the spikes
    file written; the parent times the process from start to exit, kernels loaded from the cache."""
    import shutil

    from neuro import chips
    from neuro.run import run_spec

    chips.PROFILES["loihi"] = chips.LOIHI.with_limits(synapse_memory_bits_per_core=None)
    tmp = tempfile.mkdtemp(prefix="neuro_fullchip_")
    try:
        net = build_spec(args.cores, args.per_core, args.fan_in, args.steps, args.seed, "loihi")
        res = run_spec(net, os.path.join(tmp, "run"), progress=False, threads=args.whole_threads)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"threads": args.whole_threads, "spikes": res.counters["spikes"]}


def run_brian2(args) -> dict:
    t0 = time.perf_counter()
    import numpy as np

    from neuro.network import compile_network

    net = build_spec(args.cores, args.per_core, args.fan_in, args.steps, args.seed, "float")
    compiled = compile_network(net)
    n = compiled.n_neurons
    src = np.repeat(np.arange(compiled.n_sources), compiled.fanout()).astype(np.int32)
    tgt = (compiled.slot % n).astype(np.int32)
    w = compiled.weight.copy()
    n_syn = int(w.size)
    bias, v0 = compiled.params["bias"].copy(), compiled.v_init.copy()
    del compiled
    import brian2 as b2

    target = args.brian2_target
    if target == "cpp_standalone":
        b2.set_device(
            "cpp_standalone",
            directory=os.path.join(tempfile.gettempdir(), "neuro_bench_fullchip"),
            build_on_run=False,
        )
    else:
        b2.prefs.codegen.target = target
    b2.defaultclock.dt = 1 * b2.ms
    eqs = """dv/dt = (-v + b + I)/(20*ms) : 1
             dI/dt = -I/(5*ms) : 1
             b : 1"""
    g = b2.NeuronGroup(n, eqs, threshold="v > 1", reset="v = 0", method="exact")
    g.v, g.b = v0, bias
    s = b2.Synapses(g, g, "w : 1", on_pre="I_post += w")
    s.connect(i=src, j=tgt)
    s.w = w
    mon = b2.SpikeMonitor(g, record=False)
    del src, tgt, w
    if target == "cpp_standalone":
        b2.run(args.steps * b2.ms, profile=False)
        tb = time.perf_counter()
        b2.device.build(run=True, compile=True)
        loop = b2.device._last_run_time
        t1 = time.perf_counter() - loop  # construction = everything but the loop
        n_spikes = int(mon.num_spikes)
        construction = t1 - t0
        build_s = time.perf_counter() - tb - loop
    else:
        b2.run(1 * b2.ms)
        t1 = time.perf_counter()
        b2.run(args.steps * b2.ms)
        loop = time.perf_counter() - t1
        n_spikes = int(mon.num_spikes)
        construction, build_s = t1 - t0, None
    fan = n_syn / n  # mean fan-out (every neuron is a source and a target)
    return {
        "tool": f"Brian2 {b2.__version__} ({target}, float)",
        "construction_s": construction,
        "build_s": build_s,
        "loop_s": loop,
        "steps_per_s": args.steps / loop,
        "synaptic_events_per_s": n_spikes * fan / loop,
        "mean_rate_hz": n_spikes / (n * args.steps / 1000),
        "peak_rss_gib": peak_rss_gib(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cores", type=int, default=128)
    ap.add_argument("--per-core", type=int, default=1024)
    ap.add_argument("--fan-in", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--brian2-target", default="cpp_standalone", choices=["cpp_standalone", "cython", "numpy"]
    )
    ap.add_argument(
        "--threads", type=int, nargs="+", default=[1], help="worker threads for neuro's loop (1: the engine)"
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="neuro's loops per row (1 thread: the network stepped on; threads: runs); medians compared",
    )
    ap.add_argument("--only", choices=["neuro", "brian2", "neuro-whole"])
    ap.add_argument("--whole-threads", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    if args.only:
        run = {"neuro": run_neuro, "brian2": run_brian2, "neuro-whole": run_whole_threads}[args.only]
        print(json.dumps(run(args)))
        return
    results = []
    for tool in ("neuro", "brian2"):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, __file__, "--only", tool, *sys.argv[1:]], capture_output=True, text=True
        )
        if out.returncode != 0:
            sys.exit(f"{tool} failed:\n{out.stderr[-3000:]}")
        res = json.loads(out.stdout.strip().splitlines()[-1])
        # the whole process of the 1-thread run: the extra --threads runs are not counted
        res["whole_process_s"] = time.perf_counter() - t0 - res.get("threads_s", 0.0)
        results.append(res)
    n = args.cores * args.per_core
    print(
        f"{args.cores} cores x {args.per_core} neurons = {n:,} neurons, ~{args.fan_in} synapses each, "
        f"{args.steps} steps of 1 ms"
    )
    keys = [
        ("whole process (s)", "whole_process_s", "{:.1f}"),
        ("construction (s)", "construction_s", "{:.1f}"),
        ("loop (s)", "loop_s", "{:.2f}"),
        ("steps/s", "steps_per_s", "{:,.0f}"),
        ("synaptic events/s", "synaptic_events_per_s", "{:,.0f}"),
        ("mean rate (Hz)", "mean_rate_hz", "{:.1f}"),
        ("peak RSS (GiB)", "peak_rss_gib", "{:.2f}"),
    ]
    print(f"{'':24}" + "".join(f"{r['tool']:>36}" for r in results))
    for label, key, fmt in keys:
        print(
            f"{label:24}"
            + "".join(f"{fmt.format(r[key]) if r.get(key) is not None else '-':>36}" for r in results)
        )
    a, b = results
    print(
        f"ratio neuro/Brian2: loop steps/s {a['steps_per_s'] / b['steps_per_s']:.2f}x, "
        f"whole process time {a['whole_process_s'] / b['whole_process_s']:.2f}x"
    )
    one = statistics.median(a["speeds"])
    if args.repeat > 1:
        print(
            f"neuro 1 thread over {args.repeat} loops: median {one:,.0f} steps/s, fastest "
            f"{max(a['speeds']):,.0f} (the thread rows compare with the median)"
        )
    for t, row in sorted(a.get("threads", {}).items(), key=lambda kv: int(kv[0])):
        same = "same spike count" if row["spikes"] == a["spikes"] else "DIFFERENT SPIKE COUNT"
        speed, quiet = statistics.median(row["speeds"]), statistics.median(row["speeds_no_output"])
        of = f" (median of {args.repeat} runs)" if args.repeat > 1 else ""
        print(
            f"neuro --threads {t}: loop {speed:,.0f} steps/s{of} = "
            f"{speed / one:.2f}x 1 thread, {speed / b['steps_per_s']:.2f}x Brian2 ({same})"
        )
        print(
            f"  without writing spikes.h5 ({statistics.median(row['output_s']):.2f} s of its loop; "
            f"the 1-thread loop and Brian2's keep spikes in memory): {quiet:,.0f} steps/s = "
            f"{quiet / one:.2f}x 1 thread, {quiet / b['steps_per_s']:.2f}x Brian2"
        )
    if max(args.threads) > 1:  # the whole process as `neuro run [--threads T]` (kernels already cached)
        whole = {}
        for t in (1, max(args.threads)):
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, __file__, "--only", "neuro-whole", "--whole-threads", str(t), *sys.argv[1:]],
                capture_output=True,
                text=True,
            )
            if out.returncode != 0:
                sys.exit(f"neuro run --threads {t} failed:\n{out.stderr[-3000:]}")
            whole[t] = time.perf_counter() - t0
            same = json.loads(out.stdout.strip().splitlines()[-1])["spikes"] == a["spikes"]
            print(
                f"neuro run --threads {t}, whole process (compile, place, run, ledger, spikes file): "
                f"{whole[t]:.1f} s = {whole[t] / b['whole_process_s']:.2f}x Brian2's whole process "
                f"({'same' if same else 'DIFFERENT'} spike count)"
            )
    print(
        f"neuro mapping: {a['cores_used']} cores, peak input axons {a['peak_input_axons']} (limit 4096), "
        f"peak synapse memory {a['peak_synapse_memory_bits'] / 2**20:.1f} Mbit (limit 1 Mbit, lifted)"
    )


if __name__ == "__main__":
    main()
