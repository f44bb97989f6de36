"""Moving one step's spikes between workers: the transport behind the partition.

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
