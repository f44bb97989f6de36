"""The teacher-gated STDP model (models/teacher_stdp.py): layout on one Loihi chip, the teacher's
gating, the reward schedule and rule in Loihi registers, L2 weight normalization, CLI runs."""

import json
import os
import signal

import numpy as np
import pytest
from click.testing import CliRunner

import neuro.train as train_mod
from cli import main
from neuro.chips import LOIHI
from neuro.datasets import load_dataset
from neuro.engine import Simulator
from neuro.errors import NeuroError
from neuro.evaluate import evaluate
from neuro.inputs import ScheduledInputs
from neuro.io.checkpoint import read_checkpoint_meta
from neuro.io.weights import read_weights
from neuro.learning.homeostasis import normalize_weights_l2
from neuro.mapping import place
from neuro.models.diehl_cook_protocol import make_config
from neuro.models.registry import model_kind
from neuro.models.teacher_stdp import classes, reward_int
from neuro.network import compile_network
from neuro.train import train

MODEL = "teacher-stdp"
KIND = model_kind(MODEL)


def network(n, arithmetic="float", overrides=None, seed=0):
    cfg = make_config(n, overrides or {}, "embedded", MODEL)
    return cfg, compile_network(KIND.build_network(cfg, arithmetic, seed))


@pytest.mark.parametrize("n", [400, 1600])
def test_network_fits_one_loihi_chip_within_every_core_limit(n):
    _, net = network(n, "loihi")
    p = place(net, LOIHI, 1)
    assert p.n_cores <= LOIHI.cores_per_chip
    for res, limit in LOIHI.limits().items():
        assert limit is not None and p.usage[res].max() <= limit, res
    # the teacher's 10 channels reach every excitatory core: they are counted as input axons
    assert net.source_offset("teacher") >= 0 and p.usage["input_axons"].max() >= 784 + 10
    with pytest.raises(NeuroError, match="input axons"):  # the limits are checked on this network
        place(net, LOIHI.with_limits(input_axons_per_core=700), 1)


def test_teacher_inhibits_every_other_class_only():
    _, net = network(20)
    spec = next(p for p in net.spec.projections if p.name == "teacher_exc")
    pairs = np.array(spec.connector.pairs)
    assert len(pairs) == 10 * 18  # each channel onto the 18 neurons of the other 9 classes
    assert np.all(classes(20)[pairs[:, 1]] != pairs[:, 0])
    proj = [p.name for p in net.spec.projections].index("teacher_exc")
    pos = next(x for i, x in enumerate(net.projection_positions()) if i == proj)
    assert pos.size == 180 and np.all(net.weight[pos] < 0)


@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_only_the_true_class_fires_while_training(arithmetic):
    cfg, net = network(20, arithmetic)
    sim = Simulator(net, inputs=ScheduledInputs(), learning=True)
    pres = KIND.make_presenter(sim, cfg)
    tr = load_dataset("embedded", "train")
    cls = classes(20)
    right = 0
    for i in range(0, 4000, 400):  # one image of each class
        pres.before_image(int(tr.labels[i]), i, 4000)
        counts, _ = pres.train_image(tr.images[i])
        assert counts[cls != tr.labels[i]].sum() == 0
        right += counts[cls == tr.labels[i]].sum()
    assert right > 0


def test_reward_schedule_fits_the_register_and_decreases():
    cfg = make_config(400, {}, "embedded", MODEL)
    total = 12000
    r = np.array(
        [reward_int(cfg, i, total) for i in range(0, total, 37)] + [reward_int(cfg, total - 1, total)]
    )
    assert r[0] == 127 and r[-1] == round(cfg.r_end * 128) == 32  # r_start 1.0 -> 127/128 (8-bit signed)
    assert np.all(np.diff(r) <= 0) and r.min() >= 1 and r.max() <= 127
    with pytest.raises(NeuroError, match="r_end"):
        make_config(400, {"r_end": 0.001}, "embedded", MODEL)  # rounds to 0 in the register
    with pytest.raises(NeuroError, match="multiple of 10"):
        make_config(45, {}, "embedded", MODEL)


