"""Statistics of ``neuro inspect`` against hand-computed values and a dense reference."""

from __future__ import annotations

import json
import math

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from neuro.analysis.source import SpikeSource
from neuro.analysis.stats import TrainAccumulator, accumulate, fano_factor, golomb_chi
from neuro.analysis.summary import inspect_spikes
from neuro.cli import main
from tests.analysis_files import HAND_IDS, HAND_TIMES, hand_file, write_ours, write_plain

# Hand computation for population "a" (4 neurons, window [0, 1000) ms, T = 1 s):
#   neuron 0 at 105, 205, 405 ms: ISIs 100, 200 -> mean 150, std 50 -> CV 1/3
#   neuron 1 at 105, 305, 505, 705: ISIs 200, 200, 200 -> CV 0
#   neuron 2 at 155 (1 spike, no CV), neuron 3 silent
#   mean rate 8 / (4 x 1 s) = 2 Hz, max 4 Hz, silent 1/4, mean CV (1/3 + 0) / 2 = 1/6
#   Fano, 100 ms bins: counts 0,3,1,1,1,1,0,1,0,0 -> mean 0.8, var 1.4 - 0.64 = 0.76 -> 0.95
#   chi, 10 ms bins (K = 100), active neurons n_a = 3:
#     S_k = 2 (bin 10), 1 in bins 15, 20, 30, 40, 50, 70 -> Var S = 10/100 - 0.08^2 = 0.0936
#     Var x_i = c_i/100 - (c_i/100)^2 for c = 3, 4, 1: 0.0291 + 0.0384 + 0.0099 = 0.0774
#     chi = sqrt(0.0936 / (3 x 0.0774))
HAND = {
    "neurons": 4,
    "spikes": 8,
    "mean_rate_hz": 2.0,
    "max_rate_hz": 4.0,
    "silent_fraction": 0.25,
    "cv_isi_mean": 1 / 6,
    "cv_isi_neurons": 2,
    "fano_factor": 0.95,
    "synchrony_chi": math.sqrt(0.0936 / (3 * 0.0774)),
}


