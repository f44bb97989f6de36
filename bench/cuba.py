"""CUBA (Vogels-Abbott) in Brian2 (numpy and cpp_standalone) and in neuro, in one script.

Each tool runs as a fresh process (whole-process time: start of the process to spikes
written and the process gone), and reports its simulation-loop time. The Brian2 network is
Brian2's own ``examples/CUBA.py``; neuro runs ``neuro run models/cuba.toml`` (same
parameters, float arithmetic). Brian2 cpp_standalone builds into a fixed directory, so its
second and later runs use a warm build cache (as a user iterating would); run the script
twice for warm figures. Numba's cache (neuro) is warmed by one untimed run first.

Two more rows time what every ``neuro`` process pays before any work: ``python`` alone
(``-c pass``), and numba's floor: a process that imports one of neuro's cached kernels and
calls it once (numba's import, its CPU target's registries, which import scipy for BLAS, and one
cache load); the floor's ratio to Brian2's fastest whole process is the lowest ratio a process
whose kernels numba dispatches can reach.

``--cold`` adds the first run after an install: ``neuro run`` with an empty kernel cache (a
fresh ``NUMBA_CACHE_DIR``) beside Brian2's cython target with an empty build cache, both
whole processes.

    python bench/cuba.py [--repeats 3] [--cold]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BRIAN2 = r"""
import sys, time
t0 = time.perf_counter()
from brian2 import *
target = sys.argv[1]
if target == "cpp_standalone":
    set_device("cpp_standalone", directory=sys.argv[2])
else:
    prefs.codegen.target = target
    if len(sys.argv) > 2:  # a fresh cython build cache (cold start)
        prefs.codegen.runtime.cython.cache_dir = sys.argv[2]
defaultclock.dt = 0.1*ms
taum = 20*ms; taue = 5*ms; taui = 10*ms
Vt = -50*mV; Vr = -60*mV; El = -49*mV
eqs = '''
dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
dge/dt = -ge/taue : volt
dgi/dt = -gi/taui : volt
'''
P = NeuronGroup(4000, eqs, threshold='v>Vt', reset='v = Vr', refractory=5*ms, method='exact')
P.v = 'Vr + rand() * (Vt - Vr)'
P.ge = 0*mV
P.gi = 0*mV
we = (60*0.27/10)*mV
wi = (-20*4.5/10)*mV
Ce = Synapses(P, P, on_pre='ge += we')
Ci = Synapses(P, P, on_pre='gi += wi')
Ce.connect('i<3200', p=0.02)
Ci.connect('i>=3200', p=0.02)
s_mon = SpikeMonitor(P)
if target != "cpp_standalone":
    run(defaultclock.dt)  # code generation outside the timed loop (standalone times its loop itself)
