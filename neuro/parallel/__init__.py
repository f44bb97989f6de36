"""Scale-out: one network stepped by several workers, each owning whole cores (or chips).

The same partition of a placement's cores into workers (:mod:`neuro.parallel.partition`), the
same per-worker sub-network (:mod:`neuro.parallel.subnet`) and the same compiled window loop
(:mod:`neuro.parallel.window`: steps between exchanges = the smallest delay between workers + 1)
serve both transports that move a window's spikes between workers
(:mod:`neuro.parallel.exchange`): MPI ranks (``mpiexec -n R neuro run ...``) and threads of one
process (``neuro run --threads T``, :mod:`neuro.parallel.thread_loop`);
:mod:`neuro.parallel.runner` runs them. Integer arithmetic delivers a worker's own spikes while
the exchange is in flight (:mod:`neuro.parallel.overlap`). Independent items (the images of
``mpiexec -n R neuro evaluate``) are split over ranks by :mod:`neuro.parallel.data`.
"""

from __future__ import annotations

import os

from neuro.errors import NeuroError

#: Environment variables set by MPI launchers (MPICH/Hydra, Open MPI, Slurm's PMI) with the
#: number of processes started.
_LAUNCHER_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")
#: Any of these means a launcher (or a batch system that may run one) started this process;
#: without any of them mpi4py is not imported (importing it initializes MPI: ~0.1 s per
#: command). ``NEURO_MPI=1`` forces the import for a launcher not listed here.
_LAUNCHER_VARS = (
    *_LAUNCHER_SIZE_VARS,
    "PMI_RANK",
    "PMIX_RANK",
    "OMPI_COMM_WORLD_RANK",
    "MV2_COMM_WORLD_SIZE",
    "SLURM_PROCID",
    "NEURO_MPI",
)

INSTALL_HINT = "running under mpiexec needs mpi4py and an MPI: pip install 'neuro[mpi]'"


def launched_by_mpi() -> bool:
    """Whether an MPI launcher's environment variables are set (see ``_LAUNCHER_VARS``)."""
    return any(os.environ.get(v) for v in _LAUNCHER_VARS)


def world():
    """The MPI world communicator when this process is one of several MPI ranks, else None.

    Without a launcher's environment variables (a plain ``neuro ...``) this is None at once,
    without importing :mod:`mpi4py`. Raises a one-line :class:`~neuro.errors.NeuroError`
    naming what to install when an MPI launcher started several processes but :mod:`mpi4py`
    is missing (each process would otherwise silently run the whole network on its own).
    """
    if not launched_by_mpi():
        return None
    launched = max((int(os.environ.get(v, "1") or 1) for v in _LAUNCHER_SIZE_VARS), default=1)
    try:
        from mpi4py import MPI
    except ImportError:
        if launched > 1:
            raise NeuroError(INSTALL_HINT) from None
        return None
    comm = MPI.COMM_WORLD
    return comm if comm.Get_size() > 1 else None
