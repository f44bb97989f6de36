"""Run a spec end to end: compile → place → simulate → stream spikes to ``OUTDIR/spikes.h5``."""

from __future__ import annotations

import logging
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuro import __version__
from neuro.chips import get_profile
from neuro.energy.ledger import ledger_from_simulator, write_ledger
from neuro.errors import NeuroError
from neuro.io.sonata import SpikeWriter
from neuro.mapping import Placement, place
from neuro.network import CompiledNetwork, compile_network
from neuro.spec import Network

log = logging.getLogger(__name__)
PROGRESS_AFTER_S = 2.0


@dataclass
class RunResult:
    """What a run produced."""

    path: Path
    seed: int
    steps: int
    complete: bool
    counters: dict
    placement: Placement
    compiled: CompiledNetwork
    wall_s: float
    rank: int = 0  # MPI rank that returned this result (0 without MPI)
    bytes_exchanged: int = 0  # spike ids and headers sent between MPI ranks, all ranks together
    loop_s: float = 0.0  # wall time of the step loop alone (no construction, no final counters)


def prepare(net: Network, steps=None, seed=None, arithmetic=None, chip=None, chips=None) -> Network:
    """Apply command-line overrides to the simulation settings (validated)."""
    try:
        return net.with_simulation(steps=steps, seed=seed, arithmetic=arithmetic, chip=chip, chips=chips)
    except NeuroError as exc:
        raise exc.at(net.source) from None


def check_outdir(outdir: Path, overwrite: bool) -> None:
    if outdir.exists() and not overwrite:
        raise NeuroError("output directory exists (use --overwrite to replace it)", str(outdir))
    if outdir.exists() and not outdir.is_dir():
        raise NeuroError("output path exists and is not a directory", str(outdir))


class _Progress:
    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled = total, enabled
        self.t0 = time.perf_counter()
        self.last = self.t0
        self.shown = False

    def __call__(self, step: int) -> None:
        now = time.perf_counter()
        if (
            not self.enabled
            or now - self.t0 < PROGRESS_AFTER_S
            or (now - self.last < 1.0 and step < self.total)
        ):
            return
        self.last = now
        rate = step / (now - self.t0)
        eta = (self.total - step) / rate if rate > 0 else float("inf")
        sys.stderr.write(
            f"\rstep {step}/{self.total} ({100 * step / max(self.total, 1):.0f}%), "
            f"{rate:,.0f} steps/s, ETA {eta:.0f} s "
        )
        sys.stderr.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def run_spec(
    net: Network, outdir, overwrite: bool = False, progress: bool = True, threads: int = 1
) -> RunResult:
    """Simulate ``net`` as its ``simulation`` section says and write ``outdir/spikes.h5``.

    Everything that can fail on bad input (spec, mapping, discretization) fails before the
    output directory is touched. Ctrl-C (SIGINT) or SIGTERM stop the run at the next chunk
    boundary and leave a readable file marked ``complete = False``. Under ``mpiexec`` the run is
    split over the MPI ranks, with ``threads > 1`` over worker threads (:mod:`neuro.parallel`;
    the same file either way).
    """
    from neuro.parallel import world

    comm = world()
    if comm is not None:
        from neuro.parallel.runner import RunHooks, run_spec_mpi

        return run_spec_mpi(
            net, outdir, comm, RunHooks(check_outdir, _Progress, RunResult), overwrite, progress
        )
    if threads > 1:
        from neuro.parallel.runner import RunHooks, run_spec_threads

        hooks = RunHooks(check_outdir, _Progress, RunResult)
        return run_spec_threads(net, outdir, threads, hooks, overwrite, progress)
    t0 = time.perf_counter()
    outdir = Path(outdir)
    check_outdir(outdir, overwrite)
    sim_cfg = net.simulation
    profile = get_profile(sim_cfg.chip)
    compiled = compile_network(net)
    log.info(
        "seed %d, arithmetic %s, %d neurons, %d synapses",
        compiled.seed,
        compiled.arithmetic,
        compiled.n_neurons,
        compiled.n_synapses,
    )
    placement = place(compiled, profile, sim_cfg.chips)
    probe_idx, probe_map = [], []
    for pb in net.probes:
        sl = compiled.pop_slice(pb.population)
        local = np.arange(sl.stop - sl.start) if pb.neurons is None else np.asarray(pb.neurons)
        probe_map.append((pb, local, len(probe_idx)))
        probe_idx.extend((sl.start + local).tolist())
    sim = compiled.target.simulator(compiled, probe_neurons=probe_idx)

    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    attrs = {
        "seed": compiled.seed,
        "steps": sim_cfg.steps,
        "arithmetic": compiled.arithmetic,
        "chip": profile.name,
        "chips": sim_cfg.chips,
        "version": __version__,
        "spec": net.to_dict(),
        "network": net.name,
    }
    writer = SpikeWriter(outdir / "spikes.h5", compiled.pop_names, compiled.pop_offsets, compiled.dt, attrs)
    writer.write_placement(placement)
    bar = _Progress(sim_cfg.steps, progress)

    def on_probe(k0, v, i):
        for pb, local, start in probe_map:
            cols = slice(start, start + local.size)
            for var in pb.variables:
                writer.write_probe(pb.population, var, local, (v if var == "v" else i)[:, 0, cols])

    def on_chunk(step):
        writer.flush(step)
        bar(step)

    complete = False
    old_term = signal.getsignal(signal.SIGTERM)

    def _term(signum, frame):
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, _term)
    except ValueError:  # not in the main thread
        old_term = None
    t_loop = time.perf_counter()
    try:
        sim.run(
            sim_cfg.steps,
            on_spikes=lambda s, b, n: writer.write_spikes(s, n),
            on_probe=on_probe,
            on_chunk=on_chunk,
        )
        complete = True
    finally:
        loop_s = time.perf_counter() - t_loop
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
        bar.done()
        counters = sim.counters(placement)
        ledger = ledger_from_simulator(sim, placement)  # per-population / per-core operation counts
        counters.update(ledger.totals())
        writer.flush(sim.step)
        write_ledger(writer.f.require_group("emulator/counters"), ledger)
        writer.close(complete, counters)
    if counters.get("overflow_q") or counters.get("overflow_u") or counters.get("overflow_u2"):
        log.warning(
            "Loihi register overflow (wrapped as the chip does): q %d, u %d, u+bias %d times",
            counters["overflow_q"],
            counters["overflow_u"],
            counters["overflow_u2"],
        )
    return RunResult(
        outdir / "spikes.h5",
        compiled.seed,
        sim.step,
        complete,
        counters,
        placement,
        compiled,
        time.perf_counter() - t0,
        loop_s=loop_s,
    )
