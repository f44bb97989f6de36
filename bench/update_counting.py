"""Cost of the membrane-update counter: the current kernels against those of a base tree.

The kernels count two kinds of neuron update: *active* (``v`` or a current changed) and
*membrane* (``v`` changed: NeuroBench's ``MembraneUpdates``), both in one 16-bit accumulator
per neuron. This script times the current kernels against the kernels (and their
``routing.py``) of a base tree that counted only active updates, on identical inputs,
alternating the two ``--repeats`` times and keeping the fastest of each; it checks that both
give the same spikes and the same active-update counts:

* CUBA (``models/cuba.toml``, 4000 neurons, 10000 steps), serial kernel (``run_float`` /
  ``run_loihi``);
* Diehl & Cook (100 exc + 100 inh, 784 Poisson pixel inputs, 700 steps), frozen, batch 100,
  parallel counting kernel (``run_float_counts`` / ``run_loihi_counts``), the path of
  ``neuro evaluate`` and ``neuro energy``.

    mkdir -p /tmp/base && git archive d35cea8 | tar -x -C /tmp/base   # before the counter
    python bench/update_counting.py --base /tmp/base [--repeats 9]
"""

from __future__ import annotations

import argparse
import sys
import time
import types
from pathlib import Path

import numpy as np

from neuro.dynamics import floating, loihi
from neuro.engine import FLOAT_PARAMS, LOIHI_PARAMS, Simulator
from neuro.inputs import ScheduledInputs
from neuro.learning.floating import FloatTables
from neuro.learning.loihi import LoihiTables
from neuro.network import compile_network
from neuro.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path, name: str, replace=()):
    """Import ``path`` as module ``name``, numba's disk cache off, with text replacements."""
    src = path.read_text().replace("cache=True", "cache=False")
    for a, b in replace:
        src = src.replace(a, b)
    mod = types.ModuleType(name)
    mod.__file__ = str(path)
    sys.modules[name] = mod
    exec(compile(src, str(path), "exec"), mod.__dict__)
    return mod


def _counts(sim, new: bool) -> np.ndarray:
    n = sim.net.n_neurons
    return np.zeros((sim.batch, 2, n) if new else (sim.batch, n), dtype=np.int64)


def _serial(net, mod, new: bool, steps: int):
    sim = Simulator(net)
    s, p = sim.state, sim.params
    state = (s["buf"], s["v"], s["cur"], s["ref"], s["theta"])
    csr = (net.indptr, net.slot, net.weight, net.delay)
    in_ptr, in_src = sim.inputs.chunk(0, steps, 1, net.rng)
    pv = np.zeros((steps, 1, 0), dtype=sim.probe_dtype)
    act = _counts(sim, new)

    def io(done):  # inputs and probe rows from step ``done`` on (batch 1)
        base = (
            in_ptr[done:],
            in_src,
            sim._out_step,
            sim._out_b,
            sim._out_src,
            sim.probe_idx,
            pv[done:],
            pv[done:],
        )
        return base + ((sim.spike_count, act, int(done == 0)) if new else (sim.spike_count, act))

    t0 = time.perf_counter()
    done = 0
    while done < steps:  # the kernel stops early when its spike buffers fill up
        if net.arithmetic == "float":
            params = tuple(p[k] for k in FLOAT_PARAMS) + (False,)
            lrn = sim.tables.pack(FloatTables)
            d, _ = mod.run_float(done, steps - done, state, params, csr, io(done), False, lrn)
        else:
            params = tuple(p[k] for k in LOIHI_PARAMS) + (False,)
            lrn = sim.tables.pack(LoihiTables)
            d, _ = mod.run_loihi(done, steps - done, state, params, csr, io(done), False, lrn, sim.overflow)
        done += d
    return time.perf_counter() - t0, int(sim.spike_count.sum()), int((act[:, 0] if new else act).sum())


def _batched(net, mod, new: bool, in_ptr, in_src, steps: int):
    sim = Simulator(net, batch=100, inputs=ScheduledInputs(), learning=False)
    s, p = sim.state, sim.params
    state = (s["buf"], s["v"], s["cur"], s["ref"], s["theta"])
    csr = (net.indptr, net.slot, net.weight, net.delay)
    counts = np.zeros((sim.batch, net.n_sources), dtype=np.int64)
    act = _counts(sim, new)
    extra = (act, 1) if new else (act,)
    t0 = time.perf_counter()
    if net.arithmetic == "float":
        params = tuple(p[k] for k in FLOAT_PARAMS) + (False,)
        mod.run_float_counts(0, steps, state, params, csr, in_ptr, in_src, counts, *extra)
    else:
        params = tuple(p[k] for k in LOIHI_PARAMS) + (False,)
        ov = np.zeros((sim.batch, 3), dtype=np.int64)
        mod.run_loihi_counts(0, steps, state, params, csr, in_ptr, in_src, counts, ov, *extra)
    return time.perf_counter() - t0, int(counts.sum()), int((act[:, 0] if new else act).sum())


def _dc_inputs(net, steps):
    from neuro.datasets import load_dataset
    from neuro.datasets.encoders import poisson_spikes

    imgs = load_dataset("embedded", "test").images[:100]
    st, b, c = poisson_spikes(imgs, 1.0 / 8.0, 0.5, steps, np.random.default_rng(0), np.full(100, 2.0))
    inp = ScheduledInputs()
    inp.set_schedule(st, b, c + net.source_offset("pixels"))
    return inp.chunk(0, steps, 100, net.rng)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, type=Path, help="A tree of the base commit (git archive).")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    dyn = args.base / "neuro" / "dynamics"
    _load(dyn / "routing.py", "base_routing")
    swap = (("from neuro.dynamics.routing import", "from base_routing import"),)
    old = {
        "float": _load(dyn / "floating.py", "base_floating", swap),
        "loihi": _load(dyn / "loihi.py", "base_loihi", swap),
    }
    new = {"float": floating, "loihi": loihi}
    from neuro.models.diehl_cook import DiehlCookConfig, build_network

    print(f"{'arithmetic':<10} {'workload':<44} {'base':>9} {'counter':>9} {'overhead':>9}")
    for arith in ("float", "loihi"):
        cuba = compile_network(load_spec(ROOT / "models" / "cuba.toml"), arithmetic=arith)
        dc = compile_network(build_network(DiehlCookConfig(n_neurons=100), arith, 0))
        dc_in = _dc_inputs(dc, 700)
        for label, run in (
            ("CUBA 4000, 10000 steps, serial", lambda m, c, net=cuba: _serial(net, m, c, 10000)),
            (
                "Diehl&Cook 100, B=100, 700 steps, parallel",
                lambda m, c, net=dc, dc_in=dc_in: _batched(net, m, c, *dc_in, 700),
            ),
        ):
            a, b = run(old[arith], False), run(new[arith], True)  # compile, and the same results
            if a[1:] != b[1:]:
                raise SystemExit(f"{arith} {label}: spikes / active updates differ: {a[1:]} vs {b[1:]}")
            t_old, t_new = [], []
            for _ in range(args.repeats):
                t_old.append(run(old[arith], False)[0])
                t_new.append(run(new[arith], True)[0])
            o, n = min(t_old), min(t_new)
            print(f"{arith:<10} {label:<44} {o:>8.3f}s {n:>8.3f}s {100 * (n / o - 1):>+8.1f}%", flush=True)


if __name__ == "__main__":
    main()
