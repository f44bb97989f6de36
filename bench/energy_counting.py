"""Cost of counting active neuron updates: the step kernels with and without the counter.

The active-update counter (``act[i] += v or a current changed``) is the only count the
energy ledger needs from the hot loop; everything else is derived afterwards from spike
counts per source. This script times the current kernels against a copy of the kernels
without the counter (``--before DIR`` holding the pre-counter ``floating.py`` and
``loihi.py``), on identical inputs, alternating the two ``--repeats`` times and keeping the
fastest of each:

* CUBA (``models/cuba.toml``, 4000 neurons, 10000 steps = 1 s), serial kernel (today
  ``neuro.dynamics.step.run_chunk``; before, ``run_float`` / ``run_loihi``);
* a Diehl & Cook network (100 exc + 100 inh, 784 Poisson pixel inputs, 700 steps) frozen,
  batch 100, parallel counting kernel (``step.run_counts``; before, ``run_*_counts``), the
  path of ``neuro evaluate`` and ``neuro energy``.

    mkdir -p /tmp/before && for f in floating loihi; do
        git show fb3c474:neuro/dynamics/$f.py > /tmp/before/$f.py; done  # kernels before the counter
    python bench/energy_counting.py --before /tmp/before [--repeats 9]
"""

from __future__ import annotations

import argparse
import sys
import time
import types
from pathlib import Path

import numpy as np

from neuro.dynamics import step
from neuro.dynamics.floating import FLOAT_PARAMS
from neuro.dynamics.loihi import LOIHI_PARAMS
from neuro.engine import Simulator
from neuro.inputs import ScheduledInputs
from neuro.network import compile_network
from neuro.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path, name: str):
    """Import ``path`` as module ``name`` with numba's on-disk cache off (a cache written for
    a module loaded this way cannot be read back)."""
    mod = types.ModuleType(name)
    mod.__file__ = str(path)
    sys.modules[name] = mod
    exec(compile(path.read_text().replace("cache=True", "cache=False"), str(path), "exec"), mod.__dict__)
    return mod


def _serial(sim: Simulator, mod, counter: bool, steps: int) -> float:
    s, p, net = sim.state, sim.params, sim.net
    state = (s["buf"], s["v"], s["cur"], s["ref"], s["theta"])
    csr = (net.indptr, net.slot, net.weight, net.delay)
    in_ptr, in_src = sim.inputs.chunk(0, steps, 1, net.rng)
    pv = np.zeros((steps, 1, 0))
    io = (in_ptr, in_src, sim._out_step, sim._out_b, sim._out_src, sim.probe_idx, pv, pv, sim.spike_count)
    if counter:
        io = io + (sim.update_counts, 0)
    t0 = time.perf_counter()
    if mod is None:  # the current kernels: one step loop for every arithmetic
        lrn = sim.tables.pack(sim.target.tables_type)
        kp = sim.target.kernel_params(p, False)
        state, csr = sim._state_tuple(), sim._csr()
        step.run_chunk(0, steps, state, kp, csr, step.ChunkIO(*io), False, lrn, sim.overflow)
    elif net.arithmetic == "float":
        params = tuple(p[k] for k in FLOAT_PARAMS) + (False,)
        mod.run_float(0, steps, state, params, csr, io, False, _tables(sim, counter))
    else:
        params = tuple(p[k] for k in LOIHI_PARAMS) + (False,)
        lrn = _tables(sim, counter)
        mod.run_loihi(0, steps, state, params, csr, io, False, lrn, sim.overflow)
    return time.perf_counter() - t0


def _tables(sim: Simulator, current: bool):
    """Learning tables as the current kernels take them (a namedtuple), or as the kernels from
    before the counter took them (a plain tuple without the later ``need`` field)."""
    from neuro.learning.floating import FloatTables
    from neuro.learning.loihi import LoihiTables

    kind = FloatTables if sim.net.arithmetic == "float" else LoihiTables
    if current:
        return sim.tables.pack(kind)
    return tuple(sim.tables.arrays[n] for n in kind._fields if n != "need")


