"""The transports' per-window kernels, worked by hand: what a worker packs for the others
(``pack_window``; ``pack_messages``, one message per worker) and where the received ids of each
step lie (``unpack_header``, ``inbox_pointers``); the delivery in any order of integer
arithmetic against the ordered one; and the compiled entry points the MPI transport calls them
through (``neuro.parallel.entry``)."""

from __future__ import annotations

import numpy as np
from numba import njit

from neuro.dynamics.step import State, Synapses
from neuro.parallel.entry import Bound, entry
from neuro.parallel.overlap import deliver_own, deliver_received, inbox_pointers, pack_messages
from neuro.parallel.window import Tables, deliver_window, pack_window, unpack_header


def test_pack_window_sends_each_worker_the_ids_it_needs_step_by_step():
    # worker 1 of 3; local neurons 0..3 are global 10, 11, 12, 13
    needed_by = np.array(
        [[1, 0, 1], [1, 0, 0], [0, 0, 1], [1, 0, 1]], dtype=np.bool_
    )  # worker 0 needs 10, 11, 13; worker 2 needs 10, 12, 13
    tabs = Tables(np.zeros(4, np.int64), np.zeros(1, np.int64), np.array([10, 11, 12, 13]), needed_by)
    out_src = np.array([0, 2, 1, 2, 3], dtype=np.int32)  # step 0: 10, 12; step 1: 11, 12, 13
    win_ptr = np.array([0, 2, 5])
    header = np.full((3, 3), -1, dtype=np.int64)
    send = np.zeros(10, dtype=np.int64)
    counts = np.full((4, 3), -1, dtype=np.int64)
    total = pack_window(2, 1, out_src, win_ptr, tabs, header, send, counts)
    assert total == 7
    # worker 0: step 0 -> [10], step 1 -> [11, 13]; worker 2: step 0 -> [10, 12], step 1 -> [12, 13]
    assert header[:, 1:].tolist() == [[1, 2], [0, 0], [2, 2]]
    assert send[:7].tolist() == [10, 11, 13, 10, 12, 12, 13]  # worker 0's, then worker 2's
    assert counts[0].tolist() == [3, 0, 4]  # ids per worker
    assert counts[1].tolist() == [0, 3, 3]  # their offsets in `send`


def test_unpack_header_places_every_workers_steps_in_order():
    # from worker 0: 2 then 1 ids; from worker 1 (me): nothing; from worker 2: 0 then 3
    header = np.array([[9, 2, 1], [9, 0, 0], [9, 0, 3]], dtype=np.int64)  # column 0 unused
    counts = np.zeros((4, 3), dtype=np.int64)
    recv_ptr = np.full((3, 3), -1, dtype=np.int64)
    unpack_header(2, header, counts, recv_ptr)
    assert counts[2].tolist() == [3, 0, 3]  # ids from each worker
    assert counts[3].tolist() == [0, 3, 3]  # where they start in the receive buffer
    assert recv_ptr.tolist() == [[0, 2, 3], [3, 3, 3], [3, 3, 6]]


@njit(cache=False)
def _sum_fields(x, t):
    return x + t.local_gid.sum() + t.mirror_of[0]


def test_entry_is_the_version_a_plain_call_runs():
    t = Tables(np.zeros(2, np.int64), np.array([5]), np.arange(3), np.zeros((3, 2), np.bool_))
    assert _sum_fields(1, t) == 9
    fn = entry(_sum_fields, (1, t))
    assert len(_sum_fields.overloads) == 1  # no second compilation
    assert fn is next(iter(_sum_fields.overloads.values())).entry_point
    assert fn(2, t) == 10


def test_bound_resolves_again_after_reset():
    bound = Bound(_sum_fields)
    t = Tables(np.zeros(2, np.int64), np.array([5]), np.arange(3), np.zeros((3, 2), np.bool_))
    assert bound(0, t) == 8
    t32 = t._replace(local_gid=np.arange(3, dtype=np.int32))  # another argument type
    bound.reset()
    assert bound(0, t32) == 8
    assert len(_sum_fields.overloads) == 2


