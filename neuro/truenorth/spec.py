"""The ``[populations.truenorth]`` table and the checks a network must pass to run on TrueNorth.

A population with a ``truenorth`` table is described by the TrueNorth neuron's own integer
parameters (Cassidy et al. 2013; formulas in :mod:`neuro.dynamics.truenorth`). Its incoming
projections say how the crossbar is used:

* with per-type ``weights`` in the table, every projection into it gives ``axon_type``
  (0..3; or a ``list`` connector whose third column is the axon type of each synapse) and
  the effective weight of a synapse is its neuron's weight for that type;
* without ``weights``, every projection gives integer ``weight`` values in -256..255 and the
  compiler builds each neuron's 4-entry weight table from the distinct values it receives
  (more than 4 distinct values into one neuron cannot be expressed and is refused).

Populations without a ``truenorth`` table are plain LIF populations, converted in
``truenorth`` arithmetic (:mod:`neuro.truenorth.convert`).

This module must not import :mod:`neuro.spec` at import time (``neuro.spec`` imports it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neuro.errors import NeuroError
from neuro.values import Value, load_npy, parse_value

AXON_TYPES = 4
WEIGHT_RANGE = (-256, 255)  # 9-bit signed synaptic weight s_j^G [S]
LEAK_RANGE = (-256, 255)  # 9-bit signed leak lambda_j [A: same width as the weights]
THRESHOLD_RANGE = (0, 2**18 - 1)  # alpha_j, 18-bit unsigned [A]
NEG_THRESHOLD_RANGE = (0, 2**18 - 1)  # beta_j, 18-bit unsigned [A]
MASK_RANGE = (0, 2**18 - 1)  # threshold PRN mask M_j [A]
RESET_RANGE = (-(2**18 - 1), 2**18 - 1)  # reset value R_j [A]
V_MIN, V_MAX = -(2**19), 2**19 - 1  # membrane potential register, 20-bit signed, saturating [A]
DELAY_TICKS = (1, 15)  # axonal delay in ticks [S]
NEG_MODES = ("saturate", "reset")  # kappa = 1, 0
RESET_MODES = ("value", "linear", "none")  # gamma = 0, 1, 2
_KEYS = (
    "weights",
    "stochastic_synapse",
    "leak",
    "leak_reversal",
    "stochastic_leak",
    "threshold",
    "threshold_mask",
    "neg_threshold",
    "neg_mode",
    "reset_mode",
    "reset_value",
    "v_init",
)
_INT_VALUES = {
    "leak": LEAK_RANGE,
    "threshold": THRESHOLD_RANGE,
    "threshold_mask": MASK_RANGE,
    "neg_threshold": NEG_THRESHOLD_RANGE,
    "reset_value": RESET_RANGE,
    "v_init": (V_MIN, V_MAX),
}


def _int_value(raw: Any, where: str, base_dir: Path | None, lo: int, hi: int, size: int) -> Value:
    val = parse_value(raw, where, base_dir)
    if val.is_random:
        raise NeuroError("TrueNorth parameters cannot be random distributions", field=where)
    arr = val.array if val.kind == "array" else np.array([val.constant])
    if val.kind == "array" and arr.size != size:
        raise NeuroError(f"has {arr.size} values but the population has {size} neurons", field=where)
    if arr.size and not np.all(arr == np.round(arr)):
        raise NeuroError("must be integers", field=where)
    if arr.size and (arr.min() < lo or arr.max() > hi):
        bad = arr.min() if arr.min() < lo else arr.max()
        raise NeuroError(f"must be in [{lo}, {hi}], got {bad:g}", field=where)
    return val


def _bool(v: Any, where: str) -> bool:
    if not isinstance(v, bool):
        raise NeuroError(f"must be true or false, got {v!r}", field=where)
    return v


def _weights(raw: Any, where: str, base_dir: Path | None, size: int) -> tuple:
    """Four weights (one per axon type) for all neurons, or one row of four per neuron."""
    if isinstance(raw, str):
        _, arr = load_npy(raw, where, base_dir)
    elif isinstance(raw, list | tuple | np.ndarray):
        rows = list(raw)
        if rows and all(isinstance(r, list | tuple | np.ndarray) for r in rows):
            for i, r in enumerate(rows):
                if len(r) != AXON_TYPES:
                    raise NeuroError(
                        f"must have {AXON_TYPES} entries (one per axon type), got {len(r)}",
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
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 1:
        if arr.size != AXON_TYPES:
            raise NeuroError(
                f"must have {AXON_TYPES} entries (one per axon type), got {arr.size}", field=where
            )
    elif arr.ndim == 2:
        if arr.shape[1] != AXON_TYPES:
            raise NeuroError(
                f"rows must have {AXON_TYPES} entries (one per axon type), got {arr.shape[1]}", field=where
            )
        if arr.shape[0] != size:
            raise NeuroError(f"has {arr.shape[0]} rows but the population has {size} neurons", field=where)
    else:
        raise NeuroError(f"must be 1-D (4,) or 2-D ({size}, 4), got shape {arr.shape}", field=where)
    if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
        raise NeuroError("must be integers", field=where)
    lo, hi = WEIGHT_RANGE
    if arr.size and (arr.min() < lo or arr.max() > hi):
        bad = arr.min() if arr.min() < lo else arr.max()
        raise NeuroError(f"must be in [{lo}, {hi}] (9-bit signed), got {bad:g}", field=where)
    ints = arr.astype(np.int64)
    if ints.ndim == 1:
        return tuple(int(x) for x in ints)
    return tuple(tuple(int(x) for x in row) for row in ints)


@dataclass(frozen=True)
class TrueNorthNeuron:
    """Integer parameters of a TrueNorth population (``[populations.truenorth]``).

    Symbols of Cassidy et al. (2013) in brackets; ranges in ``docs/truenorth.md``.

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

    @classmethod
    def from_dict(cls, d: dict, where: str, base_dir: Path | None = None, size: int = 1) -> TrueNorthNeuron:
        if isinstance(d, TrueNorthNeuron):
            return d
        if not isinstance(d, dict):
            raise NeuroError(f"must be a table, got {type(d).__name__}", field=where)
        for key in d:
            if key not in _KEYS:
                raise NeuroError(f"unknown key (allowed: {', '.join(sorted(_KEYS))})", field=f"{where}.{key}")
        kw: dict[str, Any] = {}
        if d.get("weights") is not None:
            kw["weights"] = _weights(d["weights"], f"{where}.weights", base_dir, size)
        if "stochastic_synapse" in d:
            raw = d["stochastic_synapse"]
            if isinstance(raw, bool):
                raw = [raw] * AXON_TYPES
            if not isinstance(raw, list | tuple):
                raise NeuroError(
                    "must be true/false or a list of 4 (one per axon type)",
                    field=f"{where}.stochastic_synapse",
                )
            if len(raw) != AXON_TYPES:
                raise NeuroError(
                    f"must have {AXON_TYPES} entries (one per axon type), got {len(raw)}",
                    field=f"{where}.stochastic_synapse",
                )
            kw["stochastic_synapse"] = tuple(
                _bool(x, f"{where}.stochastic_synapse[{i}]") for i, x in enumerate(raw)
            )
        for key in ("leak_reversal", "stochastic_leak"):
            if key in d:
                kw[key] = _bool(d[key], f"{where}.{key}")
        for key, (lo, hi) in _INT_VALUES.items():
            if key in d:
                kw[key] = _int_value(d[key], f"{where}.{key}", base_dir, lo, hi, size)
        if "neg_mode" in d:
            if d["neg_mode"] not in NEG_MODES:
                raise NeuroError(
                    f"must be one of {', '.join(NEG_MODES)}, got {d['neg_mode']!r}", field=f"{where}.neg_mode"
                )
            kw["neg_mode"] = d["neg_mode"]
        if "reset_mode" in d:
            if d["reset_mode"] not in RESET_MODES:
                raise NeuroError(
                    f"must be one of {', '.join(RESET_MODES)}, got {d['reset_mode']!r}",
                    field=f"{where}.reset_mode",
                )
            kw["reset_mode"] = d["reset_mode"]
        return cls(**kw)

    def to_dict(self) -> dict:
        d: dict[str, Any] = {}
        if self.weights is not None:
            d["weights"] = (
                [list(r) for r in self.weights] if isinstance(self.weights[0], tuple) else list(self.weights)
            )
        d["stochastic_synapse"] = list(self.stochastic_synapse)
        for key in ("leak_reversal", "stochastic_leak", "neg_mode", "reset_mode"):
            d[key] = getattr(self, key)
        for key in _INT_VALUES:
            d[key] = getattr(self, key).to_dict()
        return d

    def per_neuron(self, key: str, size: int) -> np.ndarray:
        """int64 values of integer parameter ``key`` for ``size`` neurons."""
        return np.rint(getattr(self, key).sample(None, size)).astype(np.int64)

    def weight_table(self, size: int) -> np.ndarray:
        """(size, 4) int64 weights per axon type (requires ``weights``)."""
        w = np.asarray(self.weights, dtype=np.int64)
        return np.tile(w, (size, 1)) if w.ndim == 1 else w.copy()


