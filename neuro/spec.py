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

from neuro import targets
from neuro.chips import (
    LOIHI2_MAX_MESSAGE_BITS,
    LOIHI_RAW_WEIGHT_MAX,
    LOIHI_REGISTER_RANGES,
    LOIHI_WEIGHT_EXP_RANGE,
    PROFILES,
    TRUENORTH_AXON_TYPES,
)
from neuro.errors import NeuroError
from neuro.fields import choice, flag, located, number, optional_number, table, unused
from neuro.fields import name as _name
from neuro.plasticity import Plasticity
from neuro.registers import LoihiRegisters, TrueNorthNeuron
from neuro.values import Value, bounded_value, check_size, parse_value

__all__ = [
    "Connector",
    "Input",
    "LoihiRegisters",
    "Network",
    "Population",
    "Probe",
    "Projection",
    "Simulation",
    "TrueNorthNeuron",
    "load_spec",
]

RECEPTORS = ("exc", "inh")
INPUT_KINDS = ("spike_times", "poisson", "current", "external")
CONNECTORS = ("all_to_all", "one_to_one", "fixed_probability", "list", "matrix")
PROBE_VARIABLES = ("v", "i")
PROBE_CONVENTIONS = ("model", "chip")
CONNECTOR_FIELDS = {  # the fields each type of connector uses
    "all_to_all": ("type", "allow_self", "skip_diagonal"),
    "one_to_one": ("type",),
    "fixed_probability": ("type", "p", "allow_self", "skip_diagonal"),
    "list": ("type", "pairs", "file"),
    "matrix": ("type", "values", "file"),
}
INPUT_FIELDS = {  # the fields each kind of input uses
    "spike_times": ("name", "kind", "size", "times", "message_bits", "payloads"),
    "poisson": ("name", "kind", "size", "rate", "start", "stop"),
    "current": ("name", "kind", "target", "amplitude", "start", "stop"),
    "external": ("name", "kind", "size"),
}
MAX_SIZE = 2**31 - 1  # neurons of a population, channels of an input

# Kept importable from here for older callers; the chip facts live in neuro.chips.
WEIGHT_EXP_RANGE = LOIHI_WEIGHT_EXP_RANGE
RAW_WEIGHT_MAX = LOIHI_RAW_WEIGHT_MAX


# --------------------------------------------------------------------------- helpers
def _set(obj, key: str, value) -> None:
    object.__setattr__(obj, key, value)


def _keys(cls) -> list:
    return [f.name for f in fields(cls)]


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


def _values(d: dict, keys, base_dir: Path | None) -> dict:
    """``d`` with the per-element values among ``keys`` parsed (``.npy`` paths relative to ``base_dir``)."""
    kw = dict(d)
    for key in keys:
        if kw.get(key) is not None:
            kw[key] = parse_value(kw[key], key, base_dir)
    return kw