t1 = time.perf_counter()
run(1 * second)
loop = device._last_run_time if target == "cpp_standalone" else time.perf_counter() - t1
print("LOOP", loop, "SPIKES", s_mon.num_spikes)
"""

NEURO_LOOP = r"""
import sys, time
from neuro.spec import load_spec
from neuro.network import compile_network
from neuro.engine import Simulator
net = load_spec(sys.argv[1])
Simulator(compile_network(net)).run(1)  # load the compiled kernels outside the timed loop
sim = Simulator(compile_network(net))
n = []
t1 = time.perf_counter()
sim.run(net.simulation.steps, on_spikes=lambda s, b, i: n.append(len(s)))
print("LOOP", time.perf_counter() - t1, "SPIKES", sum(n))
"""


NUMBA_FLOOR = "from neuro.learning.prng import mix64; mix64(1)"  # one cached kernel, loaded and called


def timed(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr[-3000:]}")
    return wall, out.stdout


def parse(stdout: str) -> tuple[float, int]:
    for line in stdout.splitlines():
        if line.startswith("LOOP"):
            parts = line.split()
            return float(parts[1]), int(parts[3])
    return float("nan"), -1


def cold(repeats: int) -> None:
    """Whole-process time of the first run after an install: empty kernel / build caches."""
    spec = str(ROOT / "models" / "cuba.toml")
    rows = {"neuro run (float), empty numba cache": [], "Brian2 cython, empty build cache": []}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "NUMBA_CACHE_DIR": os.path.join(tmp, "numba")}
            t0 = time.perf_counter()
            cmd = [sys.executable, "-m", "neuro.cli", "-q", "run", spec, "-o", os.path.join(tmp, "o")]
            if subprocess.run(cmd, capture_output=True, env=env, cwd=ROOT).returncode:
                sys.exit("neuro run failed")
            rows["neuro run (float), empty numba cache"].append(time.perf_counter() - t0)
            wall, _ = timed([sys.executable, "-c", BRIAN2, "cython", os.path.join(tmp, "cython")])
            rows["Brian2 cython, empty build cache"].append(wall)
    print(f"Cold start (first run after install), CUBA 1 s; median of {repeats} runs")
    for name, walls in rows.items():
        print(f"{name:40}{statistics.median(walls):>8.1f} s")
    a, b = (statistics.median(w) for w in rows.values())
    print(f"ratio neuro cold start / Brian2 cython cold start: {a / b:.2f}x (target: neuro <= 10 s)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cold", action="store_true", help="also time the first run with empty caches")
    args = ap.parse_args()
    if args.cold:
        cold(args.repeats)
    spec = str(ROOT / "models" / "cuba.toml")
    build_dir = os.path.join(tempfile.gettempdir(), "neuro_bench_cuba_cpp")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        neuro = [sys.executable, "-m", "neuro.cli", "-q", "run", spec, "-o", out, "--overwrite"]
        runs = {
            "Brian2 numpy": [sys.executable, "-c", BRIAN2, "numpy"],
            "Brian2 cpp_standalone": [sys.executable, "-c", BRIAN2, "cpp_standalone", build_dir],
            "neuro run (float)": neuro,
            "neuro run (loihi)": [*neuro, "--arithmetic", "loihi"],
            "python -c pass": [sys.executable, "-c", "pass"],
            "numba floor": [sys.executable, "-c", NUMBA_FLOOR],
        }
        loops = {"neuro run (float)": [sys.executable, "-c", NEURO_LOOP, spec]}
        timed(neuro)  # warm numba's cache
        timed(runs["Brian2 cpp_standalone"])  # warm the C++ build cache
        results = {}
        for name, cmd in runs.items():
            walls, loop_times, spikes = [], [], None
            for _ in range(args.repeats):
                wall, stdout = timed(cmd)
                walls.append(wall)
                if name in loops or name.startswith("Brian2"):
                    loop, spikes = parse(stdout if name.startswith("Brian2") else timed(loops[name])[1])
                    loop_times.append(loop)
            results[name] = (
                statistics.median(walls),
                statistics.median(loop_times) if loop_times else None,
                spikes,
            )
    print(f"CUBA, 4000 neurons, 1 s at dt 0.1 ms; median of {args.repeats} runs (warm caches)")
    print(f"{'':24}{'whole process (s)':>20}{'simulation loop (s)':>22}{'spikes':>10}")
    for name, (wall, loop, spikes) in results.items():
        print(
            f"{name:24}{wall:>20.2f}{(f'{loop:.3f}' if loop else '-'):>22}{(spikes if spikes else '-'):>10}"
        )
    best = min(results["Brian2 numpy"][0], results["Brian2 cpp_standalone"][0])
    nf = results["neuro run (float)"]
    print(f"ratio neuro whole process / Brian2's fastest whole process: {nf[0] / best:.2f}x (target <= 0.2x)")
    print(f"ratio numba floor / Brian2's fastest whole process: {results['numba floor'][0] / best:.2f}x")
    print(
        f"ratio neuro loop / Brian2 cpp_standalone loop: {nf[1] / results['Brian2 cpp_standalone'][1]:.2f}x; "
        f"/ Brian2 numpy loop: {nf[1] / results['Brian2 numpy'][1]:.3f}x"
    )


if __name__ == "__main__":
    main()
