"""Run a spec end to end: compile → place → simulate → stream spikes to ``OUTDIR/spikes.h5``."""

from __future__ import annotations

import logging
import signal
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuro import __version__
from neuro.chips import get_profile
from neuro.energy.ledger import ledger_from_simulator, write_ledger
from neuro.errors import NeuroError
from neuro.io.outdir import OutputDir, check_output_dir
from neuro.io.pages import small_pages
from neuro.io.sonata import SpikeWriter
from neuro.mapping import Placement, place
from neuro.network import CompiledNetwork, compile_network
from neuro.progress import Progress, compile_notice
from neuro.resources import check_resources
from neuro.run_checkpoint import (
    CHECKPOINT,
    Checkpointer,
    export_simulator,
    inputs_state,
    spec_hash,
)
from neuro.spec import Network
from neuro.stop_flag import StopFlag
from neuro.targets import get_target

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
    # with MPI ranks or threads: no synapse table, but a learning run's learned weights (rank 0)
    compiled: CompiledNetwork
    wall_s: float
    rank: int = 0  # MPI rank that returned this result (0 without MPI)
    bytes_exchanged: int = 0  # spike ids and headers sent between MPI ranks, all ranks together
    loop_s: float = 0.0  # wall time of the step loop alone (no construction, no final counters)
    output_s: float = 0.0  # of loop_s: gathering and writing spikes and probes to spikes.h5 (worker 0)

    def __repr__(self) -> str:  # short: the compiled network and placement hold large arrays
        state = "complete" if self.complete else "INCOMPLETE"
        return (
            f"RunResult({str(self.path)!r}, {self.steps} steps, {state}, seed {self.seed}, "
            f"{self.counters.get('spikes', 0)} spikes, {self.compiled.arithmetic}, "
            f"{self.placement.n_cores} {self.placement.profile.name} cores, {self.wall_s:.2f} s)"
        )


def prepare(net: Network, steps=None, seed=None, arithmetic=None, chip=None, chips=None) -> Network:
    """Apply command-line overrides to the simulation settings (validated), then check the chip's
    limits and the machine's memory in closed form (:func:`neuro.resources.check_resources`)."""
    try:
        net = net.with_simulation(steps=steps, seed=seed, arithmetic=arithmetic, chip=chip, chips=chips)
    except NeuroError as exc:
        raise exc.at(net.source) from None
    check_resources(net, get_profile(net.simulation.chip), net.simulation.chips)  # before any synapse
    return net


def check_outdir(outdir: Path, overwrite: bool) -> None:
    """Refuse an unusable OUTDIR before any work (see :func:`neuro.io.outdir.check_output_dir`)."""
    check_output_dir(outdir, overwrite)


def _checkpointer(net: Network, outdir, every, resume, stop_after) -> Checkpointer:
    meta = {
        "spec": net.to_dict(),
        "spec_hash": spec_hash(net),
        "seed": net.simulation.seed,
        "arithmetic": net.simulation.arithmetic,
        "steps": net.simulation.steps,
    }
    if every is not None:
        meta["checkpoint_every"] = float(every)  # a resumed run keeps checkpointing as often
    if (every is not None or resume is not None) and (
        not get_target(net.simulation.arithmetic).checkpoints
        or any(getattr(i, "graded", False) for i in net.inputs)
    ):
        raise NeuroError(
            "checkpoints are available for float and loihi arithmetic without graded inputs",
            net.source,
            "simulation.arithmetic",
        )
    if resume is not None and resume[1]["spec_hash"] != meta["spec_hash"]:
        raise NeuroError("the spec differs from the one the checkpoint was written with", resume[1]["path"])
    return Checkpointer(outdir, every, meta, resume, stop_after)


