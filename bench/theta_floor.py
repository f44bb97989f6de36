"""Frozen Diehl & Cook networks with their thresholds floored: an evaluation-only experiment.

For each kept run directory (``bench/accuracy.py --keep DIR`` names them
``N-ARITHMETIC-SEED-SPLIT``), relabel the neurons on ``--label`` training images (drawn with
the run's seed) and test, with the frozen excitatory thresholds unchanged and floored at the
``q``-quantile of their own values (``--quantiles``; the quantile is an element of the array
(``method="lower"``), so the floor is a register value in Loihi arithmetic too: a host write
of the threshold registers before the frozen network runs). The split is the run's: ``test``
= the embedded split, ``validation`` = the held-out part of the training split that
``bench/accuracy.py --validation`` trained beside (rebuilt from the seed).

    python bench/theta_floor.py RUNDIR [RUNDIR ...] [--quantiles 0.25 0.5] [--label 2000]

Nothing is retrained; the learned weights and thresholds are the run's.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def floored(q: float):
    """``frozen_theta`` hook: the excitatory thresholds raised to their ``q``-quantile."""

    def frozen_theta(cfg, net, theta):
        out = np.array(theta, copy=True)
        exc = net.pop_slice("exc")
        out[exc] = np.maximum(out[exc], np.quantile(out[exc], q, method="lower"))
        return out

    return frozen_theta


def floored_of_max(f: float):
    """``frozen_theta`` hook: the model's own floor (``frozen_theta_floor = f``: ``f`` times the
    largest threshold, a register value in Loihi arithmetic)."""
    from neuro.models.diehl_cook import frozen_theta

    def hook(cfg, net, theta):
        return frozen_theta(dataclasses.replace(cfg, frozen_theta_floor=f), net, theta)

    return hook


def accuracy(ckpt: Path, tr, te, pick) -> float:
    from neuro.models.diehl_cook_protocol import assign_labels, predict
    from neuro.models.frozen_responses import responses

    assignments = assign_labels(responses(ckpt, tr.images[pick], keys=pick, split="train"), tr.labels[pick])
    return float(np.mean(predict(responses(ckpt, te.images), assignments) == te.labels))


def main() -> None:
    from accuracy import write_validation_split

    import neuro.models.registry as registry
    from neuro.datasets import load_dataset

    ap = argparse.ArgumentParser()
    ap.add_argument("rundirs", nargs="+", type=Path)
    ap.add_argument("--quantiles", type=float, nargs="*", default=[0.25, 0.5])
    ap.add_argument("--of-max", type=float, nargs="*", default=[], help="floors at fractions of the largest")
    ap.add_argument("--label", type=int, default=2000, help="training images used to label the neurons")
    args = ap.parse_args()
    base = registry.MODELS["diehl-cook"]
    hooks = [(f"q {q:g}", floored(q)) for q in args.quantiles]
    hooks += [(f"{f:g} max", floored_of_max(f)) for f in args.of_max]
    print("run".ljust(28) + "no floor".rjust(10) + "".join(name.rjust(10) for name, _ in hooks))
    for rd in args.rundirs:
        _n, _arith, seed, split = rd.name.split("-")
        with tempfile.TemporaryDirectory() as tmp:
            data = "embedded"
            if split == "validation":
                write_validation_split(Path(tmp), int(seed))
                data = f"mnist:{tmp}"
            tr, te = load_dataset(data, "train"), load_dataset(data, "test")
            pick = np.random.default_rng(int(seed)).permutation(len(tr))[: args.label]
            row = []
            try:
                for _name, hook in [(None, None), *hooks]:
                    registry.MODELS["diehl-cook"] = dataclasses.replace(base, frozen_theta=hook)
                    row.append(accuracy(rd / "checkpoint.h5", tr, te, pick))
            finally:
                registry.MODELS["diehl-cook"] = base
        print(rd.name.ljust(28) + "".join(f"{100 * a:9.1f}%" for a in row), flush=True)


if __name__ == "__main__":
    main()
