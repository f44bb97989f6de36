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

    python bench/accuracy.py [--neurons 100 400 1600] [--arithmetic float loihi] [--seed 0]
                             [--preset embedded|paper] [--epochs E] [--validation] [--kmeans]
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


def main() -> None:
    from neuro.evaluate import evaluate
    from neuro.train import train

    ap = argparse.ArgumentParser()
    ap.add_argument("--neurons", type=int, nargs="+", default=[100, 400])
    ap.add_argument("--arithmetic", nargs="+", default=["float", "loihi"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--images", type=int, help="training images (default: all 4,000)")
    ap.add_argument("--preset", default="embedded", choices=["embedded", "paper"])
    ap.add_argument("--epochs", type=int, help="passes (default: the preset's)")
    ap.add_argument(
        "--validation", action="store_true", help="also run on a held-out part of the training split"
    )
    ap.add_argument("--kmeans", action="store_true", help="also print the k-means reference")
    args = ap.parse_args()
    print(f"preset {args.preset}, seed {args.seed}")
    print(f"{'neurons':>8} {'arithmetic':>10} {'accuracy':>9} {'train images/s':>15} {'minutes':>8}")
    splits = ["test", "validation"] if args.validation else ["test"]
    for n in args.neurons:
        for arith in args.arithmetic:
            for split in splits:
                with tempfile.TemporaryDirectory() as tmp:
                    data = "embedded"
                    if split == "validation":
                        write_validation_split(Path(tmp), args.seed)
                        data = f"mnist:{tmp}"
                    t0 = time.perf_counter()
                    s = train(
                        f"{tmp}/run",
                        n_neurons=n,
                        images=args.images,
                        arithmetic=arith,
                        seed=args.seed,
                        data=data,
                        progress=False,
                        preset=args.preset,
                        epochs=args.epochs,
                    )
                    r = evaluate(f"{tmp}/run", data=data, progress=False, write=False)
                    print(
                        f"{n:>8} {arith:>10} {100 * r['accuracy']:>8.1f}% {s['images_per_second']:>15.1f} "
                        f"{(time.perf_counter() - t0) / 60:>8.1f}"
                        + ("  (validation split)" if split != "test" else ""),
                        flush=True,
                    )
        if args.kmeans:
            print(
                f"{n:>8} {'k-means':>10} {100 * kmeans_accuracy(n, args.seed):>8.1f}%  (reference)",
                flush=True,
            )
    print("paper (Diehl & Cook 2015): 87 % with 400 neurons after 180,000 presentations (quoted)")


if __name__ == "__main__":
    main()
