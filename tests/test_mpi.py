"""One network on several MPI ranks (``mpiexec -n R``): the same file as one process.

Every comparison is against the single-process run of the same spec and seed: all datasets of
``spikes.h5`` (spikes, spike steps, probes, placement, per-core ledger) and every counter must
be identical, in float and loihi arithmetic, with delays and Poisson, spike_times and current
inputs, for 2 ranks and an oversubscribed 3 ranks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from neuro.errors import NeuroError
from neuro.run import run_spec
from neuro.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
HAVE_MPI = shutil.which("mpiexec") is not None
try:
    import mpi4py  # noqa: F401
except ImportError:
    HAVE_MPI = False
needs_mpi = pytest.mark.skipif(not HAVE_MPI, reason="needs mpi4py and mpiexec: pip install '.[mpi]'")

# 4 populations on 7 Loihi cores (1024 compartments per core; "b" is dual-current, 2 per neuron):
# exchanges between every pair of ranks, delays 0..3 steps, a dual-current inh channel.
SPEC = """\
name = "mpi"
[simulation]
dt = 1.0
steps = 200
seed = 7
arithmetic = "float"
chip = "loihi"
[[populations]]
name = "a"
size = 1500
tau_mem = 20.0
tau_syn = 5.0
v_rest = -65.0
v_threshold = -50.0
v_reset = -65.0
refractory = 2.0
v_init = {dist = "uniform", low = -65.0, high = -50.0}
[[populations]]
name = "b"
size = 900
tau_mem = 10.0
tau_syn = 5.0
tau_syn_inh = 8.0
v_rest = -65.0
v_threshold = -60.0
v_reset = -65.0
v_init = {dist = "uniform", low = -65.0, high = -60.0}
[[populations]]
name = "c"
size = 300
tau_mem = 15.0
tau_syn = 3.0
v_rest = -65.0
v_threshold = -62.0
v_reset = -65.0
[[inputs]]
name = "noise"
kind = "poisson"
size = 200
rate = {dist = "uniform", low = 20.0, high = 60.0}
[[inputs]]
name = "kick"
kind = "spike_times"
times = [[3.0, 40.0, 41.0], [10.0], [100.0, 150.0]]
[[inputs]]
name = "drive"
kind = "current"
target = "c"
amplitude = {dist = "uniform", low = 2.0, high = 5.0}
start = 50.0
stop = 120.0
[[projections]]
pre = "noise"
post = "a"
connector = {type = "fixed_probability", p = 0.1}
weight = {dist = "uniform", low = 1.0, high = 4.0}
[[projections]]
pre = "kick"
post = "c"
weight = 30.0
[[projections]]
pre = "a"
post = "b"
connector = {type = "fixed_probability", p = 0.05}
weight = {dist = "uniform", low = 1.5, high = 4.0}
delay = {dist = "uniform", low = 0.0, high = 3.0}
[[projections]]
pre = "b"
post = "a"
connector = {type = "fixed_probability", p = 0.05}
weight = {dist = "uniform", low = -3.0, high = -0.5}
[[projections]]
pre = "c"
post = "b"
connector = {type = "fixed_probability", p = 0.1}
weight = {dist = "uniform", low = -0.5, high = -0.1}
receptor = "inh"
[[projections]]
pre = "a"
post = "a"
connector = {type = "fixed_probability", p = 0.01}
weight = {dist = "uniform", low = 0.1, high = 1.0}
[[probes]]
population = "b"
neurons = [0, 5, 899]
variables = ["v", "i"]
[[probes]]
population = "c"
variables = ["v"]
"""


# Dense, delayed, float-sensitive: two populations on 4 Loihi cores (1024 compartments each), every
# neuron probed, ~300 synapses onto each neuron with delays of 2..6 steps, so a ring-buffer cell
# receives several spikes per step from both workers and any change in the order of the float
# additions shows in the probes.
DENSE = (
    """\
name = "dense"
[simulation]
dt = 1.0
steps = 150
seed = 3
arithmetic = "float"
chip = "loihi"
[[populations]]
name = "a"
size = 1200
tau_mem = 20.0
tau_syn = 5.0
v_rest = -65.0
v_threshold = -50.0
v_reset = -65.0
v_init = {dist = "uniform", low = -65.0, high = -50.0}
[[populations]]
name = "b"
size = 1200
tau_mem = 15.0
tau_syn = 4.0
v_rest = -65.0
v_threshold = -52.0
v_reset = -65.0
v_init = {dist = "uniform", low = -65.0, high = -52.0}
[[inputs]]
name = "noise"
kind = "poisson"
size = 300
rate = {dist = "uniform", low = 20.0, high = 60.0}
[[projections]]
pre = "noise"
post = "a"
connector = {type = "fixed_probability", p = 0.2}
weight = {dist = "uniform", low = 0.5, high = 2.0}
[[projections]]
pre = "noise"
post = "b"
connector = {type = "fixed_probability", p = 0.2}
weight = {dist = "uniform", low = 0.5, high = 2.0}
"""
    + "".join(
        f"""[[projections]]
