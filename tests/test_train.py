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
from neuro.io.checkpoint import load_checkpoint
from neuro.train import assign_labels, predict, train

TINY = dict(n_neurons=4, images=6, seed=3, label_images=20, progress=False)


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
    wa = h5py.File(tmp_path / "a" / "checkpoint.h5")["weight"][()]
    wb = h5py.File(tmp_path / "b" / "checkpoint.h5")["weight"][()]
    assert np.array_equal(wa, wb)


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
            os.kill(os.getpid(), signal.SIGINT)  # like Ctrl-C: stop after the image in flight
        return out

    monkeypatch.setattr(train_mod.Presenter, "train_image", interrupt_after_three)
    s = train(tmp_path / "cut", **cfg)
    assert s["stopped"] and s["position"] == 3
    monkeypatch.setattr(train_mod.Presenter, "train_image", real)
    train(tmp_path / "cut", resume=True, progress=False)
    w1 = h5py.File(tmp_path / "whole" / "checkpoint.h5")["weight"][()]
    w2 = h5py.File(tmp_path / "cut" / "checkpoint.h5")["weight"][()]
    assert np.array_equal(w1, w2)
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
    with pytest.raises(NeuroError, match="holds a 'something-else' run"):
        train(tmp_path / "run", resume=True)
    with pytest.raises(NeuroError, match="not a diehl-cook"):
        evaluate(tmp_path / "run")
    with h5py.File(ck, "a") as f:
        f.attrs["format_version"] = 99
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
    res = r.invoke(main, ["plot-weights", run, "-o", str(tmp_path / "rf.png")])
    assert res.exit_code == 0 and (tmp_path / "rf.png").stat().st_size > 1000
    # bad input: one line, exit 2, nothing overwritten
    before = (tmp_path / "run" / "checkpoint.h5").stat().st_mtime_ns
    for args in (
        ["train", "-o", run],
        ["train", "--data", "mnist:/nonexistent", "-o", str(tmp_path / "x")],
        ["train", "--set", "nu_post", "-o", str(tmp_path / "y")],
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
        ["evaluate"],
        ["run", "--bogus"],
        ["evaluate", "r", "--batch", "0"],
    ],
)
def test_usage_errors_are_one_line(args):
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and res.output.startswith("error: ")
