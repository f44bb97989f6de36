"""Kept training runs relabelled and tested with settings that only the frozen network reads.

``frozen_theta_floor``, ``w_inh_exc_eval`` and ``readout`` change nothing in training: a run
trained with other values of them has learned the same weights and thresholds. This script copies each kept
run's checkpoint with those fields replaced (``--set NAME=VALUE``), labels the neurons on every
training image of the run's split and tests on its test images, exactly as ``neuro train`` and
``neuro evaluate`` do at the end of a fresh run (every image's Poisson spikes come from its own
stream, keyed by the seed, the split and the image, so the order of the labelling images does
not matter when all of them are used). The last column counts the neurons whose label differs
from the run's own: without ``--set``, 0 for a run trained by the same code (the figure is then
the run's own); runs labelled before the per-image streams differ by readout noise.

    python bench/reevaluate.py RUNDIR [RUNDIR ...] [--set frozen_theta_floor=0.4] [--set readout=soft]
                               [--embedded-test]

``--embedded-test`` tests a validation run on the 1,000 embedded test images instead of its
held-out training images (labelled on its own 3,200, as trained): the same images as a test
run's, from a run trained on fewer images.

Run directories are those of ``bench/accuracy.py --keep DIR`` (``N-ARITHMETIC-SEED-SPLIT``).
After the runs, one line per (neurons, arithmetic, split): the mean and the worst accuracy. A
directory that is not a finished run, or a ``--set`` that is not a number (a readout's name for
``readout``), is refused before any work (one line, exit status 2).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from neuro.errors import NeuroError
from neuro.models.readout import READOUTS

sys.path.insert(0, str(Path(__file__).resolve().parent))

FROZEN_ONLY = {"frozen_theta_floor", "w_inh_exc_eval", "readout"}  # read by the frozen network alone


def check_rundir(rundir: Path) -> tuple[str, str, int, str]:
    """``(neurons, arithmetic, seed, split)`` from a kept run's name, after checking that it holds a
    finished Diehl & Cook run (:func:`~neuro.models.diehl_cook_protocol.read_run`)."""
    from neuro.models.diehl_cook_protocol import read_run

    parts = rundir.name.split("-")
    if len(parts) != 4 or not parts[2].isdigit() or parts[3] not in ("test", "validation"):
        raise NeuroError("not named N-ARITHMETIC-SEED-SPLIT (bench/accuracy.py --keep)", str(rundir))
    read_run(rundir)
    return parts[0], parts[1], int(parts[2]), parts[3]


def reevaluate(
    rundir: Path, seed: int, split: str, overrides: dict, tmp: Path, embedded_test: bool = False
) -> tuple[float, int, int]:
    """(accuracy, labelled neurons, neurons whose label changed) of ``rundir`` (its ``seed`` and
    ``split`` from :func:`check_rundir`) with ``overrides``; ``embedded_test``: tested on the
    embedded test images whatever the run's split (labelled on its own training images)."""
    from accuracy import write_validation_split

    from neuro.datasets import load_dataset
    from neuro.io.checkpoint import load_checkpoint, read_checkpoint_meta, save_checkpoint
    from neuro.models.diehl_cook_protocol import config_from
    from neuro.models.frozen_responses import responses
    from neuro.models.readout import Labelling

    data = "embedded"
    if split == "validation":
        write_validation_split(tmp, seed)
        data = f"mnist:{tmp}"
    tr, te = load_dataset(data, "train"), load_dataset("embedded" if embedded_test else data, "test")
    src = rundir / "checkpoint.h5"
    extra = read_checkpoint_meta(src)["extra"]
    if extra["data"].split(":")[0] != data.split(":")[0] or extra["label_images"] != len(tr):
        raise SystemExit(f"{rundir}: trained on {extra['data']}, {extra['label_images']} labelling images")
    extra = dict(extra, config=dict(extra["config"], **overrides))
    ckpt = tmp / "checkpoint.h5"
    sim, _ = load_checkpoint(src)
    save_checkpoint(sim, ckpt, extra)
    keys = np.arange(len(tr))
    labelling = Labelling.measure(responses(ckpt, tr.images, keys=keys, split="train"), tr.labels)
    changed = int((labelling.labels != np.asarray(extra["assignments"])).sum())
    pred = READOUTS[config_from(extra["config"]).readout].predict(responses(ckpt, te.images), labelling)
    return float(np.mean(pred == te.labels)), int((labelling.labels >= 0).sum()), changed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rundirs", nargs="+", type=Path)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument(
        "--embedded-test",
        action="store_true",
        help="test on the embedded test images (a validation run: labelled on its own 3,200)",
    )
    args = ap.parse_args()
    overrides = {}
    for kv in args.set:
        name, _, value = kv.partition("=")
        if name not in FROZEN_ONLY:
            ap.error(f"--set {name}: only {', '.join(sorted(FROZEN_ONLY))} (the frozen network's alone)")
        if name == "readout":
            if value not in READOUTS:
                ap.error(f"--set readout: {value!r} is not one of {', '.join(READOUTS)}")
            overrides[name] = value
            continue
        try:
            overrides[name] = None if value == "None" else float(value)
        except ValueError:
            ap.error(f"--set {name}: {value!r} is not a number (or None)")
    try:
        groups = [check_rundir(rd) for rd in args.rundirs]
    except NeuroError as exc:
        ap.error(str(exc))
    print(f"overrides: {json.dumps(overrides)}")
    print("run".ljust(28) + "accuracy".rjust(10) + "labelled".rjust(10) + "relabelled".rjust(12))
    accs: dict[tuple, list[float]] = {}
    for rd, (n, arith, seed, split) in zip(args.rundirs, groups, strict=True):
        with tempfile.TemporaryDirectory() as tmp:
            acc, labelled, changed = reevaluate(rd, seed, split, overrides, Path(tmp), args.embedded_test)
        print(f"{rd.name:28s}{100 * acc:9.1f}%{labelled:10d}{changed:12d}", flush=True)
        accs.setdefault((n, arith, split), []).append(100 * acc)
    for (n, arith, split), vals in accs.items():
        split = f"{split}, tested on the embedded test split" if args.embedded_test else split
        print(
            f"{n} {arith} {split}: mean {np.mean(vals):.1f} / worst {min(vals):.1f} % over {len(vals)} runs"
        )


if __name__ == "__main__":
    main()