pre = "{pre}"
post = "{post}"
connector = {{type = "fixed_probability", p = 0.05}}
weight = {{dist = "uniform", low = -1.0, high = 1.3}}
delay = {{dist = "uniform", low = 2.0, high = 6.0}}
"""
        for pre in "ab"
        for post in "ab"
    )
    + """[[probes]]
population = "a"
variables = ["v", "i"]
[[probes]]
population = "b"
variables = ["v", "i"]
"""
)


def mpirun(n: int, *args, env=None, timeout=300) -> subprocess.CompletedProcess:
    cmd = [
        "mpiexec",
        "-n",
        str(n),
        sys.executable,
        "-c",
        "from neuro.cli import main; main()",
        *map(str, args),
    ]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)


def contents(path) -> tuple[dict, dict, bool]:
    """Every dataset of a spikes.h5, and the counters stored with it."""
    data = {}
    with h5py.File(path, "r") as f:
        f.visititems(
            lambda name, obj: data.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
        )
        attrs = dict(f["emulator"].attrs)
        counters = dict(f["emulator/counters"].attrs)
        complete = bool(attrs["complete"])
    return data, counters, complete


def assert_same_file(one, many) -> None:
    d1, c1, _ = contents(one)
    dn, cn, _ = contents(many)
    assert sorted(d1) == sorted(dn)
    for name in d1:
        assert np.array_equal(d1[name], dn[name]), name
    n_spikes = sum(v.size for k, v in d1.items() if k.startswith("spikes/") and k.endswith("/node_ids"))
    assert n_spikes > 500  # a test that sees spikes
    assert c1 == {k: cn[k] for k in c1}


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("mpi") / "net.toml"
    path.write_text(SPEC)
    return path


@pytest.mark.mpi
@needs_mpi
@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_two_and_three_ranks_write_the_single_process_file(spec_file, tmp_path, arithmetic):
    net = load_spec(spec_file).with_simulation(arithmetic=arithmetic)
    one = run_spec(net, tmp_path / "one", progress=False)
    assert one.complete
    with h5py.File(one.path, "r") as f:  # every population (and so every rank) spikes
        assert min(f[f"spikes/{p}/node_ids"].size for p in "abc") > 10
    for ranks in (2, 3):
        out = tmp_path / f"r{ranks}"
        proc = mpirun(ranks, "-q", "run", spec_file, "-o", out, "--arithmetic", arithmetic)
        assert proc.returncode == 0, proc.stderr
        assert_same_file(one.path, out / "spikes.h5")
        with h5py.File(out / "spikes.h5", "r") as f:
            emu = f["emulator"].attrs
            assert emu["mpi_ranks"] == ranks and emu["complete"]
            assert emu["mpi_bytes_exchanged"] > 0
        # rank 0 alone reports (one summary line)
        assert len([ln for ln in proc.stdout.splitlines() if "spikes in 200 steps" in ln]) == 1


@pytest.mark.mpi
@needs_mpi
@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_ranks_exchanging_every_window_write_the_single_process_file(tmp_path, arithmetic):
    # delays of 2..6 steps between the ranks' neurons: one exchange per 3-step window; the
    # float sums (every neuron probed) must be the single-process ones
    spec = tmp_path / "dense.toml"
    spec.write_text(DENSE)
    one = run_spec(load_spec(spec).with_simulation(arithmetic=arithmetic), tmp_path / "one", progress=False)
    for ranks in (2, 3):
        out = tmp_path / f"r{ranks}"
        proc = mpirun(ranks, "-q", "run", spec, "-o", out, "--arithmetic", arithmetic)
        assert proc.returncode == 0, proc.stderr
        assert_same_file(one.path, out / "spikes.h5")
        with h5py.File(out / "spikes.h5", "r") as f:
            assert f["emulator"].attrs["exchange_window"] == 3


@pytest.mark.mpi
@needs_mpi
def test_messages_split_into_inter_and_intra_chip(spec_file, tmp_path):
    # 7 cores on 2 chips of 4 cores each would need a custom profile; instead check the identity
    # on one chip: every neuron-to-core message is intra-chip there.
    proc = mpirun(2, "-q", "run", spec_file, "-o", tmp_path / "o")
    assert proc.returncode == 0, proc.stderr
    _d, c, _ = contents(tmp_path / "o" / "spikes.h5")
    assert c["messages_inter_chip"] == 0 and c["messages_intra_chip"] > 0


INTERRUPT = """\
import os, signal, threading
from mpi4py import MPI
if MPI.COMM_WORLD.Get_rank() == 1:
    threading.Timer({after}, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
from neuro.cli import main
main()
"""


@pytest.mark.mpi
@needs_mpi
def test_sigterm_on_one_rank_ends_all_ranks_with_a_readable_prefix(spec_file, tmp_path):
    long = tmp_path / "long.toml"
    long.write_text(SPEC.replace("steps = 200", "steps = 2000000"))
    out = tmp_path / "o"
    cmd = [
        "mpiexec",
        "-n",
        "2",
        sys.executable,
        "-c",
        INTERRUPT.format(after=8.0),
        "-q",
        "run",
        long,
        "-o",
        out,
    ]
    proc = subprocess.run(list(map(str, cmd)), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "interrupted" in proc.stderr
    data, _c, complete = contents(out / "spikes.h5")
    assert not complete
    with h5py.File(out / "spikes.h5", "r") as f:
        done = int(f["emulator"].attrs["steps_completed"])
    assert 0 < done < 2000000
    # the spikes written are exactly the single-process run's first `done` steps
    ref = run_spec(load_spec(long).with_simulation(steps=done), tmp_path / "ref", progress=False)
    ref_data, _rc, _ = contents(ref.path)
    for name in ("spikes/a/node_ids", "spikes/b/timestamps", "emulator/spike_steps/c"):
        assert np.array_equal(ref_data[name], data[name]), name


PLASTIC = """\
[[projections]]
pre = "noise"
post = "c"
connector = {type = "fixed_probability", p = 0.2}
weight = {dist = "uniform", low = 0.5, high = 3.0}
plasticity = {kind = "pair_stdp", w_max = 6.0}
[[projections]]
pre = "a"
post = "b"
connector = {type = "fixed_probability", p = 0.02}
weight = {dist = "uniform", low = 0.5, high = 3.0}
delay = 1.0
plasticity = {kind = "pair_stdp", w_max = 6.0}
"""

LEARN = """\
import sys
import numpy as np
from neuro.run import run_spec
from neuro.spec import load_spec
res = run_spec(load_spec(sys.argv[1]), sys.argv[2], progress=False)
if res.rank == 0:
    np.save(sys.argv[3], res.compiled.weight)
"""


@pytest.mark.mpi
@needs_mpi
def test_learning_on_two_and_three_ranks_learns_the_single_process_weights(tmp_path):
    # plastic synapses from Poisson inputs and from neurons on other ranks (pre traces follow the
    # exchanged spikes), with a delay; spikes, counters (learning updates too) and every learned
    # weight must be the single-process run's
    spec = tmp_path / "plastic.toml"
    spec.write_text(SPEC + PLASTIC)
    one = run_spec(load_spec(spec), tmp_path / "one", progress=False)
    initial = load_spec(spec)
    from neuro.network import compile_network

    w0 = compile_network(initial).weight
    changed = one.compiled.weight != w0
    assert changed.sum() > 1000  # the rules did change weights
    for ranks in (2, 3):
        out, wfile = tmp_path / f"r{ranks}", tmp_path / f"w{ranks}.npy"
        cmd = ["mpiexec", "-n", str(ranks), sys.executable, "-c", LEARN, spec, out, wfile]
        proc = subprocess.run(list(map(str, cmd)), cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        assert_same_file(one.path, out / "spikes.h5")
        assert np.array_equal(np.load(wfile), one.compiled.weight)
    _d, c, _ = contents(one.path)
    assert c["learning_weight_updates"] > 0 and c["learning_trace_updates"] > 0


@pytest.mark.mpi
@needs_mpi
def test_loihi_learning_is_refused_in_one_line(tmp_path):
    spec = tmp_path / "plastic.toml"
    spec.write_text(SPEC + PLASTIC)
    proc = mpirun(2, "run", spec, "-o", tmp_path / "o", "--arithmetic", "loihi")
    assert proc.returncode == 2
    lines = {ln for ln in proc.stderr.splitlines() if ln.startswith("error:")}
    assert len(lines) == 1 and "float arithmetic only" in lines.pop()
    assert not (tmp_path / "o").exists()


def test_launcher_without_mpi4py_says_what_to_install(monkeypatch):
    from neuro import parallel

    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(NeuroError, match=r"pip install 'neuro\[mpi\]'"):
        parallel.world()
    monkeypatch.setenv("PMI_SIZE", "1")
    assert parallel.world() is None  # one process: neuro runs as always


def test_no_mpi_environment_runs_in_one_process(monkeypatch, spec_file, tmp_path):
    for var in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    res = run_spec(load_spec(spec_file).with_simulation(steps=5), tmp_path / "o", progress=False)
    assert res.complete and res.rank == 0 and res.bytes_exchanged == 0
    assert os.path.exists(res.path)