# --------------------------------------------------------------------------- classes
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

    NIR's neuron models (``docs/nir.md``) need five more fields, all neutral by default:
    ``tau_syn = 0`` — no synaptic filter: a weight jumps ``v`` itself (:math:`v \\leftarrow v + w`);
    ``input_bias`` :math:`b_I` (mV) — a constant current into the filter,
    :math:`\\tau_{syn} dI/dt = -I + b_I` (with ``tau_syn = 0`` it adds to ``v``'s drive like ``bias``);
    ``leak = false`` — no leak: :math:`\\tau_{mem} dv/dt = b + b_I + I` (``v_rest`` unused; needs
    ``tau_syn = 0``); ``spiking = false`` — a readout that never fires (``v_threshold`` only
    sets the Loihi register scale); ``reset = false`` — a spike leaves ``v`` as it is (float
    arithmetic only).

    ``vth_mant`` (Loihi arithmetics; ignored by float and TrueNorth) — the threshold mantissa
    that sets the population's register scale: :math:`s = 64\\,\\mathrm{vth\\_mant} /
    (v_{threshold} - v_{reset})` voltage units per mV (default 4096). A larger one gives the
    weights into the population a finer ``Wgt`` (they are discretized on the same scale) and
    leaves less of the 24-bit voltage range (:math:`2^{23} / s` mV above ``v_reset``) for the
    adaptive threshold :math:`\\theta`.
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
    vth_mant: int | None = None  # Loihi register scale (see the docstring); None: 4096
    truenorth: TrueNorthNeuron | None = None  # TrueNorth neuron parameters (neuro/registers.py)
    input_bias: Value | None = None  # constant current into the synaptic filter, mV
    leak: bool = True  # false: tau_mem dv/dt = bias + I (integrate-and-fire, integrator)
    spiking: bool = True  # false: never fires (a readout whose state is the output)
    reset: bool = True  # false: a spike leaves v as it is (NIR's Threshold after LI/CubaLI/I)

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

    def __post_init__(self):
        _name(self.name, "name")
        _set(self, "size", number(self.size, "size", 1, MAX_SIZE, integer=True))
        for key in ("leak", "spiking", "reset"):
            flag(getattr(self, key), key)
        number(self.tau_mem, "tau_mem", 0, lo_open=True)
        number(self.tau_syn, "tau_syn", 0)
        if self.tau_syn == 0 and self.tau_syn_inh is not None:
            raise NeuroError(
                "a population without a synaptic filter (tau_syn = 0) has no tau_syn_inh", field="tau_syn_inh"
            )
        if self.input_bias is not None:
            _set(self, "input_bias", bounded_value(self.input_bias, "input_bias"))
            if self.input_bias.is_random:
                raise NeuroError("must be a number or an array", field="input_bias")
            check_size(self.input_bias, self.size, "input_bias")
        if not self.leak and self.tau_syn != 0:
            raise NeuroError("leak = false needs tau_syn = 0", field="leak")
        for key in ("tau_syn_inh", "tau_theta"):
            optional_number(getattr(self, key), key, 0, lo_open=True)
        for key in ("v_rest", "v_threshold", "v_reset", "i_init"):
            number(getattr(self, key), key)
        for key in ("theta_plus", "theta_init", "refractory"):
            number(getattr(self, key), key, 0)
        _set(self, "bias", bounded_value(self.bias, "bias"))
        if self.v_init is not None:
            _set(self, "v_init", bounded_value(self.v_init, "v_init"))
        if isinstance(self.loihi, dict):
            _set(self, "loihi", LoihiRegisters.from_dict(self.loihi, "loihi"))
        if self.loihi is not None:
            if not isinstance(self.loihi, LoihiRegisters):
                raise NeuroError("must be a table of Loihi registers", field="loihi")
            for key in ("bias_mant", "bias_exp", "v_init"):
                check_size(getattr(self.loihi, key), self.size, f"loihi.{key}")
        if self.vth_mant is not None:
            if self.loihi is not None:
                raise NeuroError(
                    "raw Loihi registers set their own vth_mant (loihi.vth_mant)", field="vth_mant"
                )
            lo, hi = LOIHI_REGISTER_RANGES["vth_mant"]
            _set(self, "vth_mant", number(self.vth_mant, "vth_mant", lo, hi, integer=True))
        if isinstance(self.truenorth, dict):
            _set(self, "truenorth", TrueNorthNeuron.from_dict(self.truenorth, "truenorth"))
        if self.truenorth is not None:
            if not isinstance(self.truenorth, TrueNorthNeuron):
                raise NeuroError("must be a table of TrueNorth neuron parameters", field="truenorth")
            with located("truenorth"):
                self.truenorth.check_size(self.size)
        for key in ("bias", "v_init"):
            check_size(getattr(self, key), self.size, key)

    @classmethod
    def from_dict(cls, d: dict, where: str, base_dir: Path | None = None) -> Population:
        with located(where):
            table(d, None, _keys(cls))
            for key in ("name", "size"):
                if key not in d:
                    raise NeuroError("missing", field=key)
            kw = _values(d, ("bias", "v_init", "input_bias"), base_dir)
            if d.get("loihi") is not None:
                kw["loihi"] = LoihiRegisters.from_dict(d["loihi"], "loihi", base_dir)
            if d.get("truenorth") is not None:
                kw["truenorth"] = TrueNorthNeuron.from_dict(d["truenorth"], "truenorth", base_dir)
            return cls(**kw)

    def to_dict(self) -> dict:
        d = _dataclass_to_dict(self)
        for key, default in NEURON_SWITCHES.items():  # written only when set
            if d.get(key) == default:
                d.pop(key)
        return d


NEURON_SWITCHES = {"leak": True, "spiking": True, "reset": True}


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

    Graded spikes (``spike_times``, arithmetic ``loihi2``): with ``message_bits`` = m > 0 every
    spike carries the integer in ``payloads`` (one list per channel, aligned with ``times``;
    non-zero, in [-2**(m-1), 2**(m-1) - 1]) and a synapse adds ``weight * payload``
    (Lava's ``Dense`` with ``num_message_bits > 0``). Without ``payloads`` every payload is 1.
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
    message_bits: int = 0
    payloads: tuple | None = None

    @property
    def is_spike_source(self) -> bool:
        return self.kind != "current"

    def __post_init__(self):
        _name(self.name, "name")
        kind = choice(self.kind, "kind", INPUT_KINDS)
        unused(self, INPUT_FIELDS[kind], f"not used by a {kind} input")
        _set(self, "size", number(self.size, "size", 1, MAX_SIZE, integer=True))
        if kind == "spike_times":
            times = self.times
            if not isinstance(times, list | tuple):
                raise NeuroError(
                    "must be a list with one list of spike times (ms) per channel", field="times"
                )
            if len(times) != self.size:
                raise NeuroError(f"has {len(times)} channels but size is {self.size}", field="times")
            clean = []
            for i, ch in enumerate(times):
                if not isinstance(ch, list | tuple):
                    raise NeuroError("must be a list of spike times in ms", field=f"times[{i}]")
                clean.append(tuple(number(t, f"times[{i}]", 0) for t in ch))
            _set(self, "times", tuple(clean))
            self._check_payloads()
        else:
            _set(self, "times", ())  # unused by this kind (an empty list is accepted)
        _set(self, "rate", bounded_value(self.rate, "rate", 0))
        check_size(self.rate, self.size, "rate", "size is {n}")
        _set(self, "amplitude", bounded_value(self.amplitude, "amplitude"))
        if kind == "current" and self.target is None:
            raise NeuroError("missing (the population the current flows into)", field="target")
        if self.target is not None:
            _name(self.target, "target")
        number(self.start, "start", 0)
        optional_number(self.stop, "stop", self.start)

    def _check_payloads(self) -> None:
        bits = number(self.message_bits, "message_bits", 0, LOIHI2_MAX_MESSAGE_BITS, integer=True)
        _set(self, "message_bits", bits)
        if self.payloads is None:
            return
        if bits == 0:
            raise NeuroError("payloads need message_bits > 0 (graded spikes)", field="payloads")
        pay = self.payloads
        if not isinstance(pay, list | tuple) or len(pay) != self.size:
            raise NeuroError("must be a list with one list of payloads per channel", field="payloads")
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        clean = []
        for i, (ch, times) in enumerate(zip(pay, self.times, strict=True)):
            if not isinstance(ch, list | tuple) or len(ch) != len(times):
                raise NeuroError(
                    f"must be a list of {len(times)} payloads (one per spike time)", field=f"payloads[{i}]"
                )
            row = tuple(number(x, f"payloads[{i}]", lo, hi, integer=True) for x in ch)
            if 0 in row:
                raise NeuroError("a payload of 0 is no spike; leave the time out", field=f"payloads[{i}]")
            clean.append(row)
        _set(self, "payloads", tuple(clean))

    @property
    def graded(self) -> bool:
        """True when the spikes carry payloads."""
        return self.payloads is not None

    @classmethod
    def from_dict(cls, d: dict, where: str, base_dir: Path | None = None) -> Input:
        with located(where):
            table(d, None, _keys(cls))
            for key in ("name", "kind"):
                if key not in d:
                    raise NeuroError("missing", field=key)
            kind = choice(d["kind"], "kind", INPUT_KINDS)
            table(d, None, INPUT_FIELDS[kind], f"not used by a {kind} input")
            if kind == "spike_times" and "times" not in d:
                raise NeuroError(
                    "must be a list with one list of spike times (ms) per channel", field="times"
                )
            kw = _values(d, ("rate", "amplitude"), base_dir)
            if kind == "spike_times" and "size" not in d and isinstance(d.get("times"), list | tuple):
                kw["size"] = max(len(d["times"]), 1)
            for key, why in (("rate", "missing (Hz)"), ("amplitude", "missing (mV)")):
                if key in INPUT_FIELDS[kind] and key not in d:
                    raise NeuroError(why, field=key)
            return cls(**kw)

    def to_dict(self) -> dict:
        d = {"name": self.name, "kind": self.kind}
        if self.kind == "spike_times":
            d.update(size=self.size, times=[list(t) for t in self.times])
            if self.message_bits:
                d["message_bits"] = self.message_bits
            if self.payloads is not None:
                d["payloads"] = [list(p) for p in self.payloads]
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

    def __post_init__(self):
        kind = choice(self.type, "type", CONNECTORS)
        unused(self, CONNECTOR_FIELDS[kind], f"not used by a {kind} connector")
        for key in ("allow_self", "skip_diagonal"):
            flag(getattr(self, key), key)
        if kind == "fixed_probability":
            if self.p is None:
                raise NeuroError("missing (connection probability in [0, 1])", field="p")
            number(self.p, "p", 0, 1)
        if kind in ("list", "matrix"):
            key = "pairs" if kind == "list" else "values"
            rows = getattr(self, key)
            if (rows is None) == (self.file is None):
                raise NeuroError(f"give exactly one of '{key}' or 'file'")
            if self.file is not None:
                f = self.file
                if isinstance(f, Path):
                    _set(self, "file", f := str(f))
                if not isinstance(f, str) or not f.endswith(".npy"):
                    raise NeuroError(f"must be a path to a .npy file, got {f!r}", field="file")
                if not Path(f).is_file():
                    raise NeuroError(f"file not found: {f}", field="file")
            else:
                if not isinstance(rows, list | tuple) or not all(isinstance(r, list | tuple) for r in rows):
                    raise NeuroError("must be a list of rows", field=key)
                if len({len(r) for r in rows}) > 1:
                    raise NeuroError("rows must all have the same length", field=key)
                _set(self, key, tuple(tuple(number(x, f"{key}[{i}]") for x in r) for i, r in enumerate(rows)))

    @classmethod
    def from_dict(cls, d: Any, where: str, base_dir: Path | None = None) -> Connector:
        if isinstance(d, Connector):
            return d
        if isinstance(d, str):
            d = {"type": d}
        with located(where):
            table(d, None, _keys(cls))
            if "type" not in d:
                raise NeuroError(f"missing (one of {', '.join(CONNECTORS)})", field="type")
            kind = choice(d["type"], "type", CONNECTORS)
            table(d, None, CONNECTOR_FIELDS[kind], f"not used by a {kind} connector")
            kw = dict(d)
            f = d.get("file")
            if isinstance(f, str) and f.endswith(".npy"):
                path = Path(f)
                kw["file"] = str(base_dir / path if not path.is_absolute() and base_dir is not None else path)
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
    ``message_bits`` > 0 (``loihi2``) makes the synapses graded: a spike's payload multiplies
    the weight (Lava's ``num_message_bits``); 0 is binary.
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
    axon_type: int | None = None  # TrueNorth axon type 0..3 (rules in neuro/truenorth/spec.py)
    message_bits: int = 0

    def __post_init__(self):
        _name(self.pre, "pre")
        _name(self.post, "post")
        if isinstance(self.connector, str | dict):
            _set(self, "connector", Connector.from_dict(self.connector, "connector"))
        if not isinstance(self.connector, Connector):
            raise NeuroError("must be a connector type or table", field="connector")
        _set(self, "weight", bounded_value(self.weight, "weight"))
        _set(self, "delay", bounded_value(self.delay, "delay", 0))
        choice(self.receptor, "receptor", RECEPTORS)
        if self.name is not None:
            _name(self.name, "name")
        if self.weight_exp is not None:
            _set(
                self,
                "weight_exp",
                number(self.weight_exp, "weight_exp", *LOIHI_WEIGHT_EXP_RANGE, integer=True),
            )
            lo, hi = self.weight.bounds()
            if max(abs(lo), abs(hi)) > LOIHI_RAW_WEIGHT_MAX:
                raise NeuroError(
                    f"raw Loihi weights (weight_exp set) must be integers in "
                    f"[-{LOIHI_RAW_WEIGHT_MAX}, {LOIHI_RAW_WEIGHT_MAX}], got {lo}..{hi}",
                    field="weight",
                )
        _set(self, "weight_bits", number(self.weight_bits, "weight_bits", 1, 8, integer=True))
        _set(
            self,
            "message_bits",
            number(self.message_bits, "message_bits", 0, LOIHI2_MAX_MESSAGE_BITS, integer=True),
        )
        if self.axon_type is not None:  # TrueNorth
            _set(
                self,
                "axon_type",
                number(self.axon_type, "axon_type", 0, TRUENORTH_AXON_TYPES - 1, integer=True),
            )
        if isinstance(self.plasticity, dict):
            _set(self, "plasticity", Plasticity.from_dict(self.plasticity, "plasticity"))
        if self.plasticity is not None and not isinstance(self.plasticity, Plasticity):
            raise NeuroError("must be a table", field="plasticity")

    @classmethod
    def from_dict(cls, d: dict, where: str, base_dir: Path | None = None) -> Projection:
        with located(where):
            table(d, None, _keys(cls))
            for key in ("pre", "post"):
                if key not in d:
                    raise NeuroError("missing", field=key)
            kw = _values(d, ("weight", "delay"), base_dir)
            if "connector" in d:
                kw["connector"] = Connector.from_dict(d["connector"], "connector", base_dir)
            if d.get("plasticity") is not None:
                kw["plasticity"] = Plasticity.from_dict(d["plasticity"], "plasticity")
            return cls(**kw)

    @property
    def label(self) -> str:
        return self.name or f"{self.pre}->{self.post}"

    def to_dict(self) -> dict:
        d = _dataclass_to_dict(self)
        if self.weight_bits == 8:
            d.pop("weight_bits")
        if self.message_bits == 0:
            d.pop("message_bits")
        return d


@dataclass(frozen=True)
class Probe:
    """Record state variables of a population every step: ``v`` (membrane) and/or ``i``
    (synaptic current; in ``loihi`` arithmetic the register ``u``). Spikes of every population
    are always recorded. ``neurons`` limits recording to the listed indices. ``convention``:
    ``"model"`` records v after the reset (0 at a spike step); ``"chip"`` records what the chip
    reports (Loihi 2: 128 at a spike step; only targets that know their chip's reading)."""

    population: str
    variables: tuple = ("v",)
    neurons: tuple | None = None
    convention: str = "model"

    def __post_init__(self):
        _name(self.population, "population")
        vs = (self.variables,) if isinstance(self.variables, str) else self.variables
        if not isinstance(vs, list | tuple) or not vs:
            raise NeuroError(f"must be a list of {', '.join(PROBE_VARIABLES)}", field="variables")
        _set(self, "variables", tuple(choice(v, "variables", PROBE_VARIABLES) for v in vs))
        if self.neurons is not None:
            ns = self.neurons
            if not isinstance(ns, list | tuple) or not ns:
                raise NeuroError("must be a non-empty list of neuron indices", field="neurons")
            _set(self, "neurons", tuple(number(n, "neurons", 0, integer=True) for n in ns))
        choice(self.convention, "convention", PROBE_CONVENTIONS)

    @classmethod
    def from_dict(cls, d: dict, where: str, base_dir: Path | None = None) -> Probe:
        with located(where):
            table(d, None, _keys(cls))
            if "population" not in d:
                raise NeuroError("missing", field="population")
            return cls(**d)

    def to_dict(self) -> dict:
        d = _dataclass_to_dict(self)
        d["variables"] = list(self.variables)
        if self.neurons is not None:
            d["neurons"] = list(self.neurons)
        if self.convention == "model":
            d.pop("convention")
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

    def __post_init__(self):
        number(self.dt, "dt", 0, lo_open=True)
        _set(self, "steps", number(self.steps, "steps", 0, 2**40, integer=True))
        _set(self, "seed", optional_number(self.seed, "seed", 0, 2**63 - 1, integer=True))
        choice(self.arithmetic, "arithmetic", targets.names())
        if not isinstance(self.chip, str) or self.chip not in PROFILES:
            raise NeuroError(
                f"must be a chip profile name (known: {', '.join(PROFILES)}), got {self.chip!r}", field="chip"
            )
        _set(self, "chips", number(self.chips, "chips", 1, 16384, integer=True))

    @classmethod
    def from_dict(cls, d: dict, where: str = "simulation", base_dir: Path | None = None) -> Simulation:
        with located(where):
            table(d, None, [*_keys(cls), "duration"])
            kw = {k: v for k, v in d.items() if not (k == "seed" and v is None)}
            if "steps" in d and "duration" in d:
                raise NeuroError("give steps or duration, not both")
            if "duration" in d:
                dt = number(d.get("dt", 1.0), "dt", 0, lo_open=True)
                steps = number(kw.pop("duration"), "duration", 0) / dt
                if not steps <= 2**40:  # also inf (1e308 / 0.5) and the overflow of a tiny dt
                    raise NeuroError(f"is {steps:g} steps of dt; at most 2**40 steps", field="duration")
                kw["steps"] = int(round(steps))
            if "arithmetic" in d and "chip" not in d:  # an arithmetic implies its default chip
                choice(d["arithmetic"], "arithmetic", targets.names())
                kw["chip"] = targets.entry(d["arithmetic"]).default_chip
            return cls(**kw)

    def to_dict(self) -> dict:
        return _dataclass_to_dict(self)


def max_delay_ms(pr: Projection) -> tuple[float, str]:
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
        with located(None, self.source):
            _name(self.name, "name")
            if isinstance(self.simulation, dict):
                _set(self, "simulation", Simulation.from_dict(self.simulation))
            if not isinstance(self.simulation, Simulation):
                raise NeuroError("must be a Simulation or a table", field="simulation")
            for key, cls_ in NETWORK_PARTS:
                items = getattr(self, key)
                if isinstance(items, str | dict) or not hasattr(items, "__iter__"):
                    raise NeuroError(f"must be a list of {cls_.__name__} objects or tables", field=key)
                items = tuple(
                    cls_.from_dict(x, f"{key}[{i}]") if isinstance(x, dict) else x
                    for i, x in enumerate(items)
                )
                for i, x in enumerate(items):
                    if not isinstance(x, cls_):
                        raise NeuroError(
                            f"must be a {cls_.__name__}, got {type(x).__name__}", field=f"{key}[{i}]"
                        )
                _set(self, key, items)
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
        self.check_arithmetic()

    def check_arithmetic(self, arithmetic: str | None = None) -> None:
        """Raise if the network cannot run in ``arithmetic`` (default: its own) on its chip:
        the target's checks (:meth:`neuro.targets.base.Target.check`)."""
        net = self if arithmetic is None else self.with_simulation(arithmetic=arithmetic)
        targets.get_target(net.simulation.arithmetic).check(net)

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
        if changes.get("arithmetic") is not None:
            with located("simulation", self.source):
                choice(changes["arithmetic"], "arithmetic", targets.names())
        changes["arithmetic"], changes["chip"] = targets.choose_chip(
            changes.get("arithmetic"), changes.get("chip"), self.simulation.arithmetic, self.simulation.chip
        )
        with located("simulation", self.source):
            sim = replace(self.simulation, **{k: v for k, v in changes.items() if v is not None})
        return replace(self, simulation=sim)

    # ------------------------------------------------------------------ (de)serialization
    @classmethod
    def from_dict(cls, d: dict, source: str | None = None, base_dir: Path | None = None) -> Network:
        with located(None, source):
            table(d, "network", [k for k in _keys(cls) if k != "source"])
            kw: dict[str, Any] = {k: v for k, v in d.items() if k != "simulation"}
            kw["simulation"] = Simulation.from_dict(d.get("simulation", {}), "simulation", base_dir)
            for key, cls_ in NETWORK_PARTS:
                items = d.get(key, [])
                if not isinstance(items, list | tuple):
                    raise NeuroError(f"must be a list of tables ([[{key}]] in TOML)", field=key)
                kw[key] = tuple(cls_.from_dict(x, f"{key}[{i}]", base_dir) for i, x in enumerate(items))
            return cls(**kw, source=source)

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"name": self.name, "simulation": self.simulation.to_dict()}
        for key in ("populations", "inputs", "projections", "probes"):
            items = getattr(self, key)
            if items:
                d[key] = [x.to_dict() for x in items]
        return d


NETWORK_PARTS = (
    ("populations", Population),
    ("inputs", Input),
    ("projections", Projection),
    ("probes", Probe),
)


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
