r"""Label readouts: an image's class from the frozen network's excitatory spike counts.

Labelling (once, when training ends) shows the frozen network labelled images and keeps, per
class :math:`c` and neuron :math:`n`, the spikes :math:`S_{cn} = \sum_{i \in L_c} k_{in}` over
the :math:`|L_c|` labelling images of that class (:math:`k_{in}`: spikes of neuron :math:`n`
for image :math:`i`). From them, the mean responses, the labels and the class shares

.. math::

    r_{cn} = S_{cn} / |L_c|, \qquad
    a_n = \arg\max_c r_{cn} \;(-1 \text{ if } \max_c r_{cn} = 0), \qquad
    p_{cn} = r_{cn} / \textstyle\sum_{c'} r_{c'n}.

A readout scores every class for an image with counts :math:`k_n` and predicts
:math:`\arg\max_c s_c` (the first class on a tie):

* ``vote`` (Diehl & Cook 2015): the mean count of the neurons labelled :math:`c`,
  :math:`s_c = \operatorname{mean}_{n: a_n = c} k_n` (:math:`-1` for a class no neuron has);
* ``proportion`` (Hazan et al. 2018, BindsNET's "proportion weighting"): the same mean, each
  count weighted by the neuron's share of the class, :math:`s_c = \operatorname{mean}_{n: a_n
  = c} p_{cn} k_n`;
* ``soft``: every neuron votes for every class with its shares, :math:`s_c = \sum_n p_{cn}
  k_n` (a neuron that answers to 3s and 8s alike splits its spikes between them instead of
  giving them all to its label).

Each is a fixed linear map of the counts followed by an argmax, computed on the host from
the excitatory spike counts as the vote is: nothing on the chip changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from neuro.errors import NeuroError

N_CLASSES = 10


class Labelling(NamedTuple):
    """What labelling measured: each neuron's label and, when kept, the spikes per (class,
    neuron) and the labelling images per class (runs trained before they were kept: None)."""

    labels: np.ndarray  #: (N,) a_n, -1 for a neuron that never fired
    class_spikes: np.ndarray | None  #: (n_classes, N) int64, S_cn
    class_images: np.ndarray | None  #: (n_classes,) int64, |L_c|

    @classmethod
    def measure(cls, counts: np.ndarray, labels: np.ndarray, n_classes: int = N_CLASSES) -> Labelling:
        """From the counts (n_images, N) of the labelling images and their ``labels``."""
        counts, labels = np.asarray(counts, dtype=np.int64), np.asarray(labels)
        spikes = np.zeros((n_classes, counts.shape[1]), dtype=np.int64)
        np.add.at(spikes, labels, counts)
        images = np.bincount(labels, minlength=n_classes).astype(np.int64)
        rates = _rates(spikes, images)
        out = rates.argmax(axis=0)
        out[rates.max(axis=0) == 0] = -1
        return cls(out, spikes, images)

    @property
    def shares(self) -> np.ndarray:
        """p_cn, each neuron's mean responses split over the classes (0 for a silent neuron)."""
        rates = _rates(self.class_spikes, self.class_images)
        total = rates.sum(axis=0)
        return np.divide(rates, total, out=np.zeros_like(rates), where=total > 0)

    def to_extra(self) -> dict:
        """The JSON-able form kept in a run's checkpoint."""
        return {
            "assignments": self.labels.tolist(),
            "class_spikes": self.class_spikes.tolist(),
            "class_images": self.class_images.tolist(),
        }

    @classmethod
    def from_extra(cls, extra: dict, path, responses: bool) -> Labelling:
        """Back from a checkpoint's ``extra`` (its labels checked on reading it); ``responses``:
        the class responses are needed (one-line errors name ``path``)."""
        labels = np.asarray(extra["assignments"], dtype=np.int64)
        if "class_spikes" not in extra:
            if responses:
                raise NeuroError(
                    "the run keeps no labelling responses (trained before readouts other than "
                    "'vote' existed): evaluate it with --readout vote, or train it again",
                    str(path),
                )
            return cls(labels, None, None)
        try:
            spikes = np.asarray(extra["class_spikes"], dtype=np.int64)
            images = np.asarray(extra["class_images"], dtype=np.int64)
        except (TypeError, ValueError, KeyError, OverflowError):
            spikes = images = np.zeros(0, dtype=np.int64)
        if (
            spikes.shape != (N_CLASSES, len(labels))
            or images.shape != (N_CLASSES,)
            or min(spikes.min(initial=0), images.min(initial=0)) < 0
        ):
            raise NeuroError(
                f"checkpoint labelling responses must be {N_CLASSES}x{len(labels)} "
                f"and {N_CLASSES} counts >= 0",
                str(path),
            )
        return cls(labels, spikes, images)


def _rates(class_spikes: np.ndarray, class_images: np.ndarray) -> np.ndarray:
    """r_cn = S_cn / |L_c| (0 for a class without labelling images)."""
    return class_spikes / np.maximum(class_images, 1)[:, None]


def vote(counts: np.ndarray, labelling: Labelling) -> np.ndarray:
    """Diehl & Cook's vote: the class whose labelled neurons fired most on average."""
    return by_label(counts, labelling.labels)


def proportion(counts: np.ndarray, labelling: Labelling) -> np.ndarray:
    """BindsNET's proportion weighting: the vote, each count weighted by its neuron's share."""
    return by_label(counts, labelling.labels, labelling.shares)


def soft(counts: np.ndarray, labelling: Labelling) -> np.ndarray:
    """Every neuron votes for every class with its shares: argmax of ``counts @ p.T``."""
    return (np.asarray(counts, dtype=np.float64) @ labelling.shares.T).argmax(axis=1)


def by_label(counts, labels: np.ndarray, weight: np.ndarray | None = None, n_classes: int = N_CLASSES):
    """argmax over c of the mean, over the neurons labelled c, of ``counts[:, n]`` (times
    ``weight[c, n]`` when given); a class no neuron has scores -1."""
    counts = np.asarray(counts, dtype=np.float64)
    scores = np.full((counts.shape[0], n_classes), -1.0)
    for c in range(n_classes):
        sel = labels == c
        if sel.any():
            part = counts[:, sel] if weight is None else counts[:, sel] * weight[c, sel]
            scores[:, c] = part.mean(axis=1)
    return scores.argmax(axis=1)


class Readout(NamedTuple):
    predict: Callable[[np.ndarray, Labelling], np.ndarray]  #: (counts, labelling) -> classes
    responses: bool  #: needs the class responses, not the labels alone


READOUTS = {
    "vote": Readout(vote, False),
    "proportion": Readout(proportion, True),
    "soft": Readout(soft, True),
}


def check_name(name: str) -> str:
    """``name`` if it names a readout of :data:`READOUTS`; else a located one-line error."""
    if name not in READOUTS:
        raise NeuroError(f"must be one of {', '.join(READOUTS)}, got {name!r}", field="readout")
    return name


def bind(name: str, extra: dict, path) -> Callable[[np.ndarray], np.ndarray]:
    """The readout ``name`` with the labelling kept in a run's ``extra``: counts -> classes."""
    readout = READOUTS[check_name(name)]
    labelling = Labelling.from_extra(extra, path, readout.responses)
    return lambda counts: readout.predict(counts, labelling)
