"""The learning engine's documented, seedable pseudo-random source.

Stochastic rounding in Loihi arithmetic needs random bits for every (synapse or trace,
epoch). They come from a counter-based generator: SplitMix64's finalizer applied to
``key + stream * 0x9E3779B97F4A7C15 + mix64(counter)``, where ``key`` is one 64-bit draw from
the run's seeded generator, ``stream`` identifies the synapse (its CSR position) or trace,
and ``counter`` is the learning epoch. The bits therefore do not depend on the order in
which events are processed or on how a run is chunked, and a run resumed from a checkpoint
draws exactly the bits the uninterrupted run would.

Streams: synapse ``s`` uses ``s``; trace ``t`` of source/neuron ``i`` of rule ``r`` uses
``2**62 + (r * 8 + t) * 2**36 + i`` for its decay and ``2**61 + ...`` for its impulse; the host's
weight normalization in Loihi arithmetic rounds synapse ``s`` with stream ``2**60 + s``
(:mod:`neuro.learning.homeostasis`, counter: the simulator's step). ``s`` and
``i`` are always the *whole* network's CSR position and source/neuron index: a worker that steps
a sub-network (:mod:`neuro.parallel.subnet`) maps its own positions and indices to them with
:func:`global_index` and the tables' ``syn_gid`` / ``src_gid`` / ``nrn_gid``, so its bits are
the single-process run's whatever the number of workers.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
DECAY_STREAM = np.uint64(1 << 62)
IMPULSE_STREAM = np.uint64(1 << 61)
NORMALIZE_STREAM = np.uint64(1 << 60)


@njit(cache=True, inline="always")
def mix64(z):
    """SplitMix64 finalizer (a bijection on 64-bit words)."""
    z = np.uint64(z)
    z = (z ^ (z >> np.uint64(30))) * M1
    z = (z ^ (z >> np.uint64(27))) * M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def random_bits(key, stream, counter):
    """64 random bits for (stream, counter) under ``key``."""
    return mix64(np.uint64(key) + np.uint64(stream) * GOLDEN + mix64(np.uint64(counter)))


@njit(cache=True, inline="always")
def trace_stream(base, rule, trace, index):
    return base + np.uint64((rule * 8 + trace) << 36) + np.uint64(index)


@njit(cache=True, inline="always")
def stochastic_round(value, key, stream, counter):
    """``floor(value) + 1`` with probability ``value - floor(value)`` (value >= 0 or < 0)."""
    f = np.floor(value)
    u = np.float64(random_bits(key, stream, counter) >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    return np.int64(f) + (1 if u < value - f else 0)


def global_index(ids, i):
    """The whole network's index of a sub-network's index ``i``: ``ids[i]``, or ``i`` itself when
    ``ids`` is None (a network stepped whole: the identity, resolved when numba compiles, so the
    single-process kernels are unchanged)."""
    return i if ids is None else ids[i]


@overload(global_index, inline="always")
def _global_index(ids, i):
    if isinstance(ids, types.NoneType):
        return lambda ids, i: i
    return lambda ids, i: ids[i]
