"""Moving a window's spikes between workers, and the few collectives a run needs: the
transports behind the partition (MPI ranks across processes, threads inside one).

Every worker sends each other worker the global ids of its neurons that spiked in the window
(:mod:`neuro.parallel.window`) and have a synapse onto that worker's neurons
(``SubNetwork.needed_by``), step by step, and receives the same from every other worker. A
transport implements :meth:`SpikeExchange.run` (a chunk's windows): the MPI one makes two
collectives per window from Python (``Alltoall`` of the per-step counts, then ``Alltoallv`` of
the ids) around the compiled window kernels, or, where the sums do not depend on the order
(:mod:`neuro.parallel.overlap`), one non-blocking message to and from each rank it shares
synapses with, its own spikes delivered while they travel; the thread one runs the whole chunk
in one compiled call per worker (shared buffers and a spin barrier, no GIL). An interruption (Ctrl-C, SIGTERM)
on any worker reaches all workers at the end of a chunk (:meth:`any`), so every worker ends
after the same step.
"""

from __future__ import annotations

import numpy as np

from neuro.parallel import spin
from neuro.parallel.entry import Bound
from neuro.parallel.overlap import inbox_pointers, pack_messages
from neuro.parallel.thread_loop import thread_chunk
from neuro.parallel.window import pack_window, unpack_header

TAG = 17  # the window messages' tag (the only point-to-point traffic of a run)


class SpikeExchange:
    """Interface of a transport: run chunk rows of a worker's step loop (:mod:`neuro.parallel.window`)
    with the other workers, exchanging each window's spikes."""

    bytes_sent: int = 0

    def setup(self, loop) -> None:
        """Called once by every worker before the first chunk with its
        :class:`~neuro.parallel.runner.WorkerLoop`. ``loop.order_free``: the worker delivers its
        own spikes while the window's exchange is in flight (:mod:`neuro.parallel.overlap`:
        integer arithmetic without learning; ``loop.deliver_own`` / ``loop.deliver_received``),
        else every spike in order after it (``loop.deliver``)."""

    def run(self, loop, k0: int, n: int, j0: int, n_out: int) -> tuple[int, int]:
        """Run rows ``j0 .. j0+n-1`` of the chunk (steps from ``k0``) of ``loop``
        (:class:`neuro.parallel.runner.WorkerLoop`); return (rows done, spikes in the output
        buffer). Fewer rows than ``n`` when the output buffer is full (then every worker of the
        group returns after the same row)."""
        raise NotImplementedError


class MpiExchange(SpikeExchange):
    """The MPI transport over communicator ``comm`` (one worker per rank): per window, an
    ``Alltoall`` of the per-step spike counts for each rank, then an ``Alltoallv`` of the ids;
    or (``loop.order_free``) ``Irecv`` / ``Isend`` of one message per neighbouring rank around
    the own delivery (:meth:`_run_overlapped`)."""

    def __init__(self, comm):
        from mpi4py import MPI

        self._mpi = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self._int64 = MPI.INT64_T
        self.bytes_sent = 0

    def setup(self, loop):
        n_local, window = loop.n_local, loop.window
        self.window = window
        sizes = self.comm.allgather(n_local)
        if loop.order_free:  # one message per window to / from each rank with synapses between
            sends = loop.tabs.needed_by.any(axis=0)
            sends[self.rank] = False
            senders = self.comm.allgather(sends)
            self._send_to = np.flatnonzero(sends)
            self._sends = list(enumerate(self._send_to.tolist()))  # (message row, rank)
            self._recv_from = [q for q in range(self.size) if senders[q][self.rank]]
            biggest = max([sizes[q] for q in self._recv_from], default=0)
            self._msg = np.zeros((self._send_to.size, 1 + window + window * n_local), dtype=np.int64)
            self._inbox = np.zeros((len(self._recv_from), 1 + window + window * biggest), dtype=np.int64)
            self._length = np.zeros(self._send_to.size, dtype=np.int64)
            self._recv_ptr = np.zeros((len(self._recv_from), window + 1), dtype=np.int64)
            self._pack = Bound(pack_messages)
            self._unpack = Bound(inbox_pointers)
            self.run = self._run_overlapped
            return
        self._send_hdr = np.zeros((self.size, window + 1), dtype=np.int64)
        self._recv_hdr = np.zeros_like(self._send_hdr)
        self._send = np.zeros(max(1, window * n_local * (self.size - 1)), dtype=np.int64)
        self._recv = np.zeros(max(1, window * (sum(sizes) - n_local)), dtype=np.int64)
        # send counts, send offsets, receive counts, receive offsets (ids, per worker)
        self._counts = np.zeros((4, self.size), dtype=np.int64)
        self._recv_ptr = np.zeros((self.size, window + 1), dtype=np.int64)
        self._pack = Bound(pack_window)
        self._unpack = Bound(unpack_header)

    def run(self, loop, k0, n, j0, n_out):
        comm, size, int64 = self.comm, self.size, self._int64
        send, recv, counts, recv_ptr = self._send, self._recv, self._counts, self._recv_ptr
        send_hdr, recv_hdr = self._send_hdr, self._recv_hdr
        out_src, win_ptr, tabs = loop.out.out_src, loop.win_ptr, loop.tabs
        done = 0
        while done < n:
            d = min(self.window, n - done)
            if n_out + d * loop.n_local > loop.out_capacity:
                break
            k, j = k0 + done, j0 + done
            n_out = loop.advance(k, d, j, n_out)
            sent = self._pack(d, self.rank, out_src, win_ptr, tabs, send_hdr, send, counts)
            comm.Alltoall(send_hdr, recv_hdr)
            self._unpack(d, recv_hdr, counts, recv_ptr)
            comm.Alltoallv([send, counts[0], counts[1], int64], [recv, counts[2], counts[3], int64])
            self.bytes_sent += 8 * (sent + (d + 1) * (size - 1))
            loop.deliver(k, d, j, recv_ptr, recv)
            done += d
        return done, n_out

    def _run_overlapped(self, loop, k0, n, j0, n_out):
        """:meth:`run` with non-blocking messages: receives posted before the window is
        stepped, sends right after; the own spikes delivered while they travel."""
        comm, int64, window = self.comm, self._int64, self.window
        msg, inbox, length, recv_ptr = self._msg, self._inbox, self._length, self._recv_ptr
        send_to, sends, recv_from = self._send_to, self._sends, self._recv_from
        header_words = (1 + window) * len(sends)  # [n, counts per step] of every message
        recv_ids = inbox.reshape(-1)
        out_src, win_ptr, tabs = loop.out.out_src, loop.win_ptr, loop.tabs
        waitall = self._mpi.Request.Waitall
        done = 0
        while done < n:
            d = min(window, n - done)
            if n_out + d * loop.n_local > loop.out_capacity:
                break
            k, j = k0 + done, j0 + done
            reqs = [comm.Irecv([inbox[r], int64], source=q, tag=TAG) for r, q in enumerate(recv_from)]
            n_out = loop.advance(k, d, j, n_out)
            sent = self._pack(d, window, send_to, out_src, win_ptr, tabs, msg, length)
            reqs += [comm.Isend([msg[r, : length[r]], int64], dest=q, tag=TAG) for r, q in sends]
            loop.deliver_own(k, d, j)
            waitall(reqs)
            self._unpack(d, window, inbox, recv_ptr)
            loop.deliver_received(k, d, -1, recv_ptr, recv_ids)
            self.bytes_sent += 8 * (sent + header_words)  # the messages' lengths
            done += d
        return done, n_out


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

    def any(self, flag: bool) -> bool:
        return bool(self.comm.allreduce(bool(flag), op=self._mpi.LOR))

    def all_values(self, value) -> list:
        """Every worker's ``value``, on every worker."""
        return self.comm.allgather(value)

    def sum_inplace(self, arr: np.ndarray) -> None:
        """``arr`` = the element-wise sum of every worker's ``arr``."""
        self.comm.Allreduce(self._mpi.IN_PLACE, arr, op=self._mpi.SUM)


