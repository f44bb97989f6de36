"""Why does a trained Diehl & Cook run classify as it does? Thresholds, who fires, readouts.

For each RUNDIR: relabel the neurons on the 4,000 embedded training images and test on the
1,000 test images with the frozen network (as ``neuro train`` / ``neuro evaluate`` do, other
Poisson draws), a *prototype* readout without spikes (each test image gets the label of the
neuron whose input-weight vector is closest in angle), the thresholds in mV, the spikes per
test image, the distinct neurons firing per image and the share of all test spikes fired by
the busiest 5 % of neurons. ``--theta-scale f`` multiplies the thresholds before labelling
(no retraining). The table in docs/training.md ("Why Loihi arithmetic failed") comes from it.

``--float-dynamics`` evaluates a Loihi run's learned input weights and thresholds (in mV) in a
float network of the same layout, and ``--wgt-grid`` a float run's input weights rounded to the
Loihi weight grid of the same model (nearest Wgt): whether the frozen readout's arithmetic or the
weights' resolution costs accuracy, apart from what was learned.

``--weights-only`` prints only where the input weights sit, from the checkpoint (no spikes): the
share of each neuron's weight sum on pixels that are 0 in every training image and on pixels
non-zero in fewer than 2 % of them (weights only the normalization can shrink: those inputs never
spike, so never depress), the share of weights that are 0 and below 0.2 mV (half a Wgt of
the Diehl & Cook Loihi weights), the *roughness* of the prototypes (per neuron, the sum over the
inner 26 x 26 pixels of :math:`|4 w_{r,c} - w_{r-1,c} - w_{r+1,c} - w_{r,c-1} - w_{r,c+1}|`
over the weight sum, averaged: pixel-to-pixel noise in a weight image), and the mean over the
training images of the largest cosine between the image and a neuron's weights.

``--smooth A [A ...]`` evaluates each run with its input weights mixed with their 3 x 3 mean,
:math:`w \\leftarrow ((1 - A) w + A \\bar w) \\cdot \\sum w / \\sum ((1 - A) w + A \\bar w)` per
neuron (the same weight sum), in float dynamics (a Loihi run needs ``--float-dynamics``): how much
of the accuracy the pixel noise of the weights costs.

    python bench/diagnose_run.py RUNDIR [RUNDIR ...] [--theta-scale 1.0 0.5] [--weights-only]
        [--float-dynamics | --wgt-grid] [--smooth 0 0.3 0.6]
"""

from __future__ import annotations

import argparse
import sys
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


def input_table(net):
    """The input projection's synapse table (pre, post, CSR positions)."""
    from neuro.io.synapses import projection_tables

    return next(t for t in projection_tables(net) if t.name == "input")


def input_weights(net) -> tuple:
    """The input projection's synapse table and its weights as a dense (pre, post) matrix."""
    t = input_table(net)
    w = np.zeros((int(t.pre.max()) + 1, int(t.post.max()) + 1))
    w[t.pre, t.post] = net.weight[t.positions]
    return t, w


def input_positions(net) -> np.ndarray:
    return input_table(net).positions


def refuse(message: str) -> None:
    """One line on stderr, exit status 2 (bad input)."""
    print(f"bench/diagnose_run.py: {message}", file=sys.stderr)
    raise SystemExit(2)


def recast(sim, cfg, how: str):
    """``sim`` as ``--float-dynamics`` or ``--wgt-grid`` (module docstring) asks."""
    from neuro.engine import Simulator
    from neuro.inputs import ScheduledInputs
    from neuro.io.synapses import projection_tables
    from neuro.models.registry import model_kind
    from neuro.network import compile_network

    other = "float" if how == "float-dynamics" else "loihi"
    if sim.net.arithmetic == other:
        refuse(f"--{how}: the run is already in {other} arithmetic")
    twin = compile_network(model_kind("diehl-cook").build_network(cfg, other, sim.net.seed, frozen=True))
    if not np.array_equal(twin.slot, sim.net.slot):
        refuse(f"--{how}: the {other} network's layout differs from the run's")
    loihi = twin if how == "wgt-grid" else sim.net
    k = [t.name for t in projection_tables(loihi)].index("input")
    regs = loihi.target.weight_registers(loihi, k)
    pos = input_positions(sim.net)
    if how == "wgt-grid":
        per_mv = regs["register_per_mv"] / 2.0 ** (6 + regs["weight_exp"])  # Wgt per mV
        sim.net.weight[pos] = np.rint(sim.net.weight[pos] * per_mv) / per_mv
        return sim
    exc = slice(0, cfg.n_neurons)
    theta = sim.net.target.theta_to_physical(sim.net, "exc", sim.state["theta"][0, exc])
    twin.weight[pos] = sim.net.weight[pos].astype(np.int64) / regs["register_per_mv"]
    out = Simulator(twin, batch=sim.batch, inputs=ScheduledInputs(), learning=False, adapt=False)
    out.state["theta"][:, exc] = theta
    return out


