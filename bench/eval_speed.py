"""Frozen evaluation speed, reruns included: continuous batching vs whole-batch reruns.

Both schemes evaluate the same test images with the same trained network and batch size;
images whose copy fired fewer than ``min_spikes`` excitatory spikes are shown again at
intensity + 1 in both:

* ``whole-batch`` (the scheme before continuous batching, kept here as the peer): images are
  shown ``B`` at a time; while any copy is low the whole batch is presented again (the other
  copies shown a blank image), so a batch costs as many presentations as its slowest image
  needs; each presentation's spikes are drawn for the batch from the run's one generator.
* ``continuous`` (:mod:`neuro.models.frozen_responses`, what ``neuro evaluate`` does): each
  round every slot shows either its image again or the next unseen one, and every image's
  spikes come from its own stream; with ``--ranks R`` also under ``mpiexec -n R``.

Printed per scheme: images/s over the whole evaluation (reruns included), rounds (batch
presentations), image presentations (reruns included), accuracy. Timings after a warm-up
(kernels loaded from numba's cache) in every process; ``--repeat N`` keeps the fastest of N
(interleaved) runs of each scheme, for a machine shared with other jobs.

    python bench/eval_speed.py [--rundir RUNDIR] [--neurons 400] [--images 1000] [--batch 100] [--ranks 2]
        [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

MPI_WORKER = r"""
import json, sys, time
import numpy as np
from neuro.datasets import load_dataset
from neuro.models.diehl_cook_protocol import predict, read_run
from neuro.models.frozen_responses import responses
ckpt, meta = read_run(sys.argv[1])
n, batch = int(sys.argv[2]), int(sys.argv[3])
ds = load_dataset(meta["extra"]["data"], "test")
idx = np.linspace(0, len(ds) - 1, n).round().astype(np.int64)
responses(ckpt, ds.images[idx[:4]], batch=4, keys=idx[:4])  # warm-up
best = None
for _ in range(int(sys.argv[4])):
    stats = {}
    counts = responses(ckpt, ds.images[idx], batch=batch, keys=idx, stats=stats)
    best = stats if best is None or stats["seconds"] < best["seconds"] else best
stats = best
if counts is not None:
    acc = float((predict(counts, np.asarray(meta["extra"]["assignments"])) == ds.labels[idx]).mean())
    print(json.dumps(dict(stats, accuracy=acc)))
