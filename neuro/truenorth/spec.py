"""The checks a network must pass to run on TrueNorth (the chip's rules, not its data).

The ``[populations.truenorth]`` table itself (:class:`~neuro.registers.TrueNorthNeuron`) is
core spec data in :mod:`neuro.registers`; the register ranges are in :mod:`neuro.chips`. The
names below are kept importable from here for the TrueNorth modules.
"""

from __future__ import annotations

import math

import numpy as np

from neuro.chips import TRUENORTH_AXON_TYPES as AXON_TYPES
from neuro.chips import TRUENORTH_DELAY_TICKS as DELAY_TICKS
from neuro.chips import TRUENORTH_LEAK_RANGE as LEAK_RANGE
from neuro.chips import TRUENORTH_MASK_RANGE as MASK_RANGE
from neuro.chips import TRUENORTH_NEG_THRESHOLD_RANGE as NEG_THRESHOLD_RANGE
from neuro.chips import TRUENORTH_RESET_RANGE as RESET_RANGE
from neuro.chips import TRUENORTH_THRESHOLD_RANGE as THRESHOLD_RANGE
from neuro.chips import TRUENORTH_V_RANGE
from neuro.chips import TRUENORTH_WEIGHT_RANGE as WEIGHT_RANGE
from neuro.registers import NEG_MODES, RESET_MODES, TrueNorthNeuron
from neuro.spec import max_delay_ms
from neuro.values import Value

V_MIN, V_MAX = TRUENORTH_V_RANGE
__all__ = [
    "AXON_TYPES",
    "DELAY_TICKS",
    "LEAK_RANGE",
    "MASK_RANGE",
    "NEG_MODES",
    "NEG_THRESHOLD_RANGE",
    "RESET_MODES",
    "RESET_RANGE",
    "THRESHOLD_RANGE",
    "TrueNorthNeuron",
    "V_MAX",
    "V_MIN",
    "WEIGHT_RANGE",
    "check_truenorth",
    "delay_ticks",
]


# --------------------------------------------------------------------------- network checks
def delay_ticks(delay_ms: float, dt: float) -> int:
    """TrueNorth delivery delay in ticks of a spec delay: ``1 + rint(delay / dt)``."""
    return 1 + int(round(delay_ms / dt))


def check_truenorth(net) -> None:
    """Raise a one-line :class:`NeuroError` if ``net`` cannot be expressed on TrueNorth cores
    (called by :meth:`neuro.targets.truenorth.TrueNorthTarget.check`)."""
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
