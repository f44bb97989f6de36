"""A full-chip run of several chunks through ``neuro.run.run_spec``: the loop with its output.

``bench/full_chip.py`` times 1000 steps (one chunk) and its 1-thread loop writes no file; this
script runs ``bench/full_chip.py``'s network (Loihi arithmetic, per-core synapse memory limit
lifted) for ``--steps`` steps the way ``neuro run`` does, so every chunk's spikes are written to
``spikes.h5`` and flushed, on ``--threads`` worker threads (1: the engine), and prints the loop's
speed (kernels loaded by a small run first).

    python bench/long_run.py --steps 3000 --threads 1
    python bench/long_run.py --steps 3000 --threads 2
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cores", type=int, default=128)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    from neuro import chips
    from neuro.run import run_spec

    chips.PROFILES["loihi"] = chips.LOIHI.with_limits(synapse_memory_bits_per_core=None)
    spec = importlib.util.spec_from_file_location("full_chip", ROOT / "bench" / "full_chip.py")
    full_chip = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(full_chip)
    tmp = Path(tempfile.mkdtemp(prefix="neuro_long_run_"))
    try:
        warm = full_chip.build_spec(4, 64, 16, 2, args.seed, "loihi")
        run_spec(warm, tmp / "warm", progress=False, threads=args.threads)
        net = full_chip.build_spec(args.cores, 1024, 1000, args.steps, args.seed, "loihi")
        res = run_spec(net, tmp / "run", progress=False, threads=args.threads)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"{args.cores} cores x 1024 LIF, {args.steps} steps, {args.threads} thread(s): "
        f"loop {res.loop_s:.2f} s = {res.steps / res.loop_s:.1f} steps/s (spikes written), "
        f"whole {res.wall_s:.1f} s, {res.counters['spikes']} spikes"
    )


if __name__ == "__main__":
    main()