def test_rule_in_loihi_registers_learns_at_every_scheduled_reward():
    # Loihi: term = m * prod(traces) * r_int shifted by e + 7 - 7 n_traces - 7 n_r (neuro.learning.loihi),
    # accumulated with 7 fraction bits below the weight's LSB. At full traces (127) and every reward
    # the schedule uses (r_end*128 = 32 .. 127), potentiation must move a weight by >= 1 Wgt per post
    # spike and depression must not round to zero.
    cfg, net = network(20, "loihi")
    arr = Simulator(net, inputs=ScheduledInputs(), learning=True).tables.arrays
    (m_pot, m_dep), (e_pot, e_dep) = arr["t_mant"][0], arr["t_exp"][0]
    pows = arr["t_pow"][0]  # factor order: x1, x2, y1, y2, y3, w, r
    assert pows[0].tolist() == [1, 0, 0, 1, 0, 0, 1] and pows[1].tolist() == [0, 0, 1, 0, 0, 0, 1]
    assert m_pot > 0 and m_dep < 0
    for r_int in (round(cfg.r_end * 128), 64, 127):
        pot = (m_pot * 127 * 127 * r_int) >> -(e_pot + 7 - 14 - 7)
        dep = (m_dep * 127 * r_int) >> -(e_dep + 7 - 7 - 7)
        assert pot >= 128 and dep <= -1, (r_int, pot, dep)
        # and both stay close to the float rule (mV -> Wgt with the projection's scale)
        from neuro.discretize import wgt_per_mv

        p = [q.name for q in net.spec.projections].index("input")
        lsb = wgt_per_mv(
            net.spec.projections[p], net.pop_registers[net.pop_names.index("exc")], net.weight_exps[p]
        )
        want = cfg.nu_post * cfg.input_gain * (127 / 128) ** 2 * r_int / 128 * lsb * 128
        assert abs(pot - want) / want < 0.15


@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_l2_normalization_against_numpy(arithmetic):
    cfg, net = network(20, arithmetic)
    sim = Simulator(net, inputs=ScheduledInputs(), learning=True)
    pres = KIND.make_presenter(sim, cfg)
    pos, post = pres.positions, pres.post
    target = cfg.norm_l2 * cfg.input_gain
    before = net.weight[pos].copy()
    normalize_weights_l2(sim, pres.plastic, target, pos, post)
    after = net.weight[pos]
    if arithmetic == "float":
        norms = np.sqrt(np.bincount(post, after**2, minlength=net.n_neurons))[np.unique(post)]
        np.testing.assert_allclose(norms, target, rtol=1e-12)
        ref = before * (target / np.sqrt(np.bincount(post, before**2, minlength=net.n_neurons))[post])
        np.testing.assert_allclose(after, ref, rtol=1e-12)
    else:
        shift = 6 + net.weight_exps[pres.plastic]
        wgt0 = before.astype(np.int64) >> shift
        wgt1 = after.astype(np.int64) >> shift
        assert np.all(after.astype(np.int64) == wgt1 << shift)
        from neuro.discretize import wgt_per_mv

        proj = net.spec.projections[pres.plastic]
        lsb = wgt_per_mv(proj, net.pop_registers[net.pop_names.index("exc")], net.weight_exps[pres.plastic])
        n0 = np.sqrt(np.bincount(post, wgt0.astype(float) ** 2, minlength=net.n_neurons))
        ref = np.clip(
            np.rint(wgt0 * (target * lsb / n0[post])), -(2**proj.weight_bits - 1), 2**proj.weight_bits - 1
        )
        assert np.array_equal(wgt1, ref.astype(np.int64))
        n1 = np.sqrt(np.bincount(post, wgt1.astype(float) ** 2, minlength=net.n_neurons))[np.unique(post)]
        np.testing.assert_allclose(n1, target * lsb, rtol=0.02)


TINY = dict(n_neurons=20, images=6, epochs=1, seed=3, label_images=20, progress=False, model=MODEL)