def load_resume(outdir, net: Network | None = None) -> tuple[Network, tuple]:
    """The network and checkpoint to continue the interrupted run in ``outdir`` (``net``: the
    spec given again on the command line, which must be the checkpoint's; None: the
    checkpoint's own). Refused in one line: no checkpoint, a complete run, another spec."""
    from neuro.io.guard import reading
    from neuro.io.sonata import open_spike_h5
    from neuro.run_checkpoint import load

    outdir = Path(outdir)
    if not outdir.is_dir():
        raise NeuroError("nothing to resume: no such output directory", str(outdir))
    spikes = outdir / "spikes.h5"
    done = -1
    if spikes.is_file():
        with open_spike_h5(spikes) as f, reading(spikes, "spike file"):
            if bool(f["emulator"].attrs.get("complete", False)):
                raise NeuroError("the run is complete: nothing to resume", str(spikes))
            done = int(f["emulator"].attrs.get("steps_completed", 0))
    st, meta = load(outdir / CHECKPOINT)
    if done < meta["step"]:
        what = "no spikes.h5" if done < 0 else f"spikes.h5 of {done} steps"
        raise NeuroError(
            f"nothing to resume: {what} next to a checkpoint of step {meta['step']}", str(outdir)
        )
    stored = Network.from_dict(meta["spec"], source=meta["path"])
    if net is None:
        net = stored
    elif spec_hash(net) != meta["spec_hash"]:
        now, then = net.to_dict(), meta["spec"]
        diff = next((k for k in then if then.get(k) != now.get(k)), "?")
        raise NeuroError(
            f"the spec differs from the one the checkpoint was written with (in {diff!r}); "
            "resume with the same spec and options",
            net.source,
        )
    if meta["seed"] != net.simulation.seed or meta["arithmetic"] != net.simulation.arithmetic:
        raise NeuroError("the checkpoint's seed or arithmetic differs from the spec's", meta["path"])
    return net, (st, meta)


def chip_convention(v, k0, chunk_spikes, probe_idx, probe_map, reading):
    """Probe traces ``v`` (steps, 1, probes) of one chunk as the chip reports them: ``reading``
    at every spike step of a neuron whose probe has ``convention = "chip"`` (the state itself
    is unchanged; Loihi 2 reads 128 there, see docs/loihi2.md)."""
    if not chunk_spikes:
        return v
    v = v.copy()
    col_of = {}
    for pb, local, start in probe_map:
        if pb.convention == "chip":
            for c in range(start, start + local.size):
                col_of[int(probe_idx[c])] = c
    for steps, neurons in chunk_spikes:
        for k, n in zip(steps.tolist(), neurons.tolist(), strict=True):
            c = col_of.get(n)
            if c is not None:
                v[k - k0, 0, c] = reading
    return v


