"""Compiled kernels called from Python once per window, without numba's type dispatch.

A call of a numba dispatcher first computes the type of every argument. For arrays that is a
fast path, but a namedtuple of arrays (a kernel's state, parameters, tables) goes through
numba's Python-level ``typeof``: ~1 us for a namedtuple of 4 arrays, ~0.2 us through the entry
point. The MPI transport calls its kernels once per window, i.e. once per step when workers
exchange every step, so on a small network the dispatch was a large share of a step
(``bench/multichip.py`` on a tiny network; docs/scaling.md). :func:`entry` resolves the
compiled version for the argument types once (loading it from the cache or compiling it,
exactly as a dispatcher call would) and returns its entry point, which only unboxes the
arguments. The caller must pass arguments of the same types on every call: the
entry point does not check them.
"""

from __future__ import annotations


def entry(dispatcher, args: tuple):
    """The compiled entry point of ``dispatcher`` for the types of ``args`` (the version a
    plain call with ``args`` would run)."""
    sig = tuple(dispatcher.typeof_pyval(a) for a in args)
    return dispatcher.compile(sig)


class Bound:
    """``dispatcher`` called through :func:`entry`, resolved at the first call (and again after
    :meth:`reset`, when the caller's argument types may have changed)."""

    def __init__(self, dispatcher):
        self.dispatcher = dispatcher
        self._fn = None

    def reset(self) -> None:
        self._fn = None

    def __call__(self, *args):
        if self._fn is None:
            self._fn = entry(self.dispatcher, args)
        return self._fn(*args)
