"""Moving one step's spikes between workers, and the few collectives a run needs: the
transports behind the partition (MPI ranks across processes, threads inside one).

Every worker sends each other worker the global ids of its neurons that spiked this step and
have a synapse onto that worker's neurons (``SubNetwork.needed_by``), and receives the same
from every other worker. A transport implements :meth:`SpikeExchange.step`; the MPI one uses
two collectives per step: ``Alltoall`` of (count, stop) pairs, then ``Alltoallv`` of the ids.
The stop flag carries an interruption (Ctrl-C, SIGTERM) on any worker to all workers at the
same step, so every worker ends after that step.
"""

from __future__ import annotations

import numpy as np


class SpikeExchange:
    """Interface of a transport (MPI ranks here; threads of one process would share memory)."""

    bytes_sent: int = 0

    def step(self, spiked: np.ndarray, needed_by: np.ndarray, stop: bool) -> tuple[np.ndarray, bool]:
        """Send ``spiked`` (sorted global ids) to the workers that need them (``needed_by``:
        (len(spiked), workers) bool); return (ids received, unsorted; whether any worker stops)."""
        raise NotImplementedError


class MpiExchange(SpikeExchange):
    """The MPI transport over communicator ``comm`` (one worker per rank)."""

    def __init__(self, comm):
        from mpi4py import MPI

        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self._int64 = MPI.INT64_T
        self._send_hdr = np.zeros((self.size, 2), dtype=np.int64)
        self._recv_hdr = np.zeros((self.size, 2), dtype=np.int64)
        self.bytes_sent = 0

    def step(self, spiked, needed_by, stop):
        size, rank = self.size, self.rank
        if spiked.size:
            dest = needed_by.T.copy()  # (workers, spikes)
            dest[rank] = False
            counts = dest.sum(axis=1)
            sendbuf = np.concatenate([spiked[dest[q]] for q in range(size)]).astype(np.int64)
        else:
            counts = np.zeros(size, dtype=np.int64)
            sendbuf = np.zeros(0, dtype=np.int64)
        self._send_hdr[:, 0] = counts
        self._send_hdr[:, 1] = int(stop)
        self.comm.Alltoall(self._send_hdr, self._recv_hdr)
        rcounts = self._recv_hdr[:, 0]
        recvbuf = np.empty(int(rcounts.sum()), dtype=np.int64)
        sdispl = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rdispl = np.concatenate([[0], np.cumsum(rcounts)[:-1]])
        self.comm.Alltoallv([sendbuf, counts, sdispl, self._int64], [recvbuf, rcounts, rdispl, self._int64])
        self.bytes_sent += 8 * (sendbuf.size + 2 * (size - 1))
        return recvbuf, bool(self._recv_hdr[:, 1].any())


class MpiGroup:
    """The workers of a run as the ranks of an mpi4py communicator."""

    size_attr, bytes_attr = "mpi_ranks", "mpi_bytes_exchanged"

    def __init__(self, comm):
        from mpi4py import MPI

        self._mpi = MPI
        self.comm = comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.exchange = MpiExchange(comm)

    def barrier(self) -> None:
        self.comm.Barrier()

    def gather(self, obj):
        """``obj`` of every worker, as a list on worker 0 (None elsewhere)."""
        return self.comm.gather(obj, root=0)

    def bcast(self, obj):
        """Worker 0's ``obj`` on every worker."""
        return self.comm.bcast(obj, root=0)

    def sum(self, value: int) -> int:
        return self.comm.allreduce(value, op=self._mpi.SUM)

    def sum_inplace(self, arr: np.ndarray) -> None:
        """``arr`` = the element-wise sum of every worker's ``arr``."""
        self.comm.Allreduce(self._mpi.IN_PLACE, arr, op=self._mpi.SUM)


class ThreadShared:
    """What the worker threads of one run share: a barrier and one slot per worker."""

    def __init__(self, size: int):
        import threading

        self.size = size
        self.barrier = threading.Barrier(size)
        self.slots = [None] * size


class ThreadGroup:
    """The workers of a run as threads of this process (worker ``rank`` of ``shared``)."""

    size_attr, bytes_attr = "threads", "thread_bytes_exchanged"

    def __init__(self, shared: ThreadShared, rank: int):
        self.shared, self.rank, self.size = shared, rank, shared.size
        self.exchange = ThreadExchange(self)

    def barrier(self) -> None:
        self.shared.barrier.wait()

    def _all(self, obj) -> list:
        """Every worker's ``obj`` (after the call, the slots may be reused)."""
        self.shared.slots[self.rank] = obj
        self.barrier()
        out = list(self.shared.slots)
        self.barrier()
        return out

    def gather(self, obj):
        out = self._all(obj)
        return out if self.rank == 0 else None

    def bcast(self, obj):
        return self._all(obj)[0]

    def sum(self, value: int) -> int:
        return sum(self._all(value))

    def sum_inplace(self, arr: np.ndarray) -> None:
        parts = self._all(arr.copy())
        arr[...] = np.sum(parts, axis=0)


class ThreadExchange(SpikeExchange):
    """The shared-memory transport: every worker reads the others' spikes of the step."""

    def __init__(self, group: ThreadGroup):
        self.group = group
        self.bytes_sent = 0  # ids another worker reads (8 B each), as MPI would send them

    def step(self, spiked, needed_by, stop):
        rank = self.group.rank
        everyone = self.group._all((spiked, needed_by, stop))
        received = [ids[need[:, rank]] for q, (ids, need, _s) in enumerate(everyone) if q != rank]
        self.bytes_sent += 8 * int(needed_by.sum() - needed_by[:, rank].sum())
        recv = np.concatenate(received) if received else np.zeros(0, dtype=np.int64)
        return recv, any(s for _i, _n, s in everyone)
