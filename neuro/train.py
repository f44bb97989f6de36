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
from dataclasses import fields
from pathlib import Path

import numpy as np

from neuro import __version__
from neuro.datasets import load_dataset
from neuro.datasets.encoders import poisson_spikes
from neuro.engine import Simulator
from neuro.errors import NeuroError
from neuro.inputs import ScheduledInputs
from neuro.io.checkpoint import load_checkpoint, read_checkpoint_meta, save_checkpoint
from neuro.io.outdir import OutputDir, check_output_dir, write_text_atomic
from neuro.io.runstate import check_train_state
from neuro.learning.homeostasis import normalize_weights
from neuro.models.diehl_cook import PRESET_EPOCHS, PRESETS, DiehlCookConfig, build_network
from neuro.network import compile_network
from neuro.progress import Progress, compile_notice

log = logging.getLogger(__name__)
MODEL = "diehl-cook"
CHECKPOINT = "checkpoint.h5"


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


class Presenter:
    """Shows images to a Diehl & Cook simulator: encoding, presentation, rest, intensity."""

    def __init__(self, sim: Simulator, cfg: DiehlCookConfig):
        self.sim, self.cfg = sim, cfg
        net = sim.net
        self.exc = net.pop_slice("exc")
        self.pixels0 = net.source_offset("pixels")
        self.inputs = sim.inputs
        self.plastic = [i for i, p in enumerate(net.spec.projections) if p.plasticity is not None][0]
        self.positions = next(pos for i, pos in enumerate(net.projection_positions()) if i == self.plastic)

    def counts(self, images: np.ndarray, intensity: np.ndarray, steps: int) -> np.ndarray:
        """Present a batch of images for ``steps`` steps; spike counts of exc neurons (B, N)."""
        sim, cfg = self.sim, self.cfg
        k0 = sim.step
        st, b, c = poisson_spikes(images, 1.0 / 8.0, cfg.dt, cfg.present_steps, sim.net.rng, intensity)
        self.inputs.set_schedule(st + k0, b, c + self.pixels0, presorted=True)
        n_exc = self.exc.stop - self.exc.start
        if not sim.learning:  # frozen: count spikes with the parallel batched kernel
            counts = np.zeros((sim.batch, sim.net.n_sources), dtype=np.int64)
            sim.run(steps, counts=counts)
            return counts[:, self.exc.start : self.exc.stop]
        out = np.zeros(sim.batch * n_exc, dtype=np.int64)
        lo = self.exc.start

        def on_spikes(step, bb, neuron):
            sel = (neuron >= lo) & (neuron < lo + n_exc)
            if sel.any():
                out[:] += np.bincount(
                    bb[sel].astype(np.int64) * n_exc + (neuron[sel] - lo), minlength=out.size
                )

        sim.run(steps, on_spikes=on_spikes)
        return out.reshape(sim.batch, n_exc)

    def train_image(self, image: np.ndarray) -> tuple[np.ndarray, int]:
        """One training presentation (with intensity increases); returns (exc counts, tries)."""
        cfg = self.cfg
        intensity = cfg.intensity
        tries = 0
        while True:
            normalize_weights(self.sim, self.plastic, cfg.norm_target * cfg.input_gain, self.positions)
            counts = self.counts(image[None, :], np.array([intensity]), cfg.present_steps)
            self.inputs.set_schedule(*(np.zeros(0, dtype=np.int64),) * 3)
            self.sim.run(cfg.rest_steps)
            tries += 1
            if counts.sum() >= cfg.min_spikes or intensity + 1 > cfg.max_intensity:
                return counts[0], tries
            intensity += 1


def read_run(rundir, labelled: bool = True) -> tuple[Path, dict]:
    """The checkpoint path and metadata of a Diehl & Cook RUNDIR (one-line errors otherwise);
    ``labelled`` requires finished training (neurons labelled)."""
    rundir = Path(rundir)
    ckpt = rundir / CHECKPOINT
    if not ckpt.is_file():
        raise NeuroError("no checkpoint.h5: not a training run directory", str(rundir))
    meta = read_checkpoint_meta(ckpt)
    extra = meta["extra"]
    if extra.get("model") != MODEL:
        raise NeuroError(f"holds a {extra.get('model')!r} run, not a {MODEL} one", str(rundir))
    if labelled and "assignments" not in extra:
        raise NeuroError(
            "training has not finished (no neuron labels yet); resume it with --resume", str(rundir)
        )
    check_train_state(extra, ckpt, finished=labelled)
    return ckpt, meta


