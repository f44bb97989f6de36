"""kill -9 of a real writer process: every spike up to the last completed flush stays readable.

A child process streams deterministic spikes into a SONATA file with :class:`SpikeWriter`
(the writer ``neuro run`` uses), printing the number of spikes of each population after every
flush; it is killed with SIGKILL at varied moments, mostly in the middle of a write. The file
must then open in h5py with every dataset fully readable, and neuro's readers (and libsonata,
when installed) must return exactly the spikes written up to the last printed flush or later.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from neuro.analysis.source import SpikeSource
from neuro.io.sonata import SpikeFile

ROOT = Path(__file__).resolve().parent.parent
POPS = ["a", "b"]
OFFSETS = [0, 100, 300]
DT = 0.25

WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from neuro.io.sonata import SpikeWriter

    w = SpikeWriter(sys.argv[1], {pops!r}, {offsets!r}, {dt!r}, {{"seed": 1, "steps": 10**9}})
    rng = np.random.default_rng(7)
    step = 0
    counts = [0, 0]
    while True:
        n = int(rng.integers(500, 5000))
        s = np.sort(rng.integers(step, step + 50, n))
        neuron = rng.integers(0, {total}, n)
        w.write_spikes(s, neuron)
        counts[0] += int((neuron < {split}).sum())
        counts[1] += int((neuron >= {split}).sum())
        step += 50
        w.flush(step)
        print(step, counts[0], counts[1], flush=True)
    """
).format(pops=POPS, offsets=OFFSETS, dt=DT, total=OFFSETS[-1], split=OFFSETS[1])


def expected_spikes(n_flushes: int) -> dict:
    """The spikes the writer wrote in its first ``n_flushes`` flushes (same generator)."""
    rng = np.random.default_rng(7)
    steps, neurons = [], []
    for k in range(n_flushes):
        n = int(rng.integers(500, 5000))
        steps.append(np.sort(rng.integers(50 * k, 50 * k + 50, n)))
        neurons.append(rng.integers(0, OFFSETS[-1], n))
    s, nrn = np.concatenate(steps), np.concatenate(neurons)
    out = {}
    for p, (lo, hi) in enumerate(zip(OFFSETS[:-1], OFFSETS[1:], strict=True)):
        sel = (nrn >= lo) & (nrn < hi)
        out[POPS[p]] = (nrn[sel] - lo, s[sel] * DT)
    return out


def kill_writer(path: Path, flushes: int, extra_s: float) -> list:
    """Start the writer, let it complete ``flushes`` flushes (+ ``extra_s``), SIGKILL it; lines read."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    lines = []
    try:
        deadline = time.monotonic() + 60
        while len(lines) < flushes and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append([int(x) for x in line.split()])
        time.sleep(extra_s)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # only whole lines: the kill may land in the middle of a print (its last part unterminated)
    rest = proc.stdout.read().split("\n")[:-1]
    lines += [[int(x) for x in ln.split()] for ln in rest if ln.strip()]
    proc.stdout.close()
    assert len(lines) >= flushes, "the writer did not start"
    return lines


@pytest.mark.parametrize("flushes,extra_s", [(3, 0.0), (20, 0.003), (40, 0.011), (60, 0.02)])
def test_every_flushed_spike_survives_kill_9(tmp_path, flushes, extra_s):
    path = tmp_path / "spikes.h5"
    lines = kill_writer(path, flushes, extra_s)
    last = lines[-1]  # the last flush the writer reported as completed
    done = len(lines)
    # h5py reads every dataset of the file completely (no torn chunk anywhere)
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: obj[()] if isinstance(obj, h5py.Dataset) else None)
        assert f["emulator"].attrs["complete"] == np.False_
        for p, n in zip(POPS, last[1:], strict=True):
            assert f[f"spikes/{p}/timestamps"].shape[0] >= n
            assert f[f"spikes/{p}/node_ids"].shape[0] >= n
    # neuro's readers: exactly the spikes of the flushes recorded in the file (>= the last printed)
    with SpikeSource(path) as src:
        assert not src.complete
        steps_done = src.meta["steps_completed"]
        assert steps_done >= last[0]
        want = expected_spikes(steps_done // 50)
        for p in POPS:
            ids = np.concatenate([c[0] for c in src.chunks(p)] or [np.zeros(0, np.int64)])
            ts = np.concatenate([c[1] for c in src.chunks(p)] or [np.zeros(0)])
            np.testing.assert_array_equal(ids, want[p][0])
            np.testing.assert_array_equal(ts, want[p][1])
    sf = SpikeFile(path)
    for p in POPS:
        np.testing.assert_array_equal(sf.populations[p][0], want[p][0])
    assert steps_done // 50 >= done


def test_libsonata_reads_the_flushed_spikes(tmp_path):
    libsonata = pytest.importorskip("libsonata")
    path = tmp_path / "spikes.h5"
    lines = kill_writer(path, 15, 0.005)
    with SpikeSource(path) as src:
        want = expected_spikes(src.meta["steps_completed"] // 50)
    reader = libsonata.SpikeReader(str(path))
    for p in POPS:
        got = np.asarray(reader[p].get(), dtype=np.float64).reshape(-1, 2)  # (node_id, t)
        n = want[p][0].size
        assert got.shape[0] >= n >= lines[-1][1 + POPS.index(p)]
        np.testing.assert_array_equal(got[:n, 0], want[p][0])
        np.testing.assert_array_equal(got[:n, 1], want[p][1])


def _rss_mib() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_writer_memory_does_not_grow_with_the_spikes_written(tmp_path):
    """Long runs: the writer's resident memory stays flat while the file grows."""
    from neuro.io.sonata import SpikeWriter

    w = SpikeWriter(tmp_path / "s.h5", POPS, OFFSETS, DT, {})
    rng = np.random.default_rng(0)
    rss = []
    for k in range(2000):
        s = np.full(600, k, dtype=np.int64)
        w.write_spikes(s, rng.integers(0, OFFSETS[-1], 600))
        if k % 10 == 0:
            w.flush(k + 1)
        if k in (500, 1999):
            rss.append(_rss_mib())
    w.close(True)
    assert rss[1] - rss[0] < 4.0, rss  # 900,000 spikes (21.6 MB) written in between


