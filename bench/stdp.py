"""STDP training speed: neuro (float and loihi arithmetic) vs Brian2 (numpy target), in one script.

Network (Song, Miller & Abbott 2000 with current-based neurons, Brian2's ``examples/synapses/
STDP.py`` scaled up): 1000 Poisson inputs at 15 Hz onto 100 LIF neurons (tau_mem 10 ms,
tau_syn 5 ms, threshold 1 mV, refractory 2 ms), all-to-all (100,000 plastic synapses), pair
STDP with all-to-all traces (A+ = 0.01 w_max, A- = 1.05 A+, tau+ = tau- = 20 ms, w in
[0, w_max], initial w ~ U(0, w_max)), 10 s of simulated time at dt = 0.1 ms (100,000 steps;
Brian2's default dt, and the dt of the Brian2 ports of Diehl & Cook).

Brian2 runs the rule as its documentation writes it (event-driven ``Apre``/``Apost``) with
its own ``PoissonGroup``; neuro runs the same network from a spec with ``pair_stdp``. Every
tool runs in a fresh process: *whole process* is the wall time from process start to exit
(neuro: ``neuro run SPEC -o DIR``, which also writes the spike file; Brian2: import, build,
run), *loop* is the time of the simulation call alone (Brian2: ``run()``; neuro:
``Simulator.run``), after one untimed step on both sides (Brian2's code generation, numba's
kernel loading). Numba's cache is warmed by one untimed neuro run first.

    python bench/stdp.py [--quick] [--repeats 3]

``--quick`` simulates 1 s instead of 10 s (one repeat unless --repeats is given).
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

N_IN, N_POST, RATE_HZ, DT_MS = 1000, 100, 15.0, 0.1
TAU_MEM, TAU_SYN, V_TH, REFRACTORY = 10.0, 5.0, 1.0, 2.0
W_MAX = 0.03  # mV: mean drive N_IN * rate * tau_syn * w_max / 2 = 1.1 mV, just above threshold
A_PLUS = 0.01 * W_MAX
A_MINUS = 1.05 * A_PLUS
TAU_STDP = 20.0
SEED = 1

BRIAN2 = r"""
import sys, time
from brian2 import *
prefs.codegen.target = "numpy"
seconds = float(sys.argv[1])
N_IN, N_POST, RATE, DT, TAU_MEM, TAU_SYN, V_TH, REF, W_MAX, A_PLUS, A_MINUS, TAU = map(float, sys.argv[2:14])
defaultclock.dt = DT * ms
seed(int(sys.argv[14]))
taum, taus, taupre, taupost = TAU_MEM * ms, TAU_SYN * ms, TAU * ms, TAU * ms
wmax, dApre, dApost = W_MAX, A_PLUS, -A_MINUS
eqs = '''dv/dt = (-v + I) / taum : 1 (unless refractory)
dI/dt = -I / taus : 1'''
G = NeuronGroup(int(N_POST), eqs, threshold='v > V_TH', reset='v = 0', refractory=REF * ms, method='exact')
P = PoissonGroup(int(N_IN), RATE * Hz)
S = Synapses(P, G, model='''w : 1
dApre/dt = -Apre / taupre : 1 (event-driven)
dApost/dt = -Apost / taupost : 1 (event-driven)''',
             on_pre='''I += w
Apre += dApre
w = clip(w + Apost, 0, wmax)''',
             on_post='''Apost += dApost
w = clip(w + Apre, 0, wmax)''')
S.connect()
S.w = 'rand() * wmax'
mon = SpikeMonitor(G)
run(defaultclock.dt)  # code generation and first-call costs, outside the timed loop
t1 = time.perf_counter()
run(seconds * second)
loop = time.perf_counter() - t1
print("LOOP", loop, "SPIKES", mon.num_spikes, "MEANW", float(np.mean(S.w[:])))
"""

NEURO_LOOP = r"""
import sys, time
import numpy as np
from neuro.spec import load_spec
from neuro.network import compile_network
from neuro.engine import Simulator
net = load_spec(sys.argv[1])
c = compile_network(net, arithmetic=sys.argv[2])
sim = Simulator(c)
n = []
sim.run(1, on_spikes=lambda s, b, i: n.append(len(s)))  # load the compiled kernels, outside the timed loop
t1 = time.perf_counter()
sim.run(net.simulation.steps, on_spikes=lambda s, b, i: n.append(len(s)))
loop = time.perf_counter() - t1
w = c.weight.astype(float)
if c.arithmetic == "loihi":  # back to mV: Wgt / (Wgt per mV)
    shift = 6 + c.weight_exps[0]
    w = (c.weight.astype(np.int64) >> shift) / (c.pop_registers[0].scale / 2.0**shift)