def test_pack_messages_and_inbox_pointers_one_message_per_worker():
    # worker 1 of 3, as above, sending to workers 0 and 2; a window of capacity 3 holding 2 steps
    needed_by = np.array([[1, 0, 1], [1, 0, 0], [0, 0, 1], [1, 0, 1]], dtype=np.bool_)
    tabs = Tables(np.zeros(4, np.int64), np.zeros(1, np.int64), np.array([10, 11, 12, 13]), needed_by)
    out_src = np.array([0, 2, 1, 2, 3], dtype=np.int32)  # step 0: 10, 12; step 1: 11, 12, 13
    win_ptr = np.array([0, 2, 5])
    msg = np.full((2, 1 + 3 + 3 * 4), -1, dtype=np.int64)
    length = np.full(2, -1, dtype=np.int64)
    assert pack_messages(2, 3, np.array([0, 2]), out_src, win_ptr, tabs, msg, length) == 7
    assert length.tolist() == [7, 8]  # 1 + window + ids
    assert msg[0, :7].tolist() == [3, 1, 2, -1, 10, 11, 13]  # n, counts of steps 0 and 1, ids
    assert msg[1, :8].tolist() == [4, 2, 2, -1, 10, 12, 12, 13]
    # only to worker 2: one row
    assert pack_messages(2, 3, np.array([2]), out_src, win_ptr, tabs, msg, length) == 4
    assert msg[0, :8].tolist() == [4, 2, 2, -1, 10, 12, 12, 13]
    # worker 0's inbox after the exchange: a message from worker 1 (row 0) and from worker 2
    inbox = np.zeros((2, 1 + 3 + 3 * 4), dtype=np.int64)
    inbox[0, :7] = [3, 1, 2, -1, 10, 11, 13]
    inbox[1, :6] = [2, 0, 2, -1, 20, 21]  # worker 2: nothing at step 0, two ids at step 1
    recv_ptr = np.full((2, 3), -1, dtype=np.int64)
    inbox_pointers(2, 3, inbox, recv_ptr)
    row = inbox.shape[1]
    assert recv_ptr.tolist() == [[4, 5, 7], [row + 4, row + 4, row + 6]]
    flat = inbox.reshape(-1)
    assert flat[recv_ptr[0, 1] : recv_ptr[0, 2]].tolist() == [11, 13]
    assert flat[recv_ptr[1, 1] : recv_ptr[1, 2]].tolist() == [20, 21]


def _window_case(rng, buf_dtype):
    """A worker (me = 0 of 2) with 3 local neurons (global 0..2) and mirrors of global sources
    3, 4 (the other worker's) and 5 (an input), synapses with delays 0..2 into a 3-row ring."""
    n_src, n_local = 6, 3
    counts = rng.integers(1, 5, n_src)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    m = int(indptr[-1])
    csr = Synapses(
        indptr,
        rng.integers(0, n_local, m).astype(np.int32),
        rng.integers(-50, 80, m).astype(buf_dtype),
        rng.integers(0, 3, m).astype(np.int8),
    )
    mirror_of = np.array([-1, -1, -1, 3, 4, 5], dtype=np.int64)
    tabs = Tables(
        np.arange(3, dtype=np.int64), mirror_of, np.arange(3, dtype=np.int64), np.ones((3, 2), np.bool_)
    )
    # the engine's own State type: a kernel cached for a type defined in the tests would make the
    # cache index unreadable where the tests are not importable
    none = np.zeros((1, n_local), dtype=buf_dtype)
    state = State(np.zeros((3, 1, n_local), dtype=buf_dtype), none, none, none, none)
    out_src = np.array([0, 2, 1, 0, 1, 2], dtype=np.int32)  # step 0: 0, 2; step 1: 1; step 2: 0, 1, 2
    win_ptr = np.array([0, 2, 3, 6])
    in_ptr = np.array([0, 1, 1, 2])  # the input (global 5) fires at steps 0 and 2
    in_src = np.array([5, 5])
    recv_ids = np.array([3, 4, 4, 3, 4])  # the other worker: step 0: 3, 4; step 1: 4; step 2: 3, 4
    recv_ptr = np.array([[0, 0, 0, 0], [0, 2, 3, 5]])
    return state, csr, tabs, in_ptr, in_src, out_src, win_ptr, recv_ptr, recv_ids


def test_delivery_in_any_order_gives_the_ordered_integer_sums():
    rng = np.random.default_rng(3)
    case = _window_case(rng, np.int64)
    state, csr, tabs, in_ptr, in_src, out_src, win_ptr, recv_ptr, recv_ids = case
    # the ordered delivery (single-process order), window k0 = 5, d = 3, chunk rows from 0
    deliver_window(
        5,
        3,
        0,
        0,
        state,
        csr,
        tabs,
        in_ptr,
        in_src,
        out_src,
        win_ptr,
        recv_ptr,
        recv_ids,
        False,
        None,
        np.zeros(8, np.int64),
        3,
    )
    ordered = state.buf.copy()
    assert ordered.any()
    state.buf[:] = 0
    deliver_own(5, 3, 0, state, csr, tabs, in_ptr, in_src, out_src, win_ptr)
    own = state.buf.copy()
    assert deliver_received(5, 3, 0, state, csr, tabs, recv_ptr, recv_ids) == 5  # row 0 is mine
    assert np.array_equal(state.buf, ordered)
    # by hand: the own part is the synapses of sources 0, 1, 2 and input 5 that the window's
    # stepping left (delay >= k0 + d - 1 - k), at rows k + 1 + delay
    hand = np.zeros_like(own)
    for k, srcs in ((5, [0, 2, 5]), (6, [1]), (7, [0, 1, 2, 5])):
        for s in srcs:
            row = s if s < 3 else tabs.mirror_of[s]
            for p in range(csr.indptr[row], csr.indptr[row + 1]):
                if csr.delay[p] >= 7 - k:
                    hand[(k + 1 + csr.delay[p]) % 3, 0, csr.slot[p]] += csr.weight[p]
    assert np.array_equal(own, hand)
