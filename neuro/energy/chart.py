"""The energy chart of ``neuro energy -o chart.png``: totals per inference (log scale) and the
breakdown of each bar by event type (shares of its total)."""

from __future__ import annotations

from neuro.analysis.figure import new_figure
from neuro.energy.report import fmt_energy

SNN_GROUPS = {
    "synaptic ops": ("sop", "synaptic_events"),
    "synapse memory": ("weight_words", "weight_reads"),
    "neuron updates": ("neuron_updates", "active_neuron_updates", "idle_neuron_updates"),
    "spikes": ("spikes",),
    "routing (hops)": ("messages", "hops_x", "hops_y"),
    "learning": ("learning_weight_updates", "learning_trace_updates"),
}
ANN_GROUPS = {
    "MACs": ("macs",),
    "other ops": ("other_ops",),
    "weight memory": ("mem_weights",),
    "activation memory": ("mem_inputs", "mem_outputs"),
    "bias memory": ("mem_biases",),
}


def _bars(r: dict) -> list:
    snn = r["snn"]
    e = snn["energy_pj_per_inference"]
    parts = {g: sum(e.get(k, 0.0) for k in keys) for g, keys in SNN_GROUPS.items()}
    bars = [(f"SNN ({r['profile']['name']})", parts)]
    if r["ann"]:
        for p, blk in r["ann"]["precisions"].items():
            for b in ("max_reuse", "no_reuse"):
                t = blk["energy_pj_breakdown"][b]
                bars.append(
                    (
                        f"ANN {p} {b.replace('_', '-')}",
                        {g: sum(t.get(k, 0.0) for k in ks) for g, ks in ANN_GROUPS.items()},
                    )
                )
    return bars


def energy_chart(r: dict, dpi: float = 100):
    """A two-panel figure of the comparison ``r`` (see :func:`neuro.energy.compare.energy_comparison`)."""
    bars = _bars(r)
    fig = new_figure((11, 1.2 + 0.55 * len(bars)), dpi)
    ax0, ax1 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
    names = [b[0] for b in bars]
    totals = [sum(p.values()) for _, p in bars]
    ypos = list(range(len(bars)))[::-1]
    ax0.barh(ypos, totals, color=["tab:red"] + ["tab:blue"] * (len(bars) - 1))
    ax0.set_xscale("log")
    ax0.set_yticks(ypos, names)
    ax0.set_xlabel("energy per inference (pJ, log scale)")
    ax0.set_xlim(min(totals) / 3 if min(totals) > 0 else 1.0, max(totals) * 20)
    for y, t in zip(ypos, totals, strict=True):
        ax0.text(t, y, f" {fmt_energy(t)}", va="center", fontsize=8)
    groups = list(SNN_GROUPS) + list(ANN_GROUPS)
    import matplotlib

    cmap = matplotlib.colormaps["tab20"]
    left = [0.0] * len(bars)
    for gi, g in enumerate(groups):
        share = [(p.get(g, 0.0) / t if t else 0.0) for (_, p), t in zip(bars, totals, strict=True)]
        if not any(share):
            continue
        ax1.barh(ypos, share, left=left, color=cmap(gi % 20), label=g)
        left = [a + b for a, b in zip(left, share, strict=True)]
    ax1.set_yticks(ypos, [""] * len(bars))
    ax1.set_xlim(0, 1)
    ax1.set_xlabel("share of the bar's energy")
    ax1.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=4, frameon=False)
    ax0.set_title(f"{r['source']}: energy per inference", fontsize=9)
    ax1.set_title("breakdown by event type", fontsize=9)
    fig.tight_layout()
    return fig
