"""Diehl & Cook accuracy on the embedded MNIST split: the table in the README and docs/training.md.

For each (neurons, arithmetic): ``neuro train`` with the preset's passes over the 4,000
training images (embedded: 3, paper: 1), labels from the same images, accuracy on the 1,000
held-out images; the peer figure is the paper's (87 % for 400 neurons after 180,000
presentations), quoted, not rerun.

    python bench/accuracy.py [--neurons 100 400 1600] [--arithmetic float loihi] [--seed 0]
                             [--preset embedded|paper] [--epochs E]
"""

from __future__ import annotations

import argparse
import tempfile
import time


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
    args = ap.parse_args()
    print(f"preset {args.preset}, seed {args.seed}")
    print(f"{'neurons':>8} {'arithmetic':>10} {'accuracy':>9} {'train images/s':>15} {'minutes':>8}")
    for n in args.neurons:
        for arith in args.arithmetic:
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                s = train(
                    f"{tmp}/run",
                    n_neurons=n,
                    images=args.images,
                    arithmetic=arith,
                    seed=args.seed,
                    progress=False,
                    preset=args.preset,
                    epochs=args.epochs,
                )
                r = evaluate(f"{tmp}/run", progress=False, write=False)
                print(
                    f"{n:>8} {arith:>10} {100 * r['accuracy']:>8.1f}% {s['images_per_second']:>15.1f} "
                    f"{(time.perf_counter() - t0) / 60:>8.1f}",
                    flush=True,
                )
    print("paper (Diehl & Cook 2015): 87 % with 400 neurons after 180,000 presentations (quoted)")


if __name__ == "__main__":
    main()
