"""``neuro run --checkpoint-every`` and ``--resume``: a resumed run writes the uninterrupted run's file.

Every comparison is against the uninterrupted single-process run of the same spec: all datasets of
``spikes.h5`` (spikes, spike steps, probes, placement, per-core ledger), every counter and every
learned weight must be identical, in float and loihi arithmetic, on a network with delays, Poisson,
spike-time and current inputs, four plastic projections (learning epochs of 1, 2 and 3 steps, so
checkpoints fall inside open epochs) and an adaptive threshold; stopped on one worker count and
resumed on another (1 process, 2 threads, 2 and 3 MPI ranks).
"""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from neuro import run_checkpoint
from neuro.cli import main
from neuro.network import compile_network
from neuro.run import load_resume, run_spec
from neuro.spec import load_spec
from tests.test_mpi import ROOT, SPEC, assert_same_file, learning_spec, mpirun, needs_mpi


@pytest.fixture(scope="module")
def plastic(tmp_path_factory):
    return learning_spec(tmp_path_factory.mktemp("ckpt") / "plastic.toml")


@pytest.fixture(scope="module")
def uninterrupted(plastic, tmp_path_factory):
    """The uninterrupted single-process run of ``plastic`` in each arithmetic."""
    base = tmp_path_factory.mktemp("one")
    return {
        ar: run_spec(load_spec(plastic).with_simulation(arithmetic=ar), base / ar, progress=False)
        for ar in ("float", "loihi")
    }


def stop_and_resume(net, out, stop_after, threads=(1, 1)):
    """Run ``net`` into ``out`` stopped after ``stop_after`` steps (a checkpoint there), then resume it."""
    with pytest.raises(KeyboardInterrupt):
        run_spec(net, out, progress=False, threads=threads[0], checkpoint_every=3600, stop_after=stop_after)
    with h5py.File(out / "spikes.h5", "r") as f:
        assert not f["emulator"].attrs["complete"]
        assert f["emulator"].attrs["steps_completed"] == stop_after
    net2, resume = load_resume(out)
    assert resume[1]["step"] == stop_after
    return run_spec(net2, out, progress=False, threads=threads[1], resume=resume)


@pytest.mark.parametrize(
    "arithmetic, threads, stop_after",
    [("float", (1, 1), 77), ("float", (2, 2), 101), ("loihi", (1, 2), 77), ("loihi", (2, 1), 50)],
)
def test_stopped_and_resumed_run_is_the_uninterrupted_run(
    plastic, uninterrupted, tmp_path, arithmetic, threads, stop_after
):
    one = uninterrupted[arithmetic]
    net = load_spec(plastic).with_simulation(arithmetic=arithmetic)
    res = stop_and_resume(net, tmp_path / "o", stop_after, threads)
    assert res.complete and res.steps == 200
    assert_same_file(one.path, res.path)  # spikes, probes, counters (learning updates too)
    assert all(res.counters[k] == v for k, v in one.counters.items())
    assert np.array_equal(res.compiled.weight, one.compiled.weight)  # every learned weight
    assert not np.array_equal(compile_network(net).weight, one.compiled.weight)  # learning did happen
    assert not (tmp_path / "o" / run_checkpoint.CHECKPOINT).exists()  # removed once complete


