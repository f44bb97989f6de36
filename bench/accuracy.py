"""Diehl & Cook accuracy on the embedded MNIST split: the table in the README and docs/training.md.

For each (neurons, arithmetic): ``neuro train`` with the preset's passes over the 4,000
training images (embedded: 3, paper: 1), labels from the same images, accuracy on the 1,000
held-out images; the peer figure is the paper's (87 % for 400 neurons after 180,000
presentations), quoted, not rerun. Two more rows per neuron count:

* ``--validation``: the same run on a split the preset was not tuned on: 80 images per class
  of the training split are held out (drawn with ``--seed``), the other 3,200 train and label,
  the 800 are the test set (written as IDX files and read with ``--data mnist:DIR``);
* ``--kmeans``: k-means with N centroids (scikit-learn), each labelled with the majority class
  of its training images: a reference for any one-prototype-per-neuron classifier.

    python bench/accuracy.py [--model diehl-cook|teacher-stdp] [--neurons 100 400 1600]
                             [--arithmetic float loihi] [--seeds 0 1 2] [--preset embedded|paper|...]
                             [--epochs E] [--set NAME=VALUE]
                             [--validation | --only-validation] [--kmeans] [--curve-every K]
                             [--roughness-every K]

With several seeds it prints every run and then the mean and the worst per (neurons,
arithmetic, split). ``--curve-every K`` also prints a learning curve: every K training images
the network as it stands is labelled on ``--curve-label`` training images and tested on the
test split (frozen, as ``neuro evaluate``). ``--roughness-every K`` prints, every K training
images, the roughness of the input weights as they stand (``bench/diagnose_run.py``'s: the
summed absolute discrete Laplacian of each neuron's weight image over its weight sum, averaged;
no spikes, nearly free): how pixel noise builds up during training.
"""

from __future__ import annotations

import argparse
import struct
import tempfile
import time
from pathlib import Path

import numpy as np


def write_validation_split(directory: Path, seed: int, per_class: int = 80) -> None:
    """The embedded training split as IDX files: ``train`` without ``per_class`` images of each
    class, ``t10k`` those images."""
    from neuro.datasets import load_dataset

    tr = load_dataset("embedded", "train")
    rng = np.random.default_rng(seed)
    held = np.concatenate([rng.permutation(np.flatnonzero(tr.labels == c))[:per_class] for c in range(10)])
    keep = np.ones(len(tr.labels), dtype=bool)
    keep[held] = False
    for stem, idx in (("train", np.flatnonzero(keep)), ("t10k", held)):
        imgs, labs = tr.images[idx].astype(np.uint8), tr.labels[idx].astype(np.uint8)
        (directory / f"{stem}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 2051, len(idx), 28, 28) + imgs.tobytes()
        )
        (directory / f"{stem}-labels-idx1-ubyte").write_bytes(
            struct.pack(">II", 2049, len(idx)) + labs.tobytes()
        )


def kmeans_accuracy(n: int, seed: int) -> float:
    """k-means with ``n`` centroids on the embedded training split, majority-labelled; test accuracy."""
    from sklearn.cluster import KMeans

    from neuro.datasets import load_dataset

    tr, te = load_dataset("embedded", "train"), load_dataset("embedded", "test")
    km = KMeans(n, n_init=1, random_state=seed).fit(tr.images / 255.0)
    votes = np.zeros((n, 10), dtype=np.int64)
    np.add.at(votes, (km.labels_, tr.labels), 1)
    return float((votes.argmax(axis=1)[km.predict(te.images / 255.0)] == te.labels).mean())


def curve_point(sim, extra: dict, tmp: Path, label_images, label_labels, test_images, test_labels) -> float:
    """Accuracy of the network as it stands: labelled on ``label_images``, tested on ``test_images``
    (the frozen protocol of ``neuro evaluate``)."""
    from neuro.io.checkpoint import save_checkpoint
    from neuro.learning.homeostasis import normalize_weights
    from neuro.models.diehl_cook_protocol import config_from
    from neuro.models.frozen_responses import responses
    from neuro.models.readout import READOUTS, Labelling

    ckpt = tmp / "curve.h5"
    # as training's end does: the snapshot's weights normalized (on a copy: training goes on)
    weight, host_ops = sim.net.weight.copy(), dict(sim.host_ops)
    cfg = config_from(extra["config"])
    plastic = [i for i, p in enumerate(sim.net.spec.projections) if p.plasticity is not None][0]
    normalize_weights(sim, plastic, cfg.norm_target * cfg.input_gain)
    save_checkpoint(sim, ckpt, extra)
    sim.net.weight[:] = weight
    sim.host_ops.clear()
    sim.host_ops.update(host_ops)
    labelling = Labelling.measure(responses(ckpt, label_images, split="train"), label_labels)
    pred = READOUTS[cfg.readout].predict(responses(ckpt, test_images), labelling)
    return float((pred == test_labels).mean())


