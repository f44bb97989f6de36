"""Plain-text tables for the command line."""

from __future__ import annotations

from neuro.mapping import RESOURCES, Placement

_SHORT = {
    "compartments": "compartments",
    "input_axons": "in-axons",
    "output_axons": "out-axons",
    "synapse_memory_bits": "syn-mem bits",
}


def placement_table(p: Placement) -> str:
    """Per-core placement and utilization, with the peak of each resource against its limit."""
    coords = p.core_coords()
    limits = p.profile.limits()
    head = f"{'core':>5} {'chip':>4} {'x,y':>7} {'population':<16} {'neurons':>8} {'synapses':>10}"
    for r in RESOURCES:
        head += f" {_SHORT[r]:>14}"
    lines = [f"chip profile {p.profile.name}: {p.n_cores} cores used on {p.n_chips} chip(s)", head]
    for c in range(p.n_cores):
        row = (
            f"{c:>5} {coords[c, 0]:>4} {f'{coords[c, 1]},{coords[c, 2]}':>7} {p.core_pop[c][:16]:<16} "
            f"{p.usage['neurons'][c]:>8} {p.usage['synapses'][c]:>10}"
        )
        for r in RESOURCES:
            used, lim = int(p.usage[r][c]), limits[r]
            row += f" {used:>8}{f' {100 * used / lim:3.0f}%' if lim else '     '}"
        lines.append(row)
    util = p.utilization()
    peaks = ", ".join(
        f"{_SHORT[r]} {u['peak']}/{u['limit']} ({100 * u['peak_fraction']:.0f}%)"
        if u["limit"]
        else f"{_SHORT[r]} {u['peak']} (no limit)"
        for r, u in util.items()
    )
    lines.append(f"peak per core: {peaks}")
    return "\n".join(lines)
