"""The reading boundary: whatever a damaged file makes a library raise becomes one :class:`NeuroError`.

A file neuro reads (checkpoint, spike file, IDX, ``.npy``, profile) may be truncated, have a
flipped bit, a zeroed block, a soft-link loop or a header that claims more data than exists.
h5py, numpy, json and gzip then raise many different exceptions (``OSError: filter returned
failure``, ``KeyError``, ``RuntimeError: link loop``, ``ValueError``, ``MemoryError``, ...).
:func:`reading` wraps the code that reads one file and turns each of them into a one-line
:class:`NeuroError` naming the file, so the CLI exits with status 2 and no traceback.

Only the reading of a file is wrapped, never the computation on what was read: a bug in
neuro's own code still shows its traceback.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

from neuro.errors import NeuroError

#: What libraries raise on damaged or hostile file contents.
READ_ERRORS = (
    OSError,
    KeyError,
    ValueError,
    TypeError,
    IndexError,
    RuntimeError,
    RecursionError,
    OverflowError,
    EOFError,
    AttributeError,
    UnicodeError,
)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


@contextmanager
def reading(path, what: str = "file"):
    """Turn a library's exception while reading ``path`` into ``NeuroError("corrupt or unreadable ...")``.

    Parameters
    ----------
    path : path-like
        The file being read (named in the message).
    what : str
        What the file is, e.g. ``"checkpoint"`` or ``"spike file"``.
    """
    try:
        yield
    except NeuroError:
        raise
    except MemoryError:
        raise NeuroError(f"{what} claims more data than fits in memory (corrupt?)", str(path)) from None
    except PermissionError:
        raise NeuroError("permission denied", str(path)) from None
    except READ_ERRORS as exc:
        raise NeuroError(f"corrupt or unreadable {what}: {_first_line(exc)}", str(path)) from None


def finite_number(value, name: str, path, low: float = -math.inf, high: float = math.inf) -> float:
    """``value`` as a float in ``[low, high]`` (finite), else a one-line error naming ``name``."""
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        raise NeuroError(f"{name} must be a number, got {value!r}", str(path)) from None
    if not (math.isfinite(x) and low <= x <= high):
        raise NeuroError(f"{name} must be a finite number in [{low:g}, {high:g}], got {value!r}", str(path))
    return x


def integer(value, name: str, path, low: int = 0, high: int = 2**63 - 1) -> int:
    """``value`` as an int in ``[low, high]``, else a one-line error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float) and not hasattr(value, "__index__"):
        raise NeuroError(f"{name} must be an integer, got {value!r}", str(path))
    try:
        x = int(value)
    except (TypeError, ValueError, OverflowError):
        raise NeuroError(f"{name} must be an integer, got {value!r}", str(path)) from None
    if x != value or not low <= x <= high:
        raise NeuroError(f"{name} must be an integer in [{low}, {high}], got {value!r}", str(path))
    return x
