"""What TrueNorth's published energy figure covers, and the counts a run exposes for it.

TrueNorth's energy is published as one **all-in** number per synaptic event: the chip's
total power at a measured operating point divided by the synaptic events per second. It is
not a sum of per-operation costs, so the events it covers must not be charged again:
an energy model (``neuro/energy/``, another module) should multiply ``synaptic_events`` by
the figure and add nothing for neuron updates, spikes, splitter neurons, packets or hops,
which are counted here only to describe the run.

Tags as in ``neuro/chips.py``: [P] primary, [S] secondary, [A] our assumption.
"""

from __future__ import annotations

from dataclasses import dataclass

# Counter names of TrueNorthSimulator.counters() that the figure covers.
COVERED_COUNTERS = (
    "synaptic_events",  # crossbar events: the figure's denominator
    "neuron_updates",  # integrate / leak / threshold of every neuron every tick
    "spikes",  # the network's neurons' spikes (packets out of the core)
    "splitter_spikes",  # splitter neurons are ordinary neurons on the chip
    "messages",  # packets on the mesh
    "hops_x",
    "hops_y",
)
NOT_COVERED_COUNTERS = ("input_spikes",)  # off-chip input: host and I/O power are outside the chip figure


@dataclass(frozen=True)
class EnergyFigure:
    """A published per-event energy and what it includes."""

    name: str
    joules_per_event: float
    event: str  # the counter the figure is divided by
    tag: str
    source: str
    covers: tuple
    excludes: tuple
    caveats: tuple

    def estimate(self, counters: dict) -> float:
        """Energy in joules of a run's ``counters`` (only the covered event count is charged)."""
        return float(counters.get(self.event, 0)) * self.joules_per_event


TRUENORTH_26PJ = EnergyFigure(
    name="truenorth-all-in",
    joules_per_event=26e-12,
    event="synaptic_events",
    tag="[S]",
    source="Merolla et al. 2014, Science 345:668 (26 pJ per synaptic event), as quoted by secondary "
    "sources; the primary text was not available (shared/reference/chips-loihi-truenorth.md)",
    covers=(
        "crossbar synaptic events (the denominator)",
        "neuron updates: synaptic integration, leak, threshold, reset, PRNG draws, every tick",
        "spike generation and routing: packets and mesh hops, including splitter neurons and their events",
        "static (leakage) power at the operating point of the measurement, spread over its events",
    ),
    excludes=(
        "off-chip input and output (host, I/O links): input_spikes are not charged",
        "operating points other than the measured one: the all-in figure scales with activity, "
        "because static power is divided by the events of that benchmark",
    ),
    caveats=(
        "conflicting figure: Akopyan et al. 2015 (TCAD), as tabulated in PMC10326429 Table 3, gives "
        "2.5 pJ per synaptic operation [S]; verify against the primary papers before relying on either",
    ),
)

FIGURES = {TRUENORTH_26PJ.name: TRUENORTH_26PJ}


def energy_counts(counters: dict) -> dict:
    """The counts an energy model needs from a TrueNorth run's ``counters``."""
    return {
        "synaptic_events": int(counters.get("synaptic_events", 0)),
        "spikes": int(counters.get("spikes", 0)),
        "splitter_spikes": int(counters.get("splitter_spikes", 0)),
        "splitter_neurons": int(counters.get("splitter_neurons", 0)),
        "input_spikes": int(counters.get("input_spikes", 0)),
        "messages": int(counters.get("messages", 0)),
        "hops": int(counters.get("hops_x", 0)) + int(counters.get("hops_y", 0)),
        "neuron_updates": int(counters.get("neuron_updates", 0)),
    }
