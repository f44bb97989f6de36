"""Raw per-chip neuron registers of a population: Loihi compartment registers
(``[populations.loihi]``) and TrueNorth neuron parameters (``[populations.truenorth]``).

Both are pure data, checked on construction against the register ranges in
:mod:`neuro.chips`; which arithmetic may run them is the target's business, not theirs.

A population with a ``truenorth`` table is described by the TrueNorth neuron's own integer
parameters (Cassidy et al. 2013; formulas in :mod:`neuro.dynamics.truenorth`). Its incoming
projections say how the crossbar is used:

* with per-type ``weights`` in the table, every projection into it gives ``axon_type``
  (0..3; or a ``list`` connector whose third column is the axon type of each synapse) and
  the effective weight of a synapse is its neuron's weight for that type;
* without ``weights``, every projection gives integer ``weight`` values in -256..255 and the
  compiler builds each neuron's 4-entry weight table from the distinct values it receives
  (more than 4 distinct values into one neuron cannot be expressed and is refused).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from neuro.chips import (
    LOIHI_REGISTER_RANGES,
    LOIHI_V_RANGE,
    TRUENORTH_AXON_TYPES,
    TRUENORTH_LEAK_RANGE,
    TRUENORTH_MASK_RANGE,
    TRUENORTH_NEG_THRESHOLD_RANGE,
    TRUENORTH_RESET_RANGE,
    TRUENORTH_THRESHOLD_RANGE,
    TRUENORTH_V_RANGE,
    TRUENORTH_WEIGHT_RANGE,
)
from neuro.errors import NeuroError
from neuro.fields import choice, flag, located, optional_number, table
from neuro.values import Value, check_size, integer_value, load_npy

PER_NEURON = ("bias_mant", "bias_exp")  # Loihi registers that may differ between neurons
NEG_MODES = ("saturate", "reset")  # kappa = 1, 0
RESET_MODES = ("value", "linear", "none")  # gamma = 0, 1, 2
TRUENORTH_INT_VALUES = {
    "leak": TRUENORTH_LEAK_RANGE,
    "threshold": TRUENORTH_THRESHOLD_RANGE,
    "threshold_mask": TRUENORTH_MASK_RANGE,
    "neg_threshold": TRUENORTH_NEG_THRESHOLD_RANGE,
    "reset_value": TRUENORTH_RESET_RANGE,
    "v_init": TRUENORTH_V_RANGE,
}


def _set(obj, key: str, value) -> None:
    object.__setattr__(obj, key, value)


def _plain(obj) -> dict:
    out = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        if v is not None:
            out[f.name] = v.to_dict() if isinstance(v, Value) else v
    return out


@dataclass(frozen=True)
class LoihiRegisters:
    """Raw Loihi compartment registers of a population, used as they are in ``loihi`` arithmetic.

    The compartment update (see ``neuro.dynamics.loihi``) is

    .. math::

        u_c[t] = \\mathrm{wrap}_{23}(\\mathrm{decay}(u_c[t-1], \\delta_u, 1) + q_c[t]), \\quad
        v[t] = \\mathrm{clip}(\\mathrm{decay}(v[t-1], \\delta_v, 0)
               + \\mathrm{wrap}_{23}(\\textstyle\\sum_c u_c[t] + b), v_{min}, v_{max})

    with :math:`b = \\mathrm{bias\\_mant} \\cdot 2^{\\mathrm{bias\\_exp}}` (each per neuron or per
    population) and a spike when :math:`v > \\mathrm{vth\\_mant} \\cdot 2^6`.
    Ranges: :data:`neuro.chips.LOIHI_REGISTER_RANGES`.
    """

    decay_u: int
    decay_v: int
    vth_mant: int
    bias_mant: Value = Value("constant", 0.0)
    bias_exp: Value = Value("constant", 0.0)  # one per population, or one per neuron
    refract_delay: int = 1
    vmin_exp: int = 23
    vmax_exp: int = 7
    decay_u_inh: int | None = None
    v_init: Value = Value("constant", 0.0)

    def __post_init__(self):
        for key, (lo, hi) in LOIHI_REGISTER_RANGES.items():
            if key in PER_NEURON:
                _set(self, key, integer_value(getattr(self, key), key, lo, hi))
            else:
                _set(self, key, optional_number(getattr(self, key), key, lo, hi, integer=True))
        for key in ("decay_u", "decay_v", "vth_mant"):
            if getattr(self, key) is None:
                raise NeuroError("missing (required for raw Loihi registers)", field=key)
        _set(self, "v_init", integer_value(self.v_init, "v_init", *LOIHI_V_RANGE))

    @classmethod
    def from_dict(cls, d: dict, where: str, base_dir: Path | None = None) -> LoihiRegisters:
        if isinstance(d, LoihiRegisters):
            return d
        with located(where):
            table(d, None, [f.name for f in fields(cls)])
            for key in ("decay_u", "decay_v", "vth_mant"):
                if key not in d:
                    raise NeuroError("missing (required for raw Loihi registers)", field=key)
            kw = dict(d)
            for key, (lo, hi) in (
                ("bias_mant", LOIHI_REGISTER_RANGES["bias_mant"]),
                ("bias_exp", LOIHI_REGISTER_RANGES["bias_exp"]),
                ("v_init", LOIHI_V_RANGE),
            ):
                if key in d:
                    kw[key] = integer_value(d[key], key, lo, hi, base_dir)
            return cls(**kw)

    def to_dict(self) -> dict:
        return _plain(self)


def _weights(raw: Any, where: str | None) -> tuple:
    """Four weights (one per axon type) for all neurons, or one row of four per neuron."""
    n_types = TRUENORTH_AXON_TYPES
    if isinstance(raw, list | tuple | np.ndarray):
        rows = list(raw)
        if rows and all(isinstance(r, list | tuple | np.ndarray) for r in rows):
            for i, r in enumerate(rows):
                if len(r) != n_types:
                    raise NeuroError(
                        f"must have {n_types} entries (one per axon type), got {len(r)}",
                        field=f"{where}[{i}]",
                    )
        elif any(isinstance(r, list | tuple | np.ndarray) for r in rows):
            raise NeuroError("must be 4 numbers or a list of rows of 4 numbers", field=where)
        for i, r in enumerate(rows):
            for x in np.ravel(r) if not isinstance(r, int | float) else [r]:
                if isinstance(x, bool) or not isinstance(x, int | float | np.integer | np.floating):
                    raise NeuroError(f"must be a number, got {x!r}", field=f"{where}[{i}]")
        arr = np.asarray(rows, dtype=np.float64)
    else:
        raise NeuroError("must be 4 numbers (one per axon type), rows of 4, or a .npy file", field=where)
    if arr.ndim == 1:
        if arr.size != n_types:
            raise NeuroError(f"must have {n_types} entries (one per axon type), got {arr.size}", field=where)
    elif arr.ndim == 2:
        if arr.shape[1] != n_types:
            raise NeuroError(
                f"rows must have {n_types} entries (one per axon type), got {arr.shape[1]}", field=where
            )
    else:
        raise NeuroError(f"must be 1-D (4,) or 2-D (neurons, 4), got shape {arr.shape}", field=where)
    if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
        raise NeuroError("must be integers", field=where)
    lo, hi = TRUENORTH_WEIGHT_RANGE
    if arr.size and (arr.min() < lo or arr.max() > hi):
        bad = arr.min() if arr.min() < lo else arr.max()
        raise NeuroError(f"must be in [{lo}, {hi}] (9-bit signed), got {bad:g}", field=where)
    ints = arr.astype(np.int64)
    if ints.ndim == 1:
        return tuple(int(x) for x in ints)
    return tuple(tuple(int(x) for x in row) for row in ints)


def _stochastic_synapse(raw: Any, where: str) -> tuple:
    if isinstance(raw, bool):
        raw = [raw] * TRUENORTH_AXON_TYPES
    if not isinstance(raw, list | tuple):
        raise NeuroError("must be true/false or a list of 4 (one per axon type)", field=where)
    if len(raw) != TRUENORTH_AXON_TYPES:
        raise NeuroError(
            f"must have {TRUENORTH_AXON_TYPES} entries (one per axon type), got {len(raw)}", field=where
        )
    return tuple(flag(x, f"{where}[{i}]") for i, x in enumerate(raw))


@dataclass(frozen=True)
class TrueNorthNeuron:
    """Integer parameters of a TrueNorth population (``[populations.truenorth]``).

    Symbols of Cassidy et al. (2013) in brackets; ranges in :mod:`neuro.chips` and
    ``docs/truenorth.md``.

    Attributes
    ----------
    weights : tuple or None
        [s_j^G] 4 signed weights, one per axon type (or one 4-tuple per neuron). None: the
        incoming projections give integer weights and the compiler builds the tables.
    stochastic_synapse : tuple of 4 bool
        [b_j^G] per axon type: add sign(s) with probability |s|/256 instead of s.
    leak : Value
        [lambda_j] signed leak added every tick.
    leak_reversal : bool
        [epsilon_j] multiply the leak by sign(V) (a negative leak then pulls V toward 0).
    stochastic_leak : bool
        [c_j] add sign(lambda) with probability |lambda|/256 instead of lambda.
    threshold, threshold_mask : Value
        [alpha_j, M_j] spike when V >= alpha + (PRN & M).
    neg_threshold : Value
        [beta_j] the negative threshold is -beta (saturate) or -(beta + eta) (reset).
    neg_mode : {'saturate', 'reset'}
        [kappa_j = 1, 0] below the negative threshold, V = -beta, or V is reset (mirror image).
    reset_mode : {'value', 'linear', 'none'}
        [gamma_j = 0, 1, 2] after a spike V = R, V - (alpha + eta), or V unchanged.
    reset_value : Value
        [R_j] reset potential (signed).
    v_init : Value
        Initial membrane potential.
    """

    weights: tuple | None = None
    stochastic_synapse: tuple = (False, False, False, False)
    leak: Value = Value("constant", 0.0)
    leak_reversal: bool = False
    stochastic_leak: bool = False
    threshold: Value = Value("constant", 1.0)
    threshold_mask: Value = Value("constant", 0.0)
    neg_threshold: Value = Value("constant", 0.0)
    neg_mode: str = "saturate"
    reset_mode: str = "value"
    reset_value: Value = Value("constant", 0.0)
    v_init: Value = Value("constant", 0.0)

    def __post_init__(self):
        if self.weights is not None:
            _set(self, "weights", _weights(self.weights, "weights"))
        _set(self, "stochastic_synapse", _stochastic_synapse(self.stochastic_synapse, "stochastic_synapse"))
        for key in ("leak_reversal", "stochastic_leak"):
            flag(getattr(self, key), key)
        for key, (lo, hi) in TRUENORTH_INT_VALUES.items():
            _set(self, key, integer_value(getattr(self, key), key, lo, hi))
        choice(self.neg_mode, "neg_mode", NEG_MODES)
        choice(self.reset_mode, "reset_mode", RESET_MODES)

    def check_size(self, size: int) -> None:
        """Refuse per-neuron parameters whose length is not the population's ``size``."""
        if self.weights is not None and isinstance(self.weights[0], tuple) and len(self.weights) != size:
            raise NeuroError(
                f"has {len(self.weights)} rows but the population has {size} neurons", field="weights"
            )
        for key in TRUENORTH_INT_VALUES:
            check_size(getattr(self, key), size, key)

    @classmethod
    def from_dict(
        cls, d: dict, where: str, base_dir: Path | None = None, size: int | None = None
    ) -> TrueNorthNeuron:
        if isinstance(d, TrueNorthNeuron):
            return d
        with located(where):
            table(d, None, [f.name for f in fields(cls)])
            kw = {k: v for k, v in d.items() if not (k == "weights" and v is None)}
            if isinstance(kw.get("weights"), str):
                kw["weights"] = load_npy(kw["weights"], "weights", base_dir)[1]
            for key, (lo, hi) in TRUENORTH_INT_VALUES.items():
                if key in kw:
                    kw[key] = integer_value(kw[key], key, lo, hi, base_dir)
            neuron = cls(**kw)
            if size is not None:
                neuron.check_size(size)
            return neuron

    def to_dict(self) -> dict:
        d: dict[str, Any] = {}
        if self.weights is not None:
            d["weights"] = (
                [list(r) for r in self.weights] if isinstance(self.weights[0], tuple) else list(self.weights)
            )
        d["stochastic_synapse"] = list(self.stochastic_synapse)
        for key in ("leak_reversal", "stochastic_leak", "neg_mode", "reset_mode"):
            d[key] = getattr(self, key)
        for key in TRUENORTH_INT_VALUES:
            d[key] = getattr(self, key).to_dict()
        return d

    def per_neuron(self, key: str, size: int) -> np.ndarray:
        """int64 values of integer parameter ``key`` for ``size`` neurons."""
        return np.rint(getattr(self, key).sample(None, size)).astype(np.int64)

    def weight_table(self, size: int) -> np.ndarray:
        """(size, 4) int64 weights per axon type (requires ``weights``)."""
        w = np.asarray(self.weights, dtype=np.int64)
        return np.tile(w, (size, 1)) if w.ndim == 1 else w.copy()