print("LOOP", loop, "SPIKES", sum(n), "MEANW", float(w.mean()))
"""


def spec_toml(seconds: float) -> str:
    return f"""name = "stdp_bench"

[simulation]
dt = {DT_MS}
duration = {seconds * 1000.0}
seed = {SEED}

[[inputs]]
name = "in"
kind = "poisson"
size = {N_IN}
rate = {RATE_HZ}

[[populations]]
name = "post"
size = {N_POST}
tau_mem = {TAU_MEM}
tau_syn = {TAU_SYN}
v_threshold = {V_TH}
refractory = {REFRACTORY}

[[projections]]
pre = "in"
post = "post"
connector = "all_to_all"
weight = {{dist = "uniform", low = 0.0, high = {W_MAX}}}

[projections.plasticity]
kind = "pair_stdp"
A_plus = {A_PLUS!r}
A_minus = {A_MINUS!r}
tau_plus = {TAU_STDP}
tau_minus = {TAU_STDP}
w_min = 0.0
w_max = {W_MAX}
"""


def timed(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr[-3000:]}")
    return wall, out.stdout


def parse(stdout: str) -> tuple[float, int, float]:
    for line in stdout.splitlines():
        if line.startswith("LOOP"):
            p = line.split()
            return float(p[1]), int(p[3]), float(p[5])
    return float("nan"), -1, float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="simulate 1 s instead of 10 s")
    ap.add_argument("--repeats", type=int, default=None, help="runs per tool (default 3, --quick: 1)")
    args = ap.parse_args()
    seconds = 1.0 if args.quick else 10.0
    repeats = args.repeats or (1 if args.quick else 3)
    params = [
        N_IN,
        N_POST,
        RATE_HZ,
        DT_MS,
        TAU_MEM,
        TAU_SYN,
        V_TH,
        REFRACTORY,
        W_MAX,
        A_PLUS,
        A_MINUS,
        TAU_STDP,
    ]
    with tempfile.TemporaryDirectory() as tmp:
        spec = os.path.join(tmp, "stdp.toml")
        Path(spec).write_text(spec_toml(seconds))
        out = os.path.join(tmp, "out")
        neuro = [sys.executable, "-m", "neuro.cli", "-q", "run", spec, "-o", out, "--overwrite"]
        whole = {
            "Brian2 numpy": [sys.executable, "-c", BRIAN2, str(seconds), *map(repr, params), str(SEED)],
            "neuro (float)": neuro,
            "neuro (loihi)": [*neuro, "--arithmetic", "loihi"],
        }
        loops = {
            "Brian2 numpy": whole["Brian2 numpy"],
            "neuro (float)": [sys.executable, "-c", NEURO_LOOP, spec, "float"],
            "neuro (loihi)": [sys.executable, "-c", NEURO_LOOP, spec, "loihi"],
        }
        timed(neuro)  # warm numba's cache
        timed([*neuro, "--arithmetic", "loihi"])
        results = {}
        for name in whole:
            walls, loop_times, info = [], [], None
            for _ in range(repeats):
                wall, stdout = timed(whole[name])
                walls.append(wall)
                if name.startswith("Brian2"):
                    lt, spikes, meanw = parse(stdout)
                else:
                    lt, spikes, meanw = parse(timed(loops[name])[1])
                loop_times.append(lt)
                info = (spikes, meanw)
            results[name] = (statistics.median(walls), statistics.median(loop_times), *info)
    steps = int(round(seconds * 1000 / DT_MS))
    print(
        f"STDP: {N_IN} Poisson inputs at {RATE_HZ:g} Hz -> {N_POST} LIF neurons, "
        f"{N_IN * N_POST} plastic synapses (pair STDP), {seconds:g} s at dt {DT_MS} ms ({steps} steps); "
        f"median of {repeats} run(s)"
    )
    print(f"{'':16}{'whole process (s)':>19}{'loop (s)':>11}{'post spikes':>13}{'mean w (mV)':>13}")
    for name, (wall, loop, spikes, meanw) in results.items():
        print(f"{name:16}{wall:>19.2f}{loop:>11.3f}{spikes:>13}{meanw:>13.5f}")
    b = results["Brian2 numpy"]
    for name in ("neuro (float)", "neuro (loihi)"):
        r = results[name]
        print(
            f"{name}: Brian2 numpy / neuro = {b[1] / r[1]:.1f}x (loop), {b[0] / r[0]:.1f}x (whole process); "
            f"neuro / Brian2 = {r[1] / b[1]:.4f} (loop), {r[0] / b[0]:.4f} (whole process)"
        )
    print("target: neuro >= 20x faster than Brian2 numpy")


if __name__ == "__main__":
    main()
