"""An MPI rank builds only its share of the synapses (:mod:`neuro.parallel.construct`): the same
placement, sub-network and generator state as compiling the whole network and cutting it, and
a construction whose memory follows the share, not the whole network."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import numpy as np
import pytest

from neuro.chips import get_profile
from neuro.mapping import place
from neuro.network import compile_network
from neuro.parallel.construct import build_worker
from neuro.parallel.partition import worker_of_neuron
from neuro.parallel.subnet import build_subnet
from neuro.spec import Network

from .test_mpi import DENSE, PLASTIC, PLASTIC_MORE, ROOT, SPEC, assert_same_file, needs_mpi

# Placement has to split both populations further (synapse memory; 1024 compartments per core
# would hold each), onto two chips of 4 cores, and two projections share (pre, post) = (a, b) on a
# dual-current population (exc and inh: their (source, core) pairs are counted once).
SPLIT = """\
name = "split"
[simulation]
dt = 1.0
steps = 50
seed = 11
arithmetic = "float"
chip = "loihi"
chips = 2
[[populations]]
name = "a"
size = 900
tau_mem = 20.0
tau_syn = 5.0
v_rest = -65.0
v_threshold = -50.0
v_reset = -65.0
[[populations]]
name = "b"
size = 400
tau_mem = 20.0
tau_syn = 5.0
tau_syn_inh = 8.0
v_rest = -65.0
v_threshold = -50.0
v_reset = -65.0
[[inputs]]
name = "noise"
kind = "poisson"
size = 400
rate = 20.0
[[projections]]
pre = "noise"
post = "a"
connector = {type = "fixed_probability", p = 0.5}
weight = {dist = "uniform", low = 0.5, high = 2.0}
[[projections]]
pre = "a"
post = "b"
connector = {type = "fixed_probability", p = 0.3}
weight = {dist = "uniform", low = 0.5, high = 2.0}
delay = {dist = "uniform", low = 0.0, high = 3.0}
[[projections]]
pre = "a"
post = "b"
connector = {type = "fixed_probability", p = 0.2}
weight = {dist = "uniform", low = 0.5, high = 2.0}
receptor = "inh"
"""


def _net(text: str, **sim) -> Network:
    return Network.from_dict(tomllib.loads(text)).with_simulation(**sim)


@pytest.fixture
def small_chips(monkeypatch):
    """Loihi chips of 4 cores (every network below spans two or three)."""
    import dataclasses

    from neuro import chips

    monkeypatch.setitem(chips.PROFILES, "loihi", dataclasses.replace(chips.LOIHI, cores_per_chip=4))


def _assert_worker_is_the_cut_network(net: Network, n_workers: int) -> None:
    whole = compile_network(net)
    placement = place(whole, get_profile(net.simulation.chip), net.simulation.chips)
    worker_of = worker_of_neuron(placement, n_workers)
    chip_of_core = placement.core_coords()[:, 0]
    kept = 0
    for me in range(n_workers):
        full, pl, sub = build_worker(net, n_workers, me)
        # the generator where compile_network leaves it (the run's Poisson draws follow), the key
        assert full.rng.bit_generator.state == whole.rng.bit_generator.state
        assert full.learning_key == whole.learning_key == sub.net.learning_key
        assert full.slot.size == full.weight.size == full.delay.size == 0  # no whole table
        assert np.array_equal(full.indptr, whole.indptr) and full.max_delay == whole.max_delay
        assert full.proj_ranges == whole.proj_ranges and full.weight_exps == whole.weight_exps
        assert all(np.array_equal(a, b) for a, b in zip(full.proj_counts, whole.proj_counts, strict=True))
        for key, value in whole.params.items():
            assert np.array_equal(full.params[key], value), key
        assert np.array_equal(full.v_init, whole.v_init) and np.array_equal(full.i_init, whole.i_init)
        # the same placement, every per-core and per-source count
        assert pl.core_pop == placement.core_pop and np.array_equal(pl.core_of, placement.core_of)
        for key, value in placement.usage.items():
            assert np.array_equal(pl.usage[key], value), key
        for key in ("src_dest_cores", "src_hops_x", "src_hops_y"):
            assert np.array_equal(getattr(pl, key), getattr(placement, key)), key
        # the same sub-network as cutting the whole one
        cut = build_subnet(whole, worker_of, me, n_workers, placement.core_of, chip_of_core)
        for key in ("local", "mirrors", "needed_by", "inter_chip_cores"):
            assert np.array_equal(getattr(sub, key), getattr(cut, key)), key
        for key in ("indptr", "slot", "weight", "delay"):
            a, b = getattr(sub.net, key), getattr(cut.net, key)
            assert a.dtype == b.dtype and np.array_equal(a, b), key
        assert sub.net.max_delay == cut.net.max_delay
        if cut.global_pos is None:
            assert sub.global_pos is None
        else:
            assert np.array_equal(sub.global_pos, cut.global_pos)
            assert sub.net.proj_ranges == cut.net.proj_ranges
        assert 0 < sub.net.n_synapses < whole.n_synapses
        kept += sub.net.n_synapses
    assert kept == whole.n_synapses  # every synapse on exactly one worker


@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
@pytest.mark.parametrize(
    "text", [SPEC, DENSE, SPEC + PLASTIC + PLASTIC_MORE, SPLIT], ids=["mpi", "dense", "plastic", "split"]
)
def test_a_worker_builds_the_cut_of_the_whole_network(text, arithmetic, small_chips):
    net = _net(text, arithmetic=arithmetic, chips=3)
    for n_workers in (2, 3):
        _assert_worker_is_the_cut_network(net, n_workers)


def test_split_spec_makes_placement_split_and_share_pairs(small_chips):
    # the SPLIT case tests what it says: more cores than the compartments need, on both chips
    net = _net(SPLIT)
    placement = place(compile_network(net), get_profile("loihi"), 2)
    assert placement.core_pop.count("a") >= 2 and placement.core_pop.count("b") >= 2
    assert set(placement.core_coords()[:, 0].tolist()) == {0, 1}


# 8 populations in a ring, each fed by the next 4 (32 projections, none more than ~1/32 of the
# synapses), float arithmetic: 13 bytes per synapse in the whole table
RING = (
    """\
