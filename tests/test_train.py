"""neuro train / neuro evaluate / neuro plot-weights on tiny runs."""

import json
import os
import signal

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import neuro.train as train_mod
from cli import main
from neuro.errors import NeuroError
from neuro.evaluate import evaluate
from neuro.io.checkpoint import load_checkpoint, read_checkpoint_meta, seal
from neuro.io.weights import read_weights
from neuro.models.diehl_cook import build_network
from neuro.models.diehl_cook_protocol import config_from
from neuro.train import assign_labels, predict, train

TINY = dict(n_neurons=4, images=6, epochs=1, seed=3, label_images=20, progress=False)


def test_assign_and_predict_by_hand():
    # 3 neurons, 2 classes: neuron 0 fires for class 0, neuron 1 for class 1, neuron 2 never
    counts = np.array([[5, 0, 0], [3, 1, 0], [0, 4, 0], [1, 6, 0]])
    labels = np.array([0, 0, 1, 1])
    a = assign_labels(counts, labels, n_classes=2)
    assert a.tolist() == [0, 1, -1]
    assert predict(np.array([[2, 1, 9], [0, 3, 9]]), a, n_classes=2).tolist() == [0, 1]


def test_train_writes_checkpoint_labels_and_summary(tmp_path):
    s = train(tmp_path / "run", **TINY)
    assert s["images"] == 6 and s["neurons"] == 4
    summary = json.loads((tmp_path / "run" / "train.json").read_text())
    assert summary["seed"] == 3
    _, meta = load_checkpoint(tmp_path / "run" / "checkpoint.h5", learning=False)
    extra = meta["extra"]
    assert extra["finished"] and len(extra["assignments"]) == 4
    assert (extra["epoch"], extra["position"]) == (1, 0)  # all of epoch 0 done
    r = evaluate(tmp_path / "run", images=30, batch=8, progress=False)
    assert 0.0 <= r["accuracy"] <= 1.0
    assert np.array(r["confusion"]).sum() == 30
    assert (tmp_path / "run" / "eval-test.png").stat().st_size > 0


def test_same_seed_same_weights(tmp_path):
    train(tmp_path / "a", **TINY)
    train(tmp_path / "b", **TINY)
    wa = read_weights(tmp_path / "a").projections
    wb = read_weights(tmp_path / "b").projections
    assert wa.keys() == wb.keys() and all(np.array_equal(wa[k].weight, wb[k].weight) for k in wa)


@pytest.mark.parametrize(
    "arithmetic, overrides",
    [
        ("float", {}),
        ("loihi", {}),
        ("float", {"theta_decay_images": 2}),
        ("loihi", {"theta_decay_images": 2}),
        ("loihi", {"r_end": 0.25}),  # the reward register, rewritten before every image
    ],
)
def test_stop_and_resume_is_exact(tmp_path, monkeypatch, arithmetic, overrides):
    cfg = dict(TINY, arithmetic=arithmetic, overrides=overrides)
    train(tmp_path / "whole", **cfg)
    real = train_mod.Presenter.train_image
    shown = []

    def interrupt_after_three(self, image):
        out = real(self, image)
        shown.append(1)
        if len(shown) == 3:
            os.kill(os.getpid(), signal.SIGINT)  # like Ctrl-C: stop after the image in flight
        return out

    monkeypatch.setattr(train_mod.Presenter, "train_image", interrupt_after_three)
    s = train(tmp_path / "cut", **cfg)
    assert s["stopped"] and s["position"] == 3
    monkeypatch.setattr(train_mod.Presenter, "train_image", real)
    train(tmp_path / "cut", resume=True, progress=False)
    w1 = read_weights(tmp_path / "whole").projections
    w2 = read_weights(tmp_path / "cut").projections
    for k in w1:
        assert np.array_equal(w1[k].pre, w2[k].pre) and np.array_equal(w1[k].post, w2[k].post)
        assert np.array_equal(w1[k].weight, w2[k].weight)
        if w1[k].register is not None:
            assert np.array_equal(w1[k].register, w2[k].register)
    t1 = h5py.File(tmp_path / "whole" / "checkpoint.h5")["state/theta"][()]
    t2 = h5py.File(tmp_path / "cut" / "checkpoint.h5")["state/theta"][()]
    assert np.array_equal(t1, t2)


