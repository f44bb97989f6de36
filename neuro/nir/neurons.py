"""NIR's neuron nodes as spec populations (the table in ``docs/nir.md``).

NIR defines each neuron node as an ODE in the graph's time unit (``unit_ms`` ms); voltages are
taken as mV. A spike — the value 1 on an edge for one step — is read as a Dirac delta of area
``dt`` (in graph time units ``dt_g = dt / unit_ms``): the discrete-time libraries' "value 1 for
one step", whose Euler updates (snnTorch ``v = βv + I`` with ``r = τ/dt``, Norse ``v += dt/τ
(v_leak - v + I)``) are this delta to first order. With that reading every node's ODE has an
exact per-step solution in the spec, the same one Brian2 computes:

========  =========================================================================  =====================
node      spec population                                                              spec weight per unit
========  =========================================================================  =====================
LIF       ``tau_mem = τ``, ``tau_syn = 0``, ``bias = v_leak + r b``                    ``r dt_g / τ``
LI        as LIF, ``spiking = false``                                                  ``r dt_g / τ``
IF        ``leak = false``, ``tau_mem = unit``, ``tau_syn = 0``, ``bias = r b``        ``r dt_g``
I         as IF, ``spiking = false``                                                   ``r dt_g``
CubaLIF   ``tau_mem``, ``tau_syn``, ``bias = v_leak``, ``input_bias = r w_in b``       ``r w_in dt_g / τ_syn``
CubaLI    as CubaLIF, ``spiking = false``                                              ``r w_in dt_g / τ_syn``
========  =========================================================================  =====================

(``b``: the constant input of the node, from ``Affine``/convolution biases; ``v_rest = 0``).
Per-neuron arrays are allowed everywhere: ``r``, ``w_in``, ``v_leak`` and biases fold into
weights and bias arrays; neurons that differ in a time constant, threshold or reset are split
into one population per distinct set (``name``, ``name_1``, ...).

A ``Threshold`` node (:math:`z = H(x - \\theta)`, no state) is supported where it reads the
voltage of a non-spiking node (``LI``, ``CubaLI``, ``I``): the node becomes a population that
fires when ``v > θ`` and is not reset (``reset = false``, float arithmetic only), its ``v``
still the readout. A ``Threshold`` on a weighted spike train (a delta train) has no
counterpart and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neuro.errors import NeuroError

#: The neuron node types and the fields each one reads.
NEURON_FIELDS = {
    "LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
    "LI": ("tau", "r", "v_leak"),
    "IF": ("r", "v_threshold", "v_reset"),
    "I": ("r",),
    "CubaLIF": ("tau_mem", "tau_syn", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
    "CubaLI": ("tau_mem", "tau_syn", "r", "v_leak", "w_in"),
}
#: Loihi's register scale of a readout (``spiking = false``) comes from ``v_threshold - v_reset``;
#: registers then hold ±32 times this (mV).
READOUT_SCALE_MV = 1.0


@dataclass
class NeuronGroup:
    """The neurons of one node that share a population: indices into the node's flat
    neurons and the population's fields."""

    name: str
    index: np.ndarray
    fields: dict = field(default_factory=dict)


@dataclass
class NeuronNode:
    """A neuron node in spec terms: per-neuron weight gain (mV per unit of NIR weight), bias
    and input-bias per unit of the node's constant input, base bias, and its populations."""

    name: str
    kind: str
    shape: tuple
    gain: np.ndarray
    bias_gain: np.ndarray  # mV of bias (or input_bias) per unit of constant input b
    base_bias: np.ndarray  # v_leak (mV)
    filtered: bool  # the constant input goes to input_bias (a CubaLIF/CubaLI filter)
    groups: list


