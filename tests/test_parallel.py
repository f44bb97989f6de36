"""The partition of cores into workers, and worker threads (``neuro run --threads N``): the
same file as one thread, with the same sub-networks and worker loop as MPI ranks."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from neuro.chips import get_profile
from neuro.mapping import place
from neuro.network import compile_network
from neuro.parallel.partition import _cut, partition_cores
from neuro.parallel.subnet import build_subnet
from neuro.run import run_spec
from neuro.spec import load_spec

from .test_mpi import (
    DENSE,
    SPEC,
    assert_learned,
    assert_same_file,
    assert_same_state,
    learned_state,
    learning_spec,
    record_simulators,
)


def test_cut_balances_contiguous_runs():
    # loads 1..8 (sum 36): halves at 18 -> [1..6] = 21 vs [1..5] = 15 (|21-18| = 3 = |15-18|): the
    # first boundary at or past 18 is after 6 (21); the one before (15) is no closer, so 6 stays
    b = _cut(np.arange(1, 9, dtype=float), 2)
    assert b.tolist() == [0, 6, 8]
    # one huge unit still leaves every part at least one unit
    assert _cut(np.array([100.0, 1, 1, 1]), 3).tolist() == [0, 1, 2, 4]


@pytest.fixture(scope="module")
def placed(tmp_path_factory):
    path = tmp_path_factory.mktemp("par") / "net.toml"
    path.write_text(SPEC)
    net = load_spec(path)
    compiled = compile_network(net)
    return net, compiled, place(compiled, get_profile("loihi"), 1), path


def test_cores_whole_and_contiguous_and_chips_whole(placed):
    _net, _c, placement, _p = placed
    w = partition_cores(placement, 3)
    assert w.size == placement.n_cores and set(w.tolist()) == {0, 1, 2}
    assert np.all(np.diff(w) >= 0)  # contiguous runs of cores
    # two chips of 4 cores (a smaller profile): 2 workers get one whole chip each
    import dataclasses

    from neuro.mapping import Placement

    two_chips = dataclasses.replace(placement.profile, cores_per_chip=4)
    p2 = Placement(**{**placement.__dict__, "profile": two_chips, "n_chips": 2})
    chip = p2.core_coords()[:, 0]
    w2 = partition_cores(p2, 2)
    assert np.array_equal(w2, chip)


def test_subnetworks_hold_each_synapse_once(placed):
    _net, compiled, placement, _p = placed
    worker_of = partition_cores(placement, 3)[placement.core_of]
    chip = placement.core_coords()[:, 0]
    subs = [build_subnet(compiled, worker_of, r, 3, placement.core_of, chip) for r in range(3)]
    assert sum(s.net.n_synapses for s in subs) == compiled.n_synapses
    assert sorted(np.concatenate([s.local for s in subs]).tolist()) == list(range(compiled.n_neurons))
    n = compiled.n_neurons
    for s in subs:
        # the mirrors are exactly the sources with a synapse onto the worker's neurons
        tgt = compiled.slot % n
        src = np.repeat(np.arange(compiled.n_sources), compiled.fanout())
        assert np.array_equal(s.mirrors, np.unique(src[np.isin(tgt, s.local)]))
        assert s.net.fanout()[: s.local.size].sum() == 0  # local rows empty: delivered via mirrors


@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_threads_write_the_single_thread_file(placed, tmp_path, arithmetic):
    net = placed[0].with_simulation(arithmetic=arithmetic)
    one = run_spec(net, tmp_path / "one", progress=False)
    for threads in (2, 3):
        many = run_spec(net, tmp_path / f"t{threads}", progress=False, threads=threads)
        assert many.complete
        assert_same_file(one.path, many.path)
        assert many.bytes_exchanged > 0
        for res in (one, many):  # the loop's time in writing spikes.h5 (worker 0), part of loop_s
            assert 0 < res.output_s < res.loop_s
        with h5py.File(many.path, "r") as f:  # integer sums: own spikes delivered during the wait
            assert f["emulator"].attrs["exchange_overlap"] == (arithmetic == "loihi")


@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_threads_learn_the_single_thread_weights_traces_and_thresholds(tmp_path, monkeypatch, arithmetic):
    # four plastic projections, delays, learning epochs of 1..3 steps, an adaptive threshold
    # (tests/test_mpi.py's learning spec): the file, counters, weights, traces and thresholds
    net = load_spec(learning_spec(tmp_path / "plastic.toml")).with_simulation(arithmetic=arithmetic)
    kept = record_simulators(monkeypatch)
    one = run_spec(net, tmp_path / "one", progress=False)
    assert_learned(tmp_path / "plastic.toml", arithmetic, one)
    one_state = learned_state(*kept.pop())
    for threads in (2, 3):
        many = run_spec(net, tmp_path / f"t{threads}", progress=False, threads=threads)
        assert_same_file(one.path, many.path)
        assert np.array_equal(one.compiled.weight, many.compiled.weight)
        assert len(kept) == threads
        assert_same_state(one_state, [learned_state(*kept.pop()) for _ in range(threads)])


def test_loihi_workers_draw_the_whole_networks_random_bits(tmp_path, monkeypatch):
    # without the whole-network ids a worker's stochastic rounding draws other bits: the test
    # above would see other weights (a check that it can fail)
    from neuro.learning.tables import LearningTables

    net = load_spec(learning_spec(tmp_path / "plastic.toml")).with_simulation(arithmetic="loihi")
    one = run_spec(net, tmp_path / "one", progress=False)
    monkeypatch.setattr(LearningTables, "set_global_ids", lambda self, *ids: None)
    two = run_spec(net, tmp_path / "two", progress=False, threads=2)
    assert (one.compiled.weight != two.compiled.weight).sum() > 100


def test_inter_chip_messages_match_a_count_from_the_synapse_table(placed, tmp_path, monkeypatch):
    # 7 cores on chips of 4 cores: 2 chips, 2 workers with a chip each. Expected count by hand
    # from the full CSR: per neuron, its destination cores on another chip than its own, times
    # its spikes (from the file).
    import dataclasses

    from neuro import chips

    small = dataclasses.replace(chips.LOIHI, cores_per_chip=4)
    monkeypatch.setitem(chips.PROFILES, "loihi", small)
    net = placed[0].with_simulation(chips=2)
    res = run_spec(net, tmp_path / "o", progress=False, threads=2)
    compiled, placement = compile_network(net), res.placement  # (a worker holds only its share)
    n = compiled.n_neurons
    chip_of_core = placement.core_coords()[:, 0]
    assert set(chip_of_core.tolist()) == {0, 1}
    src = np.repeat(np.arange(compiled.n_sources), compiled.fanout())
    core = placement.core_of[compiled.slot % n]
    pairs = np.unique(np.stack([src, core], axis=1)[src < n], axis=0)
    other = chip_of_core[pairs[:, 1]] != chip_of_core[placement.core_of[pairs[:, 0]]]
    inter_per_src = np.bincount(pairs[other, 0], minlength=n)
    spikes = np.zeros(n, dtype=np.int64)
    with h5py.File(res.path, "r") as f:
        for name in compiled.pop_names:
            ids = f[f"spikes/{name}/node_ids"][()].astype(np.int64) + compiled.source_offset(name)
            np.add.at(spikes, ids, 1)
    expected = int(spikes @ inter_per_src)
    assert expected > 0
    c = res.counters
    assert c["messages_inter_chip"] == expected
    assert c["messages_inter_chip"] + c["messages_intra_chip"] == int(spikes @ placement.src_dest_cores[:n])


def test_sigterm_ends_every_worker_thread_with_a_readable_prefix(tmp_path):
    import os
    import subprocess
    import sys

    from .test_mpi import ROOT

    long = tmp_path / "long.toml"
    long.write_text(SPEC.replace("steps = 200", "steps = 2000000"))
    script = (
        "import os, signal, threading\n"
        "threading.Timer(8.0, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()\n"
        "from neuro.cli import main\nmain()\n"
    )
    out = tmp_path / "o"
    cmd = [sys.executable, "-c", script, "-q", "run", str(long), "-o", str(out), "--threads", "2"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert proc.returncode == 130, proc.stderr
    with h5py.File(out / "spikes.h5", "r") as f:
        assert not f["emulator"].attrs["complete"]
        done = int(f["emulator"].attrs["steps_completed"])
        ids = f["spikes/a/node_ids"][()]
    assert 0 < done < 2000000
    ref = run_spec(load_spec(long).with_simulation(steps=done), tmp_path / "ref", progress=False)
    with h5py.File(ref.path, "r") as f:
        assert np.array_equal(f["spikes/a/node_ids"][()], ids)


def _delayed(net, low: float, high: float):
    """``net`` with every projection's delay uniform in [low, high] ms."""
    from neuro.spec import Network

    d = net.to_dict()
    for pr in d["projections"]:
        pr["delay"] = {"dist": "uniform", "low": low, "high": high}
    return Network.from_dict(d)


