"""Scale-out: one network stepped by several workers, each owning whole cores (or chips).

The same partition of a placement's cores into workers (:mod:`neuro.parallel.partition`), the
same per-worker sub-network (:mod:`neuro.parallel.subnet`) and the same compiled window loop
(:mod:`neuro.parallel.window`: steps between exchanges = the smallest delay between workers + 1)
serve both transports that move a window's spikes between workers
(:mod:`neuro.parallel.exchange`): MPI ranks (``mpiexec -n R neuro run ...``) and threads of one
process (``neuro run --threads T``); :mod:`neuro.parallel.runner` runs them. Independent items (the images of
``mpiexec -n R neuro evaluate``) are split over ranks by :mod:`neuro.parallel.data`.
"""

from __future__ import annotations

import os

from neuro.errors import NeuroError

#: Environment variables set by MPI launchers (MPICH/Hydra, Open MPI, Slurm's PMI) with the
#: number of processes started.
_LAUNCHER_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")

INSTALL_HINT = "running under mpiexec needs mpi4py and an MPI: pip install 'neuro[mpi]'"


def world():
    """The MPI world communicator when this process is one of several MPI ranks, else None.

    Raises a one-line :class:`~neuro.errors.NeuroError` naming what to install when an MPI
    launcher started several processes but :mod:`mpi4py` is missing (each process would
    otherwise silently run the whole network on its own).
    """
    launched = max((int(os.environ.get(v, "1") or 1) for v in _LAUNCHER_SIZE_VARS), default=1)
    try:
        from mpi4py import MPI
    except ImportError:
        if launched > 1:
            raise NeuroError(INSTALL_HINT) from None
        return None
    comm = MPI.COMM_WORLD
    return comm if comm.Get_size() > 1 else None
