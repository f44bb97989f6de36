"""Text and JSON output of ``neuro energy`` (see :mod:`neuro.energy.compare`)."""

from __future__ import annotations

import json
import math

LABEL_W = 34
COL_W = 19


def fmt_energy(pj: float) -> str:
    """``pj`` picojoules with a readable unit (pJ, nJ, uJ, mJ, J)."""
    if pj is None or not math.isfinite(pj):
        return "-"
    for unit, scale in (("J", 1e12), ("mJ", 1e9), ("uJ", 1e6), ("nJ", 1e3)):
        if abs(pj) >= scale:
            return f"{pj / scale:.3g} {unit}"
    return f"{pj:.3g} pJ"


def fmt_count(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if abs(x - round(x)) < 1e-9 or abs(x) >= 1000:
        return f"{round(x):,}"
    return f"{x:,.1f}"


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def _row(label: str, cells: list) -> str:
    return f"{label:<{LABEL_W}}" + "".join(f"{c:>{COL_W}}" for c in cells)


def format_table(r: dict) -> str:
    """The side-by-side table, the SNN's energy by event and the assumptions."""
    snn, ann = r["snn"], r["ann"]
    prof = r["profile"]
    lines = [
        f"neuro energy {r['source']}: {r['inferences']} inference(s), {r['arithmetic']} arithmetic, "
        f"{r['chip']} placement",
        f"SNN profile: {prof['name']} - {prof['title']}",
        "",
    ]
    cols = ["SNN on chip"]
    blocks = []
    if ann:
        for p, blk in ann["precisions"].items():
            for b in ("max_reuse", "no_reuse"):
                cols.append(f"ANN {p} {b.replace('_', '-')}")
                blocks.append((p, b, blk))
    lines.append(_row("per inference", cols))
    lines.append("-" * (LABEL_W + COL_W * len(cols)))
    c = snn["counts_per_inference"]

    def ann_cells(fn):
        return [fn(p, b, blk) for p, b, blk in blocks]

    lines.append(_row("accuracy", [_pct(snn["accuracy"])] + ann_cells(lambda p, b, k: _pct(k["accuracy"]))))
    lines.append(
        _row(
            "synaptic ops (ACs) / MACs",
            [f"{fmt_count(c['sop'])} AC"]
            + ann_cells(
                lambda p, b, k: f"{fmt_count(k['Effective_MACs'] if b == 'max_reuse' else k['Dense'])} MAC"
            ),
        )
    )
    lines.append(
        _row(
            "  MACs counted as",
            ["0 (encoding on host)"]
            + ann_cells(lambda p, b, k: "effective" if b == "max_reuse" else "dense"),
        )
    )
    lines.append(
        _row(
            "neuron updates: all / active",
            [f"{fmt_count(c['neuron_updates'])} / {fmt_count(c['active_neuron_updates'])}"]
            + ann_cells(lambda p, b, k: "-"),
        )
    )
    lines.append(
        _row(
            "spikes: neurons / inputs",
            [f"{fmt_count(c['spikes'])} / {fmt_count(c['input_spikes'])}"] + ann_cells(lambda p, b, k: "-"),
        )
    )
    lines.append(
        _row(
            "other ops (bias, ReLU, requant)",
            ["-"] + ann_cells(lambda p, b, k: fmt_count(sum(k["other_ops"].values()))),
        )
    )
    lines.append(
        _row(
            "memory: weight reads",
            [f"{fmt_count(c['weight_reads'])} unpacked"]
            + ann_cells(
                lambda p, b, k: (
                    fmt_count(
                        k["memory"]["max_reuse_words" if b == "max_reuse" else "no_reuse_accesses"]["weights"]
                    )
                    + (" words" if b == "max_reuse" else " reads")
                )
            ),
        )
    )
    lines.append(
        _row(
            "  packed 64-bit words / all acc.",
            [f"{fmt_count(c['weight_words'])} words"]
            + ann_cells(
                lambda p, b, k: (
                    fmt_count(
                        sum(
                            k["memory"][
                                "max_reuse_words" if b == "max_reuse" else "no_reuse_accesses"
                            ].values()
                        )
                    )
                    + " all"
                )
            ),
        )
    )
    lines.append(
        _row(
            "energy",
            [fmt_energy(snn["energy_pj"])] + ann_cells(lambda p, b, k: fmt_energy(k["energy_pj"][b])),
        )
    )
    lines.append(
        _row(
            f"MAC-equivalents ({r['precision']} MAC {r['mac_pj']:.3g} pJ)",
            [fmt_count(snn["mac_equivalents"])]
            + ann_cells(lambda p, b, k: fmt_count(k["mac_equivalents"][b])),
        )
    )
    if ann:
        lines.append(
            _row(
                "SNN / ANN energy",
                ["-"] + ann_cells(lambda p, b, k: f"{snn['energy_pj'] / k['energy_pj'][b]:.3g}x"),
            )
        )
    lines += ["", f"SNN energy by event ({prof['name']}, {prof['kind']}):"]
    lines.append(f"  {'event':<26}{'count/inference':>18}{'pJ/event':>12}{'energy':>12}{'share':>9}")
    total = snn["energy_pj"] or 1.0
    for ev, e in sorted(snn["energy_pj_per_inference"].items(), key=lambda kv: -kv[1]):
        lines.append(
            f"  {ev:<26}{fmt_count(c[ev]):>18}{snn['unit_pj'][ev]:>12.3g}{fmt_energy(e):>12}"
            f"{100 * e / total:>8.1f}%"
        )
    for title, table in (("included in priced terms", snn["included"]), ("not priced", snn["unpriced"])):
        if table:
            lines.append(f"  {title}:")
            for ev, why in table.items():
                lines.append(f"    {ev} ({fmt_count(c[ev])}/inference): {why}")
    lines += ["", "Assumptions:"]
    lines += [f"  - {a}" for a in r["assumptions"]]
    for note in prof["notes"]:
        lines.append(f"  - profile note: {note}")
    return "\n".join(lines)


def to_json(r: dict) -> str:
    """The result as JSON (NeuroBench names where they apply)."""
    return json.dumps(r, indent=1, default=float)
