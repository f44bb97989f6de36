"""The MPI transport's per-window kernels, worked by hand: what a worker packs for the others
(``pack_window``) and where the received ids of each step lie (``unpack_header``); and the
compiled entry points the transport calls them through (``neuro.parallel.entry``)."""

from __future__ import annotations

import numpy as np
from numba import njit

from neuro.parallel.entry import Bound, entry
from neuro.parallel.window import Tables, pack_window, unpack_header


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
