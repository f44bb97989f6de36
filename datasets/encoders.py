"""Spike encoders for images: Poisson rate coding and latency (time-to-first-spike) coding.

Both produce, for a batch of images, the spikes of the input channels over a window of
``n_steps`` steps, as sorted (step, batch, channel) arrays.

* Poisson: channel ``c`` of image ``b`` spikes in each step independently with probability
  ``p = rate * dt / 1000``, ``rate = pixel * rate_per_unit`` (Diehl & Cook: pixel / 4 Hz, i.e.
  ``rate_per_unit = 0.25`` at intensity 2). The steps are drawn with geometric gaps from the
  run's generator, which is the same Bernoulli process with work proportional to the spikes.
* Latency: every pixel above ``threshold`` spikes once, at step
  ``floor((1 - pixel / 255) * (n_steps - 1))``: brighter pixels spike earlier. Deterministic.
"""

from __future__ import annotations

import numpy as np

from neuro.inputs import bernoulli_spikes


def poisson_spikes(
    images: np.ndarray, rate_per_unit: float, dt: float, n_steps: int, rng: np.random.Generator, gain=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bernoulli spikes of (B, C) images over ``n_steps``; returns (step, batch, channel).

    ``gain`` (B,) multiplies each image's rates (Diehl & Cook's intensity).
    """
    p = np.asarray(images, dtype=np.float64) * rate_per_unit * dt / 1000.0
    if gain is not None:
        p = p * np.asarray(gain, dtype=np.float64)[:, None]
    if p.size and p.max() > 1:
        raise ValueError("rate exceeds one spike per step")
    return bernoulli_spikes(p, n_steps, rng)


def latency_spikes(images: np.ndarray, n_steps: int, threshold: int = 0) -> tuple:
    """One spike per pixel above ``threshold``, earlier for brighter pixels."""
    img = np.asarray(images)
    b_idx, c_idx = np.nonzero(img > threshold)
    steps = np.floor((1.0 - img[b_idx, c_idx] / 255.0) * (n_steps - 1)).astype(np.int64)
    order = np.lexsort((c_idx, b_idx, steps))
    return steps[order], b_idx[order].astype(np.int64), c_idx[order].astype(np.int64)
