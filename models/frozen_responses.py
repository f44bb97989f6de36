"""The frozen network's spike counts for a set of images: continuous batching, one random
stream per image and presentation, and a split over MPI ranks.

``neuro evaluate``, the labelling at the end of ``neuro train`` and ``neuro energy`` all get
their counts here.

Rounds (continuous batching)
    ``sim`` holds ``B`` independent copies of the frozen network (shared weights and
    thresholds). In every round each copy starts from rest and is shown one image for
    ``present_steps`` steps. A copy whose image made fewer than ``min_spikes`` excitatory
    spikes at intensity :math:`I_0 + t` (try :math:`t = 0, 1, \\dots`) shows the same image
    again in the next round at :math:`I_0 + t + 1`, unless that would exceed
    ``max_intensity`` (Diehl & Cook's rule); every other copy takes the next image not yet
    shown. Rounds go on until every image is done, so a round is full while unseen images
    remain and the total is about :math:`\\lceil P / B \\rceil + \\max_i t_i` rounds for
    :math:`P` presentations, not :math:`\\sum_{\\text{batches}} (1 + \\max t)` as when a whole
    batch is shown again for its slowest image.

Random streams
    The Poisson spikes of image ``key`` (its index in its data split) at try ``t`` are drawn from
    ``numpy.random.default_rng(SeedSequence(entropy=seed, spawn_key=(STREAM_TAG, split, key, t)))``
    with ``seed`` the run's seed and ``split`` 0 for the training split, 1 for the test split
    (:data:`SPLITS`). Copies of a batch share nothing but the read-only weights and every
    copy starts from rest, so an image's counts depend only on the network, the image, the
    seed and ``(split, key)``: not on the batch size, the slot, the other images of the round,
    the order of the images, the subset evaluated, or the number of MPI ranks.

MPI
    Under ``mpiexec -n R`` (:func:`neuro.parallel.world`), rank ``r`` takes the contiguous
    block ``images[r n / R : (r + 1) n / R]`` and the counts are gathered, in order, to rank 0
    (the others get None); the counts are those of one process.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from neuro.errors import NeuroError
from neuro.models.diehl_cook_protocol import MODEL, Presenter, config_from, frozen_simulator
from neuro.progress import Progress

#: First element of every evaluation stream's spawn key (the network's own draws use none).
STREAM_TAG = 0x4556414C  # "EVAL"
#: The data split's number in the stream key.
SPLITS = {"train": 0, "test": 1}


def image_rng(seed: int, split: str, key: int, tries: int) -> np.random.Generator:
    """The generator of the Poisson spikes of image ``key`` of ``split`` at try ``tries``."""
    return np.random.default_rng(
        np.random.SeedSequence(entropy=int(seed), spawn_key=(STREAM_TAG, SPLITS[split], int(key), int(tries)))
    )


class Round(NamedTuple):
    """One presentation of the batch: per slot (copy) ``b``..."""

    image: np.ndarray  #: (B,) index of the image shown, -1 for an idle slot (no images left)
    tries: np.ndarray  #: (B,) the try (0: first presentation; intensity = I_0 + tries)
    counts: np.ndarray  #: (B, N) excitatory spike counts
    final: np.ndarray  #: (B,) bool: the image is done and these are its counts


def presentations(sim, pres: Presenter, cfg, images: np.ndarray, keys=None, split: str = "test"):
    """Show ``images`` to the frozen batched ``sim`` in rounds (continuous batching, see the
    module docstring); yields a :class:`Round` per presentation of the batch.

    ``keys`` (default ``0 .. n-1``): each image's index in ``split``, which names its streams.
    """
    n, batch = len(images), sim.batch
    keys = np.arange(n, dtype=np.int64) if keys is None else np.asarray(keys, dtype=np.int64)
    if keys.shape != (n,):
        raise ValueError("one key per image")
    seed = sim.net.seed
    slot = np.full(batch, -1, dtype=np.int64)
    tries = np.zeros(batch, dtype=np.int64)
    nxt = 0
    while True:
        free = np.flatnonzero(slot < 0)[: n - nxt]
        slot[free] = np.arange(nxt, nxt + free.size)
        tries[free] = 0
        nxt += free.size
        shown = slot >= 0
        if not shown.any():
            return
        parts = []
        for b in np.flatnonzero(shown):
            i, t = int(slot[b]), int(tries[b])
            st, _, ch = pres.draw(images[i][None, :], [cfg.intensity + t], image_rng(seed, split, keys[i], t))
            parts.append((st, np.full(st.size, b, dtype=np.int64), ch))
        st, bb, ch = (np.concatenate(x) for x in zip(*parts, strict=True))
        # each part is ordered by (step, pixel); slots ascend: a stable sort by step alone
        order = np.argsort(st, kind="stable")
        sim.reset_state()
        counts = pres.counts(None, None, cfg.present_steps, spikes=(st[order], bb[order], ch[order]))
        low = shown & (counts.sum(axis=1) < cfg.min_spikes) & (cfg.intensity + tries + 1 <= cfg.max_intensity)
        final = shown & ~low
        yield Round(slot.copy(), tries.copy(), counts, final)
        tries[low] += 1
        slot[final] = -1


def _local_responses(ckpt, images, keys, split, batch, progress, what) -> tuple[np.ndarray, dict]:
    """This process's counts of ``images`` and its statistics."""
    n = len(images)
    batch = max(1, min(batch, n))
    sim, meta = frozen_simulator(ckpt, batch)
    cfg = config_from(meta["extra"]["config"], meta["extra"].get("model", MODEL))
    out = np.zeros((n, cfg.n_neurons), dtype=np.int64)
    stats = {"presentations": 0, "rounds": 0, "batch": batch}
    if n == 0:
        return out, stats
    pres = Presenter(sim, cfg)
    bar = Progress(n, "images", progress)
    done = 0
    for r in presentations(sim, pres, cfg, images, keys, split):
        out[r.image[r.final]] = r.counts[r.final]
        stats["presentations"] += int((r.image >= 0).sum())
        stats["rounds"] += 1
        done += int(r.final.sum())
        bar(done, f" ({what})")
    bar.done()
    return out, stats