def test_kill_9_of_neuro_run_keeps_every_flushed_spike(tmp_path):
    """``neuro run`` itself, killed with SIGKILL mid-run: the file holds exactly the spikes of an
    uninterrupted run of the steps it records as completed (same seed), and every command reads it."""
    from click.testing import CliRunner

    from cli import main
    from neuro.run import run_spec
    from neuro.spec import load_spec

    out = tmp_path / "out"
    spec = ROOT / "models" / "cuba.toml"
    cmd = [
        sys.executable,
        str(ROOT / "cli.py"),
        "-q",
        "run",
        str(spec),
        "-o",
        str(out),
        "--steps",
        "10000000",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180  # a cold kernel cache compiles first
        done = 0
        while done < 3000 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            try:
                with h5py.File(out / "spikes.h5", "r", locking=False) as f:
                    done = int(f["emulator"].attrs["steps_completed"])
            except (OSError, KeyError):
                continue
        if proc.poll() is None:  # while it runs, readers say why they cannot read it (HDF5 lock)
            r = CliRunner().invoke(main, ["inspect", str(out)])
            assert r.exit_code == 2 and "being written by a running process" in r.stderr
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert done >= 3000, "the run did not get going"
    with h5py.File(out / "spikes.h5", "r") as f:
        f.visititems(lambda name, obj: obj[()] if isinstance(obj, h5py.Dataset) else None)
    r = CliRunner().invoke(main, ["inspect", str(out), "--json"])
    assert r.exit_code == 0 and "incomplete file from an interrupted run" in r.stderr
    with SpikeSource(out) as src:
        steps = src.meta["steps_completed"]
        got = {p: np.concatenate([c[0] for c in src.chunks(p)]) for p in src.populations}
    ref = run_spec(load_spec(spec).with_simulation(steps=steps), tmp_path / "ref", progress=False)
    with SpikeSource(ref.path) as src:
        for p, ids in got.items():
            np.testing.assert_array_equal(ids, np.concatenate([c[0] for c in src.chunks(p)]))


def test_rows_reach_the_file_before_the_committed_lengths(tmp_path):
    # HDF5 writes one flush's raw chunks and metadata in no guaranteed order: a kill inside a
    # single flush could leave new committed lengths over rows not yet on disk (neuro's reader
    # then read zeros: `bench/torn_tail.py` saw it once in 600 kills). The writer flushes the
    # rows first, then writes the lengths and flushes again.
    from neuro.io.sonata import SpikeWriter

    w = SpikeWriter(tmp_path / "spikes.h5", POPS, OFFSETS, DT, {"seed": 1, "steps": 100})
    events = []
    real_flush, real_set = w.f.flush, w._set

    w.f.flush = lambda: (events.append("flush"), real_flush())[1]  # h5py File allows attributes
    w._set = lambda *a: (events.append("length"), real_set(*a))[1]
    w.write_spikes(np.array([0, 1, 2]), np.array([0, 150, 299]))
    w.flush(3)
    assert events[0] == "flush" and events[-1] == "flush"
    first_length = events.index("length")
    assert "flush" in events[:first_length], events
    w.close(True)