def run_spec(
    net: Network,
    outdir,
    overwrite: bool = False,
    progress: bool = True,
    threads: int = 1,
    checkpoint_every: float | None = None,
    resume=None,
    stop_after: int | None = None,
) -> RunResult:
    """Simulate ``net`` as its ``simulation`` section says and write ``outdir/spikes.h5``.

    Everything that can fail on bad input (spec, mapping, discretization) fails before the
    output directory is touched. Ctrl-C (SIGINT) or SIGTERM stop the run at the next chunk
    boundary and leave a readable file marked ``complete = False``. Under ``mpiexec`` the run is
    split over the MPI ranks, with ``threads > 1`` over worker threads (:mod:`neuro.parallel`;
    the same file either way).

    With ``checkpoint_every`` (seconds; 0: every chunk) the whole state is written to
    ``outdir/checkpoint.h5`` that often and when the run is stopped (:mod:`neuro.run_checkpoint`);
    ``resume`` (from :func:`load_resume`) continues such a run in ``outdir``: spikes.h5 is cut
    back to the checkpoint's step and appended to. ``stop_after``: stop as if interrupted once
    that many steps are done.
    """
    from neuro.parallel import world

    ckpt = _checkpointer(net, outdir, checkpoint_every, resume, stop_after)
    comm = world()
    if comm is not None or threads > 1:
        from neuro.parallel.runner import RunHooks, run_spec_mpi, run_spec_threads

        hooks = RunHooks(
            check_outdir,
            lambda total, enabled: Progress(total, "steps", enabled, after_s=PROGRESS_AFTER_S),
            RunResult,
            lambda path: OutputDir(
                path, () if resume else ("spikes.h5", CHECKPOINT), overwrite or bool(resume)
            ),
            ckpt,
        )
        overwrite = overwrite or bool(resume)  # a resumed run writes into its directory
        if comm is not None:
            return run_spec_mpi(net, outdir, comm, hooks, overwrite, progress)
        return run_spec_threads(net, outdir, threads, hooks, overwrite, progress)
    t0 = time.perf_counter()
    outdir = Path(outdir)
    check_outdir(outdir, overwrite or bool(resume))
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

    if ckpt.resumed is not None:
        from neuro.run_checkpoint import check_shapes, import_simulator

        check_shapes(ckpt.state, compiled, ckpt.resumed["path"])
        import_simulator(sim, ckpt.state, ckpt.resumed)
    claim = OutputDir(outdir, () if resume else ("spikes.h5", CHECKPOINT), overwrite or bool(resume))
    claim.claim()  # atomic mkdir, or (overwrite) only spikes.h5 replaced; locked while running
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
    try:
        if ckpt.resumed is not None:
            writer = SpikeWriter.reopen(
                outdir / "spikes.h5", compiled.pop_names, compiled.pop_offsets, compiled.dt, sim.step, attrs
            )
        else:
            writer = SpikeWriter(
                outdir / "spikes.h5", compiled.pop_names, compiled.pop_offsets, compiled.dt, attrs
            )
            writer.write_placement(placement)
    except NeuroError:
        claim.release()
        raise
    except OSError as exc:
        claim.release()
        raise NeuroError(f"cannot write spikes.h5: {exc}", str(outdir)) from None
    bar = Progress(sim_cfg.steps, "steps", progress, after_s=PROGRESS_AFTER_S)
    notice = compile_notice(compiled.arithmetic) if progress else None
    if notice:
        sys.stderr.write(notice + "\n")

    for inp in net.inputs:
        if getattr(inp, "graded", False) and ckpt.resumed is None:
            writer.write_graded_input(inp, compiled.dt)
    chip_reading = compiled.target.spike_step_v_reading
    chip_probes = any(pb.convention == "chip" for pb in net.probes)
    chunk_spikes = []  # this chunk's spikes (step, neuron), for probes with convention "chip"
    output_s = [0.0]  # time in the writer's calls below

    @contextmanager
    def writing():
        """Time the writer's calls (``RunResult.output_s``); their temporaries with small pages
        (:mod:`neuro.io.pages`)."""
        t = time.perf_counter()
        try:
            with small_pages():
                yield
        finally:
            output_s[0] += time.perf_counter() - t

    def on_spikes(s, b, n):
        with writing():
            writer.write_spikes(s, n)
        if chip_probes:
            chunk_spikes.append((s.copy(), n.copy()))

    @writing()  # the whole call timed, its temporaries with small pages
    def on_probe(k0, v, i):
        if chip_probes:
            v = chip_convention(v, k0, chunk_spikes, probe_idx, probe_map, chip_reading)
            chunk_spikes.clear()
        for pb, local, start in probe_map:
            cols = slice(start, start + local.size)
            for var in pb.variables:
                writer.write_probe(pb.population, var, local, (v if var == "v" else i)[:, 0, cols])

    flag = StopFlag("at the end of the chunk in flight") if ckpt.every is not None else None

    def on_chunk(step):
        with writing():
            writer.flush(step)
        bar(step)
        stopping = ckpt.stop_now(step) or (flag is not None and flag.stop)
        if ckpt.due(step, stopping):
            st = export_simulator(sim)
            st.update(inputs_state(sim.inputs))
            ckpt.write(st, step, compiled.rng.bit_generator.state, 1)
        if stopping:
            raise KeyboardInterrupt

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
        if flag is not None:
            flag.__enter__()  # SIGINT/SIGTERM: stop at the chunk's end, with a checkpoint
        for end in (*ckpt.boundaries([]), sim_cfg.steps):  # (a chunk ends at the stop step)
            if sim_cfg.steps >= end > sim.step:
                sim.run(end - sim.step, on_spikes=on_spikes, on_probe=on_probe, on_chunk=on_chunk)
        complete = True
    finally:
        if flag is not None:
            flag.__exit__()
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
        if complete:
            ckpt.finished()
        claim.release()
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
        output_s=output_s[0],
    )
