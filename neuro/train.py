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
from neuro.io.outdir import OutputDir, check_output_dir, write_text_atomic
from neuro.io.runstate import check_train_state
from neuro.learning.homeostasis import decay_thresholds
from neuro.models.diehl_cook_protocol import (  # noqa: F401  (assign_labels, predict: public API here too)
    CHECKPOINT,
    MODEL,
    Presenter,
    assign_labels,
    config_from,
    make_config,
    predict,
    read_run,
)
from neuro.models.frozen_responses import responses
from neuro.models.readout import Labelling
from neuro.models.registry import MODELS, model_kind
from neuro.models.training_length import passes_for, total_images
from neuro.network import compile_network
from neuro.progress import Progress, compile_notice
from neuro.stop_flag import StopFlag

log = logging.getLogger(__name__)


def train(rundir, *args, resume: bool = False, **kw) -> dict:
    """Train (or resume) a Diehl & Cook network in ``rundir`` (see :func:`_train`).

    RUNDIR is created atomically and locked while training, so a second ``neuro train`` into
    the same directory is refused instead of interleaving checkpoints. Training runs in one
    process: under ``mpiexec`` it is refused in one line.
    """
    from neuro.parallel import world

    if world() is not None:
        raise NeuroError(
            "neuro train runs in one process, not under mpiexec (mpiexec -n R neuro evaluate RUNDIR "
            "splits an evaluation over ranks)"
        )
    claim = OutputDir(rundir, allow_empty=True, overwrite=resume)
    try:
        return _train(rundir, *args, resume=resume, claim=claim, **kw)
    finally:
        claim.release()


