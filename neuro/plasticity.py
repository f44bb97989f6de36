"""Plasticity of a projection: a sum-of-products learning rule, its traces and bounds (pure data).

A rule is written as Loihi's learning engine writes it::

    dw = 2^-2*x1*y0 - 2^-3*y1*x0

a sum of terms, each a coefficient times a product of factors:

=========  ==============================================================
``x0``     1 at a spike of the pre (source) neuron, else 0 (the *dependency*)
``y0``     1 at a spike of the post (target) neuron, else 0
``x1, x2`` pre-synaptic traces (one per source)
``y1..y3`` post-synaptic traces (one per target neuron)
``w``      the synapse's current weight
``r``      the reward / third factor (set by the host, default 0)
=========  ==============================================================

Every term must contain exactly one of ``x0`` (applied when the pre neuron spikes, over its
row of synapses) or ``y0`` (applied when the post neuron spikes, over its column): the
engine is event-driven and never sweeps all weights. Coefficients are numbers, ``2^e`` or
``m*2^e``; in float arithmetic they scale weights in mV, in loihi arithmetic they are turned
into a 4-bit mantissa and an exponent (see :mod:`neuro.learning.tables`).

Convenience rules compile to this form: ``pair_stdp`` (``A_plus``, ``A_minus``, ``tau_plus``,
``tau_minus``, ``nearest``, ``weight_dependent``) and ``diehl_cook`` (Diehl & Cook 2015's
trace rule: pre-spike depression ``-nu_pre * post1``, post-spike potentiation
``nu_post * pre * post2`` with post2 read before its own update, traces *set* to 1).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from neuro.errors import NeuroError

FACTORS = ("x0", "y0", "x1", "x2", "y1", "y2", "y3", "w", "r")
TRACES = ("x1", "x2", "y1", "y2", "y3")
KINDS = ("rule", "pair_stdp", "diehl_cook")


@dataclass(frozen=True)
class Term:
    """``coef * prod(factors)``; ``dependency`` is ``'x0'`` or ``'y0'``."""

    coef: float
    factors: tuple  # counts of (x1, x2, y1, y2, y3, w, r)
    dependency: str

    def power(self, name: str) -> int:
        return self.factors[("x1", "x2", "y1", "y2", "y3", "w", "r").index(name)]


@dataclass(frozen=True)
class Trace:
    """A spike trace: decays with ``tau`` (ms); on a spike it jumps by ``impulse`` (``mode``
    ``add``) or is set to ``impulse`` (``mode`` ``set``)."""

    tau: float = 20.0
    impulse: float = 1.0
    mode: str = "add"

    def to_dict(self) -> dict:
        return {"tau": self.tau, "impulse": self.impulse, "mode": self.mode}


_COEF = r"(?:[0-9.]+(?:[eE][-+]?[0-9]+)?(?:\*2\^[-+]?[0-9]+)?|2\^[-+]?[0-9]+)"


def _parse_coef(text: str, where: str) -> float:
    try:
        if "^" in text:
            if "*" in text:
                m, e = text.split("*2^")
                return float(m) * 2.0 ** int(e)
            return 2.0 ** int(text.split("^")[1])
        return float(text)
    except ValueError:
        raise NeuroError(f"bad coefficient {text!r}", field=where) from None


def parse_rule(text: str, where: str = "rule") -> tuple[Term, ...]:
    """Parse ``dw = ...`` into terms; raise :class:`NeuroError` naming what is wrong."""
    if not isinstance(text, str):
        raise NeuroError("must be a string like 'dw = 2^-2*x1*y0 - 2^-3*y1*x0'", field=where)
    s = text.replace(" ", "")
    if not s.startswith("dw="):
        raise NeuroError(f"must start with 'dw =', got {text!r}", field=where)
    body = s[3:]
    if not body:
        raise NeuroError("empty rule", field=where)
    if body[0] not in "+-":
        body = "+" + body
    parts, start = [], 0
    for pos in range(1, len(body) + 1):
        if pos == len(body) or (body[pos] in "+-" and body[pos - 1] not in "^eE*"):
            sign, term = body[start], body[start + 1 : pos]
            if not term:
                raise NeuroError(f"empty term in {text!r}", field=where)
            parts.append((sign, term))
            start = pos
    terms = []
    for i, (sign, term) in enumerate(parts):
        coef, counts = 1.0, dict.fromkeys(FACTORS, 0)
        # factors are names; everything else must be a coefficient (numbers, 2^e, m*2^e)
        toks = re.split(r"\*(?=[a-z])", term)
        for tok in toks:
            if tok in FACTORS:
                counts[tok] += 1
            elif re.fullmatch(_COEF, tok):
                coef *= _parse_coef(tok, where)
            elif re.fullmatch(r"[a-z][a-z0-9]*", tok):
                raise NeuroError(
                    f"unknown term {tok!r} in term {i + 1} (allowed: {', '.join(FACTORS)})", field=where
                )
            else:
                raise NeuroError(f"cannot parse {tok!r} in term {i + 1}", field=where)
        if counts["x0"] + counts["y0"] != 1:
            raise NeuroError(
                f"term {i + 1} must contain exactly one of x0 or y0 (it is applied at that spike)",
                field=where,
            )
        if counts["x0"] > 1 or counts["y0"] > 1:
            raise NeuroError(f"term {i + 1} repeats x0/y0", field=where)
        if not math.isfinite(coef):
            raise NeuroError(f"term {i + 1} has a non-finite coefficient", field=where)
        dep = "x0" if counts["x0"] else "y0"
        terms.append(
            Term(
                coef if sign == "+" else -coef,
                tuple(counts[f] for f in ("x1", "x2", "y1", "y2", "y3", "w", "r")),
                dep,
            )
        )
    return tuple(terms)


def format_rule(terms) -> str:
    out = []
    for t in terms:
        facs = [t.dependency] + [
            f for f in ("x1", "x2", "y1", "y2", "y3", "w", "r") for _ in range(t.power(f))
        ]
        out.append(f"{'-' if t.coef < 0 else '+'} {abs(t.coef):g}*{'*'.join(facs)}")
    s = " ".join(out)
    return "dw = " + (s[2:] if s.startswith("+ ") else s)


def _num(d, key, where, default, lo=None, hi=None, lo_open=False):
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise NeuroError(f"must be a finite number, got {v!r}", field=f"{where}.{key}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise NeuroError(f"must be {'>' if lo_open else '>='} {lo}, got {v!r}", field=f"{where}.{key}")
    if hi is not None and v > hi:
        raise NeuroError(f"must be <= {hi}, got {v!r}", field=f"{where}.{key}")
    return float(v)


def _trace(d: Any, where: str) -> Trace:
    if not isinstance(d, dict):
        raise NeuroError("must be a table {tau, impulse, mode}", field=where)
    for k in d:
        if k not in ("tau", "impulse", "mode"):
            raise NeuroError("unknown key (allowed: tau, impulse, mode)", field=f"{where}.{k}")
    mode = d.get("mode", "add")
    if mode not in ("add", "set"):
        raise NeuroError(f"must be add or set, got {mode!r}", field=f"{where}.mode")
    return Trace(_num(d, "tau", where, 20.0, 0, lo_open=True), _num(d, "impulse", where, 1.0, 0), mode)


@dataclass(frozen=True)
class Plasticity:
    """A plastic projection's learning rule, traces, weight bounds and learning epoch.

    Attributes
    ----------
    kind : {'rule', 'pair_stdp', 'diehl_cook'}
    terms : tuple of Term
        The compiled sum of products.
    traces : dict name -> Trace
        The traces the rule uses (``x1``, ``x2``, ``y1``, ``y2``, ``y3``).
    w_min, w_max : float
        Weights are clipped to [w_min, w_max] after every update (mV; raw projections: Wgt).
    epoch : int
        Learning epoch in steps (weights change once per epoch in loihi arithmetic).
    params : dict
        The convenience rule's parameters, kept for ``to_dict``.
    """

    kind: str
    terms: tuple
    traces: dict = field(default_factory=dict)
    w_min: float = 0.0
    w_max: float = 1.0
    epoch: int = 1
    params: dict = field(default_factory=dict)

    def uses(self, name: str) -> bool:
        return any(t.power(name) for t in self.terms)

    @classmethod
    def from_dict(cls, d: dict, where: str = "plasticity") -> Plasticity:
        if not isinstance(d, dict):
            raise NeuroError("must be a table", field=where)
        kind = d.get("kind", "rule")
        if kind not in KINDS:
            raise NeuroError(f"must be one of {', '.join(KINDS)}, got {kind!r}", field=f"{where}.kind")
        common = {"kind", "w_min", "w_max", "epoch"}
        allowed = {
            "rule": common | {"rule", *TRACES},
            "pair_stdp": common
            | {"A_plus", "A_minus", "tau_plus", "tau_minus", "nearest", "weight_dependent"},
            "diehl_cook": common | {"nu_pre", "nu_post", "tau_pre", "tau_post1", "tau_post2"},
        }[kind]
        for k in d:
            if k not in allowed:
                raise NeuroError(
                    f"not used by a {kind} rule (allowed: {', '.join(sorted(allowed))})", field=f"{where}.{k}"
                )
        epoch = d.get("epoch", 1)
        if isinstance(epoch, bool) or not isinstance(epoch, int) or not 1 <= epoch <= 63:
            raise NeuroError(f"must be an integer in [1, 63], got {epoch!r}", field=f"{where}.epoch")
        w_min = _num(d, "w_min", where, 0.0)
        w_max = _num(d, "w_max", where, 1.0)
        if w_min > w_max:
            raise NeuroError(f"w_min {w_min} > w_max {w_max}", field=where)
        params = {k: v for k, v in d.items() if k not in common}
        if kind == "rule":
            if "rule" not in d:
                raise NeuroError("missing (e.g. 'dw = 2^-2*x1*y0 - 2^-3*y1*x0')", field=f"{where}.rule")
            terms = parse_rule(d["rule"], f"{where}.rule")
            traces = {}
            for name in TRACES:
                if name in d:
                    traces[name] = _trace(d[name], f"{where}.{name}")
            for t in terms:
                for name in TRACES:
                    if t.power(name) and name not in traces:
                        traces[name] = Trace()
            params = {"rule": d["rule"]}  # the traces live in ``traces`` (to_dict writes them in full)
        elif kind == "pair_stdp":
            a_p = _num(d, "A_plus", where, 0.01, 0)
            a_m = _num(d, "A_minus", where, 0.0105, 0)
            mode = "set" if d.get("nearest", False) else "add"
            traces = {
                "x1": Trace(_num(d, "tau_plus", where, 20.0, 0, lo_open=True), 1.0, mode),
                "y1": Trace(_num(d, "tau_minus", where, 20.0, 0, lo_open=True), 1.0, mode),
            }
            if d.get("weight_dependent", False):
                # dw = A+ (w_max - w) x1 y0 - A- (w - w_min) y1 x0
                terms = (
                    Term(a_p * w_max, (1, 0, 0, 0, 0, 0, 0), "y0"),
                    Term(-a_p, (1, 0, 0, 0, 0, 1, 0), "y0"),
                    Term(-a_m, (0, 0, 1, 0, 0, 1, 0), "x0"),
                    Term(a_m * w_min, (0, 0, 1, 0, 0, 0, 0), "x0"),
                )
            else:
                terms = (Term(a_p, (1, 0, 0, 0, 0, 0, 0), "y0"), Term(-a_m, (0, 0, 1, 0, 0, 0, 0), "x0"))
        else:
            nu_pre = _num(d, "nu_pre", where, 1e-4, 0)
            nu_post = _num(d, "nu_post", where, 1e-2, 0)
            traces = {
                "x1": Trace(_num(d, "tau_pre", where, 20.0, 0, lo_open=True), 1.0, "set"),
                "y1": Trace(_num(d, "tau_post1", where, 20.0, 0, lo_open=True), 1.0, "set"),
                "y2": Trace(_num(d, "tau_post2", where, 40.0, 0, lo_open=True), 1.0, "set"),
            }
            terms = (Term(-nu_pre, (0, 0, 1, 0, 0, 0, 0), "x0"), Term(nu_post, (1, 0, 0, 1, 0, 0, 0), "y0"))
        return cls(kind, terms, traces, w_min, w_max, epoch, params)

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "w_min": self.w_min, "w_max": self.w_max, "epoch": self.epoch}
        d.update(self.params)
        if self.kind == "rule":
            for name, tr in self.traces.items():
                d[name] = tr.to_dict()
        return d
