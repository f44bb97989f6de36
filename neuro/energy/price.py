"""Price a ledger with a profile: energy = sum over priced events of count x energy per event.

For an event priced by a constant, :math:`E_e = N_e \\cdot p_e`. For a composed event the
price depends on the core (its memory sizes):

.. math::

    E_e = \\sum_{c} N_{e,c} \\Big( \\sum_k o_k\\,p_k + \\sum_m a_m\\,E_{mem}(s_{m,c}) \\Big)

with :math:`o_k` operations of constant :math:`k`, :math:`a_m` 64-bit accesses to memory
:math:`m` of size :math:`s_{m,c}` on core :math:`c`: ``synapse`` = the core's synapse memory
(bits / 8), ``state`` = compartments x ``state_bits`` / 8, ``buffer`` = the smallest SRAM
point (a spike FIFO). Off-core counts use the largest core's sizes. Included and unpriced
events are carried along by name, never as zeros.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuro.energy.ledger import EVENTS, Ledger
from neuro.energy.profile import Profile


@dataclass
class Priced:
    """Energy of a ledger under a profile.

    Attributes
    ----------
    energy_pj : dict of str -> float
        Per priced event, energy of the whole run (pJ).
    unit_pj : dict of str -> float
        Per priced event, the mean energy of one event (pJ).
    counts : dict of str -> int
        Run totals of every event.
    """

    profile: Profile
    ledger: Ledger
    energy_pj: dict
    unit_pj: dict
    counts: dict

    @property
    def total_pj(self) -> float:
        return float(sum(self.energy_pj.values()))

    def per_inference_pj(self) -> dict:
        return {e: v / self.ledger.inferences for e, v in self.energy_pj.items()}

    @property
    def total_per_inference_pj(self) -> float:
        return self.total_pj / self.ledger.inferences


def memory_sizes(ledger: Ledger, profile: Profile) -> dict:
    """Bytes of each memory kind on every core (n_cores + 1 entries, last = off-core)."""
    syn = np.asarray(ledger.core_synapse_bits, dtype=np.float64) / 8.0
    state = np.asarray(ledger.core_compartments, dtype=np.float64) * profile.state_bits / 8.0
    smallest = min((profile.constants[c].bytes for c in profile.memory.get("sram", [])), default=0)
    out = {}
    for name, arr in (("synapse", syn), ("state", state)):
        out[name] = np.append(arr, arr.max(initial=0.0))
    out["buffer"] = np.full(ledger.n_cores + 1, float(smallest))
    return out


def unit_prices(ledger: Ledger, profile: Profile, event: str) -> np.ndarray:
    """pJ of one ``event`` on every core (n_cores + 1 entries)."""
    ep = profile.events[event]
    if ep.pj is not None:
        return np.full(ledger.n_cores + 1, ep.pj)
    ops = sum(n * profile.constants[k].pj for k, n in ep.ops.items())
    out = np.full(ledger.n_cores + 1, ops)
    if ep.memory:
        sizes = memory_sizes(ledger, profile)
        for m, n in ep.memory.items():
            out = out + n * np.array([profile.mem_pj(s) for s in sizes[m]])
    return out


def price(ledger: Ledger, profile: Profile) -> Priced:
    """Energy of every priced event of ``ledger`` under ``profile``."""
    energy, unit = {}, {}
    for ev in profile.events:
        counts = ledger.cores[ev].astype(np.float64)
        e = float(counts @ unit_prices(ledger, profile, ev))
        energy[ev] = e
        total = counts.sum()
        per_core = unit_prices(ledger, profile, ev)[:-1]
        unit[ev] = float(e / total) if total else (float(per_core.mean()) if per_core.size else 0.0)
    return Priced(profile, ledger, energy, unit, {e: ledger.total(e) for e in EVENTS})
