"""spikes.h5: SONATA layout, emulator extras, streaming, interrupted runs, and reading back."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

import neuro
import neuro.engine as engine
import neuro.run as run_mod
from neuro.errors import NeuroError
from neuro.io.sonata import SpikeFile
from neuro.run import run_spec
from neuro.spec import Network

# Raw Loihi registers, so the spikes are known by hand (see test_dynamics_loihi):
#   a:  bias 10, vth 64, decay_v 0, R 3 -> c = 7, first spike at 6, period R - 1 + c = 9: 6, 15, 24
#   b0: bias 64, R 1 -> c = 2: 1, 3, 5, ..., 29;  b1: bias 10, R 1 -> c = 7: 6, 13, 20, 27
SPEC = {
    "name": "known",
    "simulation": {"dt": 0.5, "steps": 30, "seed": 17, "arithmetic": "loihi"},
    "populations": [
        {
            "name": "a",
            "size": 1,
            "loihi": {"decay_u": 0, "decay_v": 0, "vth_mant": 1, "bias_mant": 10, "refract_delay": 3},
        },
        {"name": "b", "size": 2, "loihi": {"decay_u": 0, "decay_v": 0, "vth_mant": 1, "bias_mant": [64, 10]}},
    ],
    "probes": [{"population": "a", "variables": ["v"]}],
}
A_STEPS = [6, 15, 24]
B_SPIKES = sorted([(s, 0) for s in range(1, 30, 2)] + [(s, 1) for s in (6, 13, 20, 27)])


@pytest.fixture
def result(tmp_path):
    return run_spec(Network.from_dict(SPEC), tmp_path / "out", progress=False)


def test_root_attributes(result):
    with h5py.File(result.path, "r") as f:
        assert f.attrs["magic"] == 0x0A7A
        assert f.attrs["magic"].dtype == np.uint32
        assert f.attrs["version"].dtype == np.uint32 and f.attrs["version"].shape == (2,)


def test_spike_datasets(result):
    with h5py.File(result.path, "r") as f:
        assert set(f["spikes"]) == {"a", "b"}
        a = f["spikes/a"]
        assert a["timestamps"].dtype == np.float64
        assert a["timestamps"].attrs["units"] == "ms"
        assert a["node_ids"].dtype == np.uint64
        # dt 0.5 ms: timestamps = step * 0.5
        assert a["timestamps"][()].tolist() == [3.0, 7.5, 12.0]
        assert a["node_ids"][()].tolist() == [0, 0, 0]
        b = f["spikes/b"]
        assert b["timestamps"][()].tolist() == [s * 0.5 for s, _ in B_SPIKES]
        assert b["node_ids"][()].tolist() == [n for _, n in B_SPIKES]
        assert np.all(np.diff(b["timestamps"][()]) >= 0)  # by_time holds


def test_sorting_is_an_hdf5_enum_by_time(result):
    with h5py.File(result.path, "r") as f:
        for pop in ("a", "b"):
            g = f[f"spikes/{pop}"]
            dtype = g.attrs.get_id("sorting").dtype
            assert h5py.check_enum_dtype(dtype) == {"none": 0, "by_id": 1, "by_time": 2}
            assert int(g.attrs["sorting"]) == 2


def test_emulator_attributes(result):
    with h5py.File(result.path, "r") as f:
        emu = f["emulator"].attrs
        assert emu["seed"] == 17
        assert emu["dt_ms"] == 0.5
        assert emu["arithmetic"] == "loihi"
        assert bool(emu["complete"]) is True
        assert emu["version"] == neuro.__version__
        assert emu["steps"] == 30 and emu["steps_completed"] == 30
        assert emu["t_stop_ms"] == 15.0
        spec = json.loads(emu["spec"])
        assert Network.from_dict(spec) == Network.from_dict(SPEC)
        # exact steps, aligned with timestamps
        steps = f["emulator/spike_steps/b"][()]
        assert steps.dtype == np.int64
        assert steps.tolist() == [s for s, _ in B_SPIKES]
        np.testing.assert_array_equal(f["spikes/b/timestamps"][()], steps * 0.5)
        assert f["emulator/spike_steps/a"][()].tolist() == A_STEPS
        # counters of the run
        c = f["emulator/counters"].attrs
        assert c["spikes"] == 3 + len(B_SPIKES) and c["steps"] == 30


def test_placement_and_probes(result):
    with h5py.File(result.path, "r") as f:
        pl = f["emulator/placement/b"][()]
        assert pl.dtype == np.uint32 and pl.shape == (2, 3)
        # chip 0, core 1 (a is on core 0), compartments 0 and 1
        assert pl.tolist() == [[0, 1, 0], [0, 1, 1]]
        assert f["emulator/cores"][()].tolist() == [[0, 0, 0], [0, 1, 0]]
        v = f["emulator/probes/a/v"][()]
        assert v.shape == (30, 1)
        # v = 10 (k + 1 - start) climbing from each restart; 0 at spikes and the R - 1 = 2 held steps
        expected = [10, 20, 30, 40, 50, 60, 0, 0, 0] + [10, 20, 30, 40, 50, 60, 0, 0, 0] * 2 + [10, 20, 30]
        assert v[:, 0].tolist() == expected
        assert f["emulator/probes/a/neurons"][()].tolist() == [0]


def test_spikefile_reader(result):
    sf = SpikeFile(result.path)
    assert sf.complete
    ids, ts = sf.populations["a"]
    assert ids.tolist() == [0, 0, 0] and ts.tolist() == [3.0, 7.5, 12.0]
    assert sf.spike_steps("b").tolist() == [s for s, _ in B_SPIKES]
    assert sf.meta["seed"] == 17
    assert sf.counters["spikes"] == 3 + len(B_SPIKES)


def test_interrupted_run_leaves_readable_incomplete_file(tmp_path, monkeypatch):
    # Chunks of 10 steps; a Ctrl-C after the second chunk (step 20) stops the run.
    monkeypatch.setattr(engine, "CHUNK_STEPS", 10)

    def interrupt(self, step):
        if step >= 20:
            raise KeyboardInterrupt

    monkeypatch.setattr(run_mod.Progress, "__call__", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_spec(Network.from_dict(SPEC), tmp_path / "out", progress=False)
    path = tmp_path / "out" / "spikes.h5"
    sf = SpikeFile(path)
    assert sf.complete is False
    assert sf.meta["steps_completed"] == 20 and sf.meta["t_stop_ms"] == 10.0
    assert sf.spike_steps("a").tolist() == [6, 15]
    assert sf.populations["b"][1].tolist() == [s * 0.5 for s, _ in B_SPIKES if s < 20]
    with h5py.File(path, "r") as f:
        assert f["emulator/probes/a/v"].shape == (20, 1)
        assert f["emulator/counters"].attrs["steps"] == 20


def test_reader_accepts_legacy_layout_and_rejects_non_sonata(tmp_path):
    legacy = tmp_path / "legacy.h5"
    with h5py.File(legacy, "w") as f:
        f["spikes/timestamps"] = np.array([1.0, 2.0])
        f["spikes/gids"] = np.array([3, 4])
    sf = SpikeFile(legacy)
    assert sf.populations["default"][0].tolist() == [3, 4]
    assert sf.complete  # other tools' files have no /emulator
    assert sf.spike_steps("default").tolist() == [1, 2]  # rint(t / 1 ms)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = 1
    with pytest.raises(NeuroError, match="no /spikes group"):
        SpikeFile(other)
    text = tmp_path / "text.h5"
    text.write_text("hello")
    with pytest.raises(NeuroError, match="not an HDF5 file"):
        SpikeFile(text)
    with pytest.raises(NeuroError, match="file not found"):
        SpikeFile(tmp_path / "missing.h5")


def test_zero_steps_writes_empty_complete_file(tmp_path):
    net = Network.from_dict(SPEC).with_simulation(steps=0)
    res = run_spec(net, tmp_path / "out", progress=False)
    sf = SpikeFile(res.path)
    assert sf.complete and sf.populations["a"][0].size == 0


def test_probe_subset_of_neurons_and_both_variables(tmp_path):
    # b: probe neuron 1 only (bias 10, R 1: v = 10, 20, ..., 60, spike at 6 -> 0, 10, ...), v and i (u = 0)
    d = {**SPEC, "probes": [{"population": "b", "variables": ["v", "i"], "neurons": [1]}]}
    res = run_spec(Network.from_dict(d), tmp_path / "out", progress=False)
    with h5py.File(res.path, "r") as f:
        g = f["emulator/probes/b"]
        assert g["neurons"][()].tolist() == [1]
        assert g["v"].shape == g["i"].shape == (30, 1)
        assert g["v"][:8, 0].tolist() == [10, 20, 30, 40, 50, 60, 0, 10]
        assert g["i"][()].max() == 0 and g["i"][()].min() == 0


def test_every_flush_records_what_was_written(tmp_path):
    """Committed lengths, ``steps_completed`` and ``t_stop_ms`` are rewritten in place at every
    flush (not only created at the first) and always equal what the datasets hold; a population's
    chunks read back as their concatenation, probes too."""
    from neuro.io.sonata import SpikeWriter

    w = SpikeWriter(tmp_path / "s.h5", ["p", "q"], np.array([0, 3, 5]), 0.5, {"seed": 1})
    rec = w.f["emulator/committed"].attrs
    assert all(rec[f"/spikes/{p}/{d}"] == 0 for p in "pq" for d in ("timestamps", "node_ids"))
    written = {"p": [], "q": []}
    for chunk in range(3):
        k0 = 10 * chunk
        steps = np.array([k0, k0 + 1, k0 + 1, k0 + 7 + chunk], dtype=np.int64)
        ids = np.array([4, 0, 2, chunk % 5], dtype=np.int64)
        w.write_spikes(steps, ids)
        w.write_probe("p", "v", np.array([1]), np.full((10, 1), float(chunk)))
        w.flush(k0 + 10)
        for s, n in zip(steps, ids, strict=True):
            written["p" if n < 3 else "q"].append((s, n if n < 3 else n - 3))
        for pop, got in written.items():
            n = len(got)
            assert rec[f"/spikes/{pop}/node_ids"] == n == w.f[f"spikes/{pop}/node_ids"].shape[0]
            assert rec[f"/emulator/spike_steps/{pop}"] == n
        assert rec["/emulator/probes/p/v"] == 10 * (chunk + 1)
        assert w.f["emulator"].attrs["steps_completed"] == k0 + 10
        assert w.f["emulator"].attrs["t_stop_ms"] == (k0 + 10) * 0.5
    w.close(True)
    sf = SpikeFile(tmp_path / "s.h5")
    for pop, got in written.items():
        assert sf.spike_steps(pop).tolist() == [s for s, _ in got]
        assert sf.populations[pop][0].tolist() == [n for _, n in got]
        assert sf.populations[pop][1].tolist() == [0.5 * s for s, _ in got]
    with h5py.File(tmp_path / "s.h5") as f:
        assert f["emulator/probes/p/v"][:, 0].tolist() == [c for c in range(3) for _ in range(10)]
        assert f["emulator/probes/p/v"].dtype == np.float64
