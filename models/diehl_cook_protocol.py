"""The Diehl & Cook protocol: how images are shown, how neurons are labelled, how a class is
predicted, and how a run directory is read.

``neuro train``, ``neuro evaluate`` and ``neuro energy`` all use these (and not each other):

* :class:`Presenter` — encode an image as Poisson spikes, present it, rest, raise the
  intensity when the excitatory layer stayed nearly silent;
* :func:`frozen_simulator` — the batched, frozen network (its counts for a set of images, for
  evaluation, labelling and energy measurement: :mod:`neuro.models.frozen_responses`);
* :func:`assign_labels`, :func:`predict` — Diehl & Cook's labelling and vote;
* :func:`read_run`, :func:`make_config`, :func:`config_from` — run directories and configs.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np

from neuro.datasets.encoders import poisson_spikes
from neuro.engine import Simulator
from neuro.errors import NeuroError
from neuro.inputs import ScheduledInputs
from neuro.io.checkpoint import load_checkpoint, read_checkpoint_meta
from neuro.io.runstate import check_train_state
from neuro.learning.homeostasis import normalize_weights
from neuro.models.diehl_cook import REWARD_UNITS, DiehlCookConfig, reward_int
from neuro.models.readout import Labelling, by_label
from neuro.network import compile_network

MODEL = "diehl-cook"
CHECKPOINT = "checkpoint.h5"


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
        self.post = net.slot[self.positions].astype(np.int64) % net.n_neurons  # fixed connectivity

    def draw(self, images: np.ndarray, intensity, rng: np.random.Generator) -> tuple:
        """Poisson spikes (step, batch element, pixel) of (B, 784) ``images`` over a presentation:
        pixel ``x`` fires at ``x / 8 * intensity`` Hz, drawn from ``rng``."""
        return poisson_spikes(images, 1.0 / 8.0, self.cfg.dt, self.cfg.present_steps, rng, intensity)

    def counts(self, images: np.ndarray, intensity: np.ndarray, steps: int, spikes=None) -> np.ndarray:
        """Present a batch of images for ``steps`` steps; spike counts of exc neurons (B, N).

        ``spikes``: the presentation's pixel spikes (step, batch element, pixel), ordered by step,
        then batch element, then pixel (``images`` and ``intensity`` are then unused); when
        None, they are drawn from the run's generator.
        """
        sim = self.sim
        k0 = sim.step
        st, b, c = self.draw(images, intensity, sim.net.rng) if spikes is None else spikes
        extra = self.extra_spikes(self.cfg.present_steps)
        if extra is None:
            self.inputs.set_schedule(st + k0, b, c + self.pixels0, presorted=True)
        else:  # another model's own input spikes (e.g. a teacher), merged in
            xs, xb, xc = extra
            self.inputs.set_schedule(
                np.concatenate([st, xs]) + k0, np.concatenate([b, xb]), np.concatenate([c + self.pixels0, xc])
            )
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

    def extra_spikes(self, steps: int):
        """Spikes of other inputs (steps, batch, global source) for a presentation; None here
        (another model's presenter adds e.g. a teacher's spikes)."""
        return None

    def normalize(self) -> None:
        """The host's weight normalization before a presentation: input weights sum to
        ``norm_target`` (x ``input_gain`` mV) per neuron."""
        target = self.cfg.norm_target * self.cfg.input_gain
        normalize_weights(self.sim, self.plastic, target, self.positions, self.post)

    def before_image(self, label: int, done: int, total: int) -> None:
        """Host work before training image ``done`` of ``total`` (class ``label``): with a
        learning-rate schedule, the reward register (:func:`~neuro.models.diehl_cook.reward_int`)."""
        if self.cfg.scheduled:
            set_reward(self.sim, reward_int(self.cfg, done, total))

    def train_image(self, image: np.ndarray) -> tuple[np.ndarray, int]:
        """One training presentation (with intensity increases); returns (exc counts, tries)."""
        cfg = self.cfg
        intensity = cfg.intensity
        tries = 0
        while True:
            self.normalize()
            counts = self.counts(image[None, :], np.array([intensity]), cfg.present_steps)
            self.inputs.set_schedule(*(np.zeros(0, dtype=np.int64),) * 3)
            self.sim.run(cfg.rest_steps)
            tries += 1
            if counts.sum() >= cfg.min_spikes or intensity + 1 > cfg.max_intensity:
                return counts[0], tries
            intensity += 1


def set_reward(sim, r_int: int) -> None:
    """Write the reward register: ``r_int`` in an integer arithmetic (Loihi's register), ``r_int /
    128`` in float."""
    arr = sim.tables.arrays["reward"]
    arr[0] = r_int if sim.net.target.integer else r_int / REWARD_UNITS


def read_run(rundir, labelled: bool = True) -> tuple[Path, dict]:
    """The checkpoint path and metadata of a Diehl & Cook RUNDIR (one-line errors otherwise);
    ``labelled`` requires finished training (neurons labelled)."""
    rundir = Path(rundir)
    ckpt = rundir / CHECKPOINT
    if not ckpt.is_file():
        raise NeuroError("no checkpoint.h5: not a training run directory", str(rundir))
    meta = read_checkpoint_meta(ckpt)
    extra = meta["extra"]
    if extra.get("model") not in _models():
        raise NeuroError(
            f"holds a {extra.get('model')!r} run, not a {' or '.join(_models())} one", str(rundir)
        )
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
    return Labelling.measure(counts, labels, n_classes).labels


def predict(counts: np.ndarray, assignments: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Class whose assigned neurons have the highest mean spike count (Diehl & Cook's vote,
    :func:`neuro.models.readout.vote` from the labels alone)."""
    return by_label(counts, np.asarray(assignments), n_classes=n_classes)


def _models() -> dict:
    from neuro.models.registry import MODELS

    return MODELS


def make_config(n_neurons: int, overrides: dict, preset: str, model: str = MODEL) -> DiehlCookConfig:
    """The ``preset``'s config of ``model`` with ``overrides`` applied, each checked against the
    field's type."""
    from neuro.models.registry import model_kind

    kind = model_kind(model)
    presets, cls = kind.presets, kind.config_cls
    if preset not in presets:
        raise NeuroError(f"unknown preset {preset!r} (known: {', '.join(presets)})", field="preset")
    kinds = {f.name: f.type for f in fields(cls)}
    kw = {"n_neurons": n_neurons, **presets[preset]}
    for key, val in overrides.items():
        if key not in kinds or key == "n_neurons":
            raise NeuroError(
                f"unknown model parameter {key!r} (known: {', '.join(k for k in kinds if k != 'n_neurons')})",
                field="set",
            )
        if kinds[key] in ("str", str):  # a name, checked by the config itself
            kw[key] = str(val)
            continue
        try:
            kw[key] = int(val) if kinds[key] in ("int", int, "int | None") else float(val)
        except (TypeError, ValueError):
            raise NeuroError(f"{key} must be a number, got {val!r}", field="set") from None
        if not np.isfinite(kw[key]):
            raise NeuroError(f"{key} must be a finite number, got {val!r}", field="set")
    return cls(**kw)


def config_from(d: dict, model: str = MODEL) -> DiehlCookConfig:
    """``model``'s config from a checkpoint's dict."""
    cls = _models()[model].config_cls
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


def frozen_simulator(ckpt: Path, batch: int) -> tuple[Simulator, dict]:
    """A batched, non-learning simulator with the checkpoint's weights and thresholds (or those
    the model's ``frozen_theta`` gives), and the evaluation inhibition of its config
    (``w_inh_exc_eval``, when set)."""
    sim1, meta = load_checkpoint(ckpt, learning=False, adapt=False)
    model = meta["extra"].get("model", MODEL)
    cfg = config_from(meta["extra"]["config"], model)
    if cfg.eval_inhibition != cfg.w_inh_exc:  # the inhibition weights of the evaluation network
        net = sim1.net
        build = _models()[model].build_network
        frozen = compile_network(build(cfg, net.arithmetic, net.seed, frozen=True))
        if not np.array_equal(frozen.slot, net.slot):  # same seed, same layout
            raise NeuroError("the evaluation network does not match the checkpoint's layout", str(ckpt))
        p = [pr.name for pr in net.spec.projections].index("inh_exc")
        pos = next(x for i, x in enumerate(net.projection_positions()) if i == p)
        net.weight[pos] = frozen.weight[pos]
    theta = sim1.state["theta"][0].copy()
    if _models()[model].frozen_theta is not None:  # the model's own frozen thresholds
        theta = _models()[model].frozen_theta(cfg, sim1.net, theta)
    sim = Simulator(sim1.net, batch=batch, inputs=ScheduledInputs(), learning=False, adapt=False)
    sim.state["theta"][:] = theta
    return sim, meta