def _param(node, name: str, key: str, n: int) -> np.ndarray:
    val = getattr(node, key, None)
    if val is None:
        raise NeuroError(f"node {name!r} ({type(node).__name__}): missing", field=key)
    a = np.asarray(val, dtype=np.float64).reshape(-1)
    if a.size == 1 and n > 1:
        a = np.full(n, a[0])
    if a.size != n:
        raise NeuroError(f"node {name!r}: {key} has {a.size} values for {n} neurons", field=key)
    if not np.all(np.isfinite(a)):
        raise NeuroError(f"node {name!r}: {key} must be finite", field=key)
    return a


def _positive(a: np.ndarray, name: str, key: str) -> np.ndarray:
    if np.any(a <= 0):
        raise NeuroError(f"node {name!r}: {key} must be > 0, got {a.min():g}", field=key)
    return a


def neuron_shape(node) -> tuple:
    kind = type(node).__name__
    ref = node.r if kind in NEURON_FIELDS else None
    return tuple(int(x) for x in np.shape(ref)) or (1,)


def neuron_node(node, name: str, pop_name: str, dt_ms: float, unit_ms: float, threshold=None) -> NeuronNode:
    """Translate one neuron node; ``pop_name`` is the (sanitized) base name of its populations.
    ``threshold`` (the ``Threshold`` node that reads a non-spiking node's ``v``) makes it fire
    above that threshold without a reset."""
    kind = type(node).__name__
    shape = neuron_shape(node)
    n = int(np.prod(shape))
    p = {key: _param(node, name, key, n) for key in NEURON_FIELDS[kind] if key != "v_reset"}
    if "v_reset" in NEURON_FIELDS[kind]:
        p["v_reset"] = (
            np.zeros(n) if getattr(node, "v_reset", None) is None else _param(node, name, "v_reset", n)
        )
    dt_g = dt_ms / unit_ms
    spiking = "v_threshold" in p
    thr = p["v_threshold"] if spiking else np.full(n, READOUT_SCALE_MV)
    reset = p["v_reset"] if spiking else np.zeros(n)
    if threshold is not None:  # a non-spiking node read by a Threshold node
        thr = threshold
        reset = np.minimum(0.0, thr - READOUT_SCALE_MV)  # only the Loihi scale; v is never reset
    r = p["r"]
    if kind in ("LIF", "LI"):
        tau = _positive(p["tau"], name, "tau")
        gain, bias_gain, base, filtered = r * dt_g / tau, r, p["v_leak"], False
        keys = np.stack([tau * unit_ms, np.zeros(n), thr, reset], axis=1)
        extra = {}
    elif kind in ("IF", "I"):
        gain, bias_gain, base, filtered = r * dt_g, r, np.zeros(n), False
        keys = np.stack([np.full(n, unit_ms), np.zeros(n), thr, reset], axis=1)
        extra = {"leak": False}
    else:  # CubaLIF, CubaLI
        tm, ts = _positive(p["tau_mem"], name, "tau_mem"), _positive(p["tau_syn"], name, "tau_syn")
        gain, bias_gain, base, filtered = r * p["w_in"] * dt_g / ts, r * p["w_in"], p["v_leak"], True
        keys = np.stack([tm * unit_ms, ts * unit_ms, thr, reset], axis=1)
        extra = {}
    if spiking and np.any(thr <= reset):
        raise NeuroError(f"node {name!r}: v_threshold must be > v_reset", field="v_threshold")
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    groups = []
    for g, row in enumerate(uniq):
        fields = {
            "tau_mem": float(row[0]),
            "tau_syn": float(row[1]),
            "v_rest": 0.0,
            "v_threshold": float(row[2]),
            "v_reset": float(row[3]),
            **extra,
        }
        if threshold is not None:
            fields["reset"] = False
        elif not spiking:
            fields["spiking"] = False
        groups.append(
            NeuronGroup(pop_name if g == 0 else f"{pop_name}_{g}", np.flatnonzero(inverse == g), fields)
        )
    return NeuronNode(name, kind, shape, gain, bias_gain, base, filtered, groups)