def test_resumed_twice_and_probes_cut_back(plastic, uninterrupted, tmp_path):
    # stop at 40, resume and stop again at 150, resume to the end: the file written after each stop
    # is cut back to the checkpoint (the spikes.h5 of a stop may hold more than the checkpoint)
    one = uninterrupted["float"]
    net = load_spec(plastic)
    out = tmp_path / "o"
    with pytest.raises(KeyboardInterrupt):
        run_spec(net, out, progress=False, checkpoint_every=3600, stop_after=40)
    with pytest.raises(KeyboardInterrupt):
        run_spec(
            net, out, progress=False, resume=load_resume(out, net)[1], checkpoint_every=3600, stop_after=150
        )
    ckpt = out / run_checkpoint.CHECKPOINT
    assert run_checkpoint.load(ckpt)[1]["step"] == 150
    # a spikes.h5 ahead of its checkpoint (killed after a flush, before the next checkpoint)
    keep = ckpt.read_bytes()
    with pytest.raises(KeyboardInterrupt):
        run_spec(
            net, out, progress=False, resume=load_resume(out, net)[1], checkpoint_every=3600, stop_after=190
        )
    ckpt.write_bytes(keep)
    with h5py.File(out / "spikes.h5", "r") as f:
        assert f["emulator"].attrs["steps_completed"] == 190
        assert f["emulator/probes/b/v"].shape[0] == 190
    res = run_spec(net, out, progress=False, resume=load_resume(out, net)[1])
    assert_same_file(one.path, res.path)
    assert np.array_equal(res.compiled.weight, one.compiled.weight)


def test_checkpoint_every_zero_writes_one_per_chunk(tmp_path, monkeypatch):
    # 2300 steps: Poisson blocks of 1024 steps are drawn after the checkpoint (the generator's state)
    spec = tmp_path / "net.toml"
    spec.write_text(SPEC.replace("steps = 200", "steps = 2300").replace("size = 1500", "size = 150"))
    written = []
    real = run_checkpoint.save
    monkeypatch.setattr(
        run_checkpoint, "save", lambda p, st, meta: written.append(meta["step"]) or real(p, st, meta)
    )
    with pytest.raises(KeyboardInterrupt):
        run_spec(load_spec(spec), tmp_path / "o", progress=False, checkpoint_every=0, stop_after=1100)
    # chunks end where the current input starts and stops (50, 120 ms), then every 1000 steps; and the stop
    assert written == [50, 120, 1100]
    st, meta = run_checkpoint.load(tmp_path / "o" / run_checkpoint.CHECKPOINT)
    assert meta["step"] == 1100 and meta["seed"] == 7 and meta["arithmetic"] == "float"
    assert meta["spec_hash"] == run_checkpoint.spec_hash(load_spec(spec))
    assert st["pending"].shape[0] == 4  # delays up to 3 steps: rows k .. k + 3
    assert meta["checkpoint_every"] == 0  # (the CLI's --resume keeps checkpointing as often)
    res = run_spec(
        load_spec(spec),
        tmp_path / "o",
        progress=False,
        checkpoint_every=0,
        resume=load_resume(tmp_path / "o")[1],
    )
    assert written == [50, 120, 1100, 2100]  # none at the last step
    one = run_spec(load_spec(spec), tmp_path / "one", progress=False)
    assert_same_file(one.path, res.path)


# ------------------------------------------------------------------------------- refusals (CLI)
def cli(*args):
    return CliRunner().invoke(main, ["-q", *map(str, args)])


def one_line_error(res, *words):
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), res.output
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture
def small(tmp_path):
    spec = tmp_path / "small.toml"
    spec.write_text(SPEC.replace("size = 1500", "size = 150").replace("steps = 200", "steps = 60"))
    return spec


def test_cli_stop_and_resume(small, tmp_path):
    out = tmp_path / "o"
    res = cli("run", small, "-o", out, "--checkpoint-every", "60", "--stop-after", "30")
    assert res.exit_code == 130 and f"neuro run --resume {out}" in res.output
    res = cli("run", "--resume", out)
    assert res.exit_code == 0, res.output
    ref = run_spec(load_spec(small), tmp_path / "ref", progress=False)
    d_ref, d_out = h5py.File(ref.path, "r"), h5py.File(out / "spikes.h5", "r")
    with d_ref, d_out:
        assert d_out["emulator"].attrs["complete"]
        for pop in "abc":
            assert np.array_equal(
                d_ref[f"spikes/{pop}/timestamps"][()], d_out[f"spikes/{pop}/timestamps"][()]
            )
            assert np.array_equal(d_ref[f"spikes/{pop}/node_ids"][()], d_out[f"spikes/{pop}/node_ids"][()])
        assert dict(d_ref["emulator/counters"].attrs) == dict(d_out["emulator/counters"].attrs)


