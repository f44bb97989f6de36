"""The CUBA network (Vogels & Abbott 2005; ``models/cuba.toml``) written as a PyNN script, run
through ``neuro.pynn``, against the same network run from the spec: are the spikes identical?

    python bench/pynn_cuba.py [--duration 1000] [--arithmetic float|loihi] [--cm 20 0.2] [--va]

The PyNN script gets exactly the spec's network: its connectivity and initial potentials are
those ``compile_network`` drew for ``models/cuba.toml`` (seed 1), handed to PyNN through
``FromListConnector`` and ``initialize(v=...)``; the neurons are IF_curr_exp in PyNN units
(weights in nA = mV * cm / tau_m, delay = dt, PyNN's minimum). PyNN's delays follow NEST (a
spike acts ``d`` after the end of the step it was fired in), so the spec compared against is
``models/cuba.toml`` with a delay of one step (Brian2's example has none: its spikes act in the
very next step, which no PyNN delay can express).
The round trip mV -> nA -> mV may move a weight by a unit in the last place (the largest
difference is printed); the spikes must still be identical (exit status 1 otherwise), for
``cm = 20`` nF and for Vogels & Abbott's ``cm = 0.2`` nF.
``--va`` also runs PyNN's own ``examples/VAbenchmarks.py`` (CUBA) unchanged on neuro.pynn
(needs the PyNN sdist, see ``bench/pynn_scenarios.py``) and prints its rates.
"""

from __future__ import annotations

import argparse
import runpy
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dataclasses import replace  # noqa: E402

from neuro.network import compile_network  # noqa: E402
from neuro.spec import load_spec  # noqa: E402
from neuro.values import Value  # noqa: E402
from neuro.verify.compare import run_neuro  # noqa: E402
from neuro.verify.layout import projection_synapses  # noqa: E402

SEED = 1


def cuba_spec():
    """models/cuba.toml with a delay of one step: PyNN's shortest connection (delay = dt, a
    neuron firing at the end of step k acts from step k + 2, as in NEST) is one step longer
    than Brian2's CUBA (delay 0, acting from step k + 1)."""
    net = load_spec(ROOT / "models" / "cuba.toml")
    dt = net.simulation.dt
    prs = [replace(p, delay=Value("constant", dt)) for p in net.projections]
    return replace(net, projections=tuple(prs))


def reference(steps: int, arithmetic: str = "float") -> dict:
    """Spikes of the spec: ``{pop: (step, neuron)}``."""
    spikes, _ = run_neuro(cuba_spec(), arithmetic, SEED, steps)
    return spikes


def pynn_run(steps: int, cm: float, arithmetic: str = "float") -> tuple[dict, float]:
    """The same network as a PyNN script on neuro.pynn: ``{pop: (step, neuron)}`` and the largest
    difference between its engine weights and the spec's (mV; same CSR order)."""
    import neuro.pynn as sim

    spec = cuba_spec()
    compiled = compile_network(spec, seed=SEED)
    dt = spec.simulation.dt
    sim.setup(timestep=dt, min_delay=dt, arithmetic=arithmetic, seed=SEED)
    pops = {}
    for p in spec.populations:
        cell = sim.IF_curr_exp(
            tau_m=p.tau_mem,
            cm=cm,
            v_rest=p.v_rest,
            v_thresh=p.v_threshold,
            v_reset=p.v_reset,
            tau_refrac=p.refractory,
            tau_syn_E=p.tau_syn,
            tau_syn_I=p.tau_syn_inh,
            i_offset=0.0,
        )
        pops[p.name] = sim.Population(p.size, cell, label=p.name)
        pops[p.name].initialize(v=compiled.v_init[compiled.pop_slice(p.name)])
        pops[p.name].record("spikes")
    for syn, proj in zip(projection_synapses(compiled), spec.projections, strict=True):
        post = spec.population(proj.post)
        w_na = syn.weight * cm / post.tau_mem
        conn = np.stack([syn.i, syn.j, w_na, np.full(syn.i.size, dt)], axis=1)
        sim.Projection(
            pops[proj.pre],
            pops[proj.post],
            sim.FromListConnector(conn, column_names=["weight", "delay"]),
            sim.StaticSynapse(),
            receptor_type="excitatory" if proj.receptor == "exc" else "inhibitory",
        )
    sim.run(steps * dt)
    out = {}
    for name, pop in pops.items():
        trains = pop.get_data("spikes").segments[0].spiketrains
        # a spike stamped t was emitted in the engine step starting at t - dt
        st = [np.rint(np.asarray(t.magnitude) / dt).astype(np.int64) - 1 for t in trains]
        nn = [np.full(len(t), i, dtype=np.int64) for i, t in enumerate(trains)]
        out[name] = (np.concatenate(st), np.concatenate(nn))
    session = sim.simulator.state.session
    ref_weight = (
        compile_network(spec, arithmetic, seed=SEED).weight if arithmetic != "float" else compiled.weight
    )
    dw = float(np.abs(session.compiled.weight.astype(float) - ref_weight).max())
    sim.end()
    return out, dw


