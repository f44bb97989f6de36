"""``mpiexec -n R neuro run SPEC -o OUTDIR``: one network stepped by R MPI ranks.

Every rank makes every draw of the spec (the draws do not depend on R) but holds only its
share of the synapses: it places the network and builds its sub-network by streaming the
projections (:mod:`neuro.parallel.construct`; the cores partitioned into ranks by
:mod:`neuro.parallel.partition`, the sub-network as :mod:`neuro.parallel.subnet` defines it).
Threads share one compiled network and cut their sub-networks from it. Per step ``k`` each rank

1. updates its neurons (the engine's step loop, :func:`neuro.dynamics.step.run_chunk`, one
   step; the local neurons' own CSR rows are empty, so nothing is routed yet);
2. exchanges the step's spikes (:mod:`neuro.parallel.exchange`);
3. delivers the step's spikes — its own, the received ones and the step's input spikes, in
   ascending global source order — through the mirror rows of its CSR into the ring buffer
   (:func:`neuro.dynamics.routing.deliver_inputs`), which is what the single-process engine
   does at the end of step ``k``, in the same order. In integer arithmetic without learning the
   order does not change the sums, and a worker delivers its own and the input spikes while
   the exchange is in flight, the received ones after it (:mod:`neuro.parallel.overlap`).

Spike inputs are drawn on every rank from the run's generator for all channels (the same
stream whatever R). Spikes and probes are gathered to rank 0 once per chunk and written in the
single-process file's order; counters are summed exactly (allreduce of spike counts per
source and active updates per neuron) and then derived from the full placement as in a
single-process run (the synapse table's part of the ledger summed over ranks:
:mod:`neuro.parallel.counts`), plus ``messages_inter_chip`` / ``messages_intra_chip``. Rank 0's
``RunResult.compiled`` has no synapse table (``slot``, ``weight``, ``delay`` empty) except, when
the network learns, the whole network's learned ``weight``, gathered at the end.
"""

from __future__ import annotations

import logging
import signal
import time
from collections import namedtuple
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from neuro import __version__, run_checkpoint
from neuro.energy.ledger import ledger_from_simulator, write_ledger
from neuro.engine import CHUNK_STEPS, MIN_SPIKE_CAPACITY, Simulator
from neuro.errors import NeuroError
from neuro.inputs import SpecInputs
from neuro.io.pages import small_pages
from neuro.io.sonata import SpikeWriter
from neuro.network import CompiledNetwork
from neuro.parallel.construct import build_worker
from neuro.parallel.counts import synapse_sums
from neuro.parallel.entry import Bound
from neuro.parallel.exchange import MpiGroup, ThreadGroup, ThreadShared
from neuro.parallel.learning import TraceUpdates, global_ids
from neuro.parallel.overlap import deliver_own, deliver_received
from neuro.parallel.partition import worker_of_neuron
from neuro.parallel.subnet import min_remote_delay
from neuro.parallel.window import MAX_WINDOW, Outputs, Tables, advance, deliver_window

log = logging.getLogger(__name__)


class WorkerSimulator(Simulator):
    """The engine's simulator on a worker's sub-network; current injections (given for the
    full network by ``inputs``) are applied to the full bias and sliced to the local neurons."""

    def __init__(self, sub, full: CompiledNetwork, inputs, probe_neurons, learning: bool):
        super().__init__(sub.net, probe_neurons=probe_neurons, inputs=inputs, learning=learning)
        if self.learning:  # Loihi's rounding draws the whole network's random bits
            self.tables.set_global_ids(*global_ids(sub))
            self.trace_updates = TraceUpdates(full, self.tables)
        self.full = full
        self.local = sub.local
        self._full_bias = full.params["bias"]

    def _prepare(self, k: int) -> None:
        active = self.inputs.bias_delta(k)
        key = tuple(id(a) for _sl, a in active)
        if key != self._bias_key:
            self._bias_key = key
            bias = self.target.bias_with_currents(self.full, self._full_bias, active)
            self.params["bias"] = np.ascontiguousarray(bias[self.local])