@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_stop_and_resume_is_exact(tmp_path, monkeypatch, arithmetic):
    cfg = dict(TINY, arithmetic=arithmetic)
    train(tmp_path / "whole", **cfg)
    real = train_mod.Presenter.train_image
    shown = []

    def interrupt_after_three(self, image):
        out = real(self, image)
        shown.append(1)
        if len(shown) == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return out

    monkeypatch.setattr(train_mod.Presenter, "train_image", interrupt_after_three)
    s = train(tmp_path / "cut", **cfg)
    assert s["stopped"] and s["position"] == 3
    monkeypatch.setattr(train_mod.Presenter, "train_image", real)
    train(tmp_path / "cut", resume=True, progress=False)
    w1, w2 = read_weights(tmp_path / "whole").projections, read_weights(tmp_path / "cut").projections
    assert all(np.array_equal(w1[k].weight, w2[k].weight) for k in w1)
    # the teacher model's neurons are labelled and the reward register followed the schedule
    extra = read_checkpoint_meta(tmp_path / "cut" / "checkpoint.h5")["extra"]
    assert extra["model"] == MODEL and len(extra["assignments"]) == 20


def test_cli_train_and_evaluate(tmp_path):
    r = CliRunner()
    run = str(tmp_path / "run")
    args = ["-q", "train", "--model", MODEL, "--neurons", "20", "--images", "10", "--label-images", "30"]
    res = r.invoke(main, [*args, "--no-test", "-o", run])
    assert res.exit_code == 0, res.output
    assert "trained 20 neurons" in res.output
    assert json.loads((tmp_path / "run" / "train.json").read_text())["model"] == MODEL
    res = r.invoke(main, ["evaluate", run, "--images", "20", "--batch", "10", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["images"] == 20 and out["neurons"] == 20
    assert evaluate(run, images=10, batch=5, progress=False, write=False)["images"] == 10
    res = r.invoke(main, ["plot-weights", run, "-o", str(tmp_path / "rf.png")])
    assert res.exit_code == 0 and (tmp_path / "rf.png").stat().st_size > 1000
    # the model's default size: 400 neurons (diehl-cook keeps 100)
    res = r.invoke(
        main,
        [
            "-q",
            "train",
            "--model",
            MODEL,
            "--images",
            "1",
            "--label-images",
            "10",
            "--no-test",
            "-o",
            run + "2",
        ],
    )
    assert res.exit_code == 0 and "trained 400 neurons" in res.output, res.output
    # bad input: one line, exit 2
    for bad in (
        ["train", "--model", MODEL, "--neurons", "25", "-o", str(tmp_path / "x")],
        ["train", "--model", MODEL, "--preset", "paper", "-o", str(tmp_path / "y")],
        ["train", "--model", MODEL, "--set", "r_end=0", "-o", str(tmp_path / "z")],
    ):
        res = r.invoke(main, bad)
        assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
        assert not (tmp_path / bad[-1]).exists()


@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_reward_register_and_frozen_thresholds_in_the_arithmetics_units(arithmetic):
    from neuro.models.teacher_stdp import REWARD_UNITS, frozen_theta
    from neuro.models.teacher_stdp_protocol import set_reward

    cfg, net = network(20, arithmetic)
    sim = Simulator(net, inputs=ScheduledInputs(), learning=True)
    set_reward(sim, 32)
    reward = sim.tables.arrays["reward"][0]
    exc = net.pop_slice("exc")
    theta = frozen_theta(cfg, net, np.full(net.n_neurons, 7.0))
    assert np.all(np.delete(theta, np.arange(exc.start, exc.stop)) == 7.0)  # other populations kept
    if arithmetic == "loihi":  # the register holds r_int; theta in voltage units (rint(30 mV x v_scale))
        v_scale = net.pop_registers[net.pop_names.index("exc")].v_scale
        assert reward == 32 and np.all(theta[exc] == np.rint(cfg.theta_eval * v_scale))
        assert v_scale != 1.0 and theta[exc][0] != cfg.theta_eval
    else:  # float: r = r_int / 128, theta in mV
        assert reward == 32 / REWARD_UNITS == 0.25 and np.all(theta[exc] == cfg.theta_eval)


def test_frozen_network_keeps_the_measured_inhibition_and_vote():
    """The teacher model's figures (docs/models.md) were measured with the vote and -680 mV;
    the Diehl & Cook preset's soft readout and -1360 mV are not inherited."""
    cfg = make_config(400, {}, "embedded", MODEL)
    assert (cfg.eval_inhibition, cfg.readout, cfg.w_inh_exc) == (-680.0, "vote", -2040.0)
    dc = make_config(400, {}, "embedded")
    assert (dc.eval_inhibition, dc.readout) == (-1360.0, "soft")
