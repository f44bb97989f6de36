"""The thread transport's compiled loop: a chunk of windows on one worker thread, the window's
spikes exchanged through shared memory at one spin barrier per window
(:mod:`neuro.parallel.spin`), with no Python and no GIL per step."""

from __future__ import annotations

from numba import njit

from neuro.parallel.overlap import deliver_own, deliver_received
from neuro.parallel.spin import barrier_arrive, barrier_await, barrier_wait
from neuro.parallel.window import advance, deliver_window


@njit(cache=True, nogil=True)
def thread_chunk(
    k0, n, window, j0, last_j, whole, me, n_workers, bar, windows_done, pub_ptr, pub_ids, pub_full,
    state, params, csr, tabs, in_ptr, in_src, out, n_out, win_ptr, fired, learn, lrn, pre, received,
    overlap,
):  # fmt: skip
    """Run chunk rows ``j0 .. j0+n-1`` (steps from ``k0``) on worker thread ``me`` of ``n_workers``
    in windows of ``window`` steps, exchanging each window's spikes through shared memory.

    Worker ``q`` publishes a window's global spike ids in ``pub_ids[p, q]`` with absolute step
    offsets ``pub_ptr[p, q, :]`` into ``pub_ids[p].ravel()``; ``p`` alternates between windows
    (``windows_done[0]`` counts them, across calls), so one barrier per window separates a
    window's writes from its reads and its reads from the next writes of the same buffer. A
    worker whose spike buffer could not hold another window sets ``pub_full``; then every
    worker returns after that window. Returns (steps done, spikes written), steps -1 when
    another worker failed (the barrier was aborted). ``overlap``: deliver the worker's own spikes
    between arriving at the barrier and waiting there (:mod:`neuro.parallel.overlap`; integer
    arithmetic without learning), else everything in order after it."""
    local_gid = tabs.local_gid
    cap = pub_ids.shape[2]
    out_cap = out.out_src.shape[0]
    n_local = local_gid.shape[0]
    recv_ids_all = pub_ids.reshape(pub_ids.shape[0], -1)
    done = 0
    while done < n:
        d = min(window, n - done)
        k = k0 + done
        n_out = advance(
            k,
            d,
            j0 + done,
            last_j,
            whole,
            state,
            params,
            csr,
            tabs,
            in_ptr,
            in_src,
            out,
            n_out,
            win_ptr,
            fired,
        )
        p = windows_done[0] & 1
        base = me * cap
        pos = 0
        for w in range(d):
            pub_ptr[p, me, w] = base + pos
            for t in range(win_ptr[w], win_ptr[w + 1]):
                pub_ids[p, me, pos] = local_gid[out.out_src[t]]
                pos += 1
        pub_ptr[p, me, d] = base + pos
        pub_full[p, me] = n_out + window * n_local > out_cap
        if overlap:  # own spikes while the others finish their window (integer sums, no learning)
            gen = barrier_arrive(bar, n_workers)
            deliver_own(k, d, j0 + done, state, csr, tabs, in_ptr, in_src, out.out_src, win_ptr)
            if not barrier_await(bar, gen):
                return -1, n_out
            received[0] += deliver_received(k, d, me, state, csr, tabs, pub_ptr[p], recv_ids_all[p])
        else:
            if not barrier_wait(bar, n_workers):
                return -1, n_out
            received[0] += deliver_window(
                k, d, j0 + done, me, state, csr, tabs, in_ptr, in_src, out.out_src, win_ptr, pub_ptr[p],
                recv_ids_all[p], learn, lrn, pre, n_local,
            )  # fmt: skip
        windows_done[0] += 1
        done += d
        stop = False
        for q in range(n_workers):
            stop = stop or pub_full[p, q]
        if stop:
            break
    return done, n_out