def test_min_remote_delay_is_the_smallest_delay_between_workers(placed):
    from neuro.parallel.runner import _window
    from neuro.parallel.subnet import min_remote_delay

    net = _delayed(placed[0], 2.0, 6.0)
    compiled = compile_network(net)
    placement = place(compiled, get_profile("loihi"), 1)
    worker_of = partition_cores(placement, 3)[placement.core_of]
    chip = placement.core_coords()[:, 0]
    n = compiled.n_neurons
    src = np.repeat(np.arange(compiled.n_sources), compiled.fanout())
    tgt = compiled.slot % n
    for me in range(3):
        sub = build_subnet(compiled, worker_of, me, 3, placement.core_of, chip)
        onto_me = worker_of[tgt] == me
        remote = onto_me & (src < n)
        remote[remote] = worker_of[src[remote]] != me
        assert remote.any()
        assert min_remote_delay(sub, worker_of, me) == compiled.delay[remote].min() == 2
    assert _window([2, 5, None], False) == 3  # the smallest delay + 1
    assert _window([2, 5], True) == 1  # learning exchanges every step
    assert _window([None, None], False) == 16  # no synapse between workers: the largest window
    assert _window([200], False) == 16


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    path = tmp_path_factory.mktemp("dense") / "dense.toml"
    path.write_text(DENSE)
    return load_spec(path)


