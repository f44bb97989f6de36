"""Synapses of a compiled network per projection, as (pre index, post index) tables.

The engine keeps all synapses in one CSR table keyed by source (see :mod:`neuro.network`).
This module names the rows of that table: for projection ``p`` (spec order) its synapses sit at
CSR positions ``positions`` (sorted by pre, then post), synapse ``k`` joins neuron ``pre[k]``
of population (or input) ``pre_name`` to neuron ``post[k]`` of ``post_name``. Checkpoints and
``neuro weights`` store and export weights through these tables.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class ProjectionTable(NamedTuple):
    """One projection's synapses in a compiled network (see module docstring)."""

    name: str
    pre_name: str
    post_name: str
    n_pre: int
    n_post: int
    receptor: str
    pre: np.ndarray  # int64, index within pre_name
    post: np.ndarray  # int64, index within post_name
    positions: np.ndarray  # int64, CSR positions in net.weight / net.delay


def projection_names(spec) -> list[str]:
    """A unique name per projection: its ``name``, else ``"PRE->POST"``; a repeated name gets
    ``"#i"`` appended (``i`` its index in the spec)."""
    base = [p.name or f"{p.pre}->{p.post}" for p in spec.projections]
    return [b if base.count(b) == 1 else f"{b}#{i}" for i, b in enumerate(base)]


def projection_tables(net) -> list[ProjectionTable]:
    """The :class:`ProjectionTable` of every projection of compiled network ``net``, spec order."""
    return list(iter_projection_tables(net))


def iter_projection_tables(net):
    """Yield the :class:`ProjectionTable` of every projection of ``net``, spec order (one held
    at a time)."""
    n = net.n_neurons
    names = projection_names(net.spec)
    for p, pos in enumerate(net.projection_positions()):
        proj = net.spec.projections[p]
        s0, s1, post0, post1, _ = net.proj_ranges[p]
        cnt = net.proj_counts[p]
        yield ProjectionTable(
            name=names[p],
            pre_name=proj.pre,
            post_name=proj.post,
            n_pre=int(s1 - s0),
            n_post=int(post1 - post0),
            receptor=proj.receptor,
            pre=np.repeat(np.arange(cnt.size, dtype=np.int64), cnt),
            post=net.slot[pos].astype(np.int64) % n - post0,
            positions=pos,
        )
