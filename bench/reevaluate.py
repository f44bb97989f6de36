"""Kept training runs relabelled and tested with settings that only the frozen network reads.

``frozen_theta_floor`` and ``w_inh_exc_eval`` change nothing in training: a run trained with
other values of them has learned the same weights and thresholds. This script copies each kept
run's checkpoint with those fields replaced (``--set NAME=VALUE``), labels the neurons on every
training image of the run's split and tests on its test images, exactly as ``neuro train`` and
``neuro evaluate`` do at the end of a fresh run (every image's Poisson spikes come from its own
stream, keyed by the seed, the split and the image, so the order of the labelling images does
not matter when all of them are used). The last column counts the neurons whose label differs
from the run's own: without ``--set``, 0 for a run trained by the same code (the figure is then
the run's own); runs labelled before the per-image streams differ by readout noise.

    python bench/reevaluate.py RUNDIR [RUNDIR ...] [--set frozen_theta_floor=0.4]

Run directories are those of ``bench/accuracy.py --keep DIR`` (``N-ARITHMETIC-SEED-SPLIT``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

FROZEN_ONLY = {"frozen_theta_floor", "w_inh_exc_eval"}  # read by the frozen network alone


def reevaluate(rundir: Path, overrides: dict, tmp: Path) -> tuple[float, int, int]:
    """(accuracy, labelled neurons, neurons whose label changed) of ``rundir`` with ``overrides``."""
    from accuracy import write_validation_split

    from neuro.datasets import load_dataset
    from neuro.io.checkpoint import load_checkpoint, read_checkpoint_meta, save_checkpoint
    from neuro.models.diehl_cook_protocol import assign_labels, predict
    from neuro.models.frozen_responses import responses

    seed, split = rundir.name.split("-")[2:4]
    data = "embedded"
    if split == "validation":
        write_validation_split(tmp, int(seed))
        data = f"mnist:{tmp}"
    tr, te = load_dataset(data, "train"), load_dataset(data, "test")
    src = rundir / "checkpoint.h5"
    extra = read_checkpoint_meta(src)["extra"]
    if extra["data"].split(":")[0] != data.split(":")[0] or extra["label_images"] != len(tr):
        raise SystemExit(f"{rundir}: trained on {extra['data']}, {extra['label_images']} labelling images")
    extra = dict(extra, config=dict(extra["config"], **overrides))
    ckpt = tmp / "checkpoint.h5"
    sim, _ = load_checkpoint(src)
    save_checkpoint(sim, ckpt, extra)
    keys = np.arange(len(tr))
    assignments = assign_labels(responses(ckpt, tr.images, keys=keys, split="train"), tr.labels)
    changed = int((assignments != np.asarray(extra["assignments"])).sum())
    acc = float(np.mean(predict(responses(ckpt, te.images), assignments) == te.labels))
    return acc, int((assignments >= 0).sum()), changed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rundirs", nargs="+", type=Path)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args()
    overrides = {}
    for kv in args.set:
        name, value = kv.split("=", 1)
        if name not in FROZEN_ONLY:
            ap.error(f"--set {name}: only {', '.join(sorted(FROZEN_ONLY))} (the frozen network's alone)")
        overrides[name] = None if value == "None" else float(value)
    print(f"overrides: {json.dumps(overrides)}")
    print("run".ljust(28) + "accuracy".rjust(10) + "labelled".rjust(10) + "relabelled".rjust(12))
    for rd in args.rundirs:
        with tempfile.TemporaryDirectory() as tmp:
            acc, labelled, changed = reevaluate(rd, overrides, Path(tmp))
        print(f"{rd.name:28s}{100 * acc:9.1f}%{labelled:10d}{changed:12d}", flush=True)


if __name__ == "__main__":
    main()
