"""Parameter values in a spec: a constant, a per-element list, a ``.npy`` file or a distribution.

A value is written in TOML as one of::

    weight = 0.5                                   # the same for every element
    weight = [0.1, 0.2, 0.3]                       # one per element
    weight = "w.npy"                               # a 1-D array file, path relative to the spec
    weight = {dist = "uniform", low = 0, high = 1}
    weight = {dist = "normal", mean = 0, std = 1}  # optional low/high clip the draws

Random values are drawn from the run's single seeded generator, in spec order.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neuro.errors import NeuroError
from neuro.fields import number

DISTRIBUTIONS = {"uniform": ("low", "high"), "normal": ("mean", "std")}


@dataclass(frozen=True, eq=False)
class Value:
    """A parameter that can vary across the elements it applies to.

    Attributes
    ----------
    kind : {'constant', 'array', 'uniform', 'normal'}
    constant : float
        The value when ``kind == 'constant'``.
    array : numpy.ndarray or None
        The per-element values when ``kind == 'array'``.
    params : dict
        Distribution parameters (``low``/``high`` or ``mean``/``std``, optional clip bounds).
    path : str or None
        The ``.npy`` file an array came from, kept for ``to_dict``.
    """

    kind: str
    constant: float = 0.0
    array: np.ndarray | None = None
    params: tuple = ()
    path: str | None = None

    def __eq__(self, other: object) -> bool:
        # Element-wise for arrays (the generated __eq__ would call bool() on an array comparison and
        # raise); ``path`` only records where an array came from and does not take part.
        if not isinstance(other, Value):
            return NotImplemented
        if (self.kind, self.constant, self.params) != (other.kind, other.constant, other.params):
            return False
        if self.array is None or other.array is None:
            return self.array is None and other.array is None
        return bool(np.array_equal(self.array, other.array))

    def __hash__(self) -> int:
        return hash((self.kind, self.constant, self.params, None if self.array is None else self.array.size))

    @property
    def is_random(self) -> bool:
        return self.kind in DISTRIBUTIONS

    def sample(self, rng: np.random.Generator | None, n: int) -> np.ndarray:
        """Return ``n`` float64 values (drawing from ``rng`` for a distribution)."""
        if self.kind == "constant":
            return np.full(n, self.constant, dtype=np.float64)
        if self.kind == "array":
            if self.array.size != n:
                raise NeuroError(f"has {self.array.size} values but {n} are needed")
            return self.array.astype(np.float64).reshape(n)
        p = dict(self.params)
        if self.kind == "uniform":
            out = rng.uniform(p["low"], p["high"], n)
        else:
            out = rng.normal(p["mean"], p["std"], n)
            if "low" in p or "high" in p:
                out = np.clip(out, p.get("low", -np.inf), p.get("high", np.inf))
        return out

    def bounds(self) -> tuple[float, float]:
        """Smallest and largest value this can take (inf for an unclipped normal)."""
        if self.kind == "constant":
            return self.constant, self.constant
        if self.kind == "array":
            if self.array.size == 0:
                return 0.0, 0.0
            return float(self.array.min()), float(self.array.max())
        p = dict(self.params)
        if self.kind == "uniform":
            return p["low"], p["high"]
        return p.get("low", -math.inf), p.get("high", math.inf)

    def to_dict(self) -> Any:
        if self.kind == "constant":
            return self.constant
        if self.kind == "array":
            return self.path if self.path else self.array.tolist()
        return {"dist": self.kind, **dict(self.params)}


def _float(x: Any, field: str) -> float:
    return float(number(x, field))


def load_npy(raw: str, field: str, base_dir: Path | None = None) -> tuple[Path, np.ndarray]:
    """Load the ``.npy`` file a spec field names (relative to ``base_dir``); one-line errors."""
    if not raw.endswith(".npy"):
        raise NeuroError(f"a string value must be a path to a .npy file, got {raw!r}", field=field)
    path = Path(raw)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        check_npy_header(path)
        return path, np.load(path, allow_pickle=False)
    except NeuroError as exc:
        raise NeuroError(f"cannot read {raw!r}: {exc.message}", field=field) from None
    except (OSError, ValueError, EOFError, SyntaxError, MemoryError) as exc:
        raise NeuroError(f"cannot read {raw!r}: {str(exc) or type(exc).__name__}", field=field) from None


def read_npy_header(fh, version) -> tuple:
    """``(shape, fortran_order, dtype)`` from an open ``.npy`` file positioned after its magic."""
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    return read(fh, max_header_size=1 << 16)


MAX_NPY_ELEMENTS = 1 << 28  # 2 GiB of float64: more than any spec field needs


def check_npy_header(path) -> None:
    """Refuse a ``.npy`` file that is not a plain numeric array of a plausible size, from its header.

    Numbers only (bool, int, uint, float: no strings, objects or structured dtypes), at most
    :data:`MAX_NPY_ELEMENTS` elements, and as many data bytes in the file as the header claims —
    checked before the array is allocated.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        if size == 0:
            raise NeuroError("the file is empty")
        try:
            version = np.lib.format.read_magic(fh)
        except ValueError:
            raise NeuroError("not a .npy file (an .npz or another format?)") from None
        shape, fortran, dtype = read_npy_header(fh, version)
        offset = fh.tell()
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise NeuroError(f"must hold numbers, not dtype {dtype}")
    n = math.prod(shape)
    if n > MAX_NPY_ELEMENTS:
        raise NeuroError(f"header claims shape {shape} ({n:,} elements; at most {MAX_NPY_ELEMENTS:,})")
    if size - offset < n * dtype.itemsize:
        raise NeuroError(f"truncated: header claims shape {shape}, the file holds {size - offset} data bytes")