name = "ring"
[simulation]
dt = 1.0
steps = 60
seed = 5
arithmetic = "float"
chip = "loihi"
[[inputs]]
name = "noise"
kind = "poisson"
size = 100
rate = 50.0
[[projections]]
pre = "noise"
post = "p0"
connector = {type = "fixed_probability", p = 0.5}
weight = 3.0
"""
    + "".join(
        f"""[[populations]]
name = "p{c}"
size = 600
tau_mem = 20.0
tau_syn = 5.0
v_rest = -65.0
v_threshold = -55.0
v_reset = -65.0
bias = {{dist = "uniform", low = 0.0, high = 0.6}}
"""
        for c in range(8)
    )
    + "".join(
        f"""[[projections]]
pre = "p{(c + d) % 8}"
post = "p{c}"
connector = {{type = "fixed_probability", p = 0.1}}
weight = {{dist = "uniform", low = -0.2, high = 0.3}}
delay = {{dist = "uniform", low = 0.0, high = 2.0}}
"""
        for c in range(8)
        for d in range(4)
    )
)

# Run under mpiexec: the run's construction (its second call) with numpy's allocations traced
# (the staging blocks made small so that a block does not dwarf this small network), whole-network
# compilation forbidden; each rank writes its traced peak during construction and the synapses it
# holds.
MEASURE = """\
import json, sys, tracemalloc
import numpy as np
from neuro import network
from neuro.parallel import runner
from neuro.run import run_spec
from neuro.spec import load_spec

network._Staging.BLOCK_BYTES = 1 << 16
def forbidden(*a, **k):
    raise AssertionError("an MPI rank compiled the whole network")
network.build_network = forbidden
held = {}
build = runner.build_worker
def measured(net, n_workers, me):
    build(net, n_workers, me)  # once untraced: the kernels compiled or loaded from numba's cache
    tracemalloc.start()
    full, placement, sub = build(net, n_workers, me)
    held.update(peak=tracemalloc.get_traced_memory()[1], kept=sub.net.n_synapses,
                table=int(full.slot.size + full.weight.size + full.delay.size))
    tracemalloc.stop()
    return full, placement, sub
runner.build_worker = measured
res = run_spec(load_spec(sys.argv[1]), sys.argv[2], progress=False)
held["n_synapses"] = res.compiled.n_synapses
with open(f"{sys.argv[3]}.rank{res.rank}.json", "w") as f:
    json.dump(held, f)
"""


def _traced_peak(build) -> tuple:
    """``(result, peak bytes numpy and Python allocated)`` of ``build()``, staging blocks made small
    (as the synapses of this small network) and the kernels compiled or loaded beforehand."""
    import tracemalloc

    from neuro import network

    old = network._Staging.BLOCK_BYTES
    network._Staging.BLOCK_BYTES = 1 << 16
    try:
        build()
        tracemalloc.start()
        result = build()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        network._Staging.BLOCK_BYTES = old


def _assert_share_sized(peak: int, kept: int, n_syn: int, whole_peak: int) -> None:
    """A worker's construction peak follows its share of the synapses: at most the whole
    network's construction peak scaled by the share, plus 10 % of it (one projection's draws
    and reductions, per-source arrays; 1/32 of the synapses per projection here)."""
    assert peak < (kept / n_syn + 0.1) * whole_peak, (peak, kept, n_syn, whole_peak)


def test_a_worker_builds_with_memory_of_its_share():
    net = _net(RING)
    whole, whole_peak = _traced_peak(lambda: compile_network(net))
    assert whole_peak > whole.n_synapses * (4 + 8 + 1)  # the whole table (slot, weight, delay) and more
    for me in range(4):
        (_full, _pl, sub), peak = _traced_peak(lambda me=me: build_worker(net, 4, me))
        assert 0.15 * whole.n_synapses < sub.net.n_synapses < 0.35 * whole.n_synapses
        _assert_share_sized(peak, sub.net.n_synapses, whole.n_synapses, whole_peak)


@pytest.mark.mpi
@needs_mpi
def test_each_rank_builds_and_holds_only_its_share(tmp_path):
    import json

    from neuro.run import run_spec

    spec = tmp_path / "ring.toml"
    spec.write_text(RING)
    net = _net(RING)
    one = run_spec(net, tmp_path / "one", progress=False)
    n_syn = one.compiled.n_synapses
    _whole, whole_peak = _traced_peak(lambda: compile_network(net))
    out, base = tmp_path / "two", tmp_path / "m"
    cmd = ["mpiexec", "-n", "2", sys.executable, "-c", MEASURE, spec, out, base]
    proc = subprocess.run(list(map(str, cmd)), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert_same_file(one.path, out / "spikes.h5")
    ranks = [json.loads((tmp_path / f"m.rank{r}.json").read_text()) for r in range(2)]
    assert sum(r["kept"] for r in ranks) == n_syn
    for r in ranks:
        assert r["table"] == 0 and r["n_synapses"] == n_syn  # no rank holds the whole table
        assert 0.35 * n_syn < r["kept"] < 0.65 * n_syn
        _assert_share_sized(r["peak"], r["kept"], n_syn, whole_peak)