class _MergedCounts:
    """The whole network's counts (summed over ranks), shaped like a simulator for
    :meth:`Simulator.counters` and :func:`~neuro.energy.ledger.ledger_from_simulator`."""

    counters = Simulator.counters

    def __init__(self, net, step, spike_count, update_counts, overflow, learning_counts, sim):
        self.net, self.target, self.step, self.batch = net, net.target, step, 1
        self.spike_count, self.overflow, self.inputs = spike_count, overflow, sim.inputs
        self.active, self.membrane = update_counts[:, 0], update_counts[:, 1]
        self.params = net.params
        # the whole network's state as one process holds it (NeuroBench's Footprint counts it)
        self.state = net.target.new_state(
            1,
            net.n_neurons,
            net.max_delay + 1,
            net.target.n_channels(net),
            net.v_init,
            net.i_init,
            net.params["theta_init"],
        )
        self.learning, self.host_ops = learning_counts is not None, {}
        self.tables = SimpleNamespace(arrays={"counts": learning_counts})


def _refuse_unsupported(net, compiled) -> None:
    if not isinstance(compiled, CompiledNetwork):
        raise NeuroError(
            f"running on several MPI ranks needs a LIF target (float or loihi), not {compiled.arithmetic}",
            net.source,
            "simulation.arithmetic",
        )
    if any(getattr(inp, "graded", False) for inp in net.inputs):
        raise NeuroError(
            "graded (payload) inputs are not exchanged between workers yet (run with one process)",
            net.source,
            "inputs",
        )


#: What :mod:`neuro.run` lends the runner (so that this module does not import it):
#: ``check_outdir(path, overwrite)``, ``progress(total, enabled)`` -> a progress bar and
#: ``result(...)`` -> its ``RunResult``, ``claim(path)`` -> the output directory's claim
#: (:class:`neuro.io.outdir.OutputDir`: created atomically, locked while worker 0 writes),
#: ``checkpoint``: a :class:`neuro.run_checkpoint.Checkpointer` or None.
RunHooks = namedtuple(
    "RunHooks", ("check_outdir", "progress", "result", "claim", "checkpoint"), defaults=(None,)
)


def run_spec_mpi(net, outdir, comm, hooks: RunHooks, overwrite: bool = False, progress: bool = True):
    """:func:`neuro.run.run_spec` on the ranks of the mpi4py communicator ``comm`` (the same
    file, counters and result as one process)."""
    t0 = time.perf_counter()
    group = MpiGroup(comm)
    if group.rank == 0:
        hooks.check_outdir(Path(outdir), overwrite)
    return _worker(group, net, outdir, progress, t0, hooks)


def run_spec_threads(
    net, outdir, threads: int, hooks: RunHooks, overwrite: bool = False, progress: bool = True
):
    """:func:`neuro.run.run_spec` with the network's cores partitioned over ``threads`` worker
    threads of this process (the same partition and sub-networks as MPI ranks; spikes pass
    through shared memory). Each worker builds its own share of the synapses from the spec, as
    an MPI rank does (:func:`~neuro.parallel.construct.build_worker`, every worker drawing the
    same stream in parallel), so no thread holds or cuts the whole synapse table. Worker 0 runs
    in the calling thread."""
    import threading

    t0 = time.perf_counter()
    hooks.check_outdir(Path(outdir), overwrite)
    shared = ThreadShared(threads)
    errors = []

    def work(rank):
        try:
            _worker(ThreadGroup(shared, rank), net, outdir, False, t0, hooks)
        except BaseException as exc:  # noqa: BLE001 - ends the other workers, re-raised below
            errors.append(exc)
            shared.abort()

    pool = [threading.Thread(target=work, args=(r,), daemon=True) for r in range(1, threads)]
    for t in pool:
        t.start()
    try:
        result = _worker(ThreadGroup(shared, 0), net, outdir, progress, t0, hooks)
    except BaseException:
        shared.abort()
        raise
    finally:
        for t in pool:
            t.join()
    if errors and not isinstance(errors[0], KeyboardInterrupt):
        raise errors[0]
    return result