# --------------------------------------------------------------------------- network checks
def delay_ticks(delay_ms: float, dt: float) -> int:
    """TrueNorth delivery delay in ticks of a spec delay: ``1 + rint(delay / dt)``."""
    return 1 + int(round(delay_ms / dt))


def check_truenorth(net) -> None:
    """Raise a one-line :class:`NeuroError` if ``net`` cannot be expressed on TrueNorth cores
    (called by :meth:`neuro.targets.truenorth.TrueNorthTarget.check`)."""
    from neuro.spec import max_delay_ms  # late: neuro.spec imports this module

    err = net._err
    sim = net.simulation
    pops = {p.name: (i, p) for i, p in enumerate(net.populations)}
    for i, p in enumerate(net.populations):
        where = f"populations[{i}]"
        if p.loihi is not None:
            raise err(
                f"raw Loihi registers cannot run on TrueNorth cores (population {p.name!r})", f"{where}.loihi"
            )
        if p.truenorth is None:
            if p.adaptive:
                raise err(
                    "adaptive thresholds cannot be expressed on TrueNorth neurons",
                    f"{where}.{'theta_plus' if p.theta_plus else 'theta_init'}",
                )
            if p.v_threshold <= p.v_reset:
                raise err(
                    f"TrueNorth conversion needs v_threshold > v_reset, got {p.v_threshold} <= {p.v_reset}",
                    f"{where}.v_threshold",
                )
    for i, inp in enumerate(net.inputs):
        if inp.kind == "current":
            raise err(
                "current inputs cannot drive TrueNorth neurons (they have no bias input); use spike inputs",
                f"inputs[{i}].kind",
            )
    for i, pr in enumerate(net.projections):
        where = f"projections[{i}]"
        _, post = pops[pr.post]
        tn = post.truenorth
        if pr.plasticity is not None:
            raise err("TrueNorth cores have no on-chip learning", f"{where}.plasticity")
        hi, dfield = max_delay_ms(pr)
        if not math.isfinite(hi):
            raise err(
                f"delay distribution is unbounded; TrueNorth allows {DELAY_TICKS[0]}..{DELAY_TICKS[1]} ticks "
                "(clip it with 'high')",
                f"{where}.{dfield}",
            )
        ticks = delay_ticks(hi, sim.dt)
        if ticks > DELAY_TICKS[1]:
            raise err(
                f"delay {hi:g} ms arrives {ticks} ticks after the spike; TrueNorth delays are "
                f"{DELAY_TICKS[0]}..{DELAY_TICKS[1]} ticks (delay 0..{(DELAY_TICKS[1] - 1) * sim.dt:g} ms "
                f"at dt = {sim.dt:g} ms)",
                f"{where}.{dfield}",
            )
        typed_list = pr.connector.type == "list" and _list_columns(pr.connector) >= 3
        if tn is None:
            if pr.axon_type is not None:
                raise err(
                    f"population {pr.post!r} is a LIF population (converted); axon types apply to "
                    "populations with a truenorth table",
                    f"{where}.axon_type",
                )
            continue
        if tn.weights is not None:
            if pr.axon_type is None and not typed_list:
                raise err(
                    f"population {pr.post!r} has per-type weights: give axon_type (0..3), or a list "
                    "connector whose third column is the axon type",
                    f"{where}.axon_type",
                )
            if pr.weight != Value("constant", 1.0):
                raise err(
                    f"population {pr.post!r} takes its weights from truenorth.weights by axon type; "
                    "remove weight",
                    f"{where}.weight",
                )
        else:
            if pr.axon_type is not None:
                raise err(
                    f"population {pr.post!r} has no truenorth.weights table; give integer weights "
                    "(the compiler assigns axon types) or add the table",
                    f"{where}.axon_type",
                )
            if pr.weight.is_random:
                raise err("TrueNorth weights must be integers, not random distributions", f"{where}.weight")
            arr = pr.weight.array if pr.weight.kind == "array" else np.array([pr.weight.constant])
            lo, hi_w = WEIGHT_RANGE
            if arr.size and not np.all(arr == np.round(arr)):
                raise err("TrueNorth weights must be integers", f"{where}.weight")
            if arr.size and (arr.min() < lo or arr.max() > hi_w):
                bad = arr.min() if arr.min() < lo else arr.max()
                raise err(f"must be in [{lo}, {hi_w}] (9-bit signed), got {bad:g}", f"{where}.weight")


def _list_columns(conn) -> int:
    if conn.pairs is not None:
        return max((len(r) for r in conn.pairs), default=2)
    if conn.file is not None:
        try:
            arr = np.load(conn.file, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError):
            return 2
        return arr.shape[1] if arr.ndim == 2 else 2
    return 2