def weight_images(weights: np.ndarray) -> np.ndarray:
    """(784, N) input weights as N 28 x 28 images."""
    return weights.T.reshape(-1, 28, 28)


def roughness(weights: np.ndarray) -> float:
    """Mean over neurons of the summed absolute discrete Laplacian of the weight image (inner
    pixels) over the neuron's weight sum (module docstring)."""
    img = weight_images(weights)
    lap = 4 * img[:, 1:-1, 1:-1] - img[:, :-2, 1:-1] - img[:, 2:, 1:-1] - img[:, 1:-1, :-2] - img[:, 1:-1, 2:]
    return float((np.abs(lap).sum(axis=(1, 2)) / np.maximum(img.sum(axis=(1, 2)), 1e-12)).mean())


def smoothed(weights: np.ndarray, a: float) -> np.ndarray:
    """``weights`` (784, N) mixed with their 3 x 3 mean by ``a``, each column's sum kept."""
    from scipy.ndimage import uniform_filter

    mean = uniform_filter(weight_images(weights), size=(1, 3, 3)).reshape(-1, 784).T
    out = (1.0 - a) * weights + a * mean
    return out * (weights.sum(axis=0) / np.maximum(out.sum(axis=0), 1e-12))


def diagnose(rundir: Path, theta_scale: float, how: str | None = None, smooth: float | None = None) -> str:
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
    if how is not None:
        sim = recast(sim, cfg, how)
    if smooth is not None:
        if sim.net.target.integer:
            refuse("--smooth: a Loihi run needs --float-dynamics (smoothed weights are not on the grid)")
        t, w = input_weights(sim.net)
        sim.net.weight[t.positions] = smoothed(w, smooth)[t.pre, t.post]
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
    label = f"theta x {theta_scale:g}" + ("" if how is None else f", {how}")
    label += "" if smooth is None else f", smooth {smooth:g}"
    return (
        f"{rundir.name} ({label}): relabel {100 * acc:.1f} %, "
        f"prototype {100 * proto:.1f} % | "
        f"theta mean {th.mean():.1f} mV, sd {th.std():.1f} | spikes/image {counts.sum(axis=1).mean():.1f}, "
        f"distinct neurons/image {(counts > 0).sum(axis=1).mean():.1f}, top-5 % share {top:.2f}, "
        f"silent {int((total == 0).sum())}, reruns {reruns}"
    )


def weight_shares(rundir: Path) -> str:
    """Where the input weights sit (see the module docstring), in % of the weight sums or counts."""
    from neuro.datasets import load_dataset
    from neuro.io.weights import read_weights

    images = load_dataset("embedded", "train").images
    never = images.max(axis=0) == 0
    rare = (images > 0).mean(axis=0) < 0.02
    w = read_weights(rundir).projections["input"]
    weights = np.zeros((784, int(w.post.max()) + 1))
    weights[w.pre, w.post] = w.weight
    total = weights.sum()
    x = images / np.maximum(np.linalg.norm(images, axis=1, keepdims=True), 1e-12)
    best = (x @ (weights / np.maximum(np.linalg.norm(weights, axis=0), 1e-12))).max(axis=1).mean()
    return (
        f"{rundir}: weight sum on never-active pixels {100 * weights[never].sum() / total:.2f} %, "
        f"on pixels active in < 2 % of images {100 * weights[rare].sum() / total:.2f} % | "
        f"weights = 0: {100 * (weights == 0).mean():.1f} %, < 0.2 mV: {100 * (weights < 0.2).mean():.1f} % | "
        f"roughness {roughness(weights):.3f}, best-match cosine {best:.4f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("rundirs", nargs="+", type=Path)
    ap.add_argument("--theta-scale", type=float, nargs="+", default=[1.0])
    ap.add_argument("--weights-only", action="store_true", help="only where the input weights sit")
    how = ap.add_mutually_exclusive_group()
    how.add_argument("--float-dynamics", action="store_const", const="float-dynamics", dest="how")
    how.add_argument("--wgt-grid", action="store_const", const="wgt-grid", dest="how")
    ap.add_argument("--smooth", type=float, nargs="+", help="mix the weights with their 3 x 3 mean")
    args = ap.parse_args()
    if args.smooth is not None and not all(0.0 <= a <= 1.0 for a in args.smooth):
        ap.error("--smooth: each A must be in [0, 1]")
    for rundir in args.rundirs:
        if not (rundir / "checkpoint.h5").is_file():
            ap.error(f"{rundir}: no checkpoint.h5 (not a training run directory)")
    for rundir in args.rundirs:
        if args.weights_only:
            print(weight_shares(rundir), flush=True)
            continue
        for f in args.theta_scale:
            for a in args.smooth or [None]:
                print(diagnose(rundir, f, args.how, a), flush=True)


if __name__ == "__main__":
    main()
