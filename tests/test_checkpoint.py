"""Checkpoints: save, load and continue gives exactly the uninterrupted run, in both arithmetics.

The network learns (Diehl & Cook rule on Poisson inputs, adaptive thresholds, a plastic
recurrent projection) and its weights are normalized by the host in between, so the state that
must survive a checkpoint includes weights, neuron registers, thresholds, learning traces and
flags, the reward, the generator's state and the counters.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from neuro.engine import Simulator
from neuro.errors import NeuroError
from neuro.io.checkpoint import load_checkpoint, read_checkpoint_meta, save_checkpoint, seal
from neuro.learning.homeostasis import normalize_weights
from neuro.network import compile_network
from neuro.spec import Network

from .conftest import as_version_1, assert_one_line_error


def learning_spec(arithmetic: str, epoch: int = 1) -> dict:
    return {
        "simulation": {"dt": 1.0, "steps": 2000, "seed": 3, "arithmetic": arithmetic},
        "inputs": [
            {"name": "in", "kind": "poisson", "size": 60, "rate": {"dist": "uniform", "low": 10, "high": 50}}
        ],
        "populations": [
            {
                "name": "e",
                "size": 8,
                "tau_mem": 20.0,
                "tau_syn": 5.0,
                "v_threshold": 1.0,
                "refractory": 2.0,
                "theta_plus": 0.05,
                "tau_theta": 1000.0,
            },
        ],
        "projections": [
            {
                "pre": "in",
                "post": "e",
                "weight": {"dist": "uniform", "low": 0, "high": 0.4},
                "plasticity": {
                    "kind": "diehl_cook",
                    "nu_pre": 0.002,
                    "nu_post": 0.05,
                    "w_max": 0.5,
                    "epoch": epoch,
                },
            },
            {
                "pre": "e",
                "post": "e",
                "weight": -0.2,
                "plasticity": {
                    "kind": "pair_stdp",
                    "A_plus": 0.01,
                    "A_minus": 0.01,
                    "w_min": -0.5,
                    "w_max": 0.0,
                },
            },
        ],
    }


class Recorder:
    def __init__(self):
        self.parts = []

    def __call__(self, s, b, n):
        self.parts.append(np.stack([s, n.astype(np.int64)]))

    @property
    def spikes(self):
        return np.concatenate(self.parts, axis=1) if self.parts else np.zeros((2, 0), np.int64)


def assert_same_sim(a: Simulator, b: Simulator):
    np.testing.assert_array_equal(a.net.weight, b.net.weight)
    for k in a.state:
        np.testing.assert_array_equal(a.state[k], b.state[k], err_msg=k)
    for k, v in a.tables.arrays.items():
        np.testing.assert_array_equal(v, b.tables.arrays[k], err_msg=k)
    assert a.counters() == b.counters()
    assert a.step == b.step
    assert a.net.rng.bit_generator.state == b.net.rng.bit_generator.state


@pytest.mark.parametrize(
    ("arithmetic", "epoch", "cut"), [("float", 1, 600), ("loihi", 1, 600), ("loihi", 3, 601)]
)
def test_resume_equals_uninterrupted(tmp_path, arithmetic, epoch, cut):
    net = Network.from_dict(learning_spec(arithmetic, epoch))
    # uninterrupted: 1000 steps, normalize, 1000 steps
    ra = Recorder()
    a = Simulator(compile_network(net))
    a.tables.arrays["reward"][0] = 1
    a.run(1000, on_spikes=ra)
    normalize_weights(a, 0, 15.0)
    a.run(1000, on_spikes=ra)
    # interrupted at `cut` (mid-epoch for epoch 3: 601 = 3 * 200 + 1), saved, loaded, continued
    rb = Recorder()
    b = Simulator(compile_network(net))
    b.tables.arrays["reward"][0] = 1
    b.run(cut, on_spikes=rb)
    path = save_checkpoint(b, tmp_path / "c.h5", extra={"image": 17})
    assert not (tmp_path / "c.h5.tmp").exists()
    del b
    c, meta = load_checkpoint(path)
    assert meta["extra"] == {"image": 17} and meta["step"] == cut and meta["arithmetic"] == arithmetic
    c.run(1000 - cut, on_spikes=rb)
    normalize_weights(c, 0, 15.0)
    c.run(1000, on_spikes=rb)
    assert_same_sim(a, c)
    np.testing.assert_array_equal(ra.spikes, rb.spikes)
    # the network did spike (and learn) on both sides of the cut and of the normalization
    assert (ra.spikes[0] < cut).sum() > 100 and (ra.spikes[0] >= 1000).sum() > 50
    assert a.counters()["host_weight_normalization"] == 60 * 8
    w0 = compile_network(net).weight
    assert not np.array_equal(w0, a.net.weight)


def test_checkpoint_keeps_learning_and_adapt_flags(tmp_path):
    net = Network.from_dict(learning_spec("float"))
    sim = Simulator(compile_network(net), learning=True, adapt=False)
    sim.run(10)
    path = save_checkpoint(sim, tmp_path / "c.h5")
    back, meta = load_checkpoint(path)
    assert back.learning and not back.adapt
    assert meta["learning"] and not meta["adapt"]
    back2, _ = load_checkpoint(path, learning=False)
    assert not back2.learning


def test_checkpoint_meta(tmp_path):
    net = Network.from_dict(learning_spec("loihi"))
    sim = Simulator(compile_network(net))
    sim.run(5)
    path = save_checkpoint(sim, tmp_path / "c.h5")
    meta = read_checkpoint_meta(path)
    assert meta["format"] == "neuro-checkpoint" and meta["format_version"] == 2
    assert meta["seed"] == 3 and meta["step"] == 5
    assert Network.from_dict(meta["spec"]) == net


# --------------------------------------------------------------------------- bad checkpoints
@pytest.fixture
def saved(tmp_path):
    sim = Simulator(compile_network(Network.from_dict(learning_spec("float"))))
    sim.run(3)
    return save_checkpoint(sim, tmp_path / "good.h5")


def test_missing_file(tmp_path):
    with pytest.raises(NeuroError) as e:
        load_checkpoint(tmp_path / "nope.h5")
    assert_one_line_error(e.value, "nope.h5", "checkpoint not found")


def test_not_hdf5(tmp_path):
    path = tmp_path / "text.h5"
    path.write_text("hello\nworld\n")
    with pytest.raises(NeuroError) as e:
        load_checkpoint(path)
    assert_one_line_error(e.value, "text.h5", "not an HDF5 checkpoint")


def test_wrong_format(tmp_path, saved):
    with h5py.File(saved, "r+") as f:
        f.attrs["format"] = "something-else"
    seal(saved)  # consistent but wrong, not damaged
    with pytest.raises(NeuroError) as e:
        load_checkpoint(saved)
    assert_one_line_error(e.value, "good.h5", "not a neuro checkpoint")


def test_hdf5_without_format(tmp_path):
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=[1, 2])
    with pytest.raises(NeuroError) as e:
        load_checkpoint(path)
    assert_one_line_error(e.value, "plain.h5", "not a neuro checkpoint")


def test_wrong_version(saved):
    with h5py.File(saved, "r+") as f:
        f.attrs["format_version"] = 99
    seal(saved)
    with pytest.raises(NeuroError) as e:
        load_checkpoint(saved)
    assert_one_line_error(e.value, "good.h5", "version 99 is not supported", "versions 1, 2")


def test_weights_of_another_network(saved):
    import json

    with h5py.File(saved, "r+") as f:
        spec = json.loads(f.attrs["spec"])
        spec["populations"][0]["size"] = 9
        f.attrs["spec"] = json.dumps(spec)
    seal(saved)  # a consistent file, not a damaged one
    with pytest.raises(NeuroError) as e:
        load_checkpoint(saved)
    assert_one_line_error(e.value, "good.h5", "do not match")


# --------------------------------------------------------------------------- synapse tables
def test_checkpoint_stores_weights_per_projection_with_indices(tmp_path):
    # 60 Poisson inputs -> 8 neurons all-to-all, 8 -> 8 all-to-all without self-connections:
    # the tables list every (pre, post) pair in (pre, post) order, weights as the engine holds them
    net = compile_network(Network.from_dict(learning_spec("float")))
    sim = Simulator(net)
    sim.run(50)
    path = save_checkpoint(sim, tmp_path / "c.h5")
    with h5py.File(path, "r") as f:
        assert "weight" not in f  # no bare flat vector
        g0, g1 = f["synapses/0"], f["synapses/1"]
        assert (g0.attrs["name"], g0.attrs["pre"], g0.attrs["post"]) == ("in->e", "in", "e")
        assert (g0.attrs["n_pre"], g0.attrs["n_post"], g0.attrs["arithmetic"]) == (60, 8, "float")
        assert g0["pre"][()].tolist() == np.repeat(np.arange(60), 8).tolist()
        assert g0["post"][()].tolist() == np.tile(np.arange(8), 60).tolist()
        pairs = [(i, j) for i in range(8) for j in range(8) if i != j]
        assert list(zip(g1["pre"][()].tolist(), g1["post"][()].tolist(), strict=True)) == pairs
        # the stored weights are the engine's: input i -> neuron j is in i's CSR row
        w0 = g0["weight"][()].reshape(60, 8)
        s0 = net.source_offset("in")  # inputs are numbered after the 8 neurons
        for i in (0, 17, 59):
            row = net.weight[net.indptr[s0 + i] : net.indptr[s0 + i + 1]]
            np.testing.assert_array_equal(w0[i], row)
        w1 = g1["weight"][()].reshape(8, 7)  # plastic: no longer all -0.2
        for i in range(8):
            np.testing.assert_array_equal(w1[i], net.weight[net.indptr[i] : net.indptr[i + 1]])
        assert not np.all(w1 == -0.2)


def _as_version_1(path):
    """Rewrite a checkpoint the way version 1 stored weights: one flat vector in CSR order."""
    sim, _ = load_checkpoint(path)
    as_version_1(path, sim.net.weight)


@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_version_1_checkpoints_still_resume_exactly(tmp_path, arithmetic):
    net = Network.from_dict(learning_spec(arithmetic))
    a = Simulator(compile_network(net))
    a.run(300)
    b = Simulator(compile_network(net))
    b.run(200)
    path = save_checkpoint(b, tmp_path / "c.h5")
    _as_version_1(path)
    c, meta = load_checkpoint(path)
    assert meta["format_version"] == 1
    c.run(100)
    assert_same_sim(a, c)
    assert not np.array_equal(compile_network(net).weight, c.net.weight)  # it learned


def test_synapses_of_another_connectivity(saved):
    with h5py.File(saved, "r+") as f:
        post = f["synapses/1/post"][()]
        del f["synapses/1/post"]
        f["synapses/1/post"] = post[::-1]
    seal(saved)  # a well-formed checkpoint of another connectivity, not a damaged file
    with pytest.raises(NeuroError) as e:
        load_checkpoint(saved)
    assert_one_line_error(e.value, "good.h5", "do not match")