def assign_labels(counts: np.ndarray, labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Each neuron's label: the class with its highest mean response (Diehl & Cook).

    Neurons that never fired get label -1 and take no part in predictions.
    """
    rates = np.zeros((n_classes, counts.shape[1]))
    for c in range(n_classes):
        sel = labels == c
        if sel.any():
            rates[c] = counts[sel].mean(axis=0)
    out = rates.argmax(axis=0)
    out[rates.max(axis=0) == 0] = -1
    return out


def predict(counts: np.ndarray, assignments: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Class whose assigned neurons have the highest mean spike count (Diehl & Cook)."""
    scores = np.full((counts.shape[0], n_classes), -1.0)
    for c in range(n_classes):
        sel = assignments == c
        if sel.any():
            scores[:, c] = counts[:, sel].mean(axis=1)
    return scores.argmax(axis=1)


def make_config(n_neurons: int, overrides: dict, preset: str) -> DiehlCookConfig:
    """The ``preset``'s config with ``overrides`` applied, each checked against the field's type."""
    if preset not in PRESETS:
        raise NeuroError(f"unknown preset {preset!r} (known: {', '.join(PRESETS)})", field="preset")
    kinds = {f.name: f.type for f in fields(DiehlCookConfig)}
    kw = {"n_neurons": n_neurons, **PRESETS[preset]}
    for key, val in overrides.items():
        if key not in kinds or key == "n_neurons":
            raise NeuroError(
                f"unknown model parameter {key!r} (known: {', '.join(k for k in kinds if k != 'n_neurons')})",
                field="set",
            )
        try:
            kw[key] = int(val) if kinds[key] in ("int", int) else float(val)
        except (TypeError, ValueError):
            raise NeuroError(f"{key} must be a number, got {val!r}", field="set") from None
        if not np.isfinite(kw[key]):
            raise NeuroError(f"{key} must be a finite number, got {val!r}", field="set")
    return DiehlCookConfig(**kw)


def _config_from(d: dict) -> DiehlCookConfig:
    names = {f.name for f in fields(DiehlCookConfig)}
    return DiehlCookConfig(**{k: v for k, v in d.items() if k in names})


def train(rundir, *args, resume: bool = False, **kw) -> dict:
    """Train (or resume) a Diehl & Cook network in ``rundir`` (see :func:`_train`).

    RUNDIR is created atomically and locked while training, so a second ``neuro train`` into
    the same directory is refused instead of interleaving checkpoints.
    """
    claim = OutputDir(rundir, allow_empty=True, overwrite=resume)
    try:
        return _train(rundir, *args, resume=resume, claim=claim, **kw)
    finally:
        claim.release()


def _train(
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
    claim: OutputDir | None = None,
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
        if claim is not None:
            claim.claim()
        check_train_state(extra, ckpt)  # types first, then the bounds that need the data set
        check_train_state(extra, ckpt, len(load_dataset(extra["data"], "train")))
        cfg = _config_from(extra["config"])
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
        if rundir.is_dir() and any(rundir.iterdir()):
            raise NeuroError(
                "RUNDIR exists and is not empty (use --resume to continue a run, or another directory)",
                str(rundir),
            )
        check_output_dir(rundir, allow_empty=True)  # under a file, not writable: before any work
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
        if claim is not None:
            claim.claim()
        else:
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

    bar = Progress(total, "images", progress, start=epoch * n_per_epoch + pos)
    notice = compile_notice(sim.net.arithmetic) if progress else None
    if notice:
        sys.stderr.write(notice + "\n")
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
    save_checkpoint(sim, ckpt, extra_state(True))
    # label the neurons from their responses to labelled training images (learning off)
    from neuro.evaluate import responses

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
    write_text_atomic(rundir / "train.json", json.dumps(summary, indent=1))
    return summary
