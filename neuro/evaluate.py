"""``neuro evaluate``: run a trained Diehl & Cook network, frozen, on a data set.

Learning is off and thresholds are fixed. Evaluation is batched: ``B`` images are simulated
at once as independent copies of the network in one vectorized state (shared weights),
each copy starting from rest; each image is presented for 350 ms, and images whose copy
fired fewer than 5 excitatory spikes are shown again with intensity + 1 (as in training).
The prediction is the class whose assigned neurons fired most on average.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from neuro.datasets import load_dataset
from neuro.engine import Simulator
from neuro.errors import NeuroError
from neuro.inputs import ScheduledInputs
from neuro.io.checkpoint import load_checkpoint
from neuro.io.outdir import check_output_dir, fresh_name, write_text_atomic
from neuro.progress import Progress

CHECKPOINT = "checkpoint.h5"


def frozen_simulator(ckpt: Path, batch: int) -> tuple[Simulator, dict]:
    """A batched, non-learning simulator with the checkpoint's weights and thresholds, and the
    evaluation inhibition of its config (``w_inh_exc_eval``, when set)."""
    from neuro.models.diehl_cook import build_network
    from neuro.network import compile_network
    from neuro.train import _config_from

    sim1, meta = load_checkpoint(ckpt, learning=False, adapt=False)
    cfg = _config_from(meta["extra"]["config"])
    if cfg.eval_inhibition != cfg.w_inh_exc:  # the inhibition weights of the evaluation network
        net = sim1.net
        frozen = compile_network(build_network(cfg, net.arithmetic, net.seed, frozen=True))
        if not np.array_equal(frozen.slot, net.slot):  # same seed, same layout
            raise NeuroError("the evaluation network does not match the checkpoint's layout", str(ckpt))
        p = [pr.name for pr in net.spec.projections].index("inh_exc")
        pos = next(x for i, x in enumerate(net.projection_positions()) if i == p)
        net.weight[pos] = frozen.weight[pos]
    theta = sim1.state["theta"][0].copy()
    sim = Simulator(sim1.net, batch=batch, inputs=ScheduledInputs(), learning=False, adapt=False)
    sim.state["theta"][:] = theta
    return sim, meta


def presentations(sim: Simulator, pres, cfg, images: np.ndarray):
    """Show ``images`` to the frozen batched ``sim``, ``sim.batch`` at a time, each copy from
    rest, with Diehl & Cook's intensity rule (copies that fired fewer than ``min_spikes`` are
    shown their image again at intensity + 1; the others get a blank image).

    Yields ``(idx, todo, counts)`` per presentation: the image indices of the batch, which
    copies showed an image this time, and the excitatory spike counts (B, N).
    """
    batch, n = sim.batch, len(images)
    for start in range(0, n, batch):
        idx = np.arange(start, min(start + batch, n))
        imgs = np.zeros((batch, images.shape[1]), dtype=images.dtype)
        imgs[: idx.size] = images[idx]
        intensity = np.full(batch, cfg.intensity)
        todo = np.zeros(batch, dtype=bool)
        todo[: idx.size] = True
        while True:
            sim.reset_state()
            counts = pres.counts(np.where(todo[:, None], imgs, 0), intensity, cfg.present_steps)
            yield idx, todo, counts
            low = todo & (counts.sum(axis=1) < cfg.min_spikes) & (intensity + 1 <= cfg.max_intensity)
            if not low.any():
                break
            todo = low
            intensity = intensity + low


def responses(
    ckpt,
    images: np.ndarray,
    batch: int = 100,
    progress: bool = False,
    what: str = "evaluating",
    stats: dict | None = None,
) -> np.ndarray:
    """Excitatory spike counts (n_images, N) of the frozen network for ``images``."""
    from neuro.train import Presenter, _config_from

    ckpt = Path(ckpt)
    batch = max(1, min(batch, len(images)))
    sim, meta = frozen_simulator(ckpt, batch)
    cfg = _config_from(meta["extra"]["config"])
    pres = Presenter(sim, cfg)
    n = len(images)
    out = np.zeros((n, cfg.n_neurons), dtype=np.int64)
    t0 = time.perf_counter()
    shown = 0
    bar = Progress(n, "images", progress)
    for idx, todo, counts in presentations(sim, pres, cfg, images):
        out[idx[todo[: idx.size]]] = counts[: idx.size][todo[: idx.size]]
        shown += int(todo.sum())
        bar(int(idx[-1]) + 1, f" ({what})")
    reruns = shown - n
    bar.done()
    if stats is not None:
        stats.update(seconds=time.perf_counter() - t0, reruns=reruns, batch=batch)
    return out


def evaluate(
    rundir,
    data: str = "embedded",
    split: str = "test",
    batch: int = 100,
    images: int | None = None,
    progress: bool = True,
    write: bool = True,
    overwrite: bool = False,
    outdir=None,
) -> dict:
    """Accuracy and confusion matrix of the trained network in ``rundir`` on ``data``/``split``.

    Writes ``eval-SPLIT.json`` and ``.png`` into ``outdir`` (default ``rundir``); when they
    exist already (an earlier evaluation), the next free name ``eval-SPLIT-2``, ``-3``, ...
    unless ``overwrite``.
    """
    from neuro.train import predict, read_run

    rundir = Path(rundir)
    ckpt, meta = read_run(rundir)
    if write and outdir is not None:
        check_output_dir(Path(outdir), overwrite=True)  # before the evaluation, not after
    extra = meta["extra"]
    if batch < 1:
        raise NeuroError("must be >= 1", field="batch")
    ds = load_dataset(data, split)
    n = len(ds) if images is None else min(images, len(ds))
    # a subset is spread evenly over the split (the embedded split is sorted by class)
    idx = np.arange(n) if n == len(ds) else np.linspace(0, len(ds) - 1, n).round().astype(np.int64)
    stats: dict = {}
    counts = responses(ckpt, ds.images[idx], batch=batch, progress=progress, stats=stats)
    assignments = np.asarray(extra["assignments"])
    pred = predict(counts, assignments)
    truth = ds.labels[idx]
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (truth, pred), 1)
    result = {
        "data": ds.name,
        "split": split,
        "images": int(n),
        "accuracy": float((pred == truth).mean()),
        "confusion": confusion.tolist(),
        "images_per_second": round(n / stats["seconds"], 1),
        "batch": stats["batch"],
        "reruns": stats["reruns"],
        "neurons": len(assignments),
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
