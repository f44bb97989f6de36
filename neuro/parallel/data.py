"""Data parallelism over MPI ranks: independent items (e.g. images shown to a frozen network)
split into contiguous blocks, one per rank, and their results gathered in order to rank 0.

Used by :mod:`neuro.models.frozen_responses` (``mpiexec -n R neuro evaluate``).
"""

from __future__ import annotations

import traceback

import numpy as np


def block(n: int, size: int, rank: int) -> slice:
    """Rank ``rank``'s items of ``n``: ``[rank n / size, (rank + 1) n / size)`` (block sizes
    differ by at most one; ranks in order cover ``0 .. n-1``)."""
    return slice(rank * n // size, (rank + 1) * n // size)


def gather_rows(comm, rows: np.ndarray) -> np.ndarray | None:
    """Every rank's ``rows`` (same dtype and trailing shape), concatenated in rank order on
    rank 0 (``Gatherv``); None on the other ranks."""
    from mpi4py.util.dtlib import from_numpy_dtype

    rows = np.ascontiguousarray(rows)
    sizes = np.asarray(comm.allgather(rows.size), dtype=np.int64)
    if comm.Get_rank() != 0:
        comm.Gatherv(rows, None, root=0)
        return None
    out = np.empty((int(sizes.sum()) // max(1, int(np.prod(rows.shape[1:]))), *rows.shape[1:]), rows.dtype)
    displ = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    comm.Gatherv(rows, [out, sizes, displ, from_numpy_dtype(rows.dtype)], root=0)
    return out


def share_cores(comm) -> int:
    """Give numba's parallel kernels of this rank its share of the node's threads (the ranks on
    one node would otherwise each start one thread per core); returns the threads kept."""
    import numba
    from mpi4py import MPI

    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    local = node.Get_size()
    node.Free()
    threads = max(1, numba.config.NUMBA_NUM_THREADS // local)
    numba.set_num_threads(threads)
    return threads


def _located(exc) -> tuple:
    return (exc.message, exc.source, exc.field)


def _guarded(comm, fn):
    """``(fn(), None)``, or ``(None, error)`` with a :class:`~neuro.errors.NeuroError`'s located
    parts; any other exception prints its traceback and aborts every rank."""
    from neuro.errors import NeuroError

    try:
        return fn(), None
    except NeuroError as exc:
        return None, _located(exc)
    except Exception:
        traceback.print_exc()
        comm.Abort(1)
        raise


def on_every_rank(comm, fn):
    """``fn()`` on every rank; when it raises a :class:`~neuro.errors.NeuroError` on some rank,
    every rank raises the first such error (so no rank waits forever in a later collective).
    Any other exception aborts all ranks after printing its traceback."""
    from neuro.errors import NeuroError

    out, err = _guarded(comm, fn)
    errors = [e for e in comm.allgather(err) if e is not None]
    if errors:
        raise NeuroError(*errors[0])
    return out


def on_rank0(comm, fn):
    """``fn()`` on rank 0 alone (e.g. writing the results), its return value broadcast to every
    rank; its :class:`~neuro.errors.NeuroError` is raised on every rank."""
    from neuro.errors import NeuroError

    out, err = _guarded(comm, fn) if comm.Get_rank() == 0 else (None, None)
    out, err = comm.bcast((out, err), root=0)
    if err is not None:
        raise NeuroError(*err)
    return out