def _worker(group, net, outdir, progress, t0, hooks):
    """One worker's run: its placement and sub-network built from the spec
    (:func:`~neuro.parallel.construct.build_worker`: ``full`` is the network without its synapse
    table, ``sub`` the worker's share), the step loop with the group's exchange, the output
    (worker 0) and the merged counters."""
    rank, size = group.rank, group.size
    full, placement, sub = build_worker(net, size, rank)  # only this worker's synapses
    _refuse_unsupported(net, full)
    outdir = Path(outdir)
    sim_cfg = net.simulation
    profile = placement.profile
    worker_of = worker_of_neuron(placement, size)
    log.info(
        "worker %d/%d: %d of %d neurons, %d of %d synapses",
        rank,
        size,
        sub.local.size,
        full.n_neurons,
        sub.net.n_synapses,
        full.n_synapses,
    )

    probe_idx, probe_map = [], []
    for pb in net.probes:
        sl = full.pop_slice(pb.population)
        local = np.arange(sl.stop - sl.start) if pb.neurons is None else np.asarray(pb.neurons)
        probe_map.append((pb, local, len(probe_idx)))
        probe_idx.extend((sl.start + local).tolist())
    probe_idx = np.asarray(probe_idx, dtype=np.int64)
    my_probes = np.flatnonzero(worker_of[probe_idx] == rank) if probe_idx.size else probe_idx
    loc_index = np.full(full.n_neurons, -1, dtype=np.int64)
    loc_index[sub.local] = np.arange(sub.local.size)
    inputs = SpecInputs(full)  # every rank draws every channel: the stream does not depend on R
    learns = any(p.plasticity is not None for p in net.projections)
    sim = WorkerSimulator(sub, full, inputs, loc_index[probe_idx[my_probes]], learns)
    xchg = group.exchange
    ckpt = hooks.checkpoint
    resumed = ckpt is not None and ckpt.resumed is not None
    if resumed:
        run_checkpoint.check_shapes(ckpt.state, full, ckpt.resumed["path"])

    group.barrier()  # every worker has checked the output directory before worker 0 creates it
    writer = None
    if rank == 0:
        claim = hooks.claim(outdir)  # atomic mkdir, or (overwrite) only spikes.h5 replaced; locked
        claim.claim()
        attrs = {
            "seed": full.seed,
            "steps": sim_cfg.steps,
            "arithmetic": full.arithmetic,
            "chip": profile.name,
            "chips": sim_cfg.chips,
            "version": __version__,
            "spec": net.to_dict(),
            "network": net.name,
            group.size_attr: size,
        }
        if resumed:  # cut back to the checkpoint's step, appended to from there
            writer = SpikeWriter.reopen(
                outdir / "spikes.h5", full.pop_names, full.pop_offsets, full.dt, ckpt.start, attrs,
                run_checkpoint.TRANSPORT_ATTRS,
            )  # fmt: skip
        else:
            writer = SpikeWriter(outdir / "spikes.h5", full.pop_names, full.pop_offsets, full.dt, attrs)
            writer.write_placement(placement)
    bar = hooks.progress(sim_cfg.steps, progress and rank == 0)

    stop_requested = [False]

    def _flag(signum, frame):
        stop_requested[0] = True

    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            old[sig] = signal.signal(sig, _flag)
        except ValueError:  # not in the main thread
            pass

    n_src = full.n_sources
    spike_count = np.zeros(n_src, dtype=np.int64)
    d_min = group.all_values(min_remote_delay(sub, worker_of, rank))
    loop = WorkerLoop(sim, sub, full.n_sources, _window(d_min, learns), rank)
    xchg.setup(loop)
    if resumed:
        run_checkpoint.import_worker(sim, sub, ckpt.state, ckpt.resumed, rank, worker_of, spike_count)
        if rank == 0:
            run_checkpoint.restore_exchange(xchg, int(ckpt.resumed.get("bytes_exchanged", 0)))
    if rank == 0:
        log.info("workers exchange spikes every %d step(s)", loop.window)
    stopped = False
    output_s = 0.0  # gathering and writing the chunks' output (worker 0: the writing too)
    t_loop = time.perf_counter()
    try:
        changes = inputs.change_points() if ckpt is None else ckpt.boundaries(inputs.change_points())
        while sim.step < sim_cfg.steps and not stopped:
            k0 = sim.step
            nxt = min([c for c in changes if c > k0] + [sim_cfg.steps])
            n = min(CHUNK_STEPS, nxt - k0)
            sim._prepare(k0)
            in_ptr, in_src = inputs.chunk(k0, n, 1, full.rng)
            pv = np.zeros((n, 1, my_probes.size), dtype=sim.probe_dtype)
            pi = np.zeros_like(pv)
            loop.start_chunk(k0, n, in_ptr, in_src, pv, pi)
            out_steps, out_ids = [], []
            done = 0
            while done < n:  # one call unless the spike buffer fills up
                d, n_out = xchg.run(loop, k0 + done, n - done, done, 0)
                out_steps.append(loop.out.out_step[:n_out].copy())
                out_ids.append(sub.local[loop.out.out_src[:n_out]])
                done += d
            sim._ran(k0, n)
            if rank == 0 and in_ptr[n] > 0:
                spike_count += np.bincount(in_src[: in_ptr[n]], minlength=n_src)
            if sim.learning:  # the sources this worker owns: its neurons, and (worker 0) the inputs
                ev_steps, ev_ids = out_steps, out_ids
                if rank == 0:
                    ev_steps = [*ev_steps, k0 + np.repeat(np.arange(n), np.diff(in_ptr[: n + 1]))]
                    ev_ids = [*ev_ids, in_src[: in_ptr[n]]]
                if ev_ids:
                    sim.trace_updates.add(np.concatenate(ev_steps), np.concatenate(ev_ids))
            sim.step = k0 + n
            t_out = time.perf_counter()
            _write_chunk(group, writer, k0, out_steps, out_ids, pv, pi, my_probes, probe_map)
            output_s += time.perf_counter() - t_out
            bar(sim.step)
            stopped = group.any(stop_requested[0])
            if ckpt is not None:
                stopped = run_checkpoint.at_chunk_end(ckpt, group, sim, sub, full, spike_count, xchg, stopped)
        complete = sim.step >= sim_cfg.steps and not stopped
    finally:
        loop_s = time.perf_counter() - t_loop
        for sig, handler in old.items():
            signal.signal(sig, handler)
        bar.done()
    spike_count[sub.local] += sim.spike_count[: sub.local.size]
    counters, exchanged = _merge_counters(group, full, placement, sim, sub, spike_count, xchg, writer)
    if rank == 0:
        writer.f["emulator"].attrs[group.bytes_attr] = exchanged
        writer.f["emulator"].attrs["exchange_window"] = loop.window  # steps between exchanges
        writer.f["emulator"].attrs["exchange_overlap"] = loop.order_free  # own spikes during it
        writer.close(complete, counters)
        if complete and ckpt is not None:
            ckpt.finished()
        claim.release()
    counters = group.bcast(counters)
    if stopped and rank == 0:
        log.warning("interrupted at step %d: %s is readable and marked incomplete", sim.step, outdir)
    result = hooks.result(
        outdir / "spikes.h5",
        full.seed,
        sim.step,
        complete,
        counters,
        placement,
        full,
        time.perf_counter() - t0,
        rank,
        exchanged,
        loop_s,
        output_s,
    )
    if stopped:
        raise KeyboardInterrupt
    return result


