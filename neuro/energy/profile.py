"""Technology profiles: energy per ledger event, as data files the user can copy and edit.

A profile (TOML or JSON; the shipped ones are ``profiles/*.toml``) has::

    name = "loihi"
    title = "..."
    kind = "per-term"          # or "all-in": exactly one priced event carries the whole bill
    notes = ["..."]

    [constants.<name>]         # primitive energies (optional): pJ, source, tag P|S|U
    pj = 0.1                   # and ``bytes = 8192`` for an SRAM access of that memory size
    source = "..."
    tag = "S"

    [memory]                   # optional: price of a 64-bit access by memory size
    sram = ["sram_8KB", "sram_32KB", "sram_1MB"]   # constants with ``bytes``
    dram = "dram"              # used above the largest SRAM size
    state_bits = 64            # bits of neuron state per compartment (state memory size)
    state_bits_source = "..."  # with ``state_bits_tag``

    [events.<event>]           # a priced ledger event: either a constant ...
    pj = 23.6
    source = "..."
    tag = "S"
    # ... or a composition of constants and memory accesses
    ops = {int32_add = 1}      # constant name -> count per event
    memory = {state = 2}       # synapse | state | buffer -> 64-bit accesses per event
    note = "..."

    [included]                 # <event> = "which priced term already contains it"
    [unpriced]                 # <event> = "why this profile does not price it"

Every ledger event (:data:`neuro.energy.ledger.EVENTS`) must be priced, included or
unpriced: nothing is silently priced at zero.

Memory price of a 64-bit access to a memory of ``s`` bytes, from SRAM points
:math:`(s_i, E_i)`: :math:`E_0` for :math:`s \\le s_0`; log-log interpolation
:math:`E = E_i (s/s_i)^{\\ln(E_{i+1}/E_i)/\\ln(s_{i+1}/s_i)}` between points; the ``dram``
constant above the largest point.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from neuro.energy.ledger import EVENTS
from neuro.errors import NeuroError

TAGS = ("P", "S", "U")
KINDS = ("per-term", "all-in")
MEMORIES = ("synapse", "state", "buffer")
PRECISIONS = ("int8", "int16", "int32", "fp16", "fp32")
TOP_KEYS = {"name", "title", "kind", "notes", "constants", "memory", "events", "included", "unpriced"}


@dataclass(frozen=True)
class Constant:
    """A primitive energy (pJ) with its provenance."""

    pj: float
    source: str
    tag: str
    bytes: int | None = None


@dataclass(frozen=True)
class EventPrice:
    """Price of one ledger event: a constant ``pj`` or ``ops`` + ``memory`` compositions."""

    pj: float | None = None
    ops: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)
    source: str = ""
    tag: str = ""
    note: str = ""


@dataclass
class Profile:
    """A validated technology profile (see module docstring)."""

    name: str
    title: str
    kind: str
    path: str
    constants: dict
    events: dict
    included: dict
    unpriced: dict
    memory: dict
    notes: list

    # ------------------------------------------------------------- primitives
    def mem_pj(self, size_bytes: float) -> float:
        """pJ of one 64-bit access to a memory of ``size_bytes`` (module docstring)."""
        pts = sorted((self.constants[c].bytes, self.constants[c].pj) for c in self.memory.get("sram", []))
        if not pts:
            raise NeuroError(f"profile {self.name!r} has no [memory] sram points", self.path, "memory.sram")
        if size_bytes <= pts[0][0]:
            return pts[0][1]
        for (s0, e0), (s1, e1) in zip(pts, pts[1:], strict=False):
            if size_bytes == s1:
                return e1
            if size_bytes < s1:
                return e0 * (size_bytes / s0) ** (math.log(e1 / e0) / math.log(s1 / s0))
        dram = self.memory.get("dram")
        return self.constants[dram].pj if dram else pts[-1][1]

    def has_arithmetic(self, precision: str) -> bool:
        return f"{precision}_add" in self.constants and f"{precision}_mult" in self.constants

    def add_pj(self, precision: str) -> float:
        return self._const(f"{precision}_add")

    def mult_pj(self, precision: str) -> float:
        return self._const(f"{precision}_mult")

    def mac_pj(self, precision: str) -> float:
        """One multiply-accumulate: :math:`E_{MAC} = E_{mult} + E_{add}` at ``precision``."""
        return self.mult_pj(precision) + self.add_pj(precision)

    def _const(self, name: str) -> float:
        if name not in self.constants:
            raise NeuroError(f"profile {self.name!r} has no constant {name!r}", self.path, "constants")
        return self.constants[name].pj

    @property
    def state_bits(self) -> int:
        return int(self.memory.get("state_bits", 64))


# ---------------------------------------------------------------- loading
def shipped_profiles() -> list[str]:
    """Names of the profiles shipped with the package."""
    files = resources.files("neuro.energy").joinpath("profiles")
    return sorted(p.name[: -len(".toml")] for p in files.iterdir() if p.name.endswith(".toml"))


def load_profile(spec: str) -> Profile:
    """Load a shipped profile by name, or a TOML/JSON profile file."""
    p = Path(spec)
    if p.suffix.lower() in (".toml", ".json") or p.exists():
        if not p.is_file():
            raise NeuroError("profile file not found", str(p))
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise NeuroError(f"not UTF-8 text (byte {exc.start})", str(p)) from None
        except OSError as exc:
            raise NeuroError(f"cannot read: {exc.strerror or exc}", str(p)) from None
        return parse_profile(text, str(p), json_=p.suffix.lower() == ".json")
    names = shipped_profiles()
    if spec not in names:
        raise NeuroError(
            f"unknown energy profile {spec!r} (shipped: {', '.join(names)}; or give a .toml/.json file)",
            field="profile",
        )
    res = resources.files("neuro.energy").joinpath("profiles", f"{spec}.toml")
    return parse_profile(res.read_text(), f"{spec}.toml")


def parse_profile(text: str, source: str, json_: bool = False) -> Profile:
    """Parse and validate a profile's text (one-line :class:`NeuroError` on any problem)."""
    try:
        d = json.loads(text) if json_ else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise NeuroError(f"cannot parse profile: {exc}", source) from None
    except RecursionError:
        raise NeuroError("cannot parse profile: nested too deeply", source) from None
    if not isinstance(d, dict):
        raise NeuroError("a profile must be a table", source)
    bad = sorted(set(d) - TOP_KEYS)
    if bad:
        raise NeuroError(f"unknown key(s) {', '.join(bad)} (allowed: {', '.join(sorted(TOP_KEYS))})", source)
    name = _str(d, "name", source, "name")
    kind = d.get("kind", "per-term")
    if kind not in KINDS:
        raise NeuroError(f"must be one of {', '.join(KINDS)}, got {kind!r}", source, "kind")
    constants = {k: _constant(v, source, f"constants.{k}") for k, v in _table(d, "constants", source).items()}
    memory = _memory(_table(d, "memory", source), constants, source)
    events = {}
    for ev, spec in _table(d, "events", source).items():
        _known_event(ev, source, f"events.{ev}")
        events[ev] = _event(spec, constants, source, f"events.{ev}")
        if events[ev].memory and not memory.get("sram"):
            raise NeuroError("prices memory accesses but [memory] has no sram points", source, f"events.{ev}")
    included = _reasons(d, "included", source)
    unpriced = _reasons(d, "unpriced", source)
    seen: dict = {}
    for where, table in (("events", events), ("included", included), ("unpriced", unpriced)):
        for ev in table:
            if ev in seen:
                raise NeuroError(f"event {ev!r} is in both [{seen[ev]}] and [{where}]", source, where)
            seen[ev] = where
    missing = [e for e in EVENTS if e not in seen]
    if missing:
        raise NeuroError(
            f"does not say how to treat event type(s) {', '.join(missing)}: price them under [events], "
            "or list them under [included] or [unpriced] with a reason",
            source,
        )
    if kind == "all-in" and len(events) != 1:
        raise NeuroError(
            f"an all-in profile prices exactly one event (it carries the whole bill), got {len(events)}",
            source,
            "events",
        )
    notes = d.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(x, str) for x in notes):
        raise NeuroError("must be a list of strings", source, "notes")
    title = d.get("title", name)
    return Profile(name, str(title), kind, source, constants, events, included, unpriced, memory, notes)


