"""The network spec: pure, typed data with validation.

A :class:`Network` holds populations of current-based LIF neurons, input sources,
projections, probes and simulation settings. It is built from Python objects or from a
TOML file (:func:`load_spec`), validated on construction with one-line
:class:`~neuro.errors.NeuroError` messages, and written back with :meth:`Network.to_dict`.
Nothing here knows about the engine; every field, its unit and range is documented in
``docs/spec.md``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from neuro.chips import PROFILES
from neuro.errors import NeuroError
from neuro.plasticity import Plasticity
from neuro.truenorth.spec import TrueNorthNeuron, check_truenorth
from neuro.values import Value, parse_value

ARITHMETICS = ("float", "loihi", "truenorth")
RECEPTORS = ("exc", "inh")
INPUT_KINDS = ("spike_times", "poisson", "current", "external")
CONNECTORS = ("all_to_all", "one_to_one", "fixed_probability", "list", "matrix")
PROBE_VARIABLES = ("v", "i")
_REQUIRED = object()

# Loihi register ranges (see ../shared/reference/loihi-semantics.md, section 0).
LOIHI_REGISTER_RANGES = {
    "decay_u": (0, 4095),
    "decay_u_inh": (0, 4095),
    "decay_v": (0, 4095),
    "vth_mant": (1, 2**17 - 1),
    "bias_mant": (-4095, 4095),
    "bias_exp": (0, 7),
    "refract_delay": (1, 63),
    "vmin_exp": (0, 23),
    "vmax_exp": (0, 7),
}
WEIGHT_EXP_RANGE = (-6, 7)
RAW_WEIGHT_MAX = 255  # |Wgt| of an 8-bit (+sign) synapse weight
MAX_DELAY_STEPS_LOIHI = 62


# --------------------------------------------------------------------------- helpers
def _check_keys(d: dict, cls, where: str, extra: tuple = ()) -> None:
    if not isinstance(d, dict):
        raise NeuroError(f"must be a table, got {type(d).__name__}", field=where)
    allowed = {f.name for f in fields(cls)} | set(extra)
    for key in d:
        if key not in allowed:
            raise NeuroError(f"unknown key (allowed: {', '.join(sorted(allowed))})", field=f"{where}.{key}")


def _num(v: Any, where: str, lo=None, hi=None, lo_open=False, integer=False, allow_none=False):
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise NeuroError(f"must be {'an integer' if integer else 'a number'}, got {v!r}", field=where)
    if isinstance(v, float) and not math.isfinite(v):
        raise NeuroError(f"must be finite, got {v!r}", field=where)
    if integer:
        if isinstance(v, float) and not v.is_integer():
            raise NeuroError(f"must be an integer, got {v!r}", field=where)
        v = int(v)
    rng = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
    if lo is not None and (v < lo or (lo_open and v == lo)):
        rng = rng.replace("[", "(") if lo_open else rng
        raise NeuroError(f"must be in {rng}, got {v!r}", field=where)
    if hi is not None and v > hi:
        raise NeuroError(f"must be in {rng}, got {v!r}", field=where)
    return v


def _choice(v: Any, where: str, choices: tuple) -> str:
    if v not in choices:
        raise NeuroError(f"must be one of {', '.join(choices)}, got {v!r}", field=where)
    return v


def _name(v: Any, where: str) -> str:
    if not isinstance(v, str) or not v or not v.replace("_", "").replace("-", "").isalnum():
        raise NeuroError(f"must be a non-empty name of letters, digits, '_' or '-', got {v!r}", field=where)
    return v


def _value(v: Any, where: str, base_dir: Path | None, lo=None, hi=None, lo_open=False) -> Value:
    val = parse_value(v, where, base_dir)
    a, b = val.bounds()
    if lo is not None and (a < lo or (lo_open and a <= lo)):
        raise NeuroError(f"values must be {'>' if lo_open else '>='} {lo}, got {a}", field=where)
    if hi is not None and b > hi:
        raise NeuroError(f"values must be <= {hi}, got {b}", field=where)
    return val


def _to_plain(obj: Any) -> Any:
    if isinstance(obj, Value):
        return obj.to_dict()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, list | tuple):
        return [_to_plain(x) for x in obj]
    return obj


def _dataclass_to_dict(obj) -> dict:
    out = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        if v is None:
            continue
        out[f.name] = _to_plain(v)
    return out


# --------------------------------------------------------------------------- classes
@dataclass(frozen=True)
class LoihiRegisters:
    """Raw Loihi compartment registers of a population, used as they are in ``loihi`` arithmetic.

    The compartment update (see ``neuro.dynamics.loihi``) is

    .. math::

        u_c[t] = \\mathrm{wrap}_{23}(\\mathrm{decay}(u_c[t-1], \\delta_u, 1) + q_c[t]), \\quad
        v[t] = \\mathrm{clip}(\\mathrm{decay}(v[t-1], \\delta_v, 0)
               + \\mathrm{wrap}_{23}(\\textstyle\\sum_c u_c[t] + b), v_{min}, v_{max})

    with :math:`b = \\mathrm{bias\\_mant} \\cdot 2^{\\mathrm{bias\\_exp}}` and a spike when
    :math:`v > \\mathrm{vth\\_mant} \\cdot 2^6`.
    """

    decay_u: int
    decay_v: int
    vth_mant: int
    bias_mant: Value = Value("constant", 0.0)
    bias_exp: int = 0
    refract_delay: int = 1
    vmin_exp: int = 23
    vmax_exp: int = 7
    decay_u_inh: int | None = None
    v_init: Value = Value("constant", 0.0)

    @classmethod
    def from_dict(cls, d: dict, where: str, base_dir: Path | None = None) -> LoihiRegisters:
        _check_keys(d, cls, where)
        kw = {}
        for key, (lo, hi) in LOIHI_REGISTER_RANGES.items():
            if key == "bias_mant":
                continue
            if key in d:
                kw[key] = _num(d[key], f"{where}.{key}", lo, hi, integer=True)
            elif key in ("decay_u", "decay_v", "vth_mant"):
                raise NeuroError("missing (required for raw Loihi registers)", field=f"{where}.{key}")
        lo, hi = LOIHI_REGISTER_RANGES["bias_mant"]
        if "bias_mant" in d:
            kw["bias_mant"] = _int_value(d["bias_mant"], f"{where}.bias_mant", base_dir, lo, hi)
        if "v_init" in d:
            kw["v_init"] = _int_value(d["v_init"], f"{where}.v_init", base_dir, -(2**23), 2**23 - 1)
        return cls(**kw)

    def to_dict(self) -> dict:
        return _dataclass_to_dict(self)


def _int_value(raw, where, base_dir, lo, hi) -> Value:
    val = _value(raw, where, base_dir, lo, hi)
    if val.is_random:
        raise NeuroError("raw register values cannot be random distributions", field=where)
    arr = val.sample(None, val.array.size) if val.kind == "array" else None
    if (arr is not None and not all(float(x).is_integer() for x in arr)) or (
        val.kind == "constant" and not float(val.constant).is_integer()
    ):
        raise NeuroError("must be integers", field=where)
    return val


@dataclass(frozen=True)
class Population:
    """A population of current-based leaky integrate-and-fire neurons.

    Dynamics (float arithmetic, integrated exactly per step):

    .. math::

        \\tau_{mem} \\frac{dv}{dt} = -(v - v_{rest}) + b + I_{exc} + I_{inh}, \\qquad
        \\tau_{syn} \\frac{dI_{exc}}{dt} = -I_{exc}, \\qquad
        \\tau_{syn,inh} \\frac{dI_{inh}}{dt} = -I_{inh}

    A spike is emitted when :math:`v > v_{threshold} + \\theta`; then :math:`v \\leftarrow v_{reset}` and
    :math:`v` is held there for the refractory period. Voltages in mV, times in ms; a synaptic
    weight ``w`` (mV) jumps the current: :math:`I \\leftarrow I + w`. The adaptive threshold
    :math:`\\theta` (0 unless ``theta_plus``/``theta_init`` are set) decays with ``tau_theta``
    (none if unset) and jumps by ``theta_plus`` at every spike while learning is on.
    """

    name: str
    size: int
    tau_mem: float = 20.0
    tau_syn: float = 5.0
    tau_syn_inh: float | None = None
    v_rest: float = 0.0
    v_threshold: float = 1.0
    v_reset: float = 0.0
    bias: Value = Value("constant", 0.0)
    refractory: float = 0.0
    v_init: Value | None = None
    i_init: float = 0.0
    theta_plus: float = 0.0
    tau_theta: float | None = None
    theta_init: float = 0.0
    loihi: LoihiRegisters | None = None
    truenorth: TrueNorthNeuron | None = None  # TrueNorth neuron parameters (neuro/truenorth/spec.py)

    @property
    def adaptive(self) -> bool:
        """True when the threshold adapts (Diehl & Cook's theta)."""
        return self.theta_plus != 0.0 or self.theta_init != 0.0

    @property
    def dual_current(self) -> bool:
        """True when inhibitory input has its own time constant (two current compartments)."""
        if self.loihi is not None:
            return self.loihi.decay_u_inh is not None and self.loihi.decay_u_inh != self.loihi.decay_u
        return self.tau_syn_inh is not None and self.tau_syn_inh != self.tau_syn

    @classmethod
    def from_dict(cls, d: dict, where: str, base_dir: Path | None = None) -> Population:
        _check_keys(d, cls, where)
        if "name" not in d:
            raise NeuroError("missing", field=f"{where}.name")
        if "size" not in d:
            raise NeuroError("missing", field=f"{where}.size")
        kw: dict[str, Any] = {
            "name": _name(d["name"], f"{where}.name"),
            "size": _num(d["size"], f"{where}.size", 1, 2**31 - 1, integer=True),
        }
        for key in ("tau_mem", "tau_syn"):
            if key in d:
                kw[key] = _num(d[key], f"{where}.{key}", 0, None, lo_open=True)
        if d.get("tau_syn_inh") is not None:
            kw["tau_syn_inh"] = _num(d["tau_syn_inh"], f"{where}.tau_syn_inh", 0, None, lo_open=True)
        for key in ("v_rest", "v_threshold", "v_reset", "i_init"):
            if key in d:
                kw[key] = _num(d[key], f"{where}.{key}")
        for key in ("theta_plus", "theta_init"):
            if key in d:
                kw[key] = _num(d[key], f"{where}.{key}", 0)
        if d.get("tau_theta") is not None:
            kw["tau_theta"] = _num(d["tau_theta"], f"{where}.tau_theta", 0, None, lo_open=True)
        if "refractory" in d:
            kw["refractory"] = _num(d["refractory"], f"{where}.refractory", 0)
        if "bias" in d:
            kw["bias"] = _value(d["bias"], f"{where}.bias", base_dir)
        if d.get("v_init") is not None:
            kw["v_init"] = _value(d["v_init"], f"{where}.v_init", base_dir)
        if d.get("loihi") is not None:
            lo = d["loihi"]
            kw["loihi"] = (
                lo
                if isinstance(lo, LoihiRegisters)
                else LoihiRegisters.from_dict(lo, f"{where}.loihi", base_dir)
            )
        if d.get("truenorth") is not None:  # TrueNorth neuron parameters
            kw["truenorth"] = TrueNorthNeuron.from_dict(
                d["truenorth"], f"{where}.truenorth", base_dir, kw["size"]
            )
        pop = cls(**kw)
        for key in ("bias", "v_init"):
            val = getattr(pop, key)
            if val is not None and val.kind == "array" and val.array.size != pop.size:
                raise NeuroError(
                    f"has {val.array.size} values but the population has {pop.size} neurons",
                    field=f"{where}.{key}",
                )
        return pop

    def to_dict(self) -> dict:
        return _dataclass_to_dict(self)


@dataclass(frozen=True)
class Input:
    """An input source: explicit spike times, Poisson spikes, or a constant current.

    ``spike_times``: ``times`` is a list (one per channel) of spike-time lists in ms; a
    spike at time t is emitted at step ``round(t / dt)``.
    ``poisson``: channel ``i`` spikes in each step with probability ``rate_i * dt / 1000``
    between ``start`` and ``stop`` (ms).
    ``current``: adds ``amplitude`` (mV, per neuron of ``target``) to the bias of population
    ``target`` from ``start`` to ``stop`` (ms). It is not a spike source.
    ``external``: ``size`` channels whose spikes the host supplies while running (e.g. a data
    set encoder, see ``neuro.train``); a plain ``neuro run`` gives them no spikes.
    """

    name: str
    kind: str
    size: int = 1
    times: tuple = ()
    rate: Value = Value("constant", 0.0)
    amplitude: Value = Value("constant", 0.0)
    target: str | None = None
    start: float = 0.0
    stop: float | None = None

    @property
    def is_spike_source(self) -> bool:
        return self.kind != "current"

    @classmethod
    def from_dict(cls, d: dict, where: str, base_dir: Path | None = None) -> Input:
        _check_keys(d, cls, where)
        for key in ("name", "kind"):
            if key not in d:
                raise NeuroError("missing", field=f"{where}.{key}")
        kw: dict[str, Any] = {
            "name": _name(d["name"], f"{where}.name"),
            "kind": _choice(d["kind"], f"{where}.kind", INPUT_KINDS),
        }
        kind = kw["kind"]
        allowed = {
            "spike_times": {"name", "kind", "size", "times"},
            "poisson": {"name", "kind", "size", "rate", "start", "stop"},
            "current": {"name", "kind", "target", "amplitude", "start", "stop"},
            "external": {"name", "kind", "size"},
        }[kind]
        for key in d:
            if key not in allowed:
                raise NeuroError(
                    f"not used by a {kind} input (allowed: {', '.join(sorted(allowed))})",
                    field=f"{where}.{key}",
                )
        if "size" in d:
            kw["size"] = _num(d["size"], f"{where}.size", 1, 2**31 - 1, integer=True)
        if kind == "spike_times":
            times = d.get("times")
            if not isinstance(times, list | tuple):
                raise NeuroError(
                    "must be a list with one list of spike times (ms) per channel", field=f"{where}.times"
                )
            if "size" not in d:
                kw["size"] = max(len(times), 1)
            if len(times) != kw["size"]:
                raise NeuroError(
                    f"has {len(times)} channels but size is {kw['size']}", field=f"{where}.times"
                )
            clean = []
            for i, ch in enumerate(times):
                if not isinstance(ch, list | tuple):
                    raise NeuroError("must be a list of spike times in ms", field=f"{where}.times[{i}]")
                clean.append(tuple(_num(t, f"{where}.times[{i}]", 0) for t in ch))
            kw["times"] = tuple(clean)
        if kind == "poisson":
            if "rate" not in d:
                raise NeuroError("missing (Hz)", field=f"{where}.rate")
            kw["rate"] = _value(d["rate"], f"{where}.rate", base_dir, 0)
        if kind == "current":
            if "target" not in d:
                raise NeuroError("missing (the population the current flows into)", field=f"{where}.target")
            kw["target"] = _name(d["target"], f"{where}.target")
            if "amplitude" not in d:
                raise NeuroError("missing (mV)", field=f"{where}.amplitude")
            kw["amplitude"] = _value(d["amplitude"], f"{where}.amplitude", base_dir)
        if "start" in d:
            kw["start"] = _num(d["start"], f"{where}.start", 0)
        if d.get("stop") is not None:
            kw["stop"] = _num(d["stop"], f"{where}.stop", kw.get("start", 0.0))
        inp = cls(**kw)
        if kind == "poisson" and inp.rate.kind == "array" and inp.rate.array.size != inp.size:
            raise NeuroError(
                f"has {inp.rate.array.size} values but size is {inp.size}", field=f"{where}.rate"
            )
        return inp

    def to_dict(self) -> dict:
        d = {"name": self.name, "kind": self.kind}
        if self.kind == "spike_times":
            d.update(size=self.size, times=[list(t) for t in self.times])
        elif self.kind == "poisson":
            d.update(size=self.size, rate=self.rate.to_dict(), start=self.start)
        elif self.kind == "external":
            d.update(size=self.size)
        else:
            d.update(target=self.target, amplitude=self.amplitude.to_dict(), start=self.start)
        if self.stop is not None and self.kind in ("poisson", "current"):
            d["stop"] = self.stop
        return d


@dataclass(frozen=True)
class Connector:
    """Which pre/post pairs are connected.

    ``all_to_all`` (``allow_self``), ``one_to_one``, ``fixed_probability`` (``p``, each pair
    independently; ``allow_self``), ``list`` (``pairs`` = ``[[i, j], ...]`` or a ``file`` with
    an (n, 2) array, or (n, 3)/(n, 4) with weights and delays in ms), ``matrix`` (a dense
    pre × post weight matrix in ``values`` or ``file``; zeros are not connected).
    ``allow_self`` only matters when pre and post are the same population (default false).
    ``skip_diagonal`` (all_to_all, fixed_probability) drops every pair i -> i with equal
    indices also between two populations (e.g. Diehl & Cook's inhibition of all excitatory
    neurons but the inhibitory neuron's own partner).
    """

    type: str
    p: float | None = None
    allow_self: bool = False
    skip_diagonal: bool = False
    pairs: tuple | None = None
    file: str | None = None
    values: tuple | None = None

    @classmethod
    def from_dict(cls, d: Any, where: str, base_dir: Path | None = None) -> Connector:
        if isinstance(d, str):
            d = {"type": d}
        _check_keys(d, cls, where)
        if "type" not in d:
            raise NeuroError(f"missing (one of {', '.join(CONNECTORS)})", field=f"{where}.type")
        kind = _choice(d["type"], f"{where}.type", CONNECTORS)
        allowed = {
            "all_to_all": {"allow_self", "skip_diagonal"},
            "one_to_one": set(),
            "fixed_probability": {"p", "allow_self", "skip_diagonal"},
            "list": {"pairs", "file"},
            "matrix": {"values", "file"},
        }[kind] | {"type"}
        for key in d:
            if key not in allowed:
                raise NeuroError(f"not used by a {kind} connector", field=f"{where}.{key}")
        kw: dict[str, Any] = {"type": kind}
        for flag in ("allow_self", "skip_diagonal"):
            if flag in d:
                if not isinstance(d[flag], bool):
                    raise NeuroError("must be true or false", field=f"{where}.{flag}")
                kw[flag] = d[flag]
        if kind == "fixed_probability":
            if "p" not in d:
                raise NeuroError("missing (connection probability in [0, 1])", field=f"{where}.p")
            kw["p"] = _num(d["p"], f"{where}.p", 0, 1)
        if kind in ("list", "matrix"):
            key = "pairs" if kind == "list" else "values"
            if (key in d) == ("file" in d):
                raise NeuroError(f"give exactly one of '{key}' or 'file'", field=where)
            if "file" in d:
                f = d["file"]
                if not isinstance(f, str) or not f.endswith(".npy"):
                    raise NeuroError(f"must be a path to a .npy file, got {f!r}", field=f"{where}.file")
                path = Path(f)
                if not path.is_absolute() and base_dir is not None:
                    path = base_dir / path
                if not path.is_file():
                    raise NeuroError(f"file not found: {path}", field=f"{where}.file")
                kw["file"] = str(path)
            else:
                rows = d[key]
                if not isinstance(rows, list | tuple) or not all(isinstance(r, list | tuple) for r in rows):
                    raise NeuroError("must be a list of rows", field=f"{where}.{key}")
                if len({len(r) for r in rows}) > 1:
                    raise NeuroError("rows must all have the same length", field=f"{where}.{key}")
                kw[key] = tuple(tuple(_num(x, f"{where}.{key}[{i}]") for x in r) for i, r in enumerate(rows))
        return cls(**kw)

    def to_dict(self) -> dict:
        d = _dataclass_to_dict(self)
        if not self.allow_self:
            d.pop("allow_self", None)
        if not self.skip_diagonal:
            d.pop("skip_diagonal", None)
        for key in ("pairs", "values"):
            if key in d:
                d[key] = [list(r) for r in d[key]]
        return d


@dataclass(frozen=True)
class Projection:
    """Synapses from a population or input source (``pre``) onto a population (``post``).

    A spike of pre neuron ``i`` at step ``k`` adds ``weight[i, j]`` to post neuron ``j``'s
    ``receptor`` current at step ``k + 1 + round(delay / dt)``. Weights are in mV (signed);
    ``receptor`` picks the current (``exc`` decays with ``tau_syn``, ``inh`` with
    ``tau_syn_inh``). If ``weight_exp`` is set, weights are raw Loihi integers ``Wgt``
    (|Wgt| <= 255) scaled by ``2**(6 + weight_exp)``, used as they are in ``loihi`` arithmetic.
    """

    pre: str
    post: str
    connector: Connector = Connector("all_to_all")
    weight: Value = Value("constant", 1.0)
    delay: Value = Value("constant", 0.0)
    receptor: str = "exc"
    name: str | None = None
    weight_exp: int | None = None
    weight_bits: int = 8
    plasticity: Plasticity | None = None
    axon_type: int | None = None  # TrueNorth axon type 0..3 (neuro/truenorth/spec.py)

    @classmethod
    def from_dict(cls, d: dict, where: str, base_dir: Path | None = None) -> Projection:
        _check_keys(d, cls, where)
        for key in ("pre", "post"):
            if key not in d:
                raise NeuroError("missing", field=f"{where}.{key}")
        kw: dict[str, Any] = {
            "pre": _name(d["pre"], f"{where}.pre"),
            "post": _name(d["post"], f"{where}.post"),
        }
        if "connector" in d:
            c = d["connector"]
            kw["connector"] = (
                c if isinstance(c, Connector) else Connector.from_dict(c, f"{where}.connector", base_dir)
            )
        if "weight" in d:
            kw["weight"] = _value(d["weight"], f"{where}.weight", base_dir)
        if "delay" in d:
            kw["delay"] = _value(d["delay"], f"{where}.delay", base_dir, 0)
        if "receptor" in d:
            kw["receptor"] = _choice(d["receptor"], f"{where}.receptor", RECEPTORS)
        if d.get("name") is not None:
            kw["name"] = _name(d["name"], f"{where}.name")
        if d.get("weight_exp") is not None:
            kw["weight_exp"] = _num(d["weight_exp"], f"{where}.weight_exp", *WEIGHT_EXP_RANGE, integer=True)
            lo, hi = kw.get("weight", Value("constant", 1.0)).bounds()
            if max(abs(lo), abs(hi)) > RAW_WEIGHT_MAX:
                raise NeuroError(
                    f"raw Loihi weights (weight_exp set) must be integers in "
                    f"[-{RAW_WEIGHT_MAX}, {RAW_WEIGHT_MAX}], got {lo}..{hi}",
                    field=f"{where}.weight",
                )
        if "weight_bits" in d:
            kw["weight_bits"] = _num(d["weight_bits"], f"{where}.weight_bits", 1, 8, integer=True)
        if d.get("axon_type") is not None:  # TrueNorth
            kw["axon_type"] = _num(d["axon_type"], f"{where}.axon_type", 0, 3, integer=True)
        if d.get("plasticity") is not None:
            pl = d["plasticity"]
            kw["plasticity"] = (
                pl if isinstance(pl, Plasticity) else Plasticity.from_dict(pl, f"{where}.plasticity")
            )
        return cls(**kw)

    @property
    def label(self) -> str:
        return self.name or f"{self.pre}->{self.post}"

    def to_dict(self) -> dict:
        d = _dataclass_to_dict(self)
        if self.weight_bits == 8:
            d.pop("weight_bits")
        return d


@dataclass(frozen=True)
class Probe:
    """Record state variables of a population every step: ``v`` (membrane) and/or ``i``
    (synaptic current; in ``loihi`` arithmetic the register ``u``). Spikes of every population
    are always recorded. ``neurons`` limits recording to the listed indices."""

    population: str
    variables: tuple = ("v",)
    neurons: tuple | None = None

    @classmethod
    def from_dict(cls, d: dict, where: str, base_dir: Path | None = None) -> Probe:
        _check_keys(d, cls, where)
        if "population" not in d:
            raise NeuroError("missing", field=f"{where}.population")
        kw: dict[str, Any] = {"population": _name(d["population"], f"{where}.population")}
        if "variables" in d:
            vs = d["variables"]
            if isinstance(vs, str):
                vs = [vs]
            if not isinstance(vs, list | tuple) or not vs:
                raise NeuroError(
                    f"must be a list of {', '.join(PROBE_VARIABLES)}", field=f"{where}.variables"
                )
            kw["variables"] = tuple(_choice(v, f"{where}.variables", PROBE_VARIABLES) for v in vs)
        if d.get("neurons") is not None:
            ns = d["neurons"]
            if not isinstance(ns, list | tuple) or not ns:
                raise NeuroError("must be a non-empty list of neuron indices", field=f"{where}.neurons")
            kw["neurons"] = tuple(_num(n, f"{where}.neurons", 0, integer=True) for n in ns)
        return cls(**kw)

    def to_dict(self) -> dict:
        d = _dataclass_to_dict(self)
        d["variables"] = list(self.variables)
        if self.neurons is not None:
            d["neurons"] = list(self.neurons)
        return d


@dataclass(frozen=True)
class Simulation:
    """How to run: step ``dt`` (ms), number of ``steps``, ``seed`` (None: drawn and logged),
    ``arithmetic`` (``float`` reference or ``loihi`` bit-exact), ``chip`` profile and the
    number of ``chips`` the mapper may use."""

    dt: float = 1.0
    steps: int = 1000
    seed: int | None = None
    arithmetic: str = "float"
    chip: str = "loihi"
    chips: int = 1

    @classmethod
    def from_dict(cls, d: dict, where: str = "simulation", base_dir: Path | None = None) -> Simulation:
        _check_keys(d, cls, where, extra=("duration",))
        kw: dict[str, Any] = {}
        if "dt" in d:
            kw["dt"] = _num(d["dt"], f"{where}.dt", 0, None, lo_open=True)
        if "steps" in d and "duration" in d:
            raise NeuroError("give steps or duration, not both", field=where)
        if "steps" in d:
            kw["steps"] = _num(d["steps"], f"{where}.steps", 0, 2**40, integer=True)
        if "duration" in d:
            dur = _num(d["duration"], f"{where}.duration", 0)
            steps = dur / kw.get("dt", 1.0)
            if not steps <= 2**40:  # also inf (1e308 / 0.5) and the overflow of a tiny dt
                raise NeuroError(f"is {steps:g} steps of dt; at most 2**40 steps", field=f"{where}.duration")
            kw["steps"] = int(round(steps))
        if d.get("seed") is not None:
            kw["seed"] = _num(d["seed"], f"{where}.seed", 0, 2**63 - 1, integer=True)
        if "arithmetic" in d:
            kw["arithmetic"] = _choice(d["arithmetic"], f"{where}.arithmetic", ARITHMETICS)
            if kw["arithmetic"] == "truenorth" and "chip" not in d:  # TrueNorth arithmetic implies its chip
                kw["chip"] = "truenorth"
        if "chip" in d:
            if not isinstance(d["chip"], str) or d["chip"] not in PROFILES:
                raise NeuroError(
                    f"must be a chip profile name (known: {', '.join(PROFILES)}), got {d['chip']!r}",
                    field=f"{where}.chip",
                )
            kw["chip"] = d["chip"]
        if "chips" in d:
            kw["chips"] = _num(d["chips"], f"{where}.chips", 1, 16384, integer=True)
        return cls(**kw)

    def to_dict(self) -> dict:
        return _dataclass_to_dict(self)


def _max_delay_ms(pr: Projection) -> tuple[float, str]:
    """Largest delay (ms) a projection can have and the field it comes from: its ``delay`` value,
    or the delay column (the 4th) of a list connector, which replaces it."""
    c = pr.connector
    if c.type == "list":
        if c.pairs is not None:
            rows = [r for r in c.pairs if len(r) == 4]
            if rows:
                return max(float(r[3]) for r in rows), "connector.pairs"
        elif c.file is not None:
            try:
                arr = np.load(c.file, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError):
                arr = None  # reported when the synapses are built
            if arr is not None and arr.ndim == 2 and arr.shape[1] == 4:
                hi = float(arr[:, 3].max()) if arr.shape[0] else 0.0
                if not math.isnan(hi):  # NaN rows are refused when the synapses are built
                    return hi, "connector.file"
    return pr.delay.bounds()[1], "delay"


@dataclass(frozen=True)
class Network:
    """A whole network: what to simulate and how. Validated on construction."""

    populations: tuple
    projections: tuple = ()
    inputs: tuple = ()
    probes: tuple = ()
    simulation: Simulation = field(default_factory=Simulation)
    name: str = "network"
    source: str | None = field(default=None, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "populations", tuple(self.populations))
        object.__setattr__(self, "projections", tuple(self.projections))
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "probes", tuple(self.probes))
        self._validate()

    def _err(self, msg, fld):
        return NeuroError(msg, self.source, fld)

    def _validate(self) -> None:
        if not self.populations:
            raise self._err("a network needs at least one population", "populations")
        names = {}
        for kind, items in (("populations", self.populations), ("inputs", self.inputs)):
            for i, item in enumerate(items):
                if item.name in names:
                    raise self._err(
                        f"name {item.name!r} is already used by {names[item.name]}", f"{kind}[{i}].name"
                    )
                names[item.name] = f"{kind}[{i}]"
        pops = {p.name: p for p in self.populations}
        spike_sources = set(pops) | {s.name for s in self.inputs if s.is_spike_source}
        sizes = {p.name: p.size for p in self.populations} | {s.name: s.size for s in self.inputs}
        for i, inp in enumerate(self.inputs):
            if inp.kind == "current":
                if inp.target not in pops:
                    raise self._err(
                        f"unknown population {inp.target!r} (known: {', '.join(pops)})", f"inputs[{i}].target"
                    )
                amp = inp.amplitude
                if amp.kind == "array" and amp.array.size != pops[inp.target].size:
                    raise self._err(
                        f"has {amp.array.size} values but {inp.target!r} has {pops[inp.target].size} neurons",
                        f"inputs[{i}].amplitude",
                    )
        for i, pr in enumerate(self.projections):
            where = f"projections[{i}]"
            if pr.pre not in spike_sources:
                raise self._err(
                    f"unknown spike source {pr.pre!r} (known: {', '.join(sorted(spike_sources))})",
                    f"{where}.pre",
                )
            if pr.post not in pops:
                raise self._err(f"unknown population {pr.post!r} (known: {', '.join(pops)})", f"{where}.post")
            if pr.connector.type == "one_to_one" and sizes[pr.pre] != sizes[pr.post]:
                raise self._err(
                    f"one_to_one needs equal sizes, got {sizes[pr.pre]} and {sizes[pr.post]}",
                    f"{where}.connector",
                )
            post = pops[pr.post]
            if pr.weight_exp is not None and post.loihi is None:
                raise self._err(
                    f"raw Loihi weights (weight_exp) need raw registers on population {pr.post!r}",
                    f"{where}.weight_exp",
                )
            if pr.weight_exp is None and post.loihi is not None:
                raise self._err(
                    f"population {pr.post!r} is given as raw Loihi registers: its incoming "
                    "projections need raw integer weights with weight_exp",
                    f"{where}.weight_exp",
                )
        probed: dict[str, int] = {}
        for i, pb in enumerate(self.probes):
            if pb.population not in pops:
                raise self._err(
                    f"unknown population {pb.population!r} (known: {', '.join(pops)})",
                    f"probes[{i}].population",
                )
            if pb.population in probed:  # the spike file keeps one probe group per population
                raise self._err(
                    f"population {pb.population!r} is already probed by probes[{probed[pb.population]}]; "
                    "list all its variables and neurons in one probe",
                    f"probes[{i}].population",
                )
            probed[pb.population] = i
            if pb.neurons is not None and max(pb.neurons) >= pops[pb.population].size:
                raise self._err(
                    f"neuron index {max(pb.neurons)} out of range [0, {pops[pb.population].size - 1}]",
                    f"probes[{i}].neurons",
                )
        self.check_arithmetic(self.simulation.arithmetic)

    def check_arithmetic(self, arithmetic: str) -> None:
        """Raise if the network cannot run in ``arithmetic``."""
        dt = self.simulation.dt
        for i, p in enumerate(self.populations):
            if arithmetic == "float" and p.loihi is not None:
                raise self._err(
                    f"population {p.name!r} is given as raw Loihi registers; run it with arithmetic 'loihi'",
                    f"populations[{i}].loihi",
                )
        if arithmetic == "loihi":
            for i, pr in enumerate(self.projections):
                hi, where = _max_delay_ms(pr)
                if not math.isfinite(hi):
                    raise self._err(
                        f"delay distribution is unbounded; Loihi allows 0..{MAX_DELAY_STEPS_LOIHI} steps "
                        "(clip it with 'high')",
                        f"projections[{i}].{where}",
                    )
                if round(hi / dt) > MAX_DELAY_STEPS_LOIHI:
                    raise self._err(
                        f"delay {hi} ms is {round(hi / dt)} steps; Loihi allows 0..{MAX_DELAY_STEPS_LOIHI}",
                        f"projections[{i}].{where}",
                    )
            for i, p in enumerate(self.populations):
                if p.loihi is None and round(p.refractory / dt) > LOIHI_REGISTER_RANGES["refract_delay"][1]:
                    raise self._err(
                        f"refractory {p.refractory} ms is {round(p.refractory / dt)} steps; "
                        "Loihi allows at most 63",
                        f"populations[{i}].refractory",
                    )
        check_truenorth(self, arithmetic)  # TrueNorth rules (neuro/truenorth/spec.py)

    # ------------------------------------------------------------------ access
    def population(self, name: str) -> Population:
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(name)

    def source_size(self, name: str) -> int:
        for s in (*self.populations, *self.inputs):
            if s.name == name:
                return s.size
        raise KeyError(name)

    def with_simulation(self, **changes) -> Network:
        """Return a copy with simulation settings changed (validated again)."""
        if changes.get("arithmetic") == "truenorth" and changes.get("chip") is None:  # implies its chip
            changes["chip"] = "truenorth"
        elif changes.get("chip") == "truenorth" and changes.get("arithmetic") is None:
            changes["arithmetic"] = "truenorth"
        elif changes.get("arithmetic") and not changes.get("chip") and self.simulation.chip == "truenorth":
            changes["chip"] = "loihi"  # leaving truenorth arithmetic leaves its chip
        sim = replace(self.simulation, **{k: v for k, v in changes.items() if v is not None})
        Simulation.from_dict(sim.to_dict())  # re-check ranges
        return replace(self, simulation=sim)

    # ------------------------------------------------------------------ (de)serialization
    @classmethod
    def from_dict(cls, d: dict, source: str | None = None, base_dir: Path | None = None) -> Network:
        try:
            _check_keys(d, cls, "network", extra=())
            kw: dict[str, Any] = {"source": source}
            if "name" in d:
                kw["name"] = _name(d["name"], "name")
            if "source" in d:
                raise NeuroError("unknown key", field="source")
            kw["simulation"] = Simulation.from_dict(d.get("simulation", {}), "simulation", base_dir)
            for key, cls_ in (
                ("populations", Population),
                ("inputs", Input),
                ("projections", Projection),
                ("probes", Probe),
            ):
                items = d.get(key, [])
                if not isinstance(items, list | tuple):
                    raise NeuroError(f"must be a list of tables ([[{key}]] in TOML)", field=key)
                kw[key] = tuple(cls_.from_dict(x, f"{key}[{i}]", base_dir) for i, x in enumerate(items))
            return cls(**kw)
        except NeuroError as exc:
            raise exc.at(source) from None

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"name": self.name, "simulation": self.simulation.to_dict()}
        for key in ("populations", "inputs", "projections", "probes"):
            items = getattr(self, key)
            if items:
                d[key] = [x.to_dict() for x in items]
        return d


def load_spec(path: str | Path) -> Network:
    """Read and validate a network spec from a TOML file."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise NeuroError("spec file not found", str(path)) from None
    except IsADirectoryError:
        raise NeuroError("is a directory, not a spec file", str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise NeuroError(f"not valid TOML: {exc}", str(path)) from None
    except UnicodeDecodeError as exc:
        raise NeuroError(f"not UTF-8 text (byte {exc.start}); TOML files are UTF-8", str(path)) from None
    except RecursionError:
        raise NeuroError("nested too deeply to be a spec", str(path)) from None
    except OSError as exc:
        raise NeuroError(f"cannot read: {exc.strerror or exc}", str(path)) from None
    try:
        return Network.from_dict(data, source=str(path), base_dir=path.parent)
    except RecursionError:
        raise NeuroError("nested too deeply to be a spec", str(path)) from None