def parse_value(raw: Any, field: str, base_dir: Path | None = None) -> Value:
    """Parse a spec value; raise :class:`NeuroError` naming ``field`` when it is malformed."""
    if isinstance(raw, Value):
        return raw
    if isinstance(raw, bool):
        raise NeuroError(f"must be a number, list, .npy path or distribution, got {raw!r}", field=field)
    if isinstance(raw, int | float):
        return Value("constant", constant=_float(raw, field))
    if isinstance(raw, np.ndarray):
        arr = np.asarray(raw, dtype=np.float64).ravel()
        if not np.all(np.isfinite(arr)):
            raise NeuroError("must hold finite numbers", field=field)
        return Value("array", array=arr)
    if isinstance(raw, list):
        arr = np.array([_float(x, f"{field}[{i}]") for i, x in enumerate(raw)], dtype=np.float64)
        return Value("array", array=arr)
    if isinstance(raw, str):
        path, arr = load_npy(raw, field, base_dir)
        arr = np.asarray(arr, dtype=np.float64).ravel()
        if not np.all(np.isfinite(arr)):
            raise NeuroError(f"{raw!r} holds non-finite numbers", field=field)
        return Value("array", array=arr, path=str(path))
    if isinstance(raw, dict):
        dist = raw.get("dist")
        if not isinstance(dist, str) or dist not in DISTRIBUTIONS:
            raise NeuroError(
                f"distribution 'dist' must be one of {sorted(DISTRIBUTIONS)}, got {dist!r}",
                field=f"{field}.dist",
            )
        need = DISTRIBUTIONS[dist]
        allowed = set(need) | {"dist"} | ({"low", "high"} if dist == "normal" else set())
        for key in raw:
            if key not in allowed:
                raise NeuroError(
                    f"unknown key for a {dist} distribution (allowed: {sorted(allowed)})",
                    field=f"{field}.{key}",
                )
        params = {}
        for key in need:
            if key not in raw:
                raise NeuroError(f"missing for a {dist} distribution", field=f"{field}.{key}")
        for key in raw:
            if key != "dist":
                params[key] = _float(raw[key], f"{field}.{key}")
        if dist == "uniform" and params["low"] > params["high"]:
            raise NeuroError("low must be <= high", field=field)
        if dist == "normal" and params["std"] < 0:
            raise NeuroError("std must be >= 0", field=f"{field}.std")
        return Value(dist, params=tuple(sorted(params.items())))
    raise NeuroError(f"must be a number, list, .npy path or distribution, got {raw!r}", field=field)


def bounded_value(
    raw: Any, field: str | None, lo=None, hi=None, *, lo_open: bool = False, base_dir: Path | None = None
) -> Value:
    """Parse a value (see :func:`parse_value`) whose every possible element lies in ``[lo, hi]``."""
    val = parse_value(raw, field, base_dir)
    a, b = val.bounds()
    if lo is not None and (a < lo or (lo_open and a <= lo)):
        raise NeuroError(f"values must be {'>' if lo_open else '>='} {lo}, got {a}", field=field)
    if hi is not None and b > hi:
        raise NeuroError(f"values must be <= {hi}, got {b}", field=field)
    return val


def integer_value(raw: Any, field: str | None, lo: int, hi: int, base_dir: Path | None = None) -> Value:
    """Parse a value of integer registers in ``[lo, hi]``: a constant or per-element integers,
    never a random distribution."""
    val = parse_value(raw, field, base_dir)
    if val.is_random:
        raise NeuroError("must be integers, not a random distribution", field=field)
    arr = val.array if val.kind == "array" else np.array([val.constant])
    if arr.size and not np.all(arr == np.round(arr)):
        raise NeuroError("must be integers", field=field)
    if arr.size and (arr.min() < lo or arr.max() > hi):
        bad = arr.min() if arr.min() < lo else arr.max()
        raise NeuroError(f"must be in [{lo}, {hi}], got {bad:g}", field=field)
    return val


def check_size(val: Value | None, n: int, field: str, what: str = "the population has {n} neurons") -> None:
    """Refuse a per-element array whose length is not ``n``."""
    if val is not None and val.kind == "array" and val.array.size != n:
        raise NeuroError(f"has {val.array.size} values but {what.format(n=n)}", field=field)
