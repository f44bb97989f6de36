r"""How many training images a run shows: a number of passes, optionally capped per neuron.

A run of :math:`P` passes over :math:`N` images (``--images``, or the whole split) shows

.. math::

    T = \min\left(\operatorname{round}(P N),\; c\, n\right)

images, where :math:`n` is the number of excitatory neurons and :math:`c` a preset's
``images_per_neuron`` cap (none: :math:`T = \operatorname{round}(P N)`). Pass :math:`k` shows
the images of its own shuffled order; the last pass stops after :math:`T - (\lceil T/N \rceil - 1) N`
of them, so ``--epochs 2.4`` over 4,000 images shows two whole passes and the first 1,600
images of a third.

Why a cap per neuron: each image trains (mostly) one winner, so a neuron sees about
:math:`T / n` updates as a winner. Past what it needs, more updates only add the rounding
noise of the chip's stochastically rounded weight updates (docs/training.md: a fourth pass on
the validation split cost Loihi arithmetic 1.3 points at 100 neurons, float 0.2), while a
larger network is further from that point for the same images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from neuro.errors import NeuroError


@dataclass(frozen=True)
class TrainingLength:
    """A preset's default training length: ``passes`` over the data, at most
    ``images_per_neuron`` images per excitatory neuron (None: no cap)."""

    passes: float
    images_per_neuron: int | None = None

    def images(self, n_per_epoch: int, n_neurons: int) -> int:
        """Images the run shows (see the module docstring)."""
        total = total_images(self.passes, n_per_epoch)
        if self.images_per_neuron is not None:
            total = min(total, self.images_per_neuron * n_neurons)
        return total


def total_images(passes: float, n_per_epoch: int) -> int:
    """Images shown by ``passes`` passes over ``n_per_epoch`` images (at least one)."""
    if not (isinstance(passes, int | float) and math.isfinite(passes) and passes > 0):
        raise NeuroError(f"must be a number > 0, got {passes!r}", field="epochs")
    return max(1, round(passes * n_per_epoch))


def passes_for(total: int, n_per_epoch: int) -> int:
    """Passes begun to show ``total`` images, the last one possibly partial."""
    return -(-total // n_per_epoch)