def _table(d: dict, key: str, source: str) -> dict:
    v = d.get(key, {})
    if not isinstance(v, dict):
        raise NeuroError("must be a table", source, key)
    return v


def _str(d: dict, key: str, source: str, where: str) -> str:
    v = d.get(key)
    if not isinstance(v, str) or not v.strip():
        raise NeuroError("missing or empty (a string is required)", source, where)
    return v


def _pj(v, source: str, where: str) -> float:
    if v is None:
        raise NeuroError("missing constant (pj = <energy in pJ>)", source, where)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise NeuroError(f"must be a finite number of pJ, got {v!r}", source, where)
    if v < 0:
        raise NeuroError(f"must be >= 0 pJ, got {v!r}", source, where)
    return float(v)


def _provenance(v: dict, source: str, where: str) -> tuple[str, str]:
    src = _str(v, "source", source, f"{where}.source")
    tag = v.get("tag")
    if tag not in TAGS:
        raise NeuroError(
            f"must be one of {', '.join(TAGS)} (primary, secondary, unverified)", source, f"{where}.tag"
        )
    return src, tag


def _constant(v, source: str, where: str) -> Constant:
    if not isinstance(v, dict):
        raise NeuroError("must be a table with pj, source and tag", source, where)
    bad = sorted(set(v) - {"pj", "source", "tag", "bytes"})
    if bad:
        raise NeuroError(f"unknown key(s) {', '.join(bad)}", source, where)
    pj = _pj(v.get("pj"), source, f"{where}.pj")
    src, tag = _provenance(v, source, where)
    size = v.get("bytes")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size <= 0):
        raise NeuroError(f"must be a positive integer, got {size!r}", source, f"{where}.bytes")
    return Constant(pj, src, tag, size)


