"""Writing a spec as TOML (the subset :meth:`neuro.spec.Network.to_dict` produces), with the
``.npy`` files it refers to given relative to the spec's directory."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

_PARTS = ("populations", "inputs", "projections", "probes")


def _scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_scalar(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _relative(obj, base: Path):
    """Paths of ``.npy`` files made relative to ``base`` where they lie under it."""
    if isinstance(obj, dict):
        return {k: _relative(v, base) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_relative(v, base) for v in obj]
    if isinstance(obj, str) and obj.endswith(".npy"):
        p = Path(obj)
        if p.is_absolute() or p.exists():
            try:
                return os.path.relpath(p.resolve(), base.resolve())
            except ValueError:
                return obj
    return obj


def dumps(d: dict, base: Path | None = None) -> str:
    """TOML text of a spec dict (``.npy`` paths relative to ``base`` if given)."""
    if base is not None:
        d = _relative(d, base)
    lines = [f"{k} = {_scalar(v)}" for k, v in d.items() if not isinstance(v, dict) and k not in _PARTS]
    for k, v in d.items():
        if isinstance(v, dict):
            lines += ["", f"[{k}]"] + [f"{kk} = {_scalar(vv)}" for kk, vv in v.items()]
    for part in _PARTS:
        for item in d.get(part, []):
            lines += ["", f"[[{part}]]"] + [f"{kk} = {_scalar(vv)}" for kk, vv in item.items()]
    return "\n".join(lines) + "\n"


def write_spec(net, path: str | Path) -> Path:
    """Write ``net`` to ``path`` (via a temporary name, then renamed)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dumps(net.to_dict(), path.parent))
    tmp.replace(path)
    return path