def test_cli_refusals(small, tmp_path):
    # a run stopped without --checkpoint-every: nothing to resume
    out = tmp_path / "o"
    assert cli("run", small, "-o", out, "--stop-after", "30").exit_code == 130
    one_line_error(cli("run", "--resume", out), "nothing to resume", "checkpoint.h5")
    one_line_error(cli("run", "--resume", tmp_path / "missing"), "nothing to resume")
    # a checkpointed run: another spec, another seed, or -o with --resume are refused
    out = tmp_path / "c"
    assert cli("run", small, "-o", out, "--checkpoint-every", "60", "--stop-after", "30").exit_code == 130
    other = tmp_path / "other.toml"
    other.write_text(small.read_text().replace("p = 0.1}", "p = 0.2}"))
    one_line_error(cli("run", other, "--resume", out), "spec differs", "projections")
    one_line_error(cli("run", small, "--resume", out, "--seed", "8"), "spec differs", "simulation")
    one_line_error(cli("run", small, "--resume", out, "--arithmetic", "loihi"), "spec differs")
    one_line_error(cli("run", "--resume", out, "-o", out), "--resume")
    # a damaged checkpoint
    ckpt = out / run_checkpoint.CHECKPOINT
    good = ckpt.read_bytes()
    ckpt.write_bytes(good[:-100] + bytes(100))
    one_line_error(cli("run", "--resume", out), "checkpoint", "damaged")
    ckpt.write_bytes(good)
    # the same spec given again resumes; then the run is complete: refused
    assert cli("run", small, "--resume", out).exit_code == 0
    one_line_error(cli("run", "--resume", out), "complete", "nothing to resume")
    one_line_error(cli("run", "--steps", "5"), "SPEC", "OUTDIR")


# ------------------------------------------------------------------------------- MPI ranks
RESUME = """\
import sys
import numpy as np
from neuro.run import load_resume, run_spec
from neuro.spec import load_spec
net = load_spec(sys.argv[1]).with_simulation(arithmetic=sys.argv[3])
if sys.argv[4] == "stop":
    try:
        run_spec(net, sys.argv[2], progress=False, checkpoint_every=3600, stop_after=int(sys.argv[5]))
    except KeyboardInterrupt:
        pass
else:
    res = run_spec(net, sys.argv[2], progress=False, resume=load_resume(sys.argv[2], net)[1])
    if res.rank == 0:
        np.save(sys.argv[2] + ".weight.npy", res.compiled.weight)
"""


def python_on(ranks: int, *args):
    cmd = [sys.executable, "-c", RESUME, *map(str, args)]
    if ranks > 1:
        cmd = ["mpiexec", "-n", str(ranks), *cmd]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.mpi
@needs_mpi
@pytest.mark.parametrize("arithmetic, ranks", [("float", (2, 2)), ("loihi", (2, 3)), ("loihi", (3, 1))])
def test_ranks_stop_and_resume_to_the_single_process_run(plastic, uninterrupted, tmp_path, arithmetic, ranks):
    one = uninterrupted[arithmetic]
    out = tmp_path / "o"
    python_on(ranks[0], plastic, out, arithmetic, "stop", 77)
    st, meta = run_checkpoint.load(out / run_checkpoint.CHECKPOINT)
    assert meta["step"] == 77 and meta["workers"] == ranks[0]
    python_on(ranks[1], plastic, out, arithmetic, "resume")
    assert_same_file(one.path, out / "spikes.h5")
    assert np.array_equal(np.load(f"{out}.weight.npy"), one.compiled.weight)


