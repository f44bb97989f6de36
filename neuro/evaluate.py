"""``neuro evaluate``: run a trained Diehl & Cook network, frozen, on a data set.

Learning is off and thresholds are fixed. Evaluation is batched: ``B`` images are simulated
at once as independent copies of the network in one vectorized state (shared weights),
each copy starting from rest; each image is presented for 350 ms, and an image whose copy
fired fewer than 5 excitatory spikes is shown again with intensity + 1 (as in training) in
the next round while the other copies move on to new images (continuous batching). Each
image's Poisson spikes come from its own stream (the run's seed, the split and the image's
index in it), so the result does not depend on the batch size or the number of MPI ranks
(:mod:`neuro.models.frozen_responses`). Under ``mpiexec -n R`` the ranks split the images
and rank 0 writes the result. The prediction is the run's readout (its config's ``readout``, or
``readout=``): with the ``embedded`` preset the soft vote (each neuron's spikes shared out over
the classes in proportion to its labelling responses), with ``paper`` Diehl & Cook's vote, the
class whose labelled neurons fired most on average (:mod:`neuro.models.readout`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from neuro.datasets import load_dataset
from neuro.errors import NeuroError
from neuro.io.outdir import check_output_dir, fresh_name, write_text_atomic
from neuro.models.diehl_cook_protocol import MODEL, config_from, frozen_simulator, predict, read_run  # noqa: F401
from neuro.models.frozen_responses import presentations, responses  # noqa: F401  (public here too)
from neuro.models.readout import bind
from neuro.parallel import world


def evaluate(
    rundir,
    data: str = "embedded",
    split: str = "test",
    batch: int = 100,
    images: int | None = None,
    readout: str | None = None,
    progress: bool = True,
    write: bool = True,
    overwrite: bool = False,
    outdir=None,
) -> dict:
    """Accuracy and confusion matrix of the trained network in ``rundir`` on ``data``/``split``.

    Writes ``eval-SPLIT.json`` and ``.png`` into ``outdir`` (default ``rundir``); when they
    exist already (an earlier evaluation), the next free name ``eval-SPLIT-2``, ``-3``, ...
    unless ``overwrite``. Under ``mpiexec`` the ranks split the images, rank 0 alone writes,
    and every rank returns the result with its ``rank``. ``readout`` (a name of
    :data:`~neuro.models.readout.READOUTS`) replaces the run's own.
    """
    rundir = Path(rundir)
    ckpt, meta = read_run(rundir)
    extra = meta["extra"]
    if readout is None:
        readout = config_from(extra["config"], extra.get("model", MODEL)).readout
    classify = bind(readout, extra, ckpt)  # a run that cannot be read so: refused before any work
    if write and outdir is not None:
        check_output_dir(Path(outdir), overwrite=True)  # before the evaluation, not after
    if batch < 1:
        raise NeuroError("must be >= 1", field="batch")
    ds = load_dataset(data, split)
    n = len(ds) if images is None else min(images, len(ds))
    # a subset is spread evenly over the split (the embedded split is sorted by class)
    idx = np.arange(n) if n == len(ds) else np.linspace(0, len(ds) - 1, n).round().astype(np.int64)
    stats: dict = {}
    counts = responses(
        ckpt, ds.images[idx], batch=batch, progress=progress, stats=stats, keys=idx, split=split
    )
    comm = world()

    def result_and_files() -> dict:
        return _result(
            counts, classify, readout, ds, split, idx, stats, meta, write, rundir, outdir, overwrite
        )

    if comm is None:
        return result_and_files()
    from neuro.parallel.data import on_rank0

    return dict(on_rank0(comm, result_and_files), rank=comm.Get_rank())  # rank 0 writes


def _result(counts, classify, readout, ds, split, idx, stats, meta, write, rundir, outdir, overwrite) -> dict:
    """The evaluation's result (and its files when ``write``) from the counts."""
    n = len(idx)
    pred = classify(counts)
    truth = ds.labels[idx]
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (truth, pred), 1)
    result = {
        "data": ds.name,
        "split": split,
        "images": int(n),
        "accuracy": float((pred == truth).mean()),
        "readout": readout,
        "confusion": confusion.tolist(),
        "images_per_second": round(n / stats["seconds"], 1),
        "batch": stats["batch"],
        "reruns": stats["reruns"],
        "presentations": stats["presentations"],
        "rounds": stats["rounds"],
        "ranks": stats["ranks"],
        "neurons": counts.shape[1],
        "arithmetic": meta["arithmetic"],
    }
    if write:
        target = rundir if outdir is None else Path(outdir)
        if outdir is not None:
            target.mkdir(parents=True, exist_ok=True)
        name = f"eval-{split}"
        stem = target / (name if overwrite else fresh_name(target, name, (".json", ".png")))
        write_text_atomic(stem.with_suffix(".json"), json.dumps(result, indent=1))
        confusion_figure(confusion, f"{ds.name} {split}: accuracy {100 * result['accuracy']:.1f}%").savefig(
            stem.with_suffix(".png"), dpi=100
        )
        result["files"] = [str(stem.with_suffix(".json")), str(stem.with_suffix(".png"))]
    return result


def confusion_figure(confusion: np.ndarray, title: str):
    """The confusion matrix as a matplotlib figure (rows: true class, columns: predicted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(confusion, cmap="Blues")
    for i in range(confusion.shape[0]):
        for j in range(confusion.shape[1]):
            v = confusion[i, j]
            ax.text(
                j,
                i,
                str(v),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if v > confusion.max() / 2 else "black",
            )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_title(title)
    fig.tight_layout()
    return fig