def compare(a: dict, b: dict) -> dict:
    """Per population: spike counts, whether identical, first step where they differ."""
    res = {}
    for name in a:
        sa = set(zip(*(x.tolist() for x in a[name]), strict=True))
        sb = set(zip(*(x.tolist() for x in b[name]), strict=True))
        diff = sa ^ sb
        res[name] = {
            "spec": len(sa),
            "pynn": len(sb),
            "identical": not diff,
            "first_diff_step": min(s for s, _ in diff) if diff else None,
        }
    return res


def run_va(sdist: Path) -> None:
    """PyNN's examples/VAbenchmarks.py (CUBA), unchanged, with simulator 'neuro'."""
    import pyNN

    import neuro.pynn

    sys.modules["pyNN.neuro"] = neuro.pynn
    pyNN.neuro = neuro.pynn
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(sdist) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("examples/VAbenchmarks.py"))
        path = Path(tmp) / "VAbenchmarks.py"
        path.write_bytes(tar.extractfile(member).read())
        argv, cwd = sys.argv, Path.cwd()
        sys.argv = [str(path), "neuro", "CUBA"]
        import os

        os.chdir(tmp)
        try:
            runpy.run_path(str(path), run_name="__main__")
        finally:
            sys.argv = argv
            os.chdir(cwd)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=1000.0, help="ms (default 1000)")
    ap.add_argument("--arithmetic", default="float", choices=["float", "loihi"])
    ap.add_argument(
        "--cm", type=float, nargs="+", default=[20.0, 0.2], help="membrane capacitances to try (nF)"
    )
    ap.add_argument(
        "--va", action="store_true", help="also run PyNN's examples/VAbenchmarks.py CUBA unchanged"
    )
    args = ap.parse_args()
    steps = int(round(args.duration / 0.1))
    t0 = time.perf_counter()
    ref = reference(steps, args.arithmetic)
    print(f"spec models/cuba.toml, {args.arithmetic}, {args.duration:g} ms: {time.perf_counter() - t0:.1f} s")
    ok = True
    unit = "mV" if args.arithmetic == "float" else "register units"
    for cm in args.cm:
        t0 = time.perf_counter()
        got, dw = pynn_run(steps, cm, args.arithmetic)
        wall = time.perf_counter() - t0
        for name, r in compare(ref, got).items():
            print(
                f"cm {cm:g} nF  {name}: spec {r['spec']} spikes, neuro.pynn {r['pynn']}, "
                f"identical {r['identical']}, first differing step {r['first_diff_step']}, "
                f"max |dw| {dw:.2g} {unit}  ({wall:.1f} s)"
            )
            ok &= r["identical"]
    if args.va:
        sys.path.insert(0, str(ROOT / "bench"))
        from pynn_scenarios import find_sdist

        sdist = find_sdist()
        if sdist is None:
            print("PyNN sdist not found: skipping VAbenchmarks.py (see bench/pynn_scenarios.py --fetch)")
        else:
            run_va(sdist)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
