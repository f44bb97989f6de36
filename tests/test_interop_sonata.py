"""Every spike file neuro writes opens in libsonata (the SONATA reference reader), with the same
spikes neuro reads; ``read_spikes`` per population; the route into neo."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

import neuro.engine as engine
import neuro.run as run_mod
from neuro.errors import NeuroError
from neuro.evaluate import evaluate
from neuro.io.sonata import SpikeFile, read_spikes
from neuro.run import prepare, run_spec
from neuro.spec import Network, load_spec
from neuro.train import train

from .test_sonata import SPEC

libsonata = pytest.importorskip("libsonata")
MODELS = Path(__file__).resolve().parent.parent / "models"

# test_sonata's raw-register spec (a fires at steps 6, 15, 24; b0 at 1, 3, ..., 29; b1 at 6, 13,
# 20, 27) plus population "quiet", which never fires (an empty population must read too).
QUIET = {"name": "quiet", "size": 3, "loihi": {"decay_u": 0, "decay_v": 0, "vth_mant": 1, "bias_mant": 0}}
LOIHI = {**SPEC, "populations": [*SPEC["populations"], QUIET]}


def check_libsonata_reads(path) -> int:
    """Read every population of ``path`` with libsonata; compare with neuro's readers.

    Returns the number of spikes compared.
    """
    ours = read_spikes(path)
    sf = SpikeFile(path)
    reader = libsonata.SpikeReader(str(path))
    assert sorted(reader.get_population_names()) == sorted(ours)
    n = 0
    for name, (ids, ts) in ours.items():
        pop = reader[name]
        assert pop.sorting == "by_time" and pop.time_units == "ms"
        got = pop.get_dict()
        assert np.array_equal(np.asarray(got["node_ids"], dtype=np.int64), ids)
        assert np.array_equal(np.asarray(got["timestamps"], dtype=np.float64), ts)
        assert np.array_equal(sf.populations[name][0], ids) and np.array_equal(sf.populations[name][1], ts)
        n += ids.size
    with h5py.File(path, "r") as f:  # no HDF5 filter anywhere under /spikes
        for name in ours:
            for ds in ("node_ids", "timestamps"):
                d = f[f"spikes/{name}/{ds}"]
                assert d.compression is None and not d.shuffle and d.chunks is not None
    return n


def test_loihi_run_with_probes_and_an_empty_population(tmp_path):
    res = run_spec(Network.from_dict(LOIHI), tmp_path / "out", progress=False)
    assert check_libsonata_reads(res.path) == 3 + 15 + 4
    pops = read_spikes(res.path)
    assert pops["quiet"].node_ids.size == 0 and pops["quiet"].timestamps.dtype == np.float64
    assert pops["a"].timestamps.tolist() == [3.0, 7.5, 12.0]  # steps 6, 15, 24 at dt 0.5
    assert pops["b"].node_ids.tolist()[:4] == [0, 0, 0, 1]  # steps 1, 3, 5, 6(b0), 6(b1)...
    # every streamed dataset is unfiltered: a kill cannot tear a rewritten compressed chunk
    with h5py.File(res.path, "r") as f:
        assert f["emulator/spike_steps/a"].compression is None


@pytest.mark.parametrize("model", ["feedforward.toml", "single_neuron.toml"])
def test_float_runs_of_the_shipped_models(tmp_path, model):
    net = prepare(load_spec(MODELS / model), 300, None, None, None, None)
    res = run_spec(net, tmp_path / "out", progress=False)
    assert check_libsonata_reads(res.path) == res.counters["spikes"] > 0


def test_truenorth_run(tmp_path):
    net = prepare(load_spec(MODELS / "truenorth_classifier.toml"), 200, None, None, None, None)
    res = run_spec(net, tmp_path / "out", progress=False)
    assert check_libsonata_reads(res.path) > 0


def test_interrupted_run_reads_up_to_the_last_flush(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "CHUNK_STEPS", 10)

    def interrupt(self, step, *args, **kwargs):
        if step >= 20:
            raise KeyboardInterrupt

    monkeypatch.setattr(run_mod.Progress, "__call__", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_spec(Network.from_dict(LOIHI), tmp_path / "out", progress=False)
    path = tmp_path / "out" / "spikes.h5"
    assert SpikeFile(path).complete is False
    assert check_libsonata_reads(path) == 2 + 10 + 2  # a: 6, 15; b0: 1, 3, ..., 19; b1: 6, 13


def test_train_and_evaluate_outputs(tmp_path):
    """Every HDF5 file ``neuro train`` and ``neuro evaluate`` write: any with /spikes opens in
    libsonata. Today they write none (a checkpoint, JSON and PNG): the test lists what it saw."""
    rundir = tmp_path / "run"
    train(rundir, n_neurons=4, images=4, epochs=1, seed=3, label_images=20, progress=False)
    evaluate(rundir, images=10, batch=5, progress=False)
    h5 = sorted(p for p in rundir.rglob("*") if p.is_file() and h5py.is_hdf5(p))
    assert [p.name for p in h5] == ["checkpoint.h5"]
    for p in h5:
        with h5py.File(p, "r") as f:
            has_spikes = "spikes" in f
        if has_spikes:
            check_libsonata_reads(p)
        else:
            with pytest.raises(NeuroError, match="no /spikes group"):
                read_spikes(p)


def test_read_spikes_run_directory_and_bad_input(tmp_path):
    res = run_spec(Network.from_dict(LOIHI), tmp_path / "out", progress=False)
    assert read_spikes(tmp_path / "out")["a"].timestamps.tolist() == [3.0, 7.5, 12.0]
    (tmp_path / "text.h5").write_text("not hdf5")
    with h5py.File(tmp_path / "broken.h5", "w") as f:
        f["spikes/p/timestamps"] = np.zeros(3)
    with h5py.File(tmp_path / "strings.h5", "w") as f:
        f["spikes/p/timestamps"] = np.array([b"x", b"y"])
        f["spikes/p/node_ids"] = np.array([b"1", b"2"])
    for bad, msg in (
        (tmp_path / "missing.h5", "file not found"),
        (tmp_path / "text.h5", "not an HDF5 file"),
        (tmp_path, "not an HDF5 file"),
        (tmp_path / "broken.h5", "has timestamps but no node_ids"),
        (tmp_path / "strings.h5", "not numeric"),
    ):
        with pytest.raises(NeuroError, match=msg) as err:
            read_spikes(bad)
        assert "\n" not in str(err.value) and str(bad.name) in str(err.value)
    assert res.path.exists()


# ------------------------------------------------------------------------------ neo
def test_to_neo_one_train_per_neuron_with_the_run_window(tmp_path):
    neo = pytest.importorskip("neo")
    from neuro.io.spiketrains import to_neo

    res = run_spec(Network.from_dict(LOIHI), tmp_path / "out", progress=False)
    seg = to_neo(res.path)
    assert isinstance(seg, neo.Segment)
    keys = [(st.annotations["population"], st.annotations["node_id"]) for st in seg.spiketrains]
    assert keys == [("a", 0), ("b", 0), ("b", 1), ("quiet", 0), ("quiet", 1), ("quiet", 2)]
    a, b0, b1 = seg.spiketrains[:3]
    assert str(a.units.dimensionality) == "ms"
    assert a.magnitude.tolist() == [3.0, 7.5, 12.0]  # steps 6, 15, 24 at dt 0.5 ms
    assert b0.magnitude.tolist() == [0.5 * s for s in range(1, 30, 2)]
    assert b1.magnitude.tolist() == [3.0, 6.5, 10.0, 13.5]
    assert all(st.size == 0 for st in seg.spiketrains[3:])
    assert float(a.t_start) == 0.0 and float(a.t_stop) == 15.0  # 30 steps of 0.5 ms
    only_b = to_neo(tmp_path / "out", populations=["b"])
    assert len(only_b.spiketrains) == 2
    with pytest.raises(NeuroError, match="no population 'c'"):
        to_neo(res.path, populations=["c"])


def test_to_neo_of_another_tools_file(tmp_path):
    pytest.importorskip("neo")
    from neuro.io.spiketrains import to_neo

    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:  # no /emulator: sizes from the ids, window up to the last spike
        f["spikes/p/node_ids"] = np.array([2, 0, 2], dtype=np.uint64)
        f["spikes/p/timestamps"] = np.array([1.0, 4.0, 0.5])
    seg = to_neo(path)
    assert [st.magnitude.tolist() for st in seg.spiketrains] == [[4.0], [], [0.5, 1.0]]
    assert float(seg.spiketrains[0].t_stop) == 4.0


def test_the_neo_code_in_docs_runs(tmp_path):
    """The conversion written out in docs/interop.md, run on a real file, gives to_neo's trains."""
    pytest.importorskip("neo")
    import re

    from neuro.io.spiketrains import to_neo

    text = (Path(__file__).resolve().parent.parent / "docs" / "interop.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "neo.SpikeTrain(" in b)
    spec = dict(LOIHI, populations=[dict(LOIHI["populations"][1], name="exc")], probes=[])
    res = run_spec(Network.from_dict(spec), tmp_path / "out", progress=False)
    scope: dict = {}
    exec(block.replace('"out/spikes.h5"', repr(str(res.path))), scope)
    ours = to_neo(res.path).spiketrains
    assert len(scope["trains"]) == len(ours) == 2
    for a, b in zip(scope["trains"], ours, strict=True):
        assert a.magnitude.tolist() == b.magnitude.tolist() and a.magnitude.size > 0