def _window(d_min: list, learns: bool) -> int:
    """Steps between exchanges: the smallest delay between workers + 1 (every worker's
    ``min_remote_delay``; None: no synapse between workers), at most ``MAX_WINDOW``; 1 when the
    network learns (the rules of step k need every worker's spikes of step k before step k + 1)."""
    known = [d for d in d_min if d is not None]
    if learns:
        return 1
    return min(MAX_WINDOW, min(known) + 1) if known else MAX_WINDOW


class WorkerLoop:
    """A worker's compiled step loop (:mod:`neuro.parallel.window`): the arguments of its
    kernels, set up once (tables, output buffers) and per chunk (inputs, probes, parameters)."""

    def __init__(self, sim: WorkerSimulator, sub, n_sources: int, window: int, rank: int):
        self.sim, self.window, self.rank = sim, window, rank
        n_loc = sub.local.size
        self.n_local = n_loc
        mirror_of = np.full(n_sources, -1, dtype=np.int64)
        mirror_of[sub.mirrors] = n_loc + np.arange(sub.mirrors.size)
        self.tabs = Tables(mirror_of[sub.local], mirror_of, sub.local, sub.needed_by)
        cap = max(MIN_SPIKE_CAPACITY, (window + 1) * n_loc)
        self.out_capacity = cap
        self._spikes = (
            np.empty(cap, dtype=np.int64),
            np.empty(cap, dtype=np.int32),
            np.empty(cap, dtype=np.int32),
        )
        self._acc = np.zeros((2, n_loc), dtype=np.uint8)
        self.win_ptr = np.zeros(window + 1, dtype=np.int64)
        self.fired = np.zeros(n_loc, dtype=np.uint8)
        self.csr = sim._csr()
        self.state = sim._state_tuple()
        self.learn = bool(sim.learning)
        self._n_mirrors = sub.mirrors.size
        self._advance, self._deliver = Bound(advance), Bound(deliver_window)
        self._deliver_own, self._deliver_received = Bound(deliver_own), Bound(deliver_received)
        # integer sums do not depend on the order of delivery (neuro.parallel.overlap)
        self.order_free = bool(sim.target.integer) and not self.learn

    def start_chunk(self, k0, n, in_ptr, in_src, pv, pi) -> None:
        sim = self.sim
        for fn in (self._advance, self._deliver, self._deliver_own, self._deliver_received):
            fn.reset()  # the chunk's arguments may differ in type (inputs, learning tables)
        self.in_ptr, self.in_src = in_ptr, in_src
        self.last_j, self.whole = n - 1, bool(sim._new_sample(k0))
        self.params = sim.target.kernel_params(sim.params, sim.adapt)
        self.lrn = sim.tables.pack(sim.target.tables_type) if self.learn else None
        rows = np.diff(in_ptr)
        self.pre = np.zeros(
            self._n_mirrors + (int(rows.max()) if self.learn and rows.size else 0), dtype=np.int64
        )
        out_step, out_b, out_src = self._spikes
        self.out = Outputs(
            out_step,
            out_b,
            out_src,
            sim.probe_idx,
            pv,
            pi,
            sim.spike_count,
            sim.update_counts,
            sim.overflow,
            self._acc,
        )

    def kernel_args(self) -> tuple:
        return (self.state, self.params, self.csr, self.tabs, self.in_ptr, self.in_src, self.out)

    def advance(self, k, d, j, n_out) -> int:
        return self._advance(
            k, d, j, self.last_j, self.whole, self.state, self.params, self.csr, self.tabs,
            self.in_ptr, self.in_src, self.out, n_out, self.win_ptr, self.fired,
        )  # fmt: skip

    def deliver(self, k, d, j, recv_ptr, recv_ids) -> int:
        return self._deliver(
            k, d, j, self.rank, self.state, self.csr, self.tabs, self.in_ptr, self.in_src, self.out.out_src,
            self.win_ptr, recv_ptr, recv_ids, self.learn, self.lrn, self.pre, self.n_local,
        )  # fmt: skip

    def deliver_own(self, k, d, j) -> None:
        self._deliver_own(
            k, d, j, self.state, self.csr, self.tabs, self.in_ptr, self.in_src, self.out.out_src, self.win_ptr
        )

    def deliver_received(self, k, d, me, recv_ptr, recv_ids) -> int:
        return self._deliver_received(k, d, me, self.state, self.csr, self.tabs, recv_ptr, recv_ids)