def _train(
    rundir,
    n_neurons: int | None = None,
    epochs: float | None = None,
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
    claim: OutputDir | None = None,
    callback=None,
    model: str = MODEL,
) -> dict:
    """Train (or resume) a Diehl & Cook network in ``rundir``; returns a summary dict.

    ``preset`` picks the parameter set (:data:`~neuro.models.diehl_cook.PRESETS`: ``embedded``
    or ``paper``) and, when ``epochs`` is None, the training length
    (:class:`~neuro.models.training_length.TrainingLength`; ``epochs`` may be a fraction, the
    last pass then partial); ``overrides`` replaces
    fields of :class:`~neuro.models.diehl_cook.DiehlCookConfig` (e.g. ``{"nu_post": 0.02}``);
    unknown names or bad values are refused. ``callback(done, sim, extra)``, when given, is
    called after every training image with the number of images done, the simulator and a
    function returning the checkpoint metadata as it stands (e.g. for learning curves).
    ``model`` names the model (:data:`neuro.models.registry.MODELS`; its own presets).
    """
    kind = model_kind(model)
    rundir = Path(rundir)
    ckpt = rundir / CHECKPOINT
    if resume:
        if not ckpt.is_file():
            raise NeuroError("nothing to resume: no checkpoint.h5", str(rundir))
        meta = read_checkpoint_meta(ckpt)
        extra = meta["extra"]
        if extra.get("model") not in MODELS:
            raise NeuroError(
                f"holds a {extra.get('model')!r} run, not one of {', '.join(MODELS)}", str(rundir)
            )
        kind = MODELS[extra["model"]]
        if claim is not None:
            claim.claim()
        check_train_state(extra, ckpt)  # types first, then the bounds that need the data set
        check_train_state(extra, ckpt, len(load_dataset(extra["data"], "train")))
        cfg = config_from(extra["config"], kind.name)
        data, epochs, images, label_images = (
            extra["data"],
            extra["epochs"],
            extra["images"],
            extra["label_images"],
        )
        total = extra.get("train_images")  # absent before fractional passes: whole passes
        preset = extra.get("preset", "paper")
        inputs = ScheduledInputs()
        sim, _ = load_checkpoint(ckpt, inputs=inputs)
        order = np.asarray(extra["order"], dtype=np.int64)
        epoch, pos = extra["epoch"], extra["position"]
        stats = extra["stats"]
        theta_step = extra.get("theta_step", 0)
    else:
        if rundir.is_dir() and any(rundir.iterdir()):
            raise NeuroError(
                "RUNDIR exists and is not empty (use --resume to continue a run, or another directory)",
                str(rundir),
            )
        check_output_dir(rundir, allow_empty=True)  # under a file, not writable: before any work
        n_neurons = kind.default_neurons if n_neurons is None else n_neurons
        if n_neurons < 1:
            raise NeuroError("must be >= 1", field="neurons")
        cfg = make_config(n_neurons, overrides or {}, preset, kind.name)
        dataset = load_dataset(data, "train")  # fail on bad data before creating RUNDIR
        n_per_epoch = len(dataset) if images is None else min(images, len(dataset))
        if epochs is None:
            total = kind.preset_lengths[preset].images(n_per_epoch, cfg.n_neurons)
        else:
            total = total_images(epochs, n_per_epoch)
        epochs = passes_for(total, n_per_epoch)
        net = kind.build_network(cfg, arithmetic, seed)
        compiled = compile_network(net)
        inputs = ScheduledInputs()
        sim = Simulator(compiled, inputs=inputs, learning=True)
        order = np.zeros(0, dtype=np.int64)
        epoch, pos = 0, 0
        stats = {"presentations": 0, "exc_spikes": 0, "train_seconds": 0.0}
        theta_step = 0
        if claim is not None:
            claim.claim()
        else:
            rundir.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(data, "train")
    n_per_epoch = len(dataset) if images is None else min(images, len(dataset))
    total = epochs * n_per_epoch if total is None else total
    presenter = kind.make_presenter(sim, cfg)
    log.info(
        "training %d neurons, %s arithmetic, seed %d, %d images (%g passes over %d)",
        cfg.n_neurons,
        sim.net.arithmetic,
        sim.net.seed,
        total,
        total / n_per_epoch,
        n_per_epoch,
    )

    def extra_state(done: bool) -> dict:
        return {
            "model": kind.name,
            "preset": preset,
            "config": cfg.to_dict(),
            "data": data,
            "epochs": epochs,
            "train_images": total,
            "images": images,
            "label_images": label_images,
            "order": order.tolist(),
            "epoch": epoch,
            "position": pos,
            "stats": stats,
            "theta_step": theta_step,
            "finished": done,
            "version": __version__,
        }

    bar = Progress(total, "images", progress, start=epoch * n_per_epoch + pos)
    notice = compile_notice(sim.net.arithmetic) if progress else None
    if notice:
        sys.stderr.write(notice + "\n")
    last_ckpt = time.perf_counter()
    t_start = time.perf_counter()
    stopped = False
    with StopFlag("after the image in flight") as flag:
        while epoch < epochs:
            if pos == 0 or order.size == 0:
                order = sim.net.rng.permutation(len(dataset))[:n_per_epoch]
            while pos < min(n_per_epoch, total - epoch * n_per_epoch):  # the last pass may be partial
                presenter.before_image(
                    int(dataset.labels[order[pos]]), epoch * n_per_epoch + pos, total
                )  # the host's work before an image (a teacher model: label, reward register)
                counts, tries = presenter.train_image(dataset.images[order[pos]])
                stats["presentations"] += tries
                stats["exc_spikes"] += int(counts.sum())
                pos += 1
                done = epoch * n_per_epoch + pos
                if cfg.theta_decay_images and done % cfg.theta_decay_images == 0:
                    # the host decays the thresholds by what the steps since the last decay owe
                    factor = float(np.exp(-(sim.step - theta_step) * cfg.dt / cfg.tau_theta))
                    decay_thresholds(sim, presenter.exc, factor)
                    theta_step = sim.step
                if callback is not None:
                    callback(done, sim, lambda: extra_state(False))
                bar(done, f", {stats['exc_spikes'] / max(done, 1):.1f} spikes/image")
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
    # the weights as every image saw them: the last image's learning (a winner's burst can
    # double its column sum) is normalized away before the frozen network uses them
    presenter.normalize()
    save_checkpoint(sim, ckpt, extra_state(True))
    # label the neurons from their responses to labelled training images (learning off)
    n_label = min(label_images, len(dataset))
    lab_idx = sim.net.rng.permutation(len(dataset))[:n_label]
    counts = responses(
        ckpt, dataset.images[lab_idx], progress=progress, what="labelling", keys=lab_idx, split="train"
    )
    labelling = Labelling.measure(counts, dataset.labels[lab_idx])  # every readout's
    assignments = labelling.labels
    extra = extra_state(True)
    extra.update(labelling.to_extra())
    extra["label_counts"] = np.bincount(assignments[assignments >= 0], minlength=10).tolist()
    extra["label_images"] = n_label
    save_checkpoint(sim, ckpt, extra)
    summary = {
        "rundir": str(rundir),
        "model": kind.name,
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
    write_text_atomic(rundir / "train.json", json.dumps(summary, indent=1))
    return summary
