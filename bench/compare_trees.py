"""This checkout against another one (e.g. an older commit from ``git worktree add``), in CPU
time, alternating fresh processes: CUBA step loops (float and loihi, 3000 steps, best of 7)
and a Diehl & Cook 100 training of 30 images plus labelling of 100 (float and loihi, best of
3). CPU time (``time.process_time``) is what a loaded machine disturbs least; quote the best
over ``--rounds``.

    git worktree add --detach /tmp/old d35cea8
    python bench/compare_trees.py --other /tmp/old [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, tempfile, time
sys.path.insert(0, sys.argv[1])
from neuro.engine import Simulator
from neuro.network import compile_network
from neuro.spec import load_spec
from neuro.train import train
out = {}
for ar in ("float", "loihi"):
    sim = Simulator(compile_network(load_spec(sys.argv[1] + "/models/cuba.toml"), ar, seed=1))
    sim.run(1)  # load or compile the kernels outside the timing
    ts = []
    for _ in range(7):
        t = time.process_time(); sim.run(3000); ts.append(time.process_time() - t)
    out[f"CUBA 3000 steps, {ar}"] = min(ts)
for ar in ("float", "loihi"):
    with tempfile.TemporaryDirectory() as td:
        kw = dict(n_neurons=100, epochs=1, arithmetic=ar, seed=0, progress=False)
        train(td + "/warm", images=3, label_images=10, **kw)
        ts = []
        for r in range(3):
            t = time.process_time()
            train(td + f"/r{r}", images=30, label_images=100, **kw)
            ts.append(time.process_time() - t)
        out[f"D&C-100 train 30 + label 100, {ar}"] = min(ts)
print(json.dumps(out))
"""


def measure(tree: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree)], capture_output=True, text=True, cwd=tree, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--other", type=Path, required=True, help="the other checkout")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    best: dict = {"this": {}, "other": {}}
    for _ in range(args.rounds):
        for name, tree in (("other", args.other.resolve()), ("this", ROOT)):
            for key, val in measure(tree).items():
                best[name][key] = min(val, best[name].get(key, float("inf")))
    print(f"{'CPU seconds, best of ' + str(args.rounds) + ' rounds':44}{'other':>10}{'this':>10}{'ratio':>8}")
    for key, old in best["other"].items():
        new = best["this"][key]
        print(f"{key:44}{old:10.4f}{new:10.4f}{new / old:8.2f}")


if __name__ == "__main__":
    main()
