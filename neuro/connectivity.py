"""Synapses of each projection, generated from the spec with the run's seeded generator.

For every projection, in spec order, draws are made for: which pairs connect, then the
weights, then the delays. Synapses come out sorted by (pre, post).
"""

from __future__ import annotations

import math
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
    counts : numpy.ndarray of int64
        Number of synapses of every source of the projection (its ``pre`` population/input).
    post : numpy.ndarray of int32
        Index of the target within ``post``.
    weight : numpy.ndarray of float64
        mV in float arithmetic; raw ``Wgt`` integers when the projection has ``weight_exp``.
    delay : numpy.ndarray of int64
        Delay in steps (``round(delay_ms / dt)``); the spike arrives ``1 + delay`` steps later.
        A constant delay is a read-only broadcast view.
    """

    counts: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    delay: np.ndarray

    @property
    def pre(self) -> np.ndarray:
        """Index of the source of every synapse within its population/input (int64)."""
        return np.repeat(np.arange(self.counts.size, dtype=np.int64), self.counts)

    @property
    def size(self) -> int:
        return int(self.post.size)


# numpy's Generator.geometric: inversion of a standard exponential below this p, search above
GEOMETRIC_SEARCH_P = 0.333333333333333333333333


def _geometric_draws(rng: np.random.Generator, p: float, size: int) -> tuple[np.ndarray, bool]:
    """``size`` draws that :func:`neuro.construction.bernoulli_walk` turns into exactly the
    values (and generator state) of ``rng.geometric(p, size)``: for ``p`` below 1/3 numpy
    computes ``ceil(-E / log1p(-p))`` from standard exponentials ``E``, which are drawn here
    and inverted in the walk (one pass instead of three); otherwise the geometric variates."""
    if p < GEOMETRIC_SEARCH_P:
        return rng.standard_exponential(size), True
    return rng.geometric(p, size=size).astype(np.float64), False


def bernoulli_pairs(
    rng: np.random.Generator, p: float, n_pre: int, n_post: int, skip_self: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of a ``n_pre x n_post`` grid each kept independently with probability ``p``.

    The kept positions (row-major, ``pre * n_post + post``) are the running sums, from -1, of
    ``rng.geometric(p)`` gaps, drawn in chunks of ``max(1024, int(remaining * p * 1.05) + 1024)``
    until a sum leaves the grid (the rest of that chunk is unused), so the work is
    proportional to the number kept. ``skip_self`` then drops the pairs with pre == post.

    Returns ``(counts, post)``: synapses per pre (int64) and their targets (int32), sorted.
    """
    from neuro.construction import bernoulli_walk

    counts = np.zeros(n_pre, dtype=np.int64)
    total = n_pre * n_post
    if p <= 0.0 or total == 0:
        return counts, np.zeros(0, dtype=np.int32)
    if p >= 1.0:
        pre, post = np.divmod(np.arange(total, dtype=np.int64), n_post)
        if skip_self:
            keep = pre != post
            pre, post = pre[keep], post[keep]
        return np.bincount(pre, minlength=n_pre).astype(np.int64), post.astype(np.int32)
    log_q = math.log1p(-p)  # libm's, as numpy's C geometric uses
    parts, pos = [], -1
    chunk = max(1024, int(total * p * 1.05) + 1024)
    while True:
        draws, inversion = _geometric_draws(rng, p, chunk)
        post = np.empty(chunk, dtype=np.int32)
        pos, k, done = bernoulli_walk(draws, inversion, log_q, pos, total, n_post, skip_self, counts, post, 0)
        parts.append(post[:k])
        if done:
            break
        chunk = max(1024, int((total - pos) * p * 1.05) + 1024)
    return counts, parts[0] if len(parts) == 1 else np.concatenate(parts)