def _batched(sim: Simulator, mod, counter: bool, in_ptr, in_src, steps: int) -> float:
    s, p, net = sim.state, sim.params, sim.net
    state = (s["buf"], s["v"], s["cur"], s["ref"], s["theta"])
    csr = (net.indptr, net.slot, net.weight, net.delay)
    counts = np.zeros((sim.batch, net.n_sources), dtype=np.int64)
    extra = (sim.update_counts, 0) if counter else ()
    t0 = time.perf_counter()
    if mod is None:  # the current kernels
        ov = np.zeros((sim.batch, 3), dtype=np.int64)
        kp = sim.target.kernel_params(p, False)
        step.run_counts(0, steps, sim._state_tuple(), kp, sim._csr(), in_ptr, in_src, counts, ov, *extra)
    elif net.arithmetic == "float":
        params = tuple(p[k] for k in FLOAT_PARAMS) + (False,)
        mod.run_float_counts(0, steps, state, params, csr, in_ptr, in_src, counts, *extra)
    else:
        params = tuple(p[k] for k in LOIHI_PARAMS) + (False,)
        ov = np.zeros((sim.batch, 3), dtype=np.int64)
        mod.run_loihi_counts(0, steps, state, params, csr, in_ptr, in_src, counts, ov, *extra)
    return time.perf_counter() - t0


def _dc_inputs(sim, steps):
    from neuro.datasets import load_dataset
    from neuro.datasets.encoders import poisson_spikes

    imgs = load_dataset("embedded", "test").images[: sim.batch]
    st, b, c = poisson_spikes(imgs, 1.0 / 8.0, 0.5, steps, np.random.default_rng(0), np.full(sim.batch, 2.0))
    inp = ScheduledInputs()
    inp.set_schedule(st, b, c + sim.net.source_offset("pixels"))
    return inp.chunk(0, steps, sim.batch, sim.net.rng)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", required=True, type=Path, help="Directory with the kernels without counter.")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    old = {
        "float": _load(args.before / "floating.py", "before_floating"),
        "loihi": _load(args.before / "loihi.py", "before_loihi"),
    }
    new = {"float": None, "loihi": None}  # None: the current step loop (neuro.dynamics.step)
    from neuro.models.diehl_cook import DiehlCookConfig, build_network

    rows = []
    for arith in ("float", "loihi"):
        cuba = compile_network(load_spec(ROOT / "models" / "cuba.toml"), arithmetic=arith)
        dc = compile_network(build_network(DiehlCookConfig(n_neurons=100), arith, 0))
        dc_in = _dc_inputs(Simulator(dc, batch=100, inputs=ScheduledInputs(), learning=False), 700)
        for label, run in (
            ("CUBA 4000, 10000 steps, serial", lambda m, c, net=cuba: _serial(Simulator(net), m, c, 10000)),
            (
                "Diehl&Cook 100, B=100, 700 steps, parallel",
                lambda m, c, net=dc, dc_in=dc_in: _batched(
                    Simulator(net, batch=100, inputs=ScheduledInputs(), learning=False), m, c, *dc_in, 700
                ),
            ),
        ):
            run(old[arith], False), run(new[arith], True)  # compile / warm the caches
            t_old, t_new = [], []
            for _ in range(args.repeats):
                t_old.append(run(old[arith], False))
                t_new.append(run(new[arith], True))
            rows.append((arith, label, min(t_old), min(t_new)))
    print(f"{'arithmetic':<10} {'workload':<44} {'without':>9} {'with':>9} {'overhead':>9}")
    for arith, label, a, b in rows:
        print(f"{arith:<10} {label:<44} {a:9.3f} {b:9.3f} {100 * (b / a - 1):8.1f}%")


if __name__ == "__main__":
    sys.exit(main())
