"""Where a multi-worker run's loop goes, per worker: stepping and exchange vs output vs waiting.

Runs ``bench/multichip.py``'s network (2 chips of ``--cores`` cores, Loihi arithmetic, delay 0:
the workers exchange every step) in this process with ``--threads T`` (``T = 1``: the
single-process engine), or as one rank of ``mpiexec -n R``, and times, per worker and run, the
runner's phases by wrapping them (wall clock, ms per run):

* ``exchange.run``: the chunk's step loop with its exchanges (threads: one compiled call per
  chunk, barrier waits inside; MPI: the per-window ``advance``, ``pack``, ``Alltoall``,
  ``unpack``, ``Alltoallv`` and ``deliver``, each also timed; in Loihi arithmetic, the
  overlapped exchange instead: ``advance``, ``Irecv``, ``pack``, ``Isend``, ``deliver_own``,
  ``Waitall``, ``unpack`` and ``deliver_received``);
* ``write_chunk``: gathering the chunk's spikes to worker 0 and (worker 0) ``write_spikes`` and
  ``flush`` of ``spikes.h5``;
* ``group.any``: the chunk-end agreement on stopping, where the other workers wait for worker 0's
  writing.

The single-process run reports its ``write_spikes`` and ``flush`` (``flush`` includes the one
of the file's creation and the one after the loop).

    python bench/worker_phases.py --threads 1
    python bench/worker_phases.py --threads 2
    mpiexec -n 2 python bench/worker_phases.py
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TIMES: dict = defaultdict(float)


def _timed(owner, attr: str, label: str) -> None:
    inner = getattr(owner, attr)

    def call(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            key = (threading.current_thread() is threading.main_thread(), label)
            TIMES[key] += time.perf_counter() - t0

    setattr(owner, attr, call)


class _TimedComm:
    """An mpi4py communicator whose collectives and point-to-point posts are timed."""

    def __init__(self, comm):
        self._comm = comm
        _timed(self, "Alltoall", "  Alltoall")
        _timed(self, "Alltoallv", "  Alltoallv")
        _timed(self, "Irecv", "  Irecv")
        _timed(self, "Isend", "  Isend")

    def __getattr__(self, name):
        return getattr(self._comm, name)

    def Alltoall(self, *args):  # noqa: N802 - mpi4py's names
        return self._comm.Alltoall(*args)

    def Alltoallv(self, *args):  # noqa: N802
        return self._comm.Alltoallv(*args)

    def Irecv(self, *args, **kwargs):  # noqa: N802
        return self._comm.Irecv(*args, **kwargs)

    def Isend(self, *args, **kwargs):  # noqa: N802
        return self._comm.Isend(*args, **kwargs)


class _TimedMPI:
    """The ``MPI`` module as the overlapped exchange uses it, ``Request.Waitall`` timed."""

    def __init__(self, mpi):
        self.Request = type("Request", (), {"Waitall": staticmethod(mpi.Request.Waitall)})
        _timed(self.Request, "Waitall", "  Waitall")


def _instrument() -> None:
    from neuro.io import sonata
    from neuro.parallel import exchange, runner

    _timed(runner, "_write_chunk", "write_chunk")
    _timed(sonata.SpikeWriter, "write_spikes", "  write_spikes")
    _timed(sonata.SpikeWriter, "flush", "  flush")
    for group in (exchange.MpiGroup, exchange.ThreadGroup):
        _timed(group, "any", "group.any")
    for xchg in (exchange.MpiExchange, exchange.ThreadExchange):
        _timed(xchg, "run", "exchange.run")
    _timed(runner.WorkerLoop, "advance", "  advance")
    _timed(runner.WorkerLoop, "deliver", "  deliver")
    _timed(runner.WorkerLoop, "deliver_own", "  deliver_own")
    _timed(runner.WorkerLoop, "deliver_received", "  deliver_received")
    init, setup = exchange.MpiExchange.__init__, exchange.MpiExchange.setup

    def init_timed(self, comm):
        init(self, comm)
        self.comm = _TimedComm(comm)

    def setup_timed(self, loop):
        setup(self, loop)
        self._mpi = _TimedMPI(self._mpi)
        _timed(self, "_pack", "  pack")
        _timed(self, "_unpack", "  unpack")

    exchange.MpiExchange.__init__ = init_timed
    exchange.MpiExchange.setup = setup_timed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cores", type=int, default=32, help="cores per chip")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from neuro import chips
    from neuro.parallel import world
    from neuro.run import run_spec

    chips.PROFILES["loihi"] = dataclasses.replace(
        chips.LOIHI.with_limits(synapse_memory_bits_per_core=None), cores_per_chip=args.cores
    )
    spec = importlib.util.spec_from_file_location("multichip", ROOT / "bench" / "multichip.py")
    multichip = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(multichip)
    _instrument()
    comm = world()
    rank = comm.Get_rank() if comm else 0
    out = Path(tempfile.mkdtemp(prefix=f"neuro_phases_{rank}_"))
    warm = multichip.build_spec(min(4, args.cores), 64, 16, 2, 1, "loihi").with_simulation(chips=1)
    run_spec(warm, out / "warm", overwrite=True, progress=False, threads=args.threads)
    net = multichip.build_spec(args.cores * 2, 1024, 1000, args.steps, 1, "loihi").with_simulation(chips=2)
    multichip._compile_once()
    try:
        _runs(args, net, out, comm, rank, run_spec)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _runs(args, net, out, comm, rank, run_spec) -> None:
    for r in range(args.repeat):
        TIMES.clear()
        res = run_spec(net, out / "run", overwrite=True, progress=False, threads=args.threads)
        rows = []
        for main_thread in (True, False):
            part = sorted((label, t) for (m, label), t in TIMES.items() if m == main_thread)
            if part:
                who = f"rank {rank}" if comm else ("worker 0" if main_thread else "worker 1+")
                rows.append(f"  {who}: " + ", ".join(f"{label.strip()} {t * 1e3:.1f}" for label, t in part))
        head = f"rank {rank} " if comm else ""
        print(
            f"{head}run {r}: {res.steps / res.loop_s:.1f} steps/s, loop {res.loop_s * 1e3:.0f} ms", flush=True
        )
        print("\n".join(rows), flush=True)


if __name__ == "__main__":
    main()