def responses(
    ckpt,
    images: np.ndarray,
    batch: int = 100,
    progress: bool = False,
    what: str = "evaluating",
    stats: dict | None = None,
    keys=None,
    split: str = "test",
) -> np.ndarray | None:
    """Excitatory spike counts (n_images, N) of the frozen network in ``ckpt`` for ``images``.

    ``keys``: each image's index in ``split`` (default ``0 .. n-1``), naming its random streams.
    ``stats`` receives ``seconds`` (wall time, reruns included), ``presentations`` (reruns
    included), ``reruns``, ``rounds``, ``batch`` and ``ranks``. Under MPI the ranks split the
    images and rank 0 returns the counts of all (the other ranks None; ``stats`` then holds the
    totals on every rank).
    """
    from neuro.parallel import world

    ckpt = Path(ckpt)
    n = len(images)
    keys = np.arange(n, dtype=np.int64) if keys is None else np.asarray(keys, dtype=np.int64)
    if split not in SPLITS:
        raise NeuroError(f"unknown split {split!r} (known: {', '.join(SPLITS)})", field="split")
    t0 = time.perf_counter()
    comm = world()
    if comm is None:
        out, st = _local_responses(ckpt, images, keys, split, batch, progress, what)
        totals = [st]
        ranks = 1
    else:
        from neuro.parallel.data import block, gather_rows, on_every_rank, share_cores

        rank, ranks = comm.Get_rank(), comm.Get_size()
        share_cores(comm)
        sl = block(n, ranks, rank)
        out, st = on_every_rank(
            comm,
            lambda: _local_responses(ckpt, images[sl], keys[sl], split, batch, progress and rank == 0, what),
        )
        out = gather_rows(comm, out)
        totals = comm.allgather(st)
    if stats is not None:
        stats.update(
            seconds=time.perf_counter() - t0,
            presentations=sum(s["presentations"] for s in totals),
            reruns=sum(s["presentations"] for s in totals) - n,
            rounds=max(s["rounds"] for s in totals),
            batch=totals[0]["batch"],
            ranks=ranks,
        )
    return out