def test_bad_rundirs(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(NeuroError, match="not empty"):
        train(tmp_path / "full", **TINY)
    with pytest.raises(NeuroError, match="nothing to resume"):
        train(tmp_path / "empty", resume=True)
    train(tmp_path / "run", **TINY)
    ck = tmp_path / "run" / "checkpoint.h5"
    with h5py.File(ck, "a") as f:
        extra = json.loads(f.attrs["extra"])
        extra["model"] = "something-else"
        f.attrs["extra"] = json.dumps(extra)
    seal(ck)  # consistent but wrong, not damaged
    with pytest.raises(NeuroError, match="holds a 'something-else' run"):
        train(tmp_path / "run", resume=True)
    with pytest.raises(NeuroError, match="not a diehl-cook"):
        evaluate(tmp_path / "run")
    with h5py.File(ck, "a") as f:
        f.attrs["format_version"] = 99
    seal(ck)
    with pytest.raises(NeuroError, match="format version 99 is not supported"):
        train(tmp_path / "run", resume=True)
    with pytest.raises(NeuroError, match="unknown model parameter 'bogus'"):
        train(tmp_path / "new", overrides={"bogus": 1}, **TINY)
    assert not (tmp_path / "new").exists()


def test_cli_train_evaluate_plot(tmp_path):
    r = CliRunner()
    run = str(tmp_path / "run")
    res = r.invoke(
        main,
        ["-q", "train", "--neurons", "4", "--images", "5", "--label-images", "20", "--no-test", "-o", run],
    )
    assert res.exit_code == 0, res.output
    assert "trained 4 neurons" in res.output
    res = r.invoke(main, ["evaluate", run, "--images", "20", "--batch", "10", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["images"] == 20
    # a second evaluation never replaces the first; --overwrite does; -o puts results elsewhere
    first = (tmp_path / "run" / "eval-test.json").read_text()
    res = r.invoke(main, ["-q", "evaluate", run, "--images", "10", "--batch", "10"])
    assert res.exit_code == 0 and "eval-test-2.json" in res.output
    assert (tmp_path / "run" / "eval-test.json").read_text() == first
    assert json.loads((tmp_path / "run" / "eval-test-2.json").read_text())["images"] == 10
    res = r.invoke(main, ["-q", "evaluate", run, "--images", "10", "--batch", "10", "--overwrite"])
    assert (
        res.exit_code == 0 and json.loads((tmp_path / "run" / "eval-test.json").read_text())["images"] == 10
    )
    res = r.invoke(
        main, ["-q", "evaluate", run, "--images", "10", "--batch", "10", "-o", str(tmp_path / "ev")]
    )
    assert res.exit_code == 0 and (tmp_path / "ev" / "eval-test.json").is_file()
    res = r.invoke(main, ["plot-weights", run, "-o", str(tmp_path / "rf.png")])
    assert res.exit_code == 0 and (tmp_path / "rf.png").stat().st_size > 1000
    # bad input: one line, exit 2, nothing overwritten
    before = (tmp_path / "run" / "checkpoint.h5").stat().st_mtime_ns
    for args in (
        ["train", "-o", run],
        ["train", "--data", "mnist:/nonexistent", "-o", str(tmp_path / "x")],
        ["train", "--set", "nu_post", "-o", str(tmp_path / "y")],
        ["train", "--set", "theta_decay_images=-1", "-o", str(tmp_path / "y")],
        ["train", "--set", "frozen_theta_floor=1.5", "-o", str(tmp_path / "y")],
        ["train", "--set", "vth_mant=0", "-o", str(tmp_path / "y")],
        ["train", "--set", "vth_mant=131072", "-o", str(tmp_path / "y")],
        ["train", "--set", "vth_mant=4096.5", "-o", str(tmp_path / "y")],
        ["train", "--set", "r_end=0", "-o", str(tmp_path / "y")],
        ["train", "--set", "r_start=1.5", "-o", str(tmp_path / "y")],
        ["train", "--set", "readout=best", "-o", str(tmp_path / "y")],
        ["evaluate", str(tmp_path)],
        ["evaluate", run, "--data", "imagenet"],
        ["plot-weights", str(tmp_path), "-o", "a.png"],
    ):
        res = r.invoke(main, args)
        assert res.exit_code == 2, (args, res.output)
        assert res.output.count("\n") == 1 and res.output.startswith("error: ")
    assert (tmp_path / "run" / "checkpoint.h5").stat().st_mtime_ns == before
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--neurons", "x"],
        ["train", "--arithmetic", "fixed"],
        ["train", "--preset", "fast"],
        ["evaluate"],
        ["run", "--bogus"],
        ["evaluate", "r", "--batch", "0"],
    ],
)
def test_usage_errors_are_one_line(args):
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and res.output.startswith("error: ")


def test_presets_and_their_default_epochs(tmp_path):
    from neuro.models.diehl_cook import PRESETS, DiehlCookConfig
    from neuro.train import make_config

    paper = make_config(10, {}, "paper")
    assert paper == DiehlCookConfig(n_neurons=10)  # the paper preset is the class defaults
    emb = make_config(10, {"nu_post": "0.05"}, "embedded")
    assert (emb.nu_pre, emb.nu_post, emb.theta_plus) == (1e-3, 0.05, 0.2)  # preset, then --set
    assert (emb.w_inh_exc, emb.eval_inhibition, emb.readout) == (-2040.0, -1360.0, "soft")
    assert paper.eval_inhibition == paper.w_inh_exc == -680.0 and paper.readout == "vote"
    assert set(PRESETS) == {"paper", "embedded"}
    with pytest.raises(NeuroError, match="unknown preset 'fast'"):
        make_config(10, {}, "fast")
    kw = {k: v for k, v in TINY.items() if k != "epochs"}
    assert train(tmp_path / "e", **kw)["images"] == 3 * 6  # embedded: 3 passes by default
    s = train(tmp_path / "p", preset="paper", **kw)
    assert s["images"] == 6 and s["preset"] == "paper"


@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_frozen_network_uses_the_evaluation_inhibition(tmp_path, arithmetic):
    from neuro.evaluate import frozen_simulator
    from neuro.models.diehl_cook import build_network, frozen_theta
    from neuro.network import compile_network
    from neuro.train import make_config

    train(tmp_path / "run", arithmetic=arithmetic, **TINY)  # embedded preset: -2040 mV, -1360 mV frozen
    trained, _ = load_checkpoint(tmp_path / "run" / "checkpoint.h5", learning=False)
    frozen, _ = frozen_simulator(tmp_path / "run" / "checkpoint.h5", batch=2)
    net = frozen.net
    p = [pr.name for pr in net.spec.projections].index("inh_exc")
    pos = next(x for i, x in enumerate(net.projection_positions()) if i == p)
    cfg = make_config(4, {}, "embedded")
    expect = compile_network(build_network(cfg, arithmetic, trained.net.seed, frozen=True)).weight[pos]
    np.testing.assert_array_equal(net.weight[pos], expect)
    if arithmetic == "float":
        assert np.all(net.weight[pos] == -1360.0) and np.all(trained.net.weight[pos] == -2040.0)
    else:  # two thirds of the trained inhibition, to the register's rounding
        ratio = net.weight[pos].astype(float) / trained.net.weight[pos]
        assert np.allclose(ratio, 2 / 3, rtol=0.02)
    # everything else is the trained state: learned weights, and thresholds (with the preset's
    # floor on the excitatory ones, test_frozen_network_floors_thresholds)
    other = np.setdiff1d(np.arange(net.weight.size), pos)
    np.testing.assert_array_equal(net.weight[other], trained.net.weight[other])
    want = frozen_theta(cfg, trained.net, trained.state["theta"][0])
    np.testing.assert_array_equal(frozen.state["theta"][1], want)
    inh = net.pop_slice("inh")
    np.testing.assert_array_equal(frozen.state["theta"][1][inh], trained.state["theta"][0][inh])


def test_host_threshold_decay_schedule(tmp_path, monkeypatch):
    """theta_decay_images = K: the exc population has no register decay, and after every K-th
    training image the host decays the exc thresholds by exp(-steps dt / tau_theta), steps
    being those simulated since the previous decay (re-presentations included)."""
    calls = []
    real = train_mod.decay_thresholds

    def record(sim, neurons, factor):
        calls.append((sim.step, neurons, factor))
        return real(sim, neurons, factor)

    monkeypatch.setattr(train_mod, "decay_thresholds", record)
    train(tmp_path / "run", **dict(TINY, overrides={"theta_decay_images": 2, "tau_theta": 5e4}))
    assert len(calls) == TINY["images"] // 2
    extra = read_checkpoint_meta(tmp_path / "run" / "checkpoint.h5")["extra"]
    cfg = extra["config"]
    last = 0
    for step, neurons, factor in calls:
        assert neurons == slice(0, TINY["n_neurons"])
        assert step - last >= 2 * (cfg["present_ms"] + cfg["rest_ms"]) / cfg["dt"]
        assert factor == pytest.approx(np.exp(-(step - last) * cfg["dt"] / 5e4), rel=1e-12)
        last = step
    net = build_network(config_from(cfg))
    assert net.populations[0].tau_theta is None and net.populations[0].theta_plus > 0


@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_trained_weights_are_normalized(tmp_path, arithmetic):
    """The frozen network gets the weights every training image saw: the last image's learning
    is normalized away (a winner's burst on the last image once doubled its column sum and its
    neuron fired 97 % of all test spikes)."""
    train(tmp_path / "run", **dict(TINY, arithmetic=arithmetic))
    w = read_weights(tmp_path / "run").projections["input"]
    cfg = read_checkpoint_meta(tmp_path / "run" / "checkpoint.h5")["extra"]["config"]
    sums = np.bincount(w.post, weights=w.weight, minlength=TINY["n_neurons"])
    target = cfg["norm_target"] * cfg["input_gain"]
    # loihi: each of 784 weights rounded to the nearest Wgt (0.41 mV): the sum within 784 * 0.2 mV
    tol = 1e-9 * target if arithmetic == "float" else 784 * 0.21
    assert np.all(np.abs(sums - target) <= tol), sums


@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_frozen_network_floors_thresholds(tmp_path, arithmetic):
    """``frozen_theta_floor`` reaches the frozen network (labelling, evaluation), and only it:
    the checkpoint keeps the learned thresholds."""
    from neuro.io.checkpoint import load_checkpoint
    from neuro.models.diehl_cook_protocol import frozen_simulator

    kw = dict(TINY, arithmetic=arithmetic, overrides={"frozen_theta_floor": 0.6, "theta_plus": 2.0})
    train(tmp_path / "run", **kw)
    learned_sim, _ = load_checkpoint(tmp_path / "run" / "checkpoint.h5")
    learned = learned_sim.state["theta"][0]
    exc = learned_sim.net.pop_slice("exc")
    assert learned[exc].max() > 0 and learned[exc].min() < 0.6 * learned[exc].max()  # a floor that bites
    frozen, _ = frozen_simulator(tmp_path / "run" / "checkpoint.h5", batch=2)
    floor = 0.6 * learned[exc].max()
    want = np.maximum(learned[exc], np.floor(floor) if arithmetic == "loihi" else floor)
    assert np.array_equal(frozen.state["theta"][0][exc], want)
    assert np.array_equal(frozen.state["theta"][1][exc], want)


def test_evaluate_with_each_readout(tmp_path):
    # the run keeps its labelling responses; evaluate() predicts with the readout of its config
    # (or the one asked for), the same classes as the readout applied to the frozen counts
    from neuro.datasets import load_dataset
    from neuro.models.frozen_responses import responses
    from neuro.models.readout import READOUTS, Labelling

    run = tmp_path / "run"
    train(run, overrides={"readout": "soft"}, **TINY)
    ckpt = run / "checkpoint.h5"
    extra = read_checkpoint_meta(ckpt)["extra"]
    labelling = Labelling.from_extra(extra, ckpt, responses=True)
    assert labelling.labels.tolist() == extra["assignments"]
    assert sum(extra["class_images"]) == TINY["label_images"]
    ds = load_dataset("embedded", "test")
    idx = np.linspace(0, len(ds) - 1, 30).round().astype(np.int64)
    counts = responses(ckpt, ds.images[idx], keys=idx, split="test")
    for name, readout in READOUTS.items():
        r = evaluate(run, images=30, batch=8, readout=name, progress=False, write=False)
        confusion = np.zeros((10, 10), dtype=np.int64)
        np.add.at(confusion, (ds.labels[idx], readout.predict(counts, labelling)), 1)
        assert r["readout"] == name and r["confusion"] == confusion.tolist()
    assert evaluate(run, images=30, batch=8, progress=False, write=False)["readout"] == "soft"
    # a run labelled before the responses were kept: the vote only
    with h5py.File(ckpt, "r+") as f:
        old = json.loads(f.attrs["extra"])
        del old["class_spikes"], old["class_images"]
        f.attrs["extra"] = json.dumps(old)
    seal(ckpt)
    assert evaluate(run, images=10, batch=8, readout="vote", progress=False, write=False)["readout"] == "vote"
    res = CliRunner().invoke(main, ["-q", "evaluate", str(run), "--images", "10"])  # its own: soft
    assert res.exit_code == 2 and res.output.count("\n") == 1
    assert "keeps no labelling responses" in res.output and "checkpoint.h5" in res.output
    res = CliRunner().invoke(main, ["-q", "evaluate", str(run), "--readout", "best"])
    assert res.exit_code == 2 and res.output.count("\n") == 1
    assert not list(run.glob("eval-*"))


def test_training_length_of_the_presets():
    from neuro.models.diehl_cook import PRESET_LENGTHS
    from neuro.models.training_length import TrainingLength, passes_for, total_images

    emb = PRESET_LENGTHS["embedded"]
    assert emb.images(4000, 100) == 9600  # capped at 96 per neuron: 2.4 passes
    assert emb.images(3200, 100) == 9600  # the validation split: exactly three passes
    assert emb.images(4000, 400) == 12000 and emb.images(500, 100) == 1500  # three passes
    assert PRESET_LENGTHS["paper"].images(4000, 100) == 4000
    assert TrainingLength(2.4).images(4000, 10**6) == 9600 and total_images(0.001, 10) == 1
    assert [passes_for(t, 4000) for t in (1, 4000, 4001, 9600, 12000)] == [1, 1, 2, 3, 3]
    for bad in (0, -1.0, float("nan"), float("inf"), "2"):
        with pytest.raises(NeuroError, match="epochs"):
            total_images(bad, 10)


def _record_shown(monkeypatch, shown, stop_at=None):
    real = train_mod.Presenter.train_image

    def record(self, image):
        shown.append(np.asarray(image).tobytes())
        out = real(self, image)
        if stop_at is not None and len(shown) == stop_at:
            os.kill(os.getpid(), signal.SIGINT)  # like Ctrl-C: stop after the image in flight
        return out

    monkeypatch.setattr(train_mod.Presenter, "train_image", record)
    return real


@pytest.mark.parametrize("arithmetic", ["float", "loihi"])
def test_a_fractional_pass_shows_the_start_of_its_order_and_resumes_exactly(
    tmp_path, monkeypatch, arithmetic
):
    cfg = dict(TINY, arithmetic=arithmetic, epochs=1.5)  # 6 images a pass: 9 images
    whole, part, cut = [], [], []
    _record_shown(monkeypatch, whole)
    train(tmp_path / "two", **dict(cfg, epochs=2))
    _record_shown(monkeypatch, part)
    s = train(tmp_path / "part", **cfg)
    assert s["images"] == 9 and len(part) == 9 and part == whole[:9]  # same orders, cut short
    extra = read_checkpoint_meta(tmp_path / "part" / "checkpoint.h5")["extra"]
    assert (extra["epochs"], extra["train_images"], extra["epoch"]) == (2, 9, 2)
    real = _record_shown(monkeypatch, cut, stop_at=8)  # stopped inside the partial pass
    s = train(tmp_path / "cut", **cfg)
    assert s["stopped"] and (s["epoch"], s["position"]) == (1, 2)
    monkeypatch.setattr(train_mod.Presenter, "train_image", real)
    assert train(tmp_path / "cut", resume=True, progress=False)["images"] == 9
    w1 = read_weights(tmp_path / "part").projections
    w2 = read_weights(tmp_path / "cut").projections
    assert all(np.array_equal(w1[k].weight, w2[k].weight) for k in w1)


def test_the_preset_caps_images_per_neuron(tmp_path, monkeypatch):
    from neuro.models import diehl_cook
    from neuro.models.training_length import TrainingLength

    monkeypatch.setitem(diehl_cook.PRESET_LENGTHS, "embedded", TrainingLength(3, images_per_neuron=2))
    kw = {k: v for k, v in TINY.items() if k != "epochs"}  # 4 neurons, 6 images a pass
    assert train(tmp_path / "capped", **kw)["images"] == 8  # 2 per neuron: a pass and a third
    assert train(tmp_path / "told", epochs=3, **kw)["images"] == 18  # --epochs overrides the cap


def test_cli_epochs_takes_a_fraction_and_refuses_zero(tmp_path):
    for bad in ("0", "-1", "nan", "inf"):  # refused in one line before RUNDIR exists
        res = CliRunner().invoke(main, ["train", "--epochs", bad, "-o", str(tmp_path / "r")])
        assert res.exit_code == 2 and "epochs" in res.output and res.output.count("\n") == 1, res.output
        assert not (tmp_path / "r").exists()
    args = ["-q", "train", "--neurons", "4", "--images", "4", "--epochs", "1.25", "--label-images", "8"]
    res = CliRunner().invoke(main, [*args, "--no-test", "-o", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "r" / "train.json").read_text())["images"] == 5