def one_run(args, n: int, arith: str, seed: int, split: str) -> tuple[float, dict, list, list]:
    """Train, label and evaluate one network; returns (accuracy, train summary, curve, roughness)."""
    from neuro.datasets import load_dataset
    from neuro.evaluate import evaluate
    from neuro.train import train

    curve: list = []
    rough: list = []
    with tempfile.TemporaryDirectory() as tmp:
        rundir = f"{tmp}/run" if args.keep is None else f"{args.keep}/{n}-{arith}-{seed}-{split}"
        data = "embedded"
        if split == "validation":
            write_validation_split(Path(tmp), seed)
            data = f"mnist:{tmp}"
        point = None
        if args.curve_every:
            tr, te = load_dataset(data, "train"), load_dataset(data, "test")
            pick = np.random.default_rng(seed).permutation(len(tr))[: args.curve_label]

            def point(sim, extra):
                return curve_point(
                    sim, extra(), Path(tmp), tr.images[pick], tr.labels[pick], te.images, te.labels
                )

        def callback(done, sim, extra):
            if args.roughness_every and done % args.roughness_every == 0:
                rough.append((done, input_roughness(sim)))
            if point is not None and done % args.curve_every == 0:
                curve.append((done, point(sim, extra)))

        s = train(
            rundir,
            n_neurons=n,
            images=args.images,
            arithmetic=arith,
            seed=seed,
            data=data,
            progress=False,
            preset=args.preset,
            epochs=args.epochs,
            model=args.model,
            overrides=dict(kv.split("=", 1) for kv in args.set),
            callback=callback if point is not None or args.roughness_every else None,
        )
        r = evaluate(rundir, data=data, progress=False, write=False)
    return r["accuracy"], s, curve, rough


def input_roughness(sim) -> float:
    """The roughness of the plastic input weights of ``sim`` as they stand (diagnose_run's)."""
    from diagnose_run import input_weights, roughness

    return roughness(input_weights(sim.net)[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--neurons", type=int, nargs="+", default=[100, 400])
    ap.add_argument("--arithmetic", nargs="+", default=["float", "loihi"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="one run per seed; mean and worst")
    ap.add_argument("--images", type=int, help="training images (default: all 4,000)")
    ap.add_argument("--model", default="diehl-cook", help="diehl-cook or teacher-stdp")
    ap.add_argument("--preset", default="embedded")
    ap.add_argument("--epochs", type=float, help="passes, a fraction allowed (default: the preset's)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="model parameter")
    ap.add_argument(
        "--validation", action="store_true", help="also run on a held-out part of the training split"
    )
    ap.add_argument("--only-validation", action="store_true", help="run on the held-out part only")
    ap.add_argument("--kmeans", action="store_true", help="also print the k-means reference")
    ap.add_argument(
        "--curve-every", type=int, help="learning curve: accuracy every K training images (test split)"
    )
    ap.add_argument("--keep", help="keep the run directories under this directory")
    ap.add_argument("--curve-label", type=int, default=1000, help="labelled images per curve point")
    ap.add_argument(
        "--roughness-every", type=int, help="roughness of the input weights every K training images"
    )
    args = ap.parse_args()
    for name in ("curve_every", "roughness_every"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.epochs is not None and not 0 < args.epochs < float("inf"):
        ap.error("--epochs must be a number > 0")
    print(f"model {args.model}, preset {args.preset}, seeds {args.seeds}, overrides {args.set}")
    print(
        f"{'neurons':>8} {'arithmetic':>10} {'seed':>5} {'accuracy':>9} {'train images/s':>15} {'minutes':>8}"
    )
    splits = (
        ["validation"] if args.only_validation else ["test", "validation"] if args.validation else ["test"]
    )
    for n in args.neurons:
        for arith in args.arithmetic:
            for split in splits:
                accs = []
                for seed in args.seeds:
                    t0 = time.perf_counter()
                    acc, s, curve, rough = one_run(args, n, arith, seed, split)
                    accs.append(acc)
                    print(
                        f"{n:>8} {arith:>10} {seed:>5} {100 * acc:>8.1f}% {s['images_per_second']:>15.1f} "
                        f"{(time.perf_counter() - t0) / 60:>8.1f}"
                        + (f"  ({split} split)" if split != "test" else ""),
                        flush=True,
                    )
                    if curve:
                        print(
                            "  curve (images, accuracy %): "
                            + ", ".join(f"{d} {100 * a:.1f}" for d, a in curve)
                        )
                    if rough:
                        print("  roughness (images, value): " + ", ".join(f"{d} {v:.3f}" for d, v in rough))
                if len(accs) > 1:
                    print(
                        f"{n:>8} {arith:>10} {'all':>5}  mean {100 * np.mean(accs):.1f}%, "
                        f"worst {100 * np.min(accs):.1f}% ({split} split, {len(accs)} seeds)",
                        flush=True,
                    )
        if args.kmeans:
            for seed in args.seeds[:1]:
                print(
                    f"{n:>8} {'k-means':>10} {seed:>5} {100 * kmeans_accuracy(n, seed):>8.1f}%  (reference)",
                    flush=True,
                )
    print("paper (Diehl & Cook 2015): 87 % with 400 neurons after 180,000 presentations (quoted)")


if __name__ == "__main__":
    main()
