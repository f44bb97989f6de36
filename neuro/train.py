"""``neuro train``: unsupervised on-chip STDP learning of MNIST (Diehl & Cook 2015).

Per training image (in an order drawn from the run's generator each epoch): normalize
every excitatory neuron's input weights to the target sum (a host operation), present the
image for 350 ms as Poisson spikes (rate = pixel / 8 * intensity Hz), then 150 ms of rest;
if the excitatory layer fired fewer than 5 spikes, raise the intensity by 1 and present the
image again. Learning (the Diehl & Cook trace rule) and the adaptive thresholds run in the
engine, in float or Loihi arithmetic.

RUNDIR holds ``checkpoint.h5``: the whole simulator state plus the position in the data,
the generator state, the configuration and (after training) each neuron's assigned label.
It is rewritten atomically every ``checkpoint_every`` seconds, at the end, and when the run
is stopped (Ctrl-C or SIGTERM stop after the image in flight), so ``--resume`` continues
exactly where the run stopped.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from pathlib import Path

import numpy as np

from neuro import __version__
from neuro.datasets import load_dataset
from neuro.engine import Simulator
from neuro.errors import NeuroError
from neuro.inputs import ScheduledInputs
from neuro.io.checkpoint import load_checkpoint, read_checkpoint_meta, save_checkpoint
from neuro.models.diehl_cook import PRESET_EPOCHS, build_network
from neuro.models.diehl_cook_protocol import (  # noqa: F401  (assign_labels, predict: public API here too)
    CHECKPOINT,
    MODEL,
    Presenter,
    assign_labels,
    config_from,
    make_config,
    predict,
    read_run,
    responses,
)
from neuro.network import compile_network

log = logging.getLogger(__name__)


class _StopFlag:
    """Turn SIGINT/SIGTERM into a flag checked between images."""

    def __init__(self):
        self.stop = False
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, frame):
        if self.stop:  # second Ctrl-C: give up at once
            raise KeyboardInterrupt
        self.stop = True
        sys.stderr.write("\nstopping after the image in flight (checkpointing)...\n")

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


class _Progress:
    def __init__(self, total: int, enabled: bool, done: int = 0):
        self.total, self.enabled, self.start_done = total, enabled, done
        self.t0 = time.perf_counter()
        self.last = 0.0

    def __call__(self, done: int, spikes: float) -> None:
        now = time.perf_counter()
        if not self.enabled or (now - self.last < 0.5 and done < self.total):
            return
        self.last = now
        rate = (done - self.start_done) / max(now - self.t0, 1e-9)
        eta = (self.total - done) / rate if rate > 0 else float("inf")
        width = 28
        fill = int(width * done / max(self.total, 1))
        sys.stderr.write(
            f"\r[{'#' * fill}{'.' * (width - fill)}] {done}/{self.total} images, "
            f"{rate:.1f} images/s, {spikes:.1f} spikes/image, ETA {eta:.0f} s "
        )
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def train(
    rundir,
    n_neurons: int = 100,
    epochs: int | None = None,
    images: int | None = None,
    arithmetic: str = "float",
    seed: int | None = None,
    data: str = "embedded",
    resume: bool = False,
    checkpoint_every: float = 120.0,
    label_images: int = 4000,
    progress: bool = True,
    overrides: dict | None = None,
    preset: str = "embedded",
) -> dict:
    """Train (or resume) a Diehl & Cook network in ``rundir``; returns a summary dict.

    ``preset`` picks the parameter set (:data:`~neuro.models.diehl_cook.PRESETS`: ``embedded``
    or ``paper``) and, when ``epochs`` is None, the number of passes; ``overrides`` replaces
    fields of :class:`~neuro.models.diehl_cook.DiehlCookConfig` (e.g. ``{"nu_post": 0.02}``);
    unknown names or bad values are refused.
    """
    rundir = Path(rundir)
    ckpt = rundir / CHECKPOINT
    if resume:
        if not ckpt.is_file():
            raise NeuroError("nothing to resume: no checkpoint.h5", str(rundir))
        meta = read_checkpoint_meta(ckpt)
        extra = meta["extra"]
        if extra.get("model") != MODEL:
            raise NeuroError(f"holds a {extra.get('model')!r} run, not {MODEL!r}", str(rundir))
        cfg = config_from(extra["config"])
        data, epochs, images, label_images = (
            extra["data"],
            extra["epochs"],
            extra["images"],
            extra["label_images"],
        )
        preset = extra.get("preset", "paper")
        inputs = ScheduledInputs()
        sim, _ = load_checkpoint(ckpt, inputs=inputs)
        order = np.asarray(extra["order"], dtype=np.int64)
        epoch, pos = extra["epoch"], extra["position"]
        stats = extra["stats"]
    else:
        if rundir.exists() and any(rundir.iterdir()):
            raise NeuroError(
                "RUNDIR exists and is not empty (use --resume to continue a run, or another directory)",
                str(rundir),
            )
        if n_neurons < 1:
            raise NeuroError("must be >= 1", field="neurons")
        cfg = make_config(n_neurons, overrides or {}, preset)
        epochs = PRESET_EPOCHS[preset] if epochs is None else epochs
        dataset = load_dataset(data, "train")  # fail on bad data before creating RUNDIR
        net = build_network(cfg, arithmetic, seed)
        compiled = compile_network(net)
        inputs = ScheduledInputs()
        sim = Simulator(compiled, inputs=inputs, learning=True)
        order = np.zeros(0, dtype=np.int64)
        epoch, pos = 0, 0
        stats = {"presentations": 0, "exc_spikes": 0, "train_seconds": 0.0}
        rundir.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(data, "train")
    n_per_epoch = len(dataset) if images is None else min(images, len(dataset))
    total = epochs * n_per_epoch
    presenter = Presenter(sim, cfg)
    log.info(
        "training %d neurons, %s arithmetic, seed %d, %d images x %d epochs",
        cfg.n_neurons,
        sim.net.arithmetic,
        sim.net.seed,
        n_per_epoch,
        epochs,
    )

    def extra_state(done: bool) -> dict:
        return {
            "model": MODEL,
            "preset": preset,
            "config": cfg.to_dict(),
            "data": data,
            "epochs": epochs,
            "images": images,
            "label_images": label_images,
            "order": order.tolist(),
            "epoch": epoch,
            "position": pos,
            "stats": stats,
            "finished": done,
            "version": __version__,
        }

    bar = _Progress(total, progress, epoch * n_per_epoch + pos)
    last_ckpt = time.perf_counter()
    t_start = time.perf_counter()
    stopped = False
    with _StopFlag() as flag:
        while epoch < epochs:
            if pos == 0 or order.size == 0:
                order = sim.net.rng.permutation(len(dataset))[:n_per_epoch]
            while pos < n_per_epoch:
                counts, tries = presenter.train_image(dataset.images[order[pos]])
                stats["presentations"] += tries
                stats["exc_spikes"] += int(counts.sum())
                pos += 1
                done = epoch * n_per_epoch + pos
                bar(done, stats["exc_spikes"] / max(done, 1))
                if flag.stop:
                    stopped = True
                    break
                if time.perf_counter() - last_ckpt > checkpoint_every:
                    stats["train_seconds"] += time.perf_counter() - t_start
                    t_start = time.perf_counter()
                    save_checkpoint(sim, ckpt, extra_state(False))
                    last_ckpt = time.perf_counter()
            if stopped:
                break
            epoch, pos = epoch + 1, 0
    bar.done()
    stats["train_seconds"] += time.perf_counter() - t_start
    if stopped:
        save_checkpoint(sim, ckpt, extra_state(False))
        return {"stopped": True, "rundir": str(rundir), "epoch": epoch, "position": pos}
    save_checkpoint(sim, ckpt, extra_state(True))
    # label the neurons from their responses to labelled training images (learning off)
    n_label = min(label_images, len(dataset))
    lab_idx = sim.net.rng.permutation(len(dataset))[:n_label]
    counts = responses(ckpt, dataset.images[lab_idx], progress=progress, what="labelling")
    assignments = assign_labels(counts, dataset.labels[lab_idx])
    extra = extra_state(True)
    extra["assignments"] = assignments.tolist()
    extra["label_counts"] = np.bincount(assignments[assignments >= 0], minlength=10).tolist()
    extra["label_images"] = n_label
    save_checkpoint(sim, ckpt, extra)
    summary = {
        "rundir": str(rundir),
        "neurons": cfg.n_neurons,
        "preset": preset,
        "arithmetic": sim.net.arithmetic,
        "seed": sim.net.seed,
        "images": total,
        "presentations": stats["presentations"],
        "train_seconds": round(stats["train_seconds"], 2),
        "images_per_second": round(total / max(stats["train_seconds"], 1e-9), 2),
        "spikes_per_image": round(stats["exc_spikes"] / max(total, 1), 2),
        "labelled_neurons": int((assignments >= 0).sum()),
    }
    (rundir / "train.json").write_text(json.dumps(summary, indent=1))
    return summary