def _pairs(proj: Projection, n_pre: int, n_post: int, same: bool, rng) -> tuple:
    """Return ``(counts, post, weight_or_None, delay_ms_or_None, order)`` before weight/delay
    sampling: the pairs sorted by (pre, post) as synapses per pre and their targets, the
    weights and delays a file gives (already in that order), and the permutation that sorts
    the pairs as they were given (None when they came sorted), which sampled values follow."""
    c = proj.connector
    skip = (same and not c.allow_self) or c.skip_diagonal
    if c.type == "fixed_probability":
        return (*bernoulli_pairs(rng, c.p, n_pre, n_post, skip), None, None, None)
    if c.type == "all_to_all":
        pre = np.repeat(np.arange(n_pre, dtype=np.int64), n_post)
        post = np.tile(np.arange(n_post, dtype=np.int64), n_pre)
        if skip:
            keep = pre != post
            pre, post = pre[keep], post[keep]
        return (*_by_pre(pre, post, n_pre), None, None, None)
    if c.type == "one_to_one":
        return np.ones(n_pre, dtype=np.int64), np.arange(n_pre, dtype=np.int32), None, None, None
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
        key = pre * n_post + post
        order = None
        if key.size and np.any(key[1:] < key[:-1]):
            order = np.argsort(key, kind="stable")
            pre, post = pre[order], post[order]
            w = w[order] if w is not None else None
            d = d[order] if d is not None else None
        return (*_by_pre(pre, post, n_pre), w, d, order)
    # matrix
    m = load_npy(c.file, "connector.file")[1] if c.file else np.array(c.values, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    if m.shape != (n_pre, n_post):
        raise NeuroError(
            f"matrix must have shape ({n_pre}, {n_post}) (pre x post), got {m.shape}", field="connector"
        )
    if not np.all(np.isfinite(m)):
        raise NeuroError("matrix must be finite", field="connector")
    pre, post = np.nonzero(m)  # row-major: sorted by (pre, post)
    return (*_by_pre(pre, post, n_pre), m[pre, post], None, None)


def _by_pre(pre: np.ndarray, post: np.ndarray, n_pre: int) -> tuple:
    """(synapses per pre, post as int32) of pairs sorted by pre."""
    return np.bincount(pre, minlength=n_pre).astype(np.int64), post.astype(np.int32)


def _delays(proj: Projection, rng, n: int, d, order, dt: float, where: str, source) -> np.ndarray:
    """Delays in steps, ``rint(delay_ms / dt)``: from the file's column, the projection's
    constant (a broadcast view) or its distribution."""
    if d is None and proj.delay.kind == "constant":
        if n and proj.delay.constant < 0:
            raise NeuroError("delays must be >= 0 ms", source, f"{where}.delay")
        return np.broadcast_to(np.int64(np.rint(np.float64(proj.delay.constant) / dt)), (n,))
    try:
        delay_ms = d if d is not None else proj.delay.sample(rng, n)
    except NeuroError as exc:
        raise exc.at(source, f"{where}.delay") from None
    if delay_ms.size and delay_ms.min() < 0:
        raise NeuroError("delays must be >= 0 ms", source, f"{where}.delay")
    delay = np.rint(delay_ms / dt).astype(np.int64)
    return delay if d is not None or order is None else delay[order]


def build_projection(net: Network, index: int, rng: np.random.Generator) -> Synapses:
    """Generate the synapses of ``net.projections[index]``."""
    proj = net.projections[index]
    where = f"projections[{index}]"
    n_pre, n_post = net.source_size(proj.pre), net.source_size(proj.post)
    try:
        counts, post, w, d, order = _pairs(proj, n_pre, n_post, proj.pre == proj.post, rng)
    except NeuroError as exc:
        raise exc.at(net.source, where) from None
    n = post.size
    try:
        weight = w if w is not None else proj.weight.sample(rng, n)
    except NeuroError as exc:
        raise exc.at(net.source, f"{where}.weight") from None
    delay = _delays(proj, rng, n, d, order, net.simulation.dt, where, net.source)
    if proj.weight_exp is not None:
        if weight.size and (np.any(weight != np.round(weight)) or np.abs(weight).max() > 255):
            raise NeuroError(
                "raw Loihi weights must be integers in [-255, 255]", net.source, f"{where}.weight"
            )
    if w is None and order is not None:
        weight = weight[order]
    return Synapses(counts, post, np.ascontiguousarray(weight, dtype=np.float64), delay)


def build_all(net: Network, rng: np.random.Generator) -> list[Synapses]:
    """Synapses of every projection, in spec order."""
    return [build_projection(net, i, rng) for i in range(len(net.projections))]
