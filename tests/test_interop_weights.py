"""``neuro weights``: every projection's synapses as a dense matrix or triplets, from a checkpoint
(this version's or version 1), a training RUNDIR or a spec; bad input is one line, exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from neuro.engine import Simulator
from neuro.errors import NeuroError
from neuro.io.checkpoint import load_checkpoint, save_checkpoint
from neuro.io.weights import read_weights, weight_arrays, write_weights_npz
from neuro.network import compile_network
from neuro.spec import Network
from neuro.train import train

from .conftest import as_version_1

# pre "a" (3 neurons) -> post "b" (4 neurons): a list with known weights (mV) and delays (ms),
# the pair (2, 1) given twice (two synapses); "a" -> "a" one-to-one; dt 0.5 ms.
PAIRS = [[0, 3, 0.5, 1.0], [2, 1, -0.25, 0.0], [0, 0, 1.5, 0.5], [2, 1, 0.75, 2.0]]


def spec(arithmetic="float", pairs=PAIRS, weight_exp=None):
    proj = {"pre": "a", "post": "b", "connector": {"type": "list", "pairs": pairs}}
    b = {"name": "b", "size": 4}
    if weight_exp is not None:  # raw weights go onto raw registers
        proj["weight_exp"] = weight_exp
        b["loihi"] = {"decay_u": 0, "decay_v": 0, "vth_mant": 1, "bias_mant": 0}
    return Network.from_dict(
        {
            "simulation": {"dt": 0.5, "steps": 10, "seed": 1, "arithmetic": arithmetic},
            "populations": [{"name": "a", "size": 3}, b],
            "projections": [proj, {"pre": "a", "post": "a", "connector": "one_to_one", "weight": 0.1}],
        }
    )


def _checkpoint(tmp_path, net):
    sim = Simulator(compile_network(net))
    sim.run(3)
    return save_checkpoint(sim, tmp_path / "c.h5")


def test_triplets_and_matrix_by_hand(tmp_path):
    ws = read_weights(_checkpoint(tmp_path, spec()))
    assert list(ws.projections) == ["a->b", "a->a"] and ws.arithmetic == "float" and ws.dt_ms == 0.5
    p = ws.projections["a->b"]
    # sorted by (pre, post); the repeated pair keeps both synapses in their given order
    assert p.pre.tolist() == [0, 0, 2, 2] and p.post.tolist() == [0, 3, 1, 1]
    assert p.weight.tolist() == [1.5, 0.5, -0.25, 0.75]
    assert p.delay.tolist() == [1, 2, 0, 4]  # ms / 0.5 ms
    assert (p.n_pre, p.n_post, p.units, p.register) == (3, 4, "mV", None)
    arrays = weight_arrays(ws)  # auto: the repeated pair forces triplets; a->a is small: dense
    assert arrays["a->b/weight"].tolist() == [1.5, 0.5, -0.25, 0.75]
    np.testing.assert_array_equal(arrays["a->a"], np.eye(3) * 0.1)
    meta = json.loads(str(arrays["_meta"]))["projections"]
    assert meta["a->b"] == {
        "pre": "a",
        "post": "b",
        "shape": [3, 4],
        "layout": "sparse",
        "synapses": 4,
        "receptor": "exc",
        "units": "mV",
        "delay_units": "steps",
    }
    # without the repeated pair a matrix can hold it: zeros where no synapse
    ws = read_weights(_checkpoint(tmp_path, spec(pairs=PAIRS[:3])))
    m = weight_arrays(ws, "dense")["a->b"]
    expect = np.zeros((3, 4))
    expect[0, 3], expect[2, 1], expect[0, 0] = 0.5, -0.25, 1.5
    np.testing.assert_array_equal(m, expect)


def test_loihi_registers_and_raw_weights(tmp_path):
    # raw registers: Wgt << (6 + weight_exp), so Wgt comes back exactly
    pairs = [[0, 1, 12], [1, 2, -255], [2, 0, 7]]
    ws = read_weights(_checkpoint(tmp_path, spec("loihi", pairs, weight_exp=-2)))
    p = ws.projections["a->b"]
    assert p.register.tolist() == [12 * 16, -255 * 16, 7 * 16]
    assert p.weight.tolist() == [12.0, -255.0, 7.0] and p.units.startswith("Wgt")
    # scaled weights: the register stands for register / (register units per mV)
    net = compile_network(spec("loihi", PAIRS[:3]))
    lp = net.pop_registers[1]
    ws = read_weights(_checkpoint(tmp_path, spec("loihi", PAIRS[:3])))
    p = ws.projections["a->b"]
    np.testing.assert_array_equal(p.register, net.weight[next(net.projection_positions())])
    np.testing.assert_allclose(p.weight, p.register / lp.scale)
    step = 2.0 ** (6 + net.weight_exps[0]) / lp.scale  # one Wgt step, in mV
    assert np.all(np.abs(p.weight - np.array([1.5, 0.5, -0.25])) <= step / 2 + 1e-12)
    arrays = weight_arrays(ws, "dense")
    assert arrays["a->b/register"][2, 1] == p.register[2] and arrays["a->b/register"].dtype == np.int64


@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_version_1_checkpoint_and_spec_give_the_same_tables(tmp_path, arithmetic):
    net = spec(arithmetic)
    path = _checkpoint(tmp_path, net)
    new = read_weights(path)
    sim, _ = load_checkpoint(path)
    as_version_1(path, sim.net.weight)  # one flat vector in CSR order, unsealed
    old = read_weights(path)
    from_spec = read_weights(_spec_file(tmp_path, net))
    assert from_spec.source.endswith("net.toml")
    for other in (old, from_spec):  # nothing learned: the spec's weights are the checkpoint's
        assert other.projections.keys() == new.projections.keys()
        for k, p in new.projections.items():
            q = other.projections[k]
            for field in ("pre", "post", "weight", "delay"):
                np.testing.assert_array_equal(getattr(p, field), getattr(q, field), err_msg=field)


def _spec_file(tmp_path, net):
    """``spec(arithmetic)`` as TOML text."""
    path = tmp_path / "net.toml"
    path.write_text(
        f"""
        [simulation]
        dt = 0.5
        steps = 10
        seed = 1
        arithmetic = "{net.simulation.arithmetic}"
        [[populations]]
        name = "a"
        size = 3
        [[populations]]
        name = "b"
        size = 4
        [[projections]]
        pre = "a"
        post = "b"
        connector = {{ type = "list", pairs = {PAIRS} }}
        [[projections]]
        pre = "a"
        post = "a"
        connector = "one_to_one"
        weight = 0.1
        """.replace("\n        ", "\n")
    )
    return path


def test_trained_rundir_exports_the_learned_weights(tmp_path):
    rundir = tmp_path / "run"
    train(rundir, n_neurons=4, images=3, epochs=1, seed=3, label_images=20, progress=False)
    out = tmp_path / "w.npz"
    res = CliRunner().invoke(main, ["weights", str(rundir), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "input: 784 x 4, 3136 synapses, dense, mV" in res.output
    z = np.load(out)
    sim, _ = load_checkpoint(rundir / "checkpoint.h5", learning=False)
    net = sim.net
    p = next(i for i, pr in enumerate(net.spec.projections) if pr.plasticity is not None)
    pos = list(net.projection_positions())[p]
    np.testing.assert_array_equal(z["input"].ravel(), net.weight[pos])  # all-to-all, (pre, post) order
    initial = compile_network(net.spec, seed=net.seed).weight[pos]
    assert not np.array_equal(z["input"].ravel(), initial)  # learned
    assert json.loads(str(z["_meta"]))["source"].endswith("checkpoint.h5")
    res = CliRunner().invoke(main, ["weights", str(rundir), "-o", str(out), "--layout", "sparse"])
    assert res.exit_code == 0
    z = np.load(out)
    assert z["input/pre"].tolist()[:5] == [0, 0, 0, 0, 1] and z["input/post"].tolist()[:5] == [0, 1, 2, 3, 0]
    np.testing.assert_array_equal(z["input/weight"], net.weight[pos])


def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path):
    ckpt = _checkpoint(tmp_path, spec())
    (tmp_path / "text.h5").write_text("hello")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "spikes.h5").write_bytes(b"")
    out = tmp_path / "w.npz"
    r = CliRunner()
    for args, needle in (
        ([str(tmp_path / "nope.h5")], "checkpoint not found"),
        ([str(tmp_path / "text.h5")], "not an HDF5 checkpoint"),
        ([str(tmp_path / "run")], "no checkpoint.h5"),
        ([str(ckpt), "--layout", "dense"], "several synapses between the same neurons"),
        ([str(ckpt), "-o", str(tmp_path / "missing" / "w.npz")], "directory does not exist"),
        (["models/truenorth_classifier.toml"], "no weights to export"),
        ([str(ckpt), "--layout", "triangular"], "Invalid value for '--layout'"),
    ):
        full = ["weights", *args] + ([] if "-o" in args else ["-o", str(out)])
        res = r.invoke(main, full)
        assert res.exit_code == 2, (args, res.output)
        assert res.output.count("\n") == 1 and res.output.startswith("error: ") and needle in res.output
        assert not out.exists() and not list(tmp_path.glob("*.tmp"))
    with pytest.raises(NeuroError, match="unknown layout"):
        write_weights_npz(read_weights(ckpt), out, "triangular")