def _check(stats, expected):
    for k, v in expected.items():
        assert stats[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k


def test_inspect_hand_computed(tmp_path):
    rep = inspect_spikes(hand_file(tmp_path / "s.h5"))
    _check(rep["populations"]["a"], HAND)
    b = rep["populations"]["b"]
    assert (b["neurons"], b["spikes"], b["silent_fraction"], b["cv_isi_mean"]) == (2, 1, 0.5, None)
    assert rep["window_ms"] == [0.0, 1000.0]
    m = rep["metadata"]
    assert (m["seed"], m["dt_ms"], m["steps"], m["steps_completed"], m["complete"]) == (
        7,
        0.1,
        10000,
        10000,
        True,
    )
    assert (m["arithmetic"], m["chip"], m["chips"], m["version"]) == ("float", "loihi", 1, "test")


def test_inspect_per_core(tmp_path):
    cores = inspect_spikes(hand_file(tmp_path / "s.h5"))["cores"]
    assert cores["n_cores"] == 3
    rows = {r["core"]: r for r in cores["per_core"]}
    # core 0 holds neurons 0, 1 of a (3 + 4 spikes), core 1 neurons 2, 3 (1), core 2 all of b (1)
    assert [rows[c]["spikes"] for c in range(3)] == [7, 1, 1]
    assert [rows[c]["neurons"] for c in range(3)] == [2, 2, 2]
    assert [(rows[c]["x"], rows[c]["y"]) for c in range(3)] == [(0, 0), (1, 0), (0, 1)]
    assert [rows[c]["population"] for c in range(3)] == ["a", "a", "b"]
    assert [r["core"] for r in cores["busiest"]] == [0, 1, 2]


def test_inspect_json_cli(tmp_path):
    path = hand_file(tmp_path / "s.h5")
    res = CliRunner().invoke(main, ["inspect", str(path), "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)
    _check(rep["populations"]["a"], HAND)
    assert rep["bins_ms"] == {"fano": 100.0, "synchrony": 10.0}


def test_inspect_text_cli(tmp_path):
    res = CliRunner().invoke(main, ["inspect", str(hand_file(tmp_path / "s.h5"))])
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith("a "))
    assert line.split() == [
        "a",
        "4",
        "8",
        "2.000",
        "4.00",
        "25.0%",
        "0.167",
        "0.950",
        f"{HAND['synchrony_chi']:.3f}",
    ]
    assert "seed 7" in res.stdout and "complete" in res.stdout


def test_inspect_window(tmp_path):
    # [200, 600) ms: neuron 0 at 205, 405; neuron 1 at 305, 505 -> 4 spikes, T = 0.4 s
    rep = inspect_spikes(hand_file(tmp_path / "s.h5"), t_start=200, t_stop=600)
    a = rep["populations"]["a"]
    assert a["spikes"] == 4 and a["mean_rate_hz"] == pytest.approx(4 / (4 * 0.4))
    assert a["max_rate_hz"] == pytest.approx(2 / 0.4)
    assert a["cv_isi_mean"] is None  # nobody has 3 spikes in the window
    assert a["fano_factor"] == pytest.approx(np.var([1, 1, 1, 1]) / 1)  # bins 200, 300, 400, 500
    assert rep["window_ms"] == [200.0, 600.0]


def test_window_is_clipped_to_recording(tmp_path):
    rep = inspect_spikes(hand_file(tmp_path / "s.h5"), t_start=500, t_stop=5000)
    assert rep["window_ms"] == [500.0, 1000.0]
    assert rep["populations"]["a"]["spikes"] == 2


def _dense_reference(ids, ts, n, t0, t1, fano_bin, sync_bin):
    """Straightforward statistics from per-neuron spike lists and dense binned matrices."""
    T = t1 - t0
    counts = np.bincount(ids, minlength=n)
    cvs = []
    for i in range(n):
        t = np.sort(ts[ids == i])
        if t.size >= 3:
            isi = np.diff(t)
            cvs.append(isi.std() / isi.mean())
    kf, ks = int(T // fano_bin), int(T // sync_bin)
    pop_f = np.histogram(ts, bins=t0 + fano_bin * np.arange(kf + 1))[0]
    x = np.zeros((n, ks))
    for i in range(n):
        x[i] = np.histogram(ts[ids == i], bins=t0 + sync_bin * np.arange(ks + 1))[0]
    active = x.sum(axis=1) > 0
    S = x.sum(axis=0)
    chi = np.sqrt(S.var() / (active.sum() * x[active].var(axis=1).sum()))
    return {
        "spikes": ids.size,
        "mean_rate_hz": ids.size / n / (T / 1000),
        "max_rate_hz": counts.max() / (T / 1000),
        "silent_fraction": np.mean(counts == 0),
        "cv_isi_mean": np.mean(cvs),
        "cv_isi_neurons": len(cvs),
        "fano_factor": pop_f.var() / pop_f.mean(),
        "synchrony_chi": chi,
    }


@pytest.fixture
def random_spikes():
    rng = np.random.default_rng(3)
    n, steps, dt = 40, 5000, 0.1  # 500 ms
    step = np.sort(rng.integers(0, steps, 3000))
    ids = rng.integers(0, n - 3, step.size)  # the last three neurons stay silent
    # a synchronous burst: every neuron at 250 ms, and doublets within one 10 ms bin
    step = np.concatenate([step, np.full(n - 3, 2500), np.full(5, 3001), np.full(5, 3002)])
    ids = np.concatenate([ids, np.arange(n - 3), np.arange(5), np.arange(5)])
    order = np.argsort(step, kind="stable")
    return n, step[order], ids[order], dt


def test_streaming_matches_dense_reference(tmp_path, random_spikes):
    n, step, ids, dt = random_spikes
    path = write_ours(tmp_path / "r.h5", {"p": (n, ids, step)}, steps=5000)
    ref = _dense_reference(ids, step * dt, n, 0.0, 500.0, 100.0, 10.0)
    for chunk in (7, 64, 1 << 20):  # chunk boundaries cut ISIs and 10 ms cells
        with SpikeSource(path, chunk=chunk) as src:
            _check(inspect_spikes(src)["populations"]["p"], ref)


@pytest.mark.parametrize("sorting", ["none", "by_id", None])
def test_unsorted_foreign_file_same_stats(tmp_path, random_spikes, sorting):
    n, step, ids, dt = random_spikes
    ts = step * dt
    rng = np.random.default_rng(0)
    order = np.lexsort((ts, ids)) if sorting == "by_id" else rng.permutation(ids.size)
    path = write_plain(tmp_path / "u.h5", {"p": (ids[order], ts[order])}, sorting=sorting)
    ref = _dense_reference(ids, ts, n - 3, 0.0, 500.0, 100.0, 10.0)
    with SpikeSource(path, chunk=50) as src:
        rep = inspect_spikes(src, t_start=0, t_stop=500)
    stats = rep["populations"]["p"]
    # no placement: neurons = max node id + 1 (the three silent neurons are invisible)
    assert stats["neurons"] == n - 3
    _check(stats, ref)
    assert rep["cores"] is None
    assert rep["metadata"]["seed"] is None and rep["metadata"]["complete"] is True


def test_foreign_default_window(tmp_path):
    path = write_plain(tmp_path / "f.h5", {"x": ([0, 1, 1], [10.0, 20.0, 50.0])}, sorting="by_time")
    rep = inspect_spikes(path)
    assert rep["window_ms"][0] == 0.0 and rep["window_ms"][1] == pytest.approx(50.0)
    assert rep["populations"]["x"]["spikes"] == 3  # the last spike is inside the default window


def test_legacy_flat_layout(tmp_path):
    path = tmp_path / "legacy.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("spikes/gids", data=np.array([0, 2], dtype=np.uint64))
        f.create_dataset("spikes/timestamps", data=np.array([1.0, 2.0]))
    rep = inspect_spikes(path)
    assert rep["populations"]["default"]["spikes"] == 2
    assert rep["populations"]["default"]["neurons"] == 3


def test_incomplete_file_warns(tmp_path):
    path = hand_file(tmp_path / "s.h5", complete=False)
    res = CliRunner().invoke(main, ["inspect", str(path), "--json"])
    assert res.exit_code == 0
    assert "incomplete" in res.stderr and res.stderr.count("\n") == 1
    assert json.loads(res.stdout)["metadata"]["complete"] is False


def test_formulas_edge_cases():
    assert fano_factor([3]) is None and fano_factor([0, 0]) is None
    assert fano_factor([2, 2, 2]) == 0.0
    # perfectly synchronous: two neurons in the same bins -> chi = 1
    assert golomb_chi([2, 0, 2, 0], [2, 2], [2, 2]) == pytest.approx(1.0)
    assert golomb_chi([1], [1], [1]) is None


def test_accumulator_rejects_out_of_order_and_falls_back():
    acc = TrainAccumulator(2, 0.0, 100.0)
    assert acc.update(np.array([0, 1]), np.array([50.0, 60.0]))
    assert not acc.update(np.array([0]), np.array([10.0]))  # neuron 0 goes back in time
    parts = [(np.array([0, 1]), np.array([50.0, 60.0])), (np.array([0]), np.array([10.0]))]
    stats = accumulate(lambda: iter(parts), 2, 0.0, 100.0).result()
    assert stats["spikes"] == 3 and stats["cv_isi_neurons"] == 0


def test_node_id_beyond_placement_is_an_error(tmp_path):
    path = write_ours(tmp_path / "s.h5", {"p": (2, np.array([0, 1]), np.array([1, 2]))})
    with h5py.File(path, "r+") as f:
        f["spikes/p/node_ids"][1] = 5
    res = CliRunner().invoke(main, ["inspect", str(path)])
    assert res.exit_code == 2 and "node id 5" in res.stderr


def test_hand_constants_match_helper():
    assert HAND_IDS.size == HAND_TIMES.size == HAND["spikes"]


def test_unsorted_stream_is_sorted_in_bounded_blocks(random_spikes, monkeypatch):
    n, step, ids, dt = random_spikes
    ts = step * dt
    p = np.random.default_rng(5).permutation(ids.size)
    parts = [(ids[p][i : i + 50], ts[p][i : i + 50]) for i in range(0, ids.size, 50)]
    sizes = []
    update = TrainAccumulator.update

    def spy(self, i, t):
        sizes.append(i.size)
        return update(self, i, t)

    monkeypatch.setattr(TrainAccumulator, "update", spy)
    stats = accumulate(lambda: iter(parts), n, 0.0, 500.0, budget=300).result()
    _check(stats, _dense_reference(ids, ts, n, 0.0, 500.0, 100.0, 10.0))
    # the first chunk reveals the disorder; then blocks of whole neurons, at most 300 spikes
    # each unless one neuron alone has more
    per_neuron = np.bincount(ids, minlength=n)
    assert sizes[0] == 50 and max(sizes[1:]) <= max(300, per_neuron.max())
    assert sum(sizes[1:]) == ids.size and len(sizes) > 4
