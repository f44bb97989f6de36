"""Float step loop alone (no compile, no file output) on ``models/cuba.toml``, 10,000 steps.

Compares this checkout with another one (e.g. an older commit unpacked with ``git archive``)
in fresh processes, so each imports its own ``neuro``; numba's cache is warmed by one untimed
run per checkout. Prints the best of ``--repeats`` runs per checkout and their ratio.

    python bench/float_kernel.py [--other DIR] [--repeats 4]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from neuro.network import compile_network
from neuro.spec import load_spec
net = load_spec(sys.argv[1] + "/models/cuba.toml").with_simulation(steps=10000)
c = compile_network(net)
best = None
for r in range(int(sys.argv[2]) + 1):
    sim = c.target.simulator(c)
    t0 = time.perf_counter()
    sim.run(10000, on_spikes=lambda s, b, n: None)
    t = time.perf_counter() - t0
    if r:  # the first run loads (or compiles) the kernel
        best = t if best is None else min(best, t)
print(best)
"""


def kernel_time(root: Path, repeats: int) -> float:
    cmd = [sys.executable, "-c", CHILD, str(root), str(repeats)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--other", type=Path, help="another checkout to compare with")
    ap.add_argument("--repeats", type=int, default=4)
    args = ap.parse_args()
    here = kernel_time(ROOT, args.repeats)
    print(f"this checkout: {here:.3f} s (CUBA float, 10,000 steps, step loop only)")
    if args.other is not None:
        other = kernel_time(args.other.resolve(), args.repeats)
        print(f"{args.other}: {other:.3f} s; ratio this/other {here / other:.2f}")


if __name__ == "__main__":
    main()
