"""Why does a trained Diehl & Cook run classify as it does? Thresholds, who fires, readouts.

For each RUNDIR: relabel the neurons on the 4,000 embedded training images and test on the
1,000 test images with the frozen network (as ``neuro train`` / ``neuro evaluate`` do, other
Poisson draws), a *prototype* readout without spikes (each test image gets the label of the
neuron whose input-weight vector is closest in angle), the thresholds in mV, the spikes per
test image, the distinct neurons firing per image and the share of all test spikes fired by
the busiest 5 % of neurons. ``--theta-scale f`` multiplies the thresholds before labelling
(no retraining). The table in docs/training.md ("Why Loihi arithmetic failed") comes from it.

    python bench/diagnose_run.py RUNDIR [RUNDIR ...] [--theta-scale 1.0 0.5]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def frozen_counts(sim, pres, cfg, images, split: str = "test") -> tuple[np.ndarray, int]:
    """Excitatory spike counts of the frozen network for ``images`` and the number of reruns."""
    from neuro.models.frozen_responses import presentations

    out = np.zeros((len(images), cfg.n_neurons), dtype=np.int64)
    shown = 0
    for r in presentations(sim, pres, cfg, images, split=split):
        out[r.image[r.final]] = r.counts[r.final]
        shown += int((r.image >= 0).sum())
    return out, shown - len(images)


def diagnose(rundir: Path, theta_scale: float) -> str:
    from neuro.datasets import load_dataset
    from neuro.io.weights import read_weights
    from neuro.models.diehl_cook_protocol import (
        Presenter,
        assign_labels,
        config_from,
        frozen_simulator,
        predict,
    )

    sim, meta = frozen_simulator(rundir / "checkpoint.h5", 100)
    cfg = config_from(meta["extra"]["config"])
    exc = slice(0, cfg.n_neurons)
    theta = sim.state["theta"]
    theta[:, exc] = np.asarray(theta[:, exc] * theta_scale).astype(theta.dtype)
    th = sim.net.target.theta_to_physical(sim.net, "exc", theta[0, exc])
    tr, te = load_dataset("embedded", "train"), load_dataset("embedded", "test")
    pres = Presenter(sim, cfg)
    labels = assign_labels(frozen_counts(sim, pres, cfg, tr.images, "train")[0], tr.labels)
    counts, reruns = frozen_counts(sim, pres, cfg, te.images)
    acc = (predict(counts, labels) == te.labels).mean()
    w = read_weights(rundir).projections["input"]
    weights = np.zeros((784, cfg.n_neurons))
    weights[w.pre, w.post] = w.weight
    weights /= np.maximum(np.linalg.norm(weights, axis=0, keepdims=True), 1e-12)
    proto = (labels[(te.images / 255.0 @ weights).argmax(axis=1)] == te.labels).mean()
    total = np.sort(counts.sum(axis=0))[::-1]
    top = total[: max(1, cfg.n_neurons // 20)].sum() / max(total.sum(), 1)
    return (
        f"{rundir.name} (theta x {theta_scale:g}): relabel {100 * acc:.1f} %, "
        f"prototype {100 * proto:.1f} % | "
        f"theta mean {th.mean():.1f} mV, sd {th.std():.1f} | spikes/image {counts.sum(axis=1).mean():.1f}, "
        f"distinct neurons/image {(counts > 0).sum(axis=1).mean():.1f}, top-5 % share {top:.2f}, "
        f"silent {int((total == 0).sum())}, reruns {reruns}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rundirs", nargs="+", type=Path)
    ap.add_argument("--theta-scale", type=float, nargs="+", default=[1.0])
    args = ap.parse_args()
    for rundir in args.rundirs:
        for f in args.theta_scale:
            print(diagnose(rundir, f), flush=True)


if __name__ == "__main__":
    main()
