"""Float LIF populations → TrueNorth neurons, and per-neuron weight tables from synapse weights.

A LIF population (``tau_mem dv/dt = -(v - v_rest) + bias + I``, currents decaying with
``tau_syn``; ``docs/spec.md``) has no exact TrueNorth counterpart. In ``truenorth``
arithmetic it is converted per neuron as follows (all approximations are reported, see
:class:`ConversionReport`):

* **Synaptic current → instantaneous jump.** TrueNorth adds a synapse's weight to ``V`` in
  the tick the spike arrives. A current pulse of weight ``w`` (mV) puts the charge
  ``w tau_x / tau_mem`` (mV; ``tau_x`` = ``tau_syn`` or ``tau_syn_inh`` by receptor) into
  ``v`` over its lifetime, so the jump is that charge-equivalent value.
* **Origin and leak.** With ``b`` the neuron's bias, the float membrane relaxes toward
  ``v_eq = v_rest + b``.

  - If ``v_eq < v_threshold`` (bias below threshold), ``V`` is measured from ``v_eq`` and the
    exponential leak becomes a **linear leak toward zero** (leak reversal, ``lambda < 0``)
    of magnitude ``L = (3/4) s (v_threshold - v_eq) dt / tau_mem`` per tick. Jumps keep their
    size, so the firing rate under a constant drive ``c`` (mV/ms) is ``(c - L') / theta`` with
    ``L' = L / (s dt)``, against the float ``1 / (tau ln(c tau / (c tau - theta)))``
    (``theta = v_threshold - v_eq``); the factor 3/4 minimises the largest difference of the two
    f-I curves over all drives, which is then ``1 / (4 tau_mem)`` (12.5 Hz at 20 ms) — at the
    float rheobase (over) and at high rates (under). (1 would match the rheobase and
    under-fire by ``1 / (2 tau_mem)`` at high rates; 1/2 would match high rates and fire
    down to half the rheobase.)
  - If ``v_eq >= v_threshold`` (a tonically firing neuron), ``V`` is measured from
    ``v_reset`` and the drive becomes a **constant positive leak**
    ``L = s (v_threshold - v_reset) dt / (T + refractory)`` with
    ``T = tau_mem ln((v_eq - v_reset) / (v_eq - v_threshold))``, so that the unperturbed
    neuron fires at its float rate.

  ``L >= 1`` is rounded to an integer leak; ``0 < L < 1`` becomes a *stochastic* leak
  ``lambda = rint(256 L)`` (expected ``lambda/256`` per tick).
* **Threshold, reset.** ``alpha = max(1, rint(s (v_threshold - origin)))``, reset mode
  ``value`` with ``R = rint(s (v_reset - origin))``, negative threshold ``beta = 2**18 - 1``
  in saturate mode (no floor in practice), ``V0 = rint(s (v_init - origin))``.
* **Refractory periods** have no TrueNorth counterpart and are dropped (except in the tonic
  drive above).
* **Scale.** ``s`` (TrueNorth units per mV) is the largest that keeps every weight in
  -255..255, ``alpha`` and ``|R|`` below ``2**18`` and the leak below 256.
* **Weights → 4 levels per neuron.** Each neuron's incoming weights ``w s`` are grouped
  into at most 4 levels (1-D k-means, initialised at the 1/8, 3/8, 5/8, 7/8 quantiles,
  deterministic); the rounded level means are the neuron's 4 weights and a synapse's axon
  type is the index of its level (levels ascending). With at most 4 distinct rounded
  values nothing is merged.

Rounding is ``numpy.rint`` throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from neuro.dynamics.truenorth import TrueNorthParams
from neuro.errors import NeuroError
from neuro.truenorth.spec import (
    AXON_TYPES,
    LEAK_RANGE,
    NEG_THRESHOLD_RANGE,
    RESET_RANGE,
    THRESHOLD_RANGE,
    V_MAX,
    V_MIN,
    WEIGHT_RANGE,
)

PARAM_KEYS = TrueNorthParams._fields  # per-neuron parameters, in the kernel's order
KMEANS_ITERATIONS = 100
LEAK_FRACTION = 0.75  # linear leak = 3/4 of the exponential leak's rate at threshold (see module docstring)


@dataclass
class ConversionReport:
    """What the conversion of one LIF population approximated, and by how much.

    Errors are relative to the ideal (unrounded) TrueNorth values of the rules in the module
    docstring; the rules themselves (instantaneous synapses, linear leak, no refractory
    period) are approximations of the float model that no number here measures.
    """

    population: str
    neurons: int
    scale: float  # TrueNorth units per mV
    threshold_min: int
    threshold_max: int
    synapses: int = 0
    quantized_neurons: int = 0  # neurons whose weights had more than 4 distinct values
    weight_rms_rel_error: float = 0.0  # sqrt(sum (level - w s)^2 / sum (w s)^2)
    weight_max_abs_error_mv: float = 0.0  # max |level / s - w_eff| (mV of charge-equivalent jump)
    leak_max_rel_error: float = 0.0  # rounding: max |lambda_eff - L| / L over neurons with L > 0
    rate_error_bound_hz: float = 0.0  # linear leak: largest f-I difference for constant drive, 1/(4 tau_mem)
    stochastic_leak_neurons: int = 0
    tonic_neurons: int = 0
    refractory_dropped_ms: float = 0.0
    extra_latency_synapses: int = 0  # set by the mapper: synapses delayed by splitter neurons
    extra_latency_max_ticks: int = 0
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in self.__dict__.items()}

    def line(self) -> str:
        """A one-line summary for logs and ``neuro map``."""
        parts = [
            f"LIF population {self.population!r} converted to TrueNorth: scale {self.scale:.4g}/mV",
            f"threshold {self.threshold_min}..{self.threshold_max}",
            f"weights to <=4 levels per neuron ({self.quantized_neurons}/{self.neurons} neurons merged "
            f"levels; rms rel. error {100 * self.weight_rms_rel_error:.2f}%, "
            f"max {self.weight_max_abs_error_mv:.3g} mV)",
            "linear leak ("
            + (
                f"f-I error <= {self.rate_error_bound_hz:.3g} Hz under constant drive, "
                if self.rate_error_bound_hz
                else ""
            )
            + f"rounding error {100 * self.leak_max_rel_error:.1f}%"
            + (f", {self.stochastic_leak_neurons} stochastic" if self.stochastic_leak_neurons else "")
            + ")",
            "synaptic currents as charge-equivalent jumps",
        ]
        if self.tonic_neurons:
            parts.append(f"{self.tonic_neurons} tonic neurons driven by a constant leak")
        if self.refractory_dropped_ms:
            parts.append(f"refractory {self.refractory_dropped_ms:g} ms dropped")
        if self.extra_latency_synapses:
            parts.append(
                f"{self.extra_latency_synapses} synapses delayed by up to {self.extra_latency_max_ticks} "
                "tick(s) by splitter neurons"
            )
        return "; ".join(parts)


# --------------------------------------------------------------------------- weight tables
@njit(cache=True)
def _levels(ptr, x, kmax, exact, syn_level, table, n_levels):
    """Group the values ``x[ptr[j]:ptr[j+1]]`` of every neuron ``j`` into at most ``kmax`` integer
    levels. Writes the level index of every value (``syn_level``), the ascending levels
    (``table[j, :n_levels[j]]``); returns the first neuron with more than ``kmax`` distinct
    rounded values when ``exact`` (else -1), and the number of neurons whose levels were merged."""
    merged = 0
    for j in range(ptr.shape[0] - 1):
        a, b = ptr[j], ptr[j + 1]
        if b == a:
            n_levels[j] = 0
            continue
        r = np.rint(x[a:b])
        u = np.unique(r)
        if u.shape[0] <= kmax:
            for t in range(u.shape[0]):
                table[j, t] = np.int64(u[t])
            n_levels[j] = u.shape[0]
            for e in range(a, b):
                syn_level[e] = np.searchsorted(u, np.rint(x[e]))
            continue
        if exact:
            return j, merged
        merged += 1
        vals = np.sort(x[a:b])
        m = vals.shape[0]
        c = np.empty(kmax)
        for t in range(kmax):
            c[t] = vals[min(m - 1, int((2 * t + 1) * m / (2 * kmax)))]
        for _ in range(100):
            s = np.zeros(kmax)
            cnt = np.zeros(kmax)
            for e in range(m):
                best, bd = 0, abs(vals[e] - c[0])
                for t in range(1, kmax):
                    d = abs(vals[e] - c[t])
                    if d < bd:
                        best, bd = t, d
                s[best] += vals[e]
                cnt[best] += 1
            changed = False
            for t in range(kmax):
                if cnt[t] > 0:
                    nc = s[t] / cnt[t]
                    if nc != c[t]:
                        changed = True
                    c[t] = nc
            if not changed:
                break
        u = np.unique(np.rint(c))
        for t in range(u.shape[0]):
            table[j, t] = np.int64(u[t])
        n_levels[j] = u.shape[0]
        for e in range(a, b):
            best, bd = 0, abs(x[e] - u[0])
            for t in range(1, u.shape[0]):
                d = abs(x[e] - u[t])
                if d < bd:
                    best, bd = t, d
            syn_level[e] = best
    return -1, merged


def weight_tables(tgt: np.ndarray, values: np.ndarray, n: int, exact: bool) -> tuple:
    """Per-neuron 4-entry weight tables from the weights ``values`` of synapses onto local neuron
    ``tgt``.

    Returns ``(table (n, 4) int64, syn_type (m,) int8, merged, bad)``: the axon type of each
    synapse is the index of its level in its neuron's ascending levels. ``bad`` is the first
    neuron with more than 4 distinct values when ``exact`` (then nothing else is valid), else -1.
    """
    order = np.argsort(tgt, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tgt, minlength=n), out=ptr[1:])
    xs = np.ascontiguousarray(values[order], dtype=np.float64)
    lvl = np.zeros(xs.size, dtype=np.int64)
    table = np.zeros((n, AXON_TYPES), dtype=np.int64)
    n_levels = np.zeros(n, dtype=np.int64)
    bad, merged = _levels(ptr, xs, AXON_TYPES, exact, lvl, table, n_levels)
    syn_type = np.empty(values.size, dtype=np.int8)
    syn_type[order] = lvl
    return table, syn_type, int(merged), int(bad)


def distinct_weights(tgt: np.ndarray, values: np.ndarray, j: int) -> list:
    return sorted({int(v) for v in values[tgt == j]})


# --------------------------------------------------------------------------- LIF conversion
def _neuron_params(n: int) -> dict:
    return {
        "weights": np.zeros((n, AXON_TYPES), dtype=np.int64),
        "stoch_syn": np.zeros(n, dtype=np.int64),
        "leak": np.zeros(n, dtype=np.int64),
        "leak_rev": np.zeros(n, dtype=np.int64),
        "stoch_leak": np.zeros(n, dtype=np.int64),
        "alpha": np.ones(n, dtype=np.int64),
        "mask": np.zeros(n, dtype=np.int64),
        "beta": np.zeros(n, dtype=np.int64),
        "kappa": np.ones(n, dtype=np.int64),
        "gamma": np.zeros(n, dtype=np.int64),
        "reset": np.zeros(n, dtype=np.int64),
    }


def native_params(tn, size: int) -> tuple[dict, np.ndarray]:
    """Per-neuron arrays of a population given as TrueNorth parameters (weights left zero
    when the table comes from the projections), and its initial potentials."""
    p = _neuron_params(size)
    if tn.weights is not None:
        p["weights"] = tn.weight_table(size)
    p["stoch_syn"][:] = sum(1 << t for t, on in enumerate(tn.stochastic_synapse) if on)
    p["leak"] = tn.per_neuron("leak", size)
    p["leak_rev"][:] = int(tn.leak_reversal)
    p["stoch_leak"][:] = int(tn.stochastic_leak)
    p["alpha"] = tn.per_neuron("threshold", size)
    p["mask"] = tn.per_neuron("threshold_mask", size)
    p["beta"] = tn.per_neuron("neg_threshold", size)
    p["kappa"][:] = int(tn.neg_mode == "saturate")
    p["gamma"][:] = ("value", "linear", "none").index(tn.reset_mode)
    p["reset"] = tn.per_neuron("reset_value", size)
    return p, tn.per_neuron("v_init", size)


def splitter_params(n: int) -> dict:
    """Splitter neurons: weight 1 on axon type 0, threshold 1, reset to 0, no leak — each copies
    every spike of its one input axon to its own output axon, one tick later."""
    p = _neuron_params(n)
    p["weights"][:, 0] = 1
    return p


def convert_population(pop, dt: float, bias: np.ndarray, v_init: np.ndarray, tgt, w_eff, where: str):
    """Convert LIF population ``pop`` (see module docstring).

    Parameters
    ----------
    bias, v_init : (n,) float64 mV
        The population's sampled bias and initial potential.
    tgt, w_eff : arrays over its incoming synapses
        Local target index and charge-equivalent jump (mV) of every synapse.

    Returns ``(params, v0, syn_type, report)``.
    """
    n = pop.size
    v_eq = pop.v_rest + bias
    tonic = v_eq >= pop.v_threshold
    origin = np.where(tonic, pop.v_reset, v_eq)
    alpha_mv = pop.v_threshold - origin  # > 0
    ref = pop.refractory
    with np.errstate(divide="ignore", invalid="ignore"):
        period = np.where(
            tonic & (v_eq > pop.v_threshold),
            pop.tau_mem
            * np.log(np.maximum(v_eq - pop.v_reset, 1e-300) / np.maximum(v_eq - pop.v_threshold, 1e-300)),
            np.inf,
        )
    leak_mv = np.where(tonic, alpha_mv * dt / (period + ref), LEAK_FRACTION * alpha_mv * dt / pop.tau_mem)
    reset_mv = pop.v_reset - origin
    bounds = [THRESHOLD_RANGE[1] / alpha_mv.max(), LEAK_RANGE[1] / max(leak_mv.max(), 1e-300)]
    if np.abs(reset_mv).max() > 0:
        bounds.append(RESET_RANGE[1] / np.abs(reset_mv).max())
    wmax = float(np.abs(w_eff).max()) if w_eff.size else 0.0
    if wmax > 0:
        bounds.append(WEIGHT_RANGE[1] / wmax)
    s = float(min(bounds))
    if not math.isfinite(s) or s <= 0:
        raise NeuroError(f"cannot choose a TrueNorth voltage scale for population {pop.name!r}", field=where)

    p = _neuron_params(n)
    p["alpha"] = np.clip(np.rint(alpha_mv * s), 1, THRESHOLD_RANGE[1]).astype(np.int64)
    p["reset"] = np.clip(np.rint(reset_mv * s), *RESET_RANGE).astype(np.int64)
    p["beta"][:] = NEG_THRESHOLD_RANGE[1]
    p["kappa"][:] = 1
    p["gamma"][:] = 0
    L = leak_mv * s  # ideal leak magnitude per tick, TrueNorth units
    det = L >= 1.0
    mag = np.where(det, np.rint(L), np.clip(np.rint(256.0 * L), 0, LEAK_RANGE[1]))
    mag = np.where(L > 0, np.maximum(mag, 1), 0).astype(np.int64)
    p["leak"] = np.where(tonic, mag, -mag).astype(np.int64)
    p["leak_rev"] = (~tonic).astype(np.int64)
    p["stoch_leak"] = ((~det) & (L > 0)).astype(np.int64)
    eff = np.where(det, mag, mag / 256.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        leak_err = np.where(L > 0, np.abs(eff - L) / L, 0.0)
    v0 = np.clip(np.rint((v_init - origin) * s), V_MIN, V_MAX).astype(np.int64)

    q = w_eff * s
    table, syn_type, merged, _ = weight_tables(tgt, q, n, exact=False)
    p["weights"] = table
    lvl = table[tgt, syn_type.astype(np.int64)] if q.size else np.zeros(0)
    err = lvl - q
    denom = float(np.sum(q * q))
    rep = ConversionReport(
        population=pop.name,
        neurons=n,
        scale=s,
        threshold_min=int(p["alpha"].min()),
        threshold_max=int(p["alpha"].max()),
        synapses=int(q.size),
        quantized_neurons=merged,
        weight_rms_rel_error=float(np.sqrt(np.sum(err * err) / denom)) if denom > 0 else 0.0,
        weight_max_abs_error_mv=float(np.abs(err).max() / s) if err.size else 0.0,
        leak_max_rel_error=float(leak_err.max(initial=0.0)),
        rate_error_bound_hz=1000.0 / (4.0 * pop.tau_mem) if not tonic.all() else 0.0,
        stochastic_leak_neurons=int(p["stoch_leak"].sum()),
        tonic_neurons=int(tonic.sum()),
        refractory_dropped_ms=float(ref) if ref > 0 and not tonic.all() else 0.0,
    )
    return p, v0, syn_type, rep
