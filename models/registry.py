"""The models ``neuro train --model NAME`` knows: each one's config class, presets, network
builder and presenter (how an image is shown while training)."""

from __future__ import annotations

from dataclasses import dataclass

from neuro.errors import NeuroError
from neuro.models import diehl_cook, teacher_stdp


@dataclass(frozen=True)
class ModelKind:
    """A trainable model: ``build_network(cfg, arithmetic, seed, frozen)`` gives its spec;
    ``presenter`` names the class in ``neuro.models.<module>`` that shows training images;
    ``frozen_theta(cfg, net, theta)``, when given, sets the thresholds of the frozen network
    (labelling, evaluation) from the learned ones (default: they are kept)."""

    name: str
    config_cls: type
    presets: dict
    preset_lengths: dict  # preset -> TrainingLength (neuro.models.training_length)
    build_network: object
    presenter: str  # "module:Class", imported when needed (the protocols import this module)
    default_neurons: int = 100  # excitatory neurons when ``neuro train`` is not told
    frozen_theta: object = None  # f(cfg, net, learned theta) -> the frozen network's theta (None: learned)

    def make_presenter(self, sim, cfg):
        import importlib

        module, cls = self.presenter.split(":")
        return getattr(importlib.import_module(f"neuro.models.{module}"), cls)(sim, cfg)


MODELS = {
    "diehl-cook": ModelKind(
        "diehl-cook",
        diehl_cook.DiehlCookConfig,
        diehl_cook.PRESETS,
        diehl_cook.PRESET_LENGTHS,
        diehl_cook.build_network,
        "diehl_cook_protocol:Presenter",
        frozen_theta=diehl_cook.frozen_theta,
    ),
    "teacher-stdp": ModelKind(
        "teacher-stdp",
        teacher_stdp.TeacherConfig,
        teacher_stdp.PRESETS,
        teacher_stdp.PRESET_LENGTHS,
        teacher_stdp.build_network,
        "teacher_stdp_protocol:TeacherPresenter",
        default_neurons=400,
        frozen_theta=teacher_stdp.frozen_theta,
    ),
}


def model_kind(name) -> ModelKind:
    """The model called ``name`` (one-line error naming the known ones otherwise)."""
    if name not in MODELS:
        raise NeuroError(f"unknown model {name!r} (known: {', '.join(MODELS)})", field="model")
    return MODELS[name]