class ThreadShared:
    """What the worker threads of one run share: a barrier and one slot per worker (for the
    Python-side collectives), and the compiled kernels' spin barrier and spike buffers."""

    def __init__(self, size: int):
        import threading

        self.size = size
        self.barrier = threading.Barrier(size)
        self.slots = [None] * size
        self.spin = spin.new_barrier()
        self.buffers = None

    def abort(self) -> None:
        """End every worker's waits (a worker failed)."""
        self.barrier.abort()
        spin.abort(self.spin)


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

    def any(self, flag: bool) -> bool:
        return any(self._all(bool(flag)))

    def all_values(self, value) -> list:
        return self._all(value)

    def sum_inplace(self, arr: np.ndarray) -> None:
        parts = self._all(arr.copy())
        arr[...] = np.sum(parts, axis=0)


class ThreadExchange(SpikeExchange):
    """The shared-memory transport: the workers' compiled loops (:func:`~neuro.parallel.window.
    thread_chunk`) publish each window's spikes in shared buffers and meet at a spin barrier;
    every worker reads the others' spikes of the window from there."""

    def __init__(self, group: ThreadGroup):
        self.group = group
        self.bytes_sent = 0  # ids this worker reads that it needs (8 B each), as MPI would send them
        self._received = np.zeros(1, dtype=np.int64)
        self._windows = np.zeros(1, dtype=np.int64)

    def setup(self, loop):
        n_local, window = loop.n_local, loop.window
        group = self.group
        self.overlap = loop.order_free
        cap = window * max(group._all(n_local))
        if group.rank == 0:
            size = group.size
            group.shared.buffers = (
                np.zeros((2, size, window + 1), dtype=np.int64),  # step offsets of each window's spikes
                np.zeros((2, size, max(cap, 1)), dtype=np.int64),  # their global ids
                np.zeros((2, size), dtype=np.bool_),  # "my output buffer is full"
            )
        group.barrier()
        self.window = window

    def run(self, loop, k0, n, j0, n_out):
        pub_ptr, pub_ids, pub_full = self.group.shared.buffers
        done, n_out = thread_chunk(
            k0, n, self.window, j0, loop.last_j, loop.whole, self.group.rank, self.group.size,
            self.group.shared.spin, self._windows, pub_ptr, pub_ids, pub_full, *loop.kernel_args(),
            n_out, loop.win_ptr, loop.fired, loop.learn, loop.lrn, loop.pre, self._received,
            self.overlap,
        )  # fmt: skip
        self.bytes_sent = 8 * int(self._received[0])
        if done < 0:
            raise RuntimeError("another worker thread failed")
        return done, n_out
