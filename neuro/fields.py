"""Checking one scalar field of a spec: numbers, names, choices, flags, tables of known keys.

Every spec class (:mod:`neuro.spec`, :mod:`neuro.registers`, :mod:`neuro.plasticity`) checks
its fields with these helpers, in its constructor, so a spec built in Python and one read from
TOML give the same one-line :class:`~neuro.errors.NeuroError`. Fields are named relative to
the object being checked (``tau_mem``); :func:`located` prefixes them with where the object
sits (``populations[0].tau_mem``). Per-element values (:class:`~neuro.values.Value`) are
checked by :func:`neuro.values.bounded_value` and :func:`neuro.values.integer_value`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from neuro.errors import NeuroError


def _range_text(lo, hi, lo_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{lo}, {hi}]"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {lo}"
    return f"<= {hi}"


def number(v: Any, field: str | None, lo=None, hi=None, *, lo_open: bool = False, integer: bool = False):
    """Check a finite number (an integer if ``integer``: a whole float becomes an ``int``) in
    ``[lo, hi]`` (``(lo, hi]`` if ``lo_open``; ``None`` is unbounded) and return it."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise NeuroError(f"must be {'an integer' if integer else 'a finite number'}, got {v!r}", field=field)
    if isinstance(v, float) and not math.isfinite(v):
        raise NeuroError(f"must be finite, got {v!r}", field=field)
    if integer:
        if isinstance(v, float) and not v.is_integer():
            raise NeuroError(f"must be an integer, got {v!r}", field=field)
        v = int(v)
    if (lo is not None and (v < lo or (lo_open and v == lo))) or (hi is not None and v > hi):
        raise NeuroError(f"must be {_range_text(lo, hi, lo_open)}, got {v!r}", field=field)
    return v


def optional_number(v: Any, field: str, lo=None, hi=None, **kw):
    """:func:`number`, or ``None`` when ``v`` is ``None`` (an unset optional field)."""
    return None if v is None else number(v, field, lo, hi, **kw)


def choice(v: Any, field: str | None, choices: Iterable[str]) -> str:
    """Check that ``v`` is one of ``choices``."""
    choices = tuple(choices)
    if not isinstance(v, str) or v not in choices:
        raise NeuroError(f"must be one of {', '.join(choices)}, got {v!r}", field=field)
    return v


def name(v: Any, field: str | None) -> str:
    """Check a name: non-empty letters, digits, ``_`` or ``-``."""
    if not isinstance(v, str) or not v or not v.replace("_", "").replace("-", "").isalnum():
        raise NeuroError(f"must be a non-empty name of letters, digits, '_' or '-', got {v!r}", field=field)
    return v


def flag(v: Any, field: str | None) -> bool:
    """Check a boolean (TOML ``true``/``false``; 0 and 1 are refused)."""
    if not isinstance(v, bool):
        raise NeuroError(f"must be true or false, got {v!r}", field=field)
    return v


def table(d: Any, field: str | None, allowed: Iterable[str] | None = None, why: str = "unknown key") -> dict:
    """Check that ``d`` is a table (dict) whose keys are all ``allowed``; return it."""
    if not isinstance(d, dict):
        raise NeuroError(f"must be a table, got {type(d).__name__}", field=field)
    if allowed is not None:
        allowed = set(allowed)
        for key in d:
            if key not in allowed:
                raise NeuroError(f"{why} (allowed: {', '.join(sorted(allowed))})", field=_join(field, key))
    return d


def _join(prefix: str | None, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


@contextmanager
def located(field_prefix: str | None, source: str | None = None) -> Iterator[None]:
    """Re-raise a :class:`NeuroError` from the block under ``field_prefix`` (and ``source``)."""
    try:
        yield
    except NeuroError as exc:
        raise exc.at(source, field_prefix) from None


def unused(obj: Any, used: Iterable[str], why: str) -> None:
    """Refuse a dataclass field outside ``used`` that differs from its default (a field that
    does not apply to the object's kind, e.g. ``p`` of a ``one_to_one`` connector)."""
    from dataclasses import MISSING, fields

    used = set(used)
    for f in fields(obj):
        if f.name in used or f.default is MISSING:
            continue
        v = getattr(obj, f.name)
        if isinstance(v, list | tuple) and isinstance(f.default, tuple):
            v = tuple(v)
        if v != f.default:
            raise NeuroError(f"{why} (it uses: {', '.join(sorted(used))})", field=f.name)