def _write_chunk(group, writer, k0, out_steps, out_ids, pv, pi, my_probes, probe_map) -> None:
    """Gather a chunk's spikes and probes to rank 0 and write them in the single-process order
    (by step, then global neuron index); worker 0's temporaries with small pages
    (:mod:`neuro.io.pages`)."""
    steps = np.concatenate(out_steps) if out_steps else np.zeros(0, dtype=np.int64)
    ids = np.concatenate(out_ids) if out_ids else np.zeros(0, dtype=np.int64)
    parts = group.gather((steps, ids, my_probes, pv, pi))
    if writer is None:
        return
    with small_pages():
        _write_parts(writer, k0, parts, pv, probe_map)


def _write_parts(writer, k0, parts, pv, probe_map) -> None:
    steps = np.concatenate([p[0] for p in parts])
    ids = np.concatenate([p[1] for p in parts])
    # every worker's part is sorted by (step, id): a stable sort of the key merges the runs
    order = np.argsort(steps * (int(ids.max()) + 1 if ids.size else 1) + ids, kind="stable")
    writer.write_spikes(steps[order], ids[order])
    n_probes = sum(p[2].size for p in parts)
    if n_probes:
        v = np.zeros((pv.shape[0], 1, n_probes), dtype=pv.dtype)
        i = np.zeros_like(v)
        for _s, _i, cols, pvr, pir in parts:
            v[:, :, cols], i[:, :, cols] = pvr, pir
        for pb, local, start in probe_map:
            cols = slice(start, start + local.size)
            for var in pb.variables:
                writer.write_probe(pb.population, var, local, (v if var == "v" else i)[:, 0, cols])
    writer.flush(k0 + pv.shape[0])