@pytest.mark.mpi
@needs_mpi
def test_cli_under_mpiexec_stop_and_resume(tmp_path):
    spec = tmp_path / "net.toml"
    spec.write_text(SPEC)
    one = run_spec(load_spec(spec), tmp_path / "one", progress=False)
    out = tmp_path / "o"
    proc = mpirun(2, "-q", "run", spec, "-o", out, "--checkpoint-every", "0", "--stop-after", "120")
    assert proc.returncode != 0 and "--resume" in proc.stderr
    proc = mpirun(2, "-q", "run", "--resume", out)
    assert proc.returncode == 0, proc.stderr
    assert_same_file(one.path, out / "spikes.h5")
    with h5py.File(out / "spikes.h5", "r") as f:
        assert f["emulator"].attrs["mpi_ranks"] == 2 and f["emulator"].attrs["mpi_bytes_exchanged"] > 0
    proc = mpirun(2, "-q", "run", "--resume", out)
    assert proc.returncode == 2 and "nothing to resume" in proc.stderr


def test_sigterm_checkpoints_at_the_chunk_end_and_resumes(tmp_path):
    import signal
    import time

    spec = tmp_path / "long.toml"
    spec.write_text(SPEC.replace("steps = 200", "steps = 100000").replace("size = 1500", "size = 150"))
    out = tmp_path / "o"
    cmd = [sys.executable, "-c", "from neuro.cli import main; main()", "-q", "run", spec, "-o", out]
    proc = subprocess.Popen([*map(str, cmd), "--checkpoint-every", "3600"], cwd=ROOT, stderr=subprocess.PIPE)
    t0 = time.monotonic()
    while not (out / "spikes.h5").exists() and time.monotonic() - t0 < 120:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    _st, meta = run_checkpoint.load(out / run_checkpoint.CHECKPOINT)
    assert 0 < meta["step"] < 100000
    assert cli("run", "--resume", out).exit_code == 0
    one = run_spec(load_spec(spec), tmp_path / "one", progress=False)
    assert_same_file(one.path, out / "spikes.h5")


TINY = """\
[simulation]
steps = 20
arithmetic = "truenorth"
[[populations]]
name = "a"
size = 4
[[inputs]]
name = "kick"
kind = "spike_times"
times = [[3.0], [5.0]]
[[projections]]
pre = "kick"
post = "a"
weight = 1.0
"""


def test_checkpoints_refused_where_the_state_is_not_exported(tmp_path):
    spec = tmp_path / "tn.toml"
    spec.write_text(TINY)
    one_line_error(cli("run", spec, "-o", tmp_path / "tn", "--checkpoint-every", "5"), "float and loihi")
    assert not (tmp_path / "tn").exists()


@pytest.mark.mpi
@needs_mpi
def test_sigterm_on_one_rank_checkpoints_all_ranks_and_resumes(tmp_path):
    from tests.test_mpi import INTERRUPT_AT_CHUNK

    spec = tmp_path / "long.toml"
    spec.write_text(SPEC.replace("steps = 200", "steps = 60000").replace("size = 1500", "size = 150"))
    out = tmp_path / "o"
    cmd = ["mpiexec", "-n", "2", sys.executable, "-c", INTERRUPT_AT_CHUNK.format(chunk=45)]
    cmd += ["-q", "run", spec, "-o", out, "--checkpoint-every", "3600"]
    proc = subprocess.run(list(map(str, cmd)), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "--resume" in proc.stderr
    _st, meta = run_checkpoint.load(out / run_checkpoint.CHECKPOINT)
    assert 0 < meta["step"] < 60000 and meta["workers"] == 2
    proc = mpirun(3, "-q", "run", "--resume", out)
    assert proc.returncode == 0, proc.stderr
    one = run_spec(load_spec(spec), tmp_path / "one", progress=False)
    assert_same_file(one.path, out / "spikes.h5")


def test_stop_at_or_past_the_last_step_completes(small, tmp_path):
    for stop in (60, 90):
        res = run_spec(
            load_spec(small), tmp_path / f"s{stop}", progress=False, checkpoint_every=10, stop_after=stop
        )
        assert res.complete and res.steps == 60
        assert not (tmp_path / f"s{stop}" / run_checkpoint.CHECKPOINT).exists()
