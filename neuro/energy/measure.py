"""The SNN's ledger per inference, measured on a real frozen evaluation of a training RUNDIR.

The evaluation is ``neuro evaluate``'s (same checkpoint, same generator state, same batching,
so the same spikes and accuracy): ``B`` copies of the frozen network, each image presented
for ``present_ms`` from rest, re-presented with intensity + 1 while its copy fired fewer than
``min_spikes`` excitatory spikes. Counted per inference:

* every presentation of the image, re-presentations included;
* neuron updates of the presentation steps only (:math:`R = \\sum_{presentations} T`); the
  reset to rest between images is taken as free (a chip would need a rest period or a host
  reset, neither counted);
* batch copies that sit out a re-presentation (their image was already answered) are not
  counted: they start from rest with no input, and the run checks that they stayed at rest.

``images = N`` takes N test images evenly spaced through the split (the embedded split is
sorted by class, so its first N images would cover only the first classes); all of them
when N is the split's size, exactly as ``neuro evaluate``.

The placement is the spec's chip profile (Loihi unless the spec says otherwise).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuro.energy.ledger import Ledger, build_ledger
from neuro.energy.neurobench import neurobench_counts
from neuro.errors import NeuroError

CHECKPOINT = "checkpoint.h5"


@dataclass
class Measurement:
    """A frozen evaluation: its ledger, accuracy and the data it used."""

    ledger: Ledger
    accuracy: float
    images: int
    presentations: int
    data: str
    seed: int
    n_exc: int
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    config: dict
    placement: object


def check_rundir(rundir: Path) -> dict:
    """Checkpoint metadata of a finished Diehl & Cook RUNDIR (one-line errors otherwise)."""
    from neuro.models.diehl_cook_protocol import read_run

    if not (rundir / CHECKPOINT).is_file():
        raise NeuroError("no checkpoint.h5 and no spikes.h5: not a training or run directory", str(rundir))
    return read_run(rundir)[1]


def measure_rundir(
    rundir, images: int | None = None, batch: int = 100, progress: bool = False
) -> Measurement:
    """Evaluate RUNDIR's frozen network on the first ``images`` test images and count."""
    from neuro.chips import get_profile
    from neuro.datasets import load_dataset
    from neuro.mapping import place
    from neuro.models.diehl_cook_protocol import Presenter, config_from, frozen_simulator
    from neuro.models.frozen_responses import presentations
    from neuro.models.readout import bind

    rundir = Path(rundir)
    meta = check_rundir(rundir)
    extra = meta["extra"]
    data = extra.get("data", "embedded")
    test = load_dataset(data, "test")
    train = load_dataset(data, "train")
    n = len(test) if images is None else min(int(images), len(test))
    if n < 1:
        raise NeuroError("must be >= 1", field="images")
    pick = np.round(np.linspace(0, len(test) - 1, n)).astype(np.int64)
    test_images, test_labels = test.images[pick], test.labels[pick]
    batch = max(1, min(int(batch), n))
    sim, _ = frozen_simulator(rundir / CHECKPOINT, batch)
    net = sim.net
    placement = place(net, get_profile(net.spec.simulation.chip), net.spec.simulation.chips)
    cfg = config_from(extra["config"])
    classify = bind(cfg.readout, extra, rundir / CHECKPOINT)  # the run's readout, as evaluate's
    pres = Presenter(sim, cfg)
    spikes = np.zeros(net.n_sources, dtype=np.int64)
    active = np.zeros(net.n_neurons, dtype=np.int64)
    rounds = presentations_shown = 0
    exc = np.zeros((n, cfg.n_neurons), dtype=np.int64)
    t0 = time.perf_counter()
    membrane = 0
    sc0, act0, mem0 = sim.spike_count.copy(), sim.active.copy(), sim.membrane.copy()
    done = 0
    for r in presentations(sim, pres, cfg, test_images, keys=pick, split="test"):
        todo = r.image >= 0
        d_act = sim.active - act0
        membrane += int((sim.membrane - mem0)[todo].sum())
        if d_act[~todo].any() or r.counts[~todo].any():
            raise RuntimeError("batch copies without an image left rest: their counts would be mixed in")
        spikes += sim.spike_count - sc0
        active += d_act[todo].sum(axis=0)
        sc0, act0, mem0 = sim.spike_count.copy(), sim.active.copy(), sim.membrane.copy()
        rounds += int(todo.sum()) * cfg.present_steps
        presentations_shown += int(todo.sum())
        exc[r.image[r.final]] = r.counts[r.final]
        done += int(r.final.sum())
        if progress:
            sys.stderr.write(f"\rmeasuring: {done}/{n} images, {time.perf_counter() - t0:.1f} s ")
            sys.stderr.flush()
    if progress:
        sys.stderr.write("\n")
    pred = classify(exc)
    ledger = build_ledger(net, placement, spikes, rounds, active, inferences=n)
    ledger.attrs.update(
        presentations=presentations_shown, steps_per_presentation=cfg.present_steps, dt_ms=cfg.dt
    )
    ledger.attrs.update(neurobench_counts(sim, spikes, membrane))
    return Measurement(
        ledger=ledger,
        accuracy=float((pred == test_labels).mean()),
        images=n,
        presentations=presentations_shown,
        data=data,
        seed=int(meta["seed"]),
        n_exc=cfg.n_neurons,
        train_images=train.images,
        train_labels=train.labels,
        test_images=test_images,
        test_labels=test_labels,
        config=cfg.to_dict(),
        placement=placement,
    )