def _merge_counters(group, full, placement, sim, sub, spike_count, xchg, writer):
    """Exact totals over workers; the counters and ledger (worker 0) of the whole network, its
    synapse groups summed from every worker's share (:mod:`neuro.parallel.counts`)."""
    group.sum_inplace(spike_count)
    counts = np.zeros((1, 2, full.n_neurons), dtype=np.int64)  # active, membrane updates
    counts[0][:, sub.local] = sim.update_counts[0]
    group.sum_inplace(counts)
    overflow = sim.overflow.copy()
    group.sum_inplace(overflow)
    inter = group.sum(int(spike_count[sub.mirrors] @ sub.inter_chip_cores))
    exchanged = group.sum(xchg.bytes_sent)
    learning_counts = None
    if sim.learning:
        weight_updates = group.sum(int(sim.tables.arrays["counts"][0]))
        trace_updates = group.sum(sim.trace_updates.total(sim.step))
        learning_counts = np.array([weight_updates, trace_updates], dtype=np.int64)
        parts = group.gather((sub.global_pos, sim.net.weight))
        if writer is not None:  # the learned weights, back in the full network's table
            if full.weight.size != full.n_synapses:  # (every synapse is some worker's: all are set)
                full.weight = np.empty(full.n_synapses, dtype=sim.net.weight.dtype)
            for pos, w in parts:
                full.weight[pos] = w
    shares = synapse_sums(group, sub, full, placement, spike_count)
    if writer is None:
        return None, exchanged
    merged = _MergedCounts(full, sim.step, spike_count, counts, overflow, learning_counts, sim)
    counters = merged.counters(placement)
    ledger = ledger_from_simulator(merged, placement, synapses=shares)
    counters.update(ledger.totals())
    neuron_messages = int(spike_count[: full.n_neurons] @ placement.src_dest_cores[: full.n_neurons])
    counters["messages_inter_chip"] = inter
    counters["messages_intra_chip"] = neuron_messages - inter
    write_ledger(writer.f.require_group("emulator/counters"), ledger)
    return counters, exchanged