def _memory(m: dict, constants: dict, source: str) -> dict:
    bad = sorted(set(m) - {"sram", "dram", "state_bits", "state_bits_source", "state_bits_tag"})
    if bad:
        raise NeuroError(f"unknown key(s) {', '.join(bad)}", source, "memory")
    for c in m.get("sram", []):
        if c not in constants or constants[c].bytes is None:
            raise NeuroError(f"{c!r} must be a constant with bytes", source, "memory.sram")
    dram = m.get("dram")
    if dram is not None and dram not in constants:
        raise NeuroError(f"{dram!r} is not a constant", source, "memory.dram")
    sb = m.get("state_bits", 64)
    if isinstance(sb, bool) or not isinstance(sb, int) or sb <= 0:
        raise NeuroError(f"must be a positive integer, got {sb!r}", source, "memory.state_bits")
    return m


def _known_event(ev: str, source: str, where: str) -> None:
    if ev not in EVENTS:
        raise NeuroError(f"unknown event type {ev!r} (known: {', '.join(EVENTS)})", source, where)


def _counts(v, allowed, source: str, where: str, what: str) -> dict:
    if not isinstance(v, dict):
        raise NeuroError("must be a table of name = count", source, where)
    for k, n in v.items():
        if k not in allowed:
            raise NeuroError(f"unknown {what} {k!r} (known: {', '.join(allowed)})", source, where)
        if isinstance(n, bool) or not isinstance(n, int | float) or not math.isfinite(n) or n < 0:
            raise NeuroError(f"count of {k!r} must be a number >= 0, got {n!r}", source, where)
    return {k: float(n) for k, n in v.items()}


def _event(v, constants: dict, source: str, where: str) -> EventPrice:
    if not isinstance(v, dict):
        raise NeuroError("must be a table (pj, source, tag; or ops / memory)", source, where)
    bad = sorted(set(v) - {"pj", "source", "tag", "ops", "memory", "note"})
    if bad:
        raise NeuroError(f"unknown key(s) {', '.join(bad)}", source, where)
    if "ops" in v or "memory" in v:
        if "pj" in v:
            raise NeuroError("give either pj or ops/memory, not both", source, where)
        ops = _counts(v.get("ops", {}), list(constants), source, f"{where}.ops", "constant")
        mem = _counts(v.get("memory", {}), MEMORIES, source, f"{where}.memory", "memory")
        return EventPrice(None, ops, mem, note=str(v.get("note", "")))
    pj = _pj(v.get("pj"), source, f"{where}.pj")
    src, tag = _provenance(v, source, where)
    return EventPrice(pj, source=src, tag=tag, note=str(v.get("note", "")))


def _reasons(d: dict, key: str, source: str) -> dict:
    out = {}
    for ev, why in _table(d, key, source).items():
        _known_event(ev, source, f"{key}.{ev}")
        if not isinstance(why, str) or not why.strip():
            raise NeuroError("needs a reason (a non-empty string)", source, f"{key}.{ev}")
        out[ev] = why
    return out
