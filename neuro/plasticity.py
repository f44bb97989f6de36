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
from neuro.fields import choice, located, number, table

FACTORS = ("x0", "y0", "x1", "x2", "y1", "y2", "y3", "w", "r")
POWERS = ("x1", "x2", "y1", "y2", "y3", "w", "r")  # the factors a term holds a power of
TRACES = ("x1", "x2", "y1", "y2", "y3")
KINDS = ("rule", "pair_stdp", "diehl_cook")
TRACE_MODES = ("add", "set")
EPOCH_RANGE = (1, 63)  # learning epoch in steps (Loihi's 6-bit field)


@dataclass(frozen=True)
class Term:
    """``coef * prod(factors)``; ``dependency`` is ``'x0'`` or ``'y0'``."""

    coef: float
    factors: tuple  # counts of (x1, x2, y1, y2, y3, w, r)
    dependency: str

    def __post_init__(self):
        number(self.coef, "coef")
        choice(self.dependency, "dependency", ("x0", "y0"))
        if not isinstance(self.factors, list | tuple) or len(self.factors) != len(POWERS):
            raise NeuroError(f"must be {len(POWERS)} powers of ({', '.join(POWERS)})", field="factors")
        object.__setattr__(
            self, "factors", tuple(number(k, "factors", 0, integer=True) for k in self.factors)
        )

    def power(self, name: str) -> int:
        return self.factors[POWERS.index(name)]


@dataclass(frozen=True)
class Trace:
    """A spike trace: decays with ``tau`` (ms); on a spike it jumps by ``impulse`` (``mode``
    ``add``) or is set to ``impulse`` (``mode`` ``set``)."""

    tau: float = 20.0
    impulse: float = 1.0
    mode: str = "add"

    def __post_init__(self):
        object.__setattr__(self, "tau", float(number(self.tau, "tau", 0, lo_open=True)))
        object.__setattr__(self, "impulse", float(number(self.impulse, "impulse", 0)))
        if self.mode not in TRACE_MODES:
            raise NeuroError(f"must be add or set, got {self.mode!r}", field="mode")

    @classmethod
    def from_dict(cls, d: Any, where: str) -> Trace:
        if isinstance(d, Trace):
            return d
        if not isinstance(d, dict):
            raise NeuroError("must be a table {tau, impulse, mode}", field=where)
        with located(where):
            table(d, None, ("tau", "impulse", "mode"))
            return cls(**d)

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


def _param(d: dict, key: str, default: float, lo=None, lo_open: bool = False) -> float:
    """A convenience rule's parameter ``key`` of ``d`` (``default`` when absent) as a float."""
    return float(number(d.get(key, default), key, lo, lo_open=lo_open))


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

    def __post_init__(self):
        set_ = object.__setattr__
        choice(self.kind, "kind", KINDS)
        epoch = self.epoch
        if isinstance(epoch, float):  # an epoch is a count of steps: 2.0 is refused, not rounded
            raise NeuroError(f"must be an integer in [1, 63], got {epoch!r}", field="epoch")
        set_(self, "epoch", number(epoch, "epoch", *EPOCH_RANGE, integer=True))
        set_(self, "w_min", float(number(self.w_min, "w_min")))
        set_(self, "w_max", float(number(self.w_max, "w_max")))
        if self.w_min > self.w_max:
            raise NeuroError(f"w_min {self.w_min} > w_max {self.w_max}")
        if not isinstance(self.terms, list | tuple) or not all(isinstance(t, Term) for t in self.terms):
            raise NeuroError("must be a list of Term (see parse_rule)", field="terms")
        set_(self, "terms", tuple(self.terms))
        table(self.traces, "traces", TRACES)
        traces = {k: Trace.from_dict(v, f"traces.{k}") for k, v in self.traces.items()}
        for t in self.terms:  # a trace the rule reads and nobody described gets the default trace
            for name in TRACES:
                if t.power(name) and name not in traces:
                    traces[name] = Trace()
        set_(self, "traces", traces)
        table(self.params, "params")

    def uses(self, name: str) -> bool:
        return any(t.power(name) for t in self.terms)

    @classmethod
    def from_dict(cls, d: dict, where: str = "plasticity") -> Plasticity:
        if isinstance(d, Plasticity):
            return d
        if not isinstance(d, dict):
            raise NeuroError("must be a table", field=where)
        with located(where):
            return cls._from_table(d)

    @classmethod
    def _from_table(cls, d: dict) -> Plasticity:
        kind = choice(d.get("kind", "rule"), "kind", KINDS)
        common = {"kind", "w_min", "w_max", "epoch"}
        allowed = {
            "rule": common | {"rule", *TRACES},
            "pair_stdp": common
            | {"A_plus", "A_minus", "tau_plus", "tau_minus", "nearest", "weight_dependent"},
            "diehl_cook": common | {"nu_pre", "nu_post", "tau_pre", "tau_post1", "tau_post2"},
        }[kind]
        table(d, None, allowed, f"not used by a {kind} rule")
        w_min, w_max = _param(d, "w_min", 0.0), _param(d, "w_max", 1.0)
        params = {k: v for k, v in d.items() if k not in common}
        if kind == "rule":
            if "rule" not in d:
                raise NeuroError("missing (e.g. 'dw = 2^-2*x1*y0 - 2^-3*y1*x0')", field="rule")
            terms = parse_rule(d["rule"], "rule")
            traces = {name: Trace.from_dict(d[name], name) for name in TRACES if name in d}
            params = {"rule": d["rule"]}  # the traces live in ``traces`` (to_dict writes them in full)
        elif kind == "pair_stdp":
            a_p = _param(d, "A_plus", 0.01, 0)
            a_m = _param(d, "A_minus", 0.0105, 0)
            mode = "set" if d.get("nearest", False) else "add"
            traces = {
                "x1": Trace(_param(d, "tau_plus", 20.0, 0, lo_open=True), 1.0, mode),
                "y1": Trace(_param(d, "tau_minus", 20.0, 0, lo_open=True), 1.0, mode),
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
            nu_pre = _param(d, "nu_pre", 1e-4, 0)
            nu_post = _param(d, "nu_post", 1e-2, 0)
            traces = {
                "x1": Trace(_param(d, "tau_pre", 20.0, 0, lo_open=True), 1.0, "set"),
                "y1": Trace(_param(d, "tau_post1", 20.0, 0, lo_open=True), 1.0, "set"),
                "y2": Trace(_param(d, "tau_post2", 40.0, 0, lo_open=True), 1.0, "set"),
            }
            terms = (Term(-nu_pre, (0, 0, 1, 0, 0, 0, 0), "x0"), Term(nu_post, (1, 0, 0, 1, 0, 0, 0), "y0"))
        return cls(kind, terms, traces, w_min, w_max, d.get("epoch", 1), params)

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "w_min": self.w_min, "w_max": self.w_max, "epoch": self.epoch}
        d.update(self.params)
        if self.kind == "rule":
            for name, tr in self.traces.items():
                d[name] = tr.to_dict()
        return d