"""


def whole_batch(ckpt, images: np.ndarray, batch: int) -> tuple[np.ndarray, dict]:
    """The whole-batch scheme: counts and statistics."""
    from neuro.models.diehl_cook_protocol import MODEL, Presenter, config_from, frozen_simulator

    t0 = time.perf_counter()
    n = len(images)
    batch = max(1, min(batch, n))
    sim, meta = frozen_simulator(ckpt, batch)
    cfg = config_from(meta["extra"]["config"], meta["extra"].get("model", MODEL))
    pres = Presenter(sim, cfg)
    out = np.zeros((n, cfg.n_neurons), dtype=np.int64)
    shown = rounds = 0
    for start in range(0, n, batch):
        idx = np.arange(start, min(start + batch, n))
        imgs = np.zeros((batch, images.shape[1]), dtype=images.dtype)
        imgs[: idx.size] = images[idx]
        intensity = np.full(batch, cfg.intensity)
        todo = np.zeros(batch, dtype=bool)
        todo[: idx.size] = True
        while True:
            sim.reset_state()
            counts = pres.counts(np.where(todo[:, None], imgs, 0), intensity, cfg.present_steps)
            out[idx[todo[: idx.size]]] = counts[: idx.size][todo[: idx.size]]
            shown += int(todo.sum())
            rounds += 1
            low = todo & (counts.sum(axis=1) < cfg.min_spikes) & (intensity + 1 <= cfg.max_intensity)
            if not low.any():
                break
            todo = low
            intensity = intensity + low
    stats = dict(seconds=time.perf_counter() - t0, presentations=shown, reruns=shown - n, rounds=rounds)
    return out, stats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rundir", help="a finished training run (default: train a network on 20 images)")
    ap.add_argument("--neurons", type=int, default=400)
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--ranks", type=int, default=0, help="also run the continuous scheme under mpiexec -n R")
    ap.add_argument("--repeat", type=int, default=1, help="time each scheme N times, keep the fastest")
    args = ap.parse_args()

    from neuro.datasets import load_dataset
    from neuro.models.diehl_cook_protocol import predict, read_run
    from neuro.models.frozen_responses import responses

    with tempfile.TemporaryDirectory() as tmp:
        rundir = args.rundir
        if rundir is None:
            from neuro.train import train

            rundir = f"{tmp}/run"
            train(rundir, n_neurons=args.neurons, images=20, seed=0, label_images=200, progress=False)
        ckpt, meta = read_run(rundir)
        assignments = np.asarray(meta["extra"]["assignments"])
        ds = load_dataset(meta["extra"]["data"], "test")
        n = min(args.images, len(ds))
        idx = np.linspace(0, len(ds) - 1, n).round().astype(np.int64)
        images, truth = ds.images[idx], ds.labels[idx]
        whole_batch(ckpt, images[:4], 4)  # warm-up: kernels from the cache
        responses(ckpt, images[:4], batch=4, keys=idx[:4])
        rows = [None, None]
        for _ in range(args.repeat):  # interleaved; the fastest of each is kept
            counts, st = whole_batch(ckpt, images, args.batch)
            if rows[0] is None or st["seconds"] < rows[0][1]["seconds"]:
                rows[0] = ("whole-batch reruns", st, counts)
            st = {}
            counts = responses(ckpt, images, batch=args.batch, keys=idx, stats=st)
            if rows[1] is None or st["seconds"] < rows[1][1]["seconds"]:
                rows[1] = ("continuous", st, counts)
        mpi = None
        if args.ranks > 1 and shutil.which("mpiexec"):
            cmd = ["mpiexec", "-n", str(args.ranks), sys.executable, "-c", MPI_WORKER, str(rundir), str(n)]
            proc = subprocess.run(
                [*cmd, str(args.batch), str(args.repeat)], capture_output=True, text=True, cwd=ROOT
            )
            if proc.returncode != 0:
                sys.exit(proc.stderr[-3000:])
            mpi = json.loads(proc.stdout.strip().splitlines()[-1])
    source = "trained on 20 images" if args.rundir is None else rundir
    print(
        f"frozen evaluation of {n} {ds.name} test images, {meta['extra']['config']['n_neurons']} neurons, "
        f"{meta['arithmetic']}, batch {args.batch} ({source})"
    )
    head = ("scheme", "images/s", "rounds", "presentations", "reruns", "accuracy")
    print("  {:28} {:>9} {:>7} {:>14} {:>7} {:>9}".format(*head))
    for name, st, counts in rows:
        acc = float((predict(counts, assignments) == truth).mean())
        print(
            f"  {name:28} {n / st['seconds']:9.1f} {st['rounds']:7d} {st['presentations']:14d} "
            f"{st['reruns']:7d} {100 * acc:8.1f}%"
        )
    if mpi is not None:
        print(
            f"  {f'continuous, {args.ranks} MPI ranks':28} {n / mpi['seconds']:9.1f} {mpi['rounds']:7d} "
            f"{mpi['presentations']:14d} {mpi['reruns']:7d} {100 * mpi['accuracy']:8.1f}%"
        )
    old, new = rows[0][1], rows[1][1]
    print(
        f"continuous / whole-batch: {old['seconds'] / new['seconds']:.2f}x images/s, "
        f"{new['rounds'] / old['rounds']:.2f}x rounds (images/s and rounds include every rerun)"
    )


if __name__ == "__main__":
    main()
