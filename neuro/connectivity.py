"""Synapses of each projection, generated from the spec with the run's seeded generator.

For every projection, in spec order, draws are made for: which pairs connect, then the
weights, then the delays. Synapses come out sorted by (pre, post).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuro.errors import NeuroError
from neuro.spec import Network, Projection
from neuro.values import load_npy


@dataclass
class Synapses:
    """The synapses of one projection (struct of arrays, sorted by ``pre`` then ``post``).

    Attributes
    ----------
    pre, post : numpy.ndarray of int64
        Index of the source within its population/input and of the target within ``post``.
    weight : numpy.ndarray of float64
        mV in float arithmetic; raw ``Wgt`` integers when the projection has ``weight_exp``.
    delay : numpy.ndarray of int64
        Delay in steps (``round(delay_ms / dt)``); the spike arrives ``1 + delay`` steps later.
    """

    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    delay: np.ndarray

    @property
    def size(self) -> int:
        return int(self.pre.size)


def _bernoulli_positions(rng: np.random.Generator, p: float, total: int) -> np.ndarray:
    """Sorted positions in ``range(total)`` each kept independently with probability ``p``.

    Uses geometric gaps between successes, so the work is proportional to the number kept.
    """
    if p <= 0.0 or total == 0:
        return np.zeros(0, dtype=np.int64)
    if p >= 1.0:
        return np.arange(total, dtype=np.int64)
    out = []
    pos = -1
    chunk = max(1024, int(total * p * 1.05) + 1024)
    while True:
        gaps = rng.geometric(p, size=chunk)
        cand = pos + np.cumsum(gaps, dtype=np.int64)
        keep = cand[cand < total]
        out.append(keep)
        if keep.size < cand.size:
            break
        pos = int(cand[-1])
        chunk = max(1024, int((total - pos) * p * 1.05) + 1024)
    return np.concatenate(out)


def _pairs(proj: Projection, n_pre: int, n_post: int, same: bool, rng) -> tuple:
    """Return (pre, post, weight_or_None, delay_ms_or_None) before weight/delay sampling."""
    c = proj.connector
    if c.type == "all_to_all":
        pre = np.repeat(np.arange(n_pre, dtype=np.int64), n_post)
        post = np.tile(np.arange(n_post, dtype=np.int64), n_pre)
        if (same and not c.allow_self) or c.skip_diagonal:
            keep = pre != post
            pre, post = pre[keep], post[keep]
        return pre, post, None, None
    if c.type == "one_to_one":
        idx = np.arange(n_pre, dtype=np.int64)
        return idx, idx.copy(), None, None
    if c.type == "fixed_probability":
        pos = _bernoulli_positions(rng, c.p, n_pre * n_post)
        pre, post = np.divmod(pos, n_post)
        if (same and not c.allow_self) or c.skip_diagonal:
            keep = pre != post
            pre, post = pre[keep], post[keep]
        return pre, post, None, None
    if c.type == "list":
        rows = load_npy(c.file, "connector.file")[1] if c.file else np.array(c.pairs, dtype=np.float64)
        rows = np.asarray(rows, dtype=np.float64)
        if rows.size == 0:
            rows = rows.reshape(0, 2)
        if rows.ndim != 2 or rows.shape[1] not in (2, 3, 4):
            raise NeuroError(
                f"a list connector needs rows of [pre, post] (optionally weight, delay ms), "
                f"got shape {rows.shape}",
                field="connector",
            )
        if not np.all(np.isfinite(rows)):
            raise NeuroError("list connector rows must be finite", field="connector")
        ij = rows[:, :2]
        if np.any(ij != np.round(ij)):
            raise NeuroError("list connector indices must be integers", field="connector")
        pre, post = ij[:, 0].astype(np.int64), ij[:, 1].astype(np.int64)
        if pre.size and (pre.min() < 0 or pre.max() >= n_pre):
            raise NeuroError(f"pre index out of range [0, {n_pre - 1}]", field="connector")
        if post.size and (post.min() < 0 or post.max() >= n_post):
            raise NeuroError(f"post index out of range [0, {n_post - 1}]", field="connector")
        w = rows[:, 2] if rows.shape[1] >= 3 else None
        d = rows[:, 3] if rows.shape[1] == 4 else None
        return pre, post, w, d
    # matrix
    m = load_npy(c.file, "connector.file")[1] if c.file else np.array(c.values, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    if m.shape != (n_pre, n_post):
        raise NeuroError(
            f"matrix must have shape ({n_pre}, {n_post}) (pre x post), got {m.shape}", field="connector"
        )
    if not np.all(np.isfinite(m)):
        raise NeuroError("matrix must be finite", field="connector")
    pre, post = np.nonzero(m)
    return pre.astype(np.int64), post.astype(np.int64), m[pre, post], None


def build_projection(net: Network, index: int, rng: np.random.Generator) -> Synapses:
    """Generate the synapses of ``net.projections[index]``."""
    proj = net.projections[index]
    where = f"projections[{index}]"
    n_pre, n_post = net.source_size(proj.pre), net.source_size(proj.post)
    try:
        pre, post, w, d = _pairs(proj, n_pre, n_post, proj.pre == proj.post, rng)
    except NeuroError as exc:
        raise exc.at(net.source, where) from None
    n = pre.size
    try:
        weight = w if w is not None else proj.weight.sample(rng, n)
    except NeuroError as exc:
        raise exc.at(net.source, f"{where}.weight") from None
    try:
        delay_ms = d if d is not None else proj.delay.sample(rng, n)
    except NeuroError as exc:
        raise exc.at(net.source, f"{where}.delay") from None
    if delay_ms.size and delay_ms.min() < 0:
        raise NeuroError("delays must be >= 0 ms", net.source, f"{where}.delay")
    delay = np.rint(delay_ms / net.simulation.dt).astype(np.int64)
    if proj.weight_exp is not None:
        if weight.size and (np.any(weight != np.round(weight)) or np.abs(weight).max() > 255):
            raise NeuroError(
                "raw Loihi weights must be integers in [-255, 255]", net.source, f"{where}.weight"
            )
    key = pre * n_post + post
    if key.size and np.any(key[1:] < key[:-1]):  # only list/matrix files can come unsorted
        order = np.argsort(key, kind="stable")
        pre, post, weight, delay = pre[order], post[order], weight[order], delay[order]
    return Synapses(pre, post, np.ascontiguousarray(weight, dtype=np.float64), delay)


def build_all(net: Network, rng: np.random.Generator) -> list[Synapses]:
    """Synapses of every projection, in spec order."""
    return [build_projection(net, i, rng) for i in range(len(net.projections))]
