"""Targets: the one place where an arithmetic's name becomes an object.

A *target* is what a network runs as: an arithmetic (how a neuron step is computed) bound to
the chips it can be placed on. Everything else asks the :class:`~neuro.targets.base.Target`
object it was handed — compile, place, make the simulator, convert registers back to
physical units — and never compares the name again.

=============  ==========================================  ====================
name           module                                      default chip
=============  ==========================================  ====================
``float``      :mod:`neuro.targets.floating`               ``loihi``
``loihi``      :mod:`neuro.targets.loihi`                  ``loihi``
``loihi2``     :mod:`neuro.targets.loihi2`                 ``loihi2``
``truenorth``  :mod:`neuro.targets.truenorth`              ``truenorth``
=============  ==========================================  ====================

Adding a target is one new module defining a :class:`~neuro.targets.base.Target` subclass and
one :func:`register` call (or a row in :data:`REGISTRY`); nothing in the core changes. The
registry names modules as strings and imports them on first use, so this package imports
nothing from the core and chip-specific packages are loaded only when their target is used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from neuro.errors import NeuroError


@dataclass(frozen=True)
class Entry:
    """Where a target lives and which chip it is placed on unless told otherwise."""

    path: str  # "package.module:ClassName"
    default_chip: str
    chips: tuple  # chip profiles it can be placed on


REGISTRY: dict[str, Entry] = {
    "float": Entry("neuro.targets.floating:FloatTarget", "loihi", ("loihi", "unbounded")),
    "loihi": Entry("neuro.targets.loihi:LoihiTarget", "loihi", ("loihi", "unbounded")),
    "loihi2": Entry("neuro.targets.loihi2:Loihi2Target", "loihi2", ("loihi2", "unbounded")),
    "truenorth": Entry("neuro.targets.truenorth:TrueNorthTarget", "truenorth", ("truenorth",)),
}
_INSTANCES: dict = {}


def register(name: str, path: str, default_chip: str, chips: tuple) -> None:
    """Add (or replace) a target: ``path`` is ``"module:Class"`` of a Target subclass."""
    REGISTRY[name] = Entry(path, default_chip, tuple(chips))
    _INSTANCES.pop(name, None)


def names() -> tuple:
    """Names of the registered targets (the allowed values of ``simulation.arithmetic``)."""
    return tuple(REGISTRY)


def entry(name: str) -> Entry:
    try:
        return REGISTRY[name]
    except KeyError:
        raise NeuroError(
            f"unknown arithmetic {name!r} (known: {', '.join(REGISTRY)})", field="simulation.arithmetic"
        ) from None


def get_target(name):
    """The target object for ``name`` (a Target passes through unchanged)."""
    if not isinstance(name, str):
        return name
    if name not in _INSTANCES:
        module, cls = entry(name).path.split(":")
        _INSTANCES[name] = getattr(importlib.import_module(module), cls)()
    return _INSTANCES[name]


def choose_chip(arithmetic: str | None, chip: str | None, current_arithmetic: str, current_chip: str):
    """(arithmetic, chip) after a change of either: a new arithmetic keeps the chip if it can
    run there and otherwise takes its default chip; a new chip alone keeps the arithmetic if it
    can run there and otherwise takes the first target whose default chip it is."""
    if arithmetic is not None and chip is None:
        e = entry(arithmetic)
        chip = current_chip if current_chip in e.chips else e.default_chip
    elif chip is not None and arithmetic is None:
        if chip not in entry(current_arithmetic).chips:
            arithmetic = next((n for n, e in REGISTRY.items() if e.default_chip == chip), current_arithmetic)
    return arithmetic, chip