@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_windowed_threads_write_the_single_thread_file(dense, tmp_path, arithmetic, monkeypatch):
    # delays of 2..6 steps between every pair of populations: the workers exchange every 3 steps
    # and add the in-window part of each spike before the exchange; float sums must still be
    # added in the single-process order (every neuron's v and current are probed: adding a
    # worker's own spikes before the received ones, or a window's spikes in the wrong rows' order,
    # changes them). A tiny spike buffer makes the workers return and resume inside chunks (all
    # at the same window).

    from neuro.parallel import runner

    net = dense.with_simulation(arithmetic=arithmetic)
    one = run_spec(net, tmp_path / "one", progress=False)
    for threads in (2, 3):
        many = run_spec(net, tmp_path / f"t{threads}", progress=False, threads=threads)
        assert_same_file(one.path, many.path)
        with h5py.File(many.path, "r") as f:
            assert f["emulator"].attrs["exchange_window"] == 3
    monkeypatch.setattr(runner, "MIN_SPIKE_CAPACITY", 0)
    small = run_spec(net, tmp_path / "small", progress=False, threads=2)
    assert_same_file(one.path, small.path)


def test_window_of_delay_one_steps_and_zero(dense, tmp_path):
    # minimum delay 1 step between workers: windows of 2 steps; delay 0 allowed: every step

    for low, window in ((1.0, 2), (0.0, 1)):
        net = _delayed(dense, low, 4.0)
        one = run_spec(net, tmp_path / f"one{window}", progress=False)
        two = run_spec(net, tmp_path / f"two{window}", progress=False, threads=2)
        assert_same_file(one.path, two.path)
        with h5py.File(two.path, "r") as f:
            assert f["emulator"].attrs["exchange_window"] == window


def test_spin_barrier_orders_writes_and_aborts():
    import threading

    from numba import njit

    from neuro.parallel.spin import abort, barrier_wait, new_barrier

    @njit(nogil=True)
    def rounds(bar, n, me, data, iters):
        for it in range(iters):
            data[me] = it
            if not barrier_wait(bar, n):
                return -2
            for q in range(n):  # every worker's write of this round is visible
                if data[q] != it:
                    return -1
            if not barrier_wait(bar, n):
                return -2
        return 0

    def run_workers(n, iters):
        bar, data, res = new_barrier(), np.zeros(n, dtype=np.int64), [None] * n

        def work(m):
            res[m] = rounds(bar, n, m, data, iters)

        pool = [threading.Thread(target=work, args=(m,)) for m in range(n)]
        for t in pool:
            t.start()
        for t in pool:
            t.join(timeout=120)
        return res

    assert run_workers(2, 2000) == [0, 0]
    assert run_workers(3, 2000) == [0, 0, 0]
    # one worker waits for a partner that never comes; aborting the barrier releases it
    bar, res = new_barrier(), [None]
    t = threading.Thread(target=lambda: res.__setitem__(0, rounds(bar, 2, 0, np.zeros(2, dtype=np.int64), 5)))
    t.start()
    t.join(timeout=0.3)
    assert t.is_alive()
    abort(bar)
    t.join(timeout=30)
    assert res == [-2]


def test_split_phase_barrier_keeps_double_buffered_rounds_apart():
    """barrier_arrive / barrier_await (the thread transport's overlap): a worker writes round
    ``it``'s value into buffer ``it % 2``, arrives, works, awaits; then every worker's value of
    the round is visible, and no worker overwrites that buffer (round ``it + 2``) before every
    worker has read it (each must arrive at round ``it + 1`` first, after its reads)."""
    import threading

    from numba import njit

    from neuro.parallel.spin import barrier_arrive, barrier_await, new_barrier

    @njit(nogil=True)
    def rounds(bar, n, me, data, iters):
        for it in range(iters):
            p = it % 2
            data[p, me] = it
            gen = barrier_arrive(bar, n)
            busy = 0
            for x in range((me * 7919 + it * 104729) % 5000):  # uneven work between the phases
                busy += x
            if not barrier_await(bar, gen):
                return -2
            for q in range(n):
                if data[p, q] != it:
                    return -1
        return 0

    def work(bar, n, m, data, res):
        res[m] = rounds(bar, n, m, data, 3000)

    for n in (2, 3):
        bar, data, res = new_barrier(), np.full((2, n), -1, dtype=np.int64), [None] * n
        pool = [threading.Thread(target=work, args=(bar, n, m, data, res)) for m in range(n)]
        for t in pool:
            t.start()
        for t in pool:
            t.join(timeout=120)
        assert res == [0] * n
