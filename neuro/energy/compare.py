"""``neuro energy``: the SNN's energy per inference against a trained ANN baseline.

:func:`energy_comparison` measures (or reads) the SNN ledger, prices it with the chosen
profile, trains the MLP on the same training split, counts and prices it with ``cmos45``
(or the chosen profile when it has arithmetic and memory constants) at the chosen
precision and at the other one of int8 / fp32, and returns one JSON-ready dict. Names
follow NeuroBench where they apply (``Effective_ACs``, ``Effective_MACs``, ``Dense``,
``MembraneUpdates``, ``ActivationSparsity``, ``ConnectionSparsity``, ``Footprint``):

* SNN: ``Dense``, ``Effective_ACs``, ``ConnectionSparsity``, ``MembraneUpdates`` and
  ``Footprint`` exactly as the ``neurobench`` package defines them (dense weight matrices per
  projection; see :mod:`neuro.energy.neurobench`), ``ActivationSparsity``
  :math:`= 1 - \\text{spikes} / (N T)`, ``Effective_MACs`` = 0 (the pixels are encoded on the
  host); the chip-level counts under the project's names: ``stored_synapse_ops``
  :math:`= |S| T` (every stored synapse every step), ``zero_weight_fraction`` (zero weights
  among stored synapses), ``active_neuron_updates`` (``v`` or a current changed),
  ``synapse_memory_bytes`` (synapse memory of the placed cores);
* MAC-equivalents :math:`= E / E_{MAC}(p)` with the ``cmos45`` MAC at precision ``p``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuro.energy.ann import ann_cost, ann_energy, parse_ann_spec, train_mlp
from neuro.energy.ledger import EVENTS, read_ledger
from neuro.energy.measure import CHECKPOINT, check_rundir, measure_rundir
from neuro.energy.neurobench import neurobench_metrics
from neuro.energy.price import price
from neuro.energy.profile import load_profile
from neuro.errors import NeuroError
from neuro.targets import get_target, names


def _snn_block(ledger, priced, accuracy, mac_pj: float) -> dict:
    per = ledger.per_inference()
    inf = ledger.inferences
    steps = ledger.attrs.get("update_rounds", 0) / inf
    n = ledger.attrs.get("n_neurons", 0)
    syn = ledger.attrs.get("n_synapses", 0)
    energy = priced.per_inference_pj()
    total = float(sum(energy.values()))
    rows = ledger.row_names
    return {
        "accuracy": accuracy,
        **neurobench_metrics(ledger.attrs, per, inf),
        # the chip-level counts, under the project's own names
        "stored_synapse_ops": float(syn * steps),
        "zero_weight_fraction": round(ledger.attrs.get("zero_weights", 0) / syn, 4) if syn else 0.0,
        "active_neuron_updates": per["active_neuron_updates"],
        "synapse_memory_bytes": int(np.asarray(ledger.core_synapse_bits).sum() // 8),
        "steps_per_inference": steps,
        "neurons": n,
        "synapses": syn,
        "counts_per_inference": per,
        "energy_pj_per_inference": energy,
        "unit_pj": priced.unit_pj,
        "energy_pj": total,
        "mac_equivalents": total / mac_pj,
        "included": priced.profile.included,
        "unpriced": priced.profile.unpriced,
        "per_population": {
            r: {e: float(ledger.populations[e][i]) / inf for e in EVENTS} for i, r in enumerate(rows)
        },
        "per_core": {e: (np.asarray(ledger.cores[e], dtype=np.float64) / inf).tolist() for e in EVENTS},
        "core_population": ledger.core_population,
    }


def _ann_block(mlp, test_images, test_labels, precision: str, profile, mac_pj: float) -> dict:
    cost = ann_cost(mlp, test_images, test_labels, precision)
    energy = ann_energy(cost, profile)
    return {
        "precision": precision,
        "accuracy": cost.accuracy,
        "Effective_MACs": cost.effective_macs,
        "Effective_ACs": 0.0,
        "Dense": float(cost.dense_macs),
        "ActivationSparsity": cost.activation_sparsity,
        "ConnectionSparsity": cost.connection_sparsity,
        "Footprint": cost.footprint_bytes,
        "other_ops": {"bias_relu_adds": cost.other_adds, "requant_mults": cost.requant_mults},
        "memory": {
            "no_reuse_accesses": cost.accesses("no_reuse"),
            "max_reuse_words": cost.accesses("max_reuse"),
        },
        "energy_pj_breakdown": energy,
        "energy_pj": {b: float(sum(t.values())) for b, t in energy.items()},
        "mac_equivalents": {b: float(sum(t.values())) / mac_pj for b, t in energy.items()},
    }


def energy_comparison(
    source,
    profile: str = "loihi",
    ann: str | None = None,
    images: int | None = None,
    batch: int = 100,
    progress: bool = False,
) -> dict:
    """Measure, price and compare (see module docstring); everything per inference."""
    prof = load_profile(profile)
    src = Path(source)
    spec = None
    if src.is_dir() and (src / CHECKPOINT).is_file():
        n_exc = int(check_rundir(src)["extra"]["config"]["n_neurons"])
        spec = parse_ann_spec(ann, n_exc)  # a bad spec fails before the measurement
        m = measure_rundir(src, images=images, batch=batch, progress=progress)
        ledger, accuracy, kind = m.ledger, m.accuracy, "rundir"
    elif src.is_file() or (src.is_dir() and (src / "spikes.h5").is_file()):
        if ann:
            raise NeuroError(
                "--ann needs a training RUNDIR (its data set); a spikes.h5 has no task", str(src)
            )
        ledger, accuracy, kind, m = read_ledger(src), None, "spikes", None
        if images is not None:
            ledger.inferences = int(images)
    elif src.is_dir():
        raise NeuroError("no checkpoint.h5 and no spikes.h5: not a training or run directory", str(src))
    else:
        raise NeuroError("not found", str(src))
    precision = spec.precision if spec else "int8"
    other = "fp32" if precision != "fp32" else "int8"
    own = all(prof.has_arithmetic(q) for q in (precision, other, "int32")) and prof.memory.get("sram")
    cost_profile = prof if own else load_profile("cmos45")
    mac_pj = cost_profile.mac_pj(precision)
    priced = price(ledger, prof)
    result = {
        "source": str(src),
        "kind": kind,
        "inferences": ledger.inferences,
        "profile": {
            "name": prof.name,
            "title": prof.title,
            "kind": prof.kind,
            "path": prof.path,
            "notes": prof.notes,
        },
        "baseline_profile": cost_profile.name,
        "precision": precision,
        "mac_pj": mac_pj,
        "arithmetic": ledger.attrs.get("arithmetic"),
        "chip": ledger.attrs.get("chip"),
        "snn": _snn_block(ledger, priced, accuracy, mac_pj),
        "ann": None,
        "ratio": None,
    }
    if m is not None:
        result["presentations"] = m.presentations
        result["data"] = m.data
        mlp = train_mlp(m.train_images, m.train_labels, spec, m.seed)
        blocks = {
            p: _ann_block(mlp, m.test_images, m.test_labels, p, cost_profile, mac_pj)
            for p in (precision, other)
        }
        result["ann"] = {
            "sizes": mlp.sizes,
            "hidden": list(spec.hidden),
            "max_iter": spec.max_iter,
            "epochs_run": mlp.n_iter,
            "seed": m.seed,
            "train_images": int(m.train_images.shape[0]),
            "precisions": blocks,
        }
        snn_e = result["snn"]["energy_pj"]
        result["ratio"] = {
            f"{p}_{b}": snn_e / e for p, blk in blocks.items() for b, e in blk["energy_pj"].items() if e > 0
        }
    result["assumptions"] = assumptions(result, ledger, prof, cost_profile)
    return result


def assumptions(result: dict, ledger, prof, cost_profile) -> list[str]:
    """The assumptions behind ``result``, one sentence each (printed under the table)."""
    a = ledger.attrs
    out = []
    if result["kind"] == "rundir":
        out.append(
            f"SNN counts come from a real frozen evaluation of {result['inferences']} test images "
            f"({result['presentations']} presentations, re-presentations at higher intensity included); "
            "per inference = totals / images."
        )
        out.append(
            "Input encoding: pixels become Poisson spikes on the host (off-chip, not priced); on chip, "
            "every input spike's synaptic ops, messages and hops are counted and priced. "
            "The ANN reads raw pixels."
        )
        steps = a.get("steps_per_presentation")
        out.append(
            f"Clock-driven cores: every neuron is updated every step of each {steps}-step presentation; "
            "the reset to rest between images is not counted."
        )
    else:
        out.append(
            f"SNN counts are those stored with the run, divided by {result['inferences']} inference(s)."
        )
    arith = a.get("arithmetic")
    note = get_target(arith).active_update_note if arith in names() else ""
    if a.get("active_counted", True):
        out.append(f"Active neuron update = v or a current changed in that step ({arith} arithmetic).{note}")
    else:
        out.append(f"The {arith} engine does not flag active updates: every neuron update is counted active.")
    out.append(
        f"SOP = spikes x non-zero stored fan-out; {a.get('zero_weights', 0)} of "
        f"{a.get('n_synapses', 0)} synapses have zero weight. NeuroBench names (Dense, Effective_ACs, "
        "ConnectionSparsity, MembraneUpdates, Footprint) follow the neurobench package: one dense "
        "matrix per projection, v changes only (docs/energy.md)."
    )
    out.append(
        f"Placement on {a.get('chip')} cores ({ledger.n_cores} used); messages and hops follow "
        "dimension-order routes, inputs enter at mesh position (-1, 0)."
    )
    kind = (
        "all-in: one figure carries the whole bill"
        if prof.kind == "all-in"
        else "per-term: sum of priced events"
    )
    out.append(
        f"SNN profile {prof.name} ({kind}); events it does not price: {', '.join(prof.unpriced) or 'none'}."
    )
    if result["ann"]:
        ann = result["ann"]
        out.append(
            f"ANN: MLP {'-'.join(map(str, ann['sizes']))} (ReLU), scikit-learn Adam, "
            f"{ann['epochs_run']} epochs, random_state {ann['seed']}, trained on the same "
            f"{ann['train_images']} training images; "
            "int8 is post-training quantized (int8 weights, uint8 activations, int32 accumulators)."
        )
        out.append(
            "ANN bounds: no-reuse = Lemaire et al. FC model (dense MACs, one memory access per element); "
            "max-reuse = every needed weight/activation once, packed in 64-bit words, zero inputs skipped "
            "(effective MACs); batch 1."
        )
        out.append(
            f"ANN priced with {cost_profile.name}: memory per 64-bit access by tensor size (log-log between "
            "8 KB / 32 KB / 1 MB SRAM, DRAM above)."
        )
    out.append(
        f"MAC-equivalents = energy / one {result['precision']} MAC "
        f"({result['mac_pj']:.3g} pJ, {cost_profile.name})."
    )
    out.append("Dynamic energy only: no static/idle power and no host CPU energy on either side.")
    return out
