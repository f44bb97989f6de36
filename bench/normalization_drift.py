"""How far a neuron's input weights drift under the host's normalization alone (no learning).

One column of 784 Loihi weight mantissas (``Wgt``, uniform draws scaled to the Diehl & Cook
target of 11,520 Wgt) is normalized again and again, as the host does before every training
image, with nothing learned in between: the weights of a neuron that wins no image. Printed
after 1, 100, 1,000 and 12,000 normalizations (three passes over 4,000 images): the RMS change
from the start and the column sum, for

* ``nearest``: the rounding before 2026-12-06 (``rint``): nothing moves;
* ``stochastic``: neuro's kernel (:func:`neuro.learning.homeostasis._scale_wgt`, unbiased
  stochastic rounding): the column sum lands within a few Wgt of the target, so the next scale
  factor differs from 1 and every weight takes a small random step each time;
* ``systematic``: not in neuro (tried in training, not kept: docs/training.md): one uniform
  draw per column,
  ``new_k = floor(C_k + u) - floor(C_{k-1} + u)`` over the cumulative sums ``C`` of the scaled
  weights, to an integer target: each weight is still unbiased and the sum is exact, so a
  column that learned nothing is left as it is.

    python bench/normalization_drift.py [--images 12000] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np

from neuro.learning.homeostasis import _scale_wgt

N_PRE, TARGET = 784, 11520.3  # Diehl & Cook's 78 x 60 mV in Wgt (2.4728 Wgt per mV), about
KEY = np.uint64(0x5EED)  # the generator's key (a run's learning_key)


def nearest(w, it, rng):
    return np.rint(w * (TARGET / w.sum())).astype(np.int64)


def stochastic(w, it, rng):
    out = w.copy()
    pos, post = np.arange(N_PRE, dtype=np.int64), np.zeros(N_PRE, dtype=np.int64)
    _scale_wgt(out, pos, post, 1, TARGET, 0, 255, KEY, np.uint64(it))
    return out


def systematic(w, it, rng):
    cum = np.cumsum(w * (np.rint(TARGET) / w.sum()))
    return np.diff(np.floor(np.r_[0.0, cum] + rng.random())).astype(np.int64)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=12000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.images < 1:
        ap.error("--images must be at least 1")
    rng = np.random.default_rng(args.seed)
    start = rng.uniform(0.0, 1.0, N_PRE)
    start = np.rint(start * TARGET / start.sum()).astype(np.int64)
    marks = sorted({1, 100, 1000, args.images} & set(range(1, args.images + 1)))
    print(
        f"one column of {N_PRE} weights, mean {start.mean():.1f} Wgt, normalized to {TARGET} Wgt, no learning"
    )
    for name, step in (("nearest", nearest), ("stochastic", stochastic), ("systematic", systematic)):
        w, row = start.copy(), []
        for it in range(1, args.images + 1):
            w = step(w, it, rng)
            if it in marks:
                row.append(f"{it}: rms {np.sqrt(((w - start) ** 2).mean()):.2f}, sum {int(w.sum())}")
        print(f"{name:11} " + " | ".join(row))


if __name__ == "__main__":
    main()
