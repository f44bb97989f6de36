"""The frozen network's counts (neuro evaluate, labelling, energy): continuous batching, one
random stream per image and try, and the split over MPI ranks.

Every comparison is between runs of the same trained network: an image's counts must not
depend on the batch size, the grouping or order of the images, or the number of ranks; the
number of rounds must be the continuous scheme's (a round is full while unseen images
remain) and below what re-running whole batches costs.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import neuro.train as train_mod
from cli import main
from neuro.datasets import load_dataset
from neuro.evaluate import evaluate
from neuro.io.checkpoint import read_checkpoint_meta
from neuro.models.diehl_cook_protocol import Presenter, assign_labels, config_from, frozen_simulator
from neuro.models.frozen_responses import STREAM_TAG, image_rng, presentations, responses
from neuro.train import train

from .test_mpi import ROOT, needs_mpi

TINY = dict(n_neurons=4, images=6, epochs=1, seed=3, label_images=20, progress=False)


@pytest.fixture(scope="module")
def rundir(tmp_path_factory):
    d = tmp_path_factory.mktemp("frozen") / "run"
    train(d, **TINY)
    return d


@pytest.fixture(scope="module")
def test_images():
    return load_dataset("embedded", "test").images


def rounds_of(ckpt, images, keys, batch, min_spikes=None, capture=None):
    """Counts, final tries per image and the rounds of :func:`presentations`; ``min_spikes``
    raised forces reruns."""
    sim, meta = frozen_simulator(ckpt, batch)
    cfg = config_from(meta["extra"]["config"])
    if min_spikes is not None:
        cfg = dataclasses.replace(cfg, min_spikes=min_spikes)
    pres = Presenter(sim, cfg)
    if capture is not None:
        real = pres.counts

        def spy(images_, intensity, steps, spikes=None):
            capture.append(tuple(a.copy() for a in spikes))
            return real(images_, intensity, steps, spikes=spikes)

        pres.counts = spy
    counts = np.full((len(images), cfg.n_neurons), -1, dtype=np.int64)
    tries = np.full(len(images), -1, dtype=np.int64)
    rounds = []
    for r in presentations(sim, pres, cfg, images, keys=keys, split="test"):
        assert not (tries[r.image[r.final]] >= 0).any()  # an image is finished once
        counts[r.image[r.final]] = r.counts[r.final]
        tries[r.image[r.final]] = r.tries[r.final]
        rounds.append(r)
    assert (tries >= 0).all()
    return counts, tries, rounds, cfg, sim


def test_counts_do_not_depend_on_batch_size_grouping_or_order(rundir, test_images):
    ckpt = rundir / "checkpoint.h5"
    pick = np.arange(0, 1000, 23)  # 44 images of all classes
    images = test_images[pick]
    # min_spikes 12: many images need one or several reruns at higher intensity
    ref, tries, _r, _c, _s = rounds_of(ckpt, images, pick, 1, min_spikes=12)
    assert (tries > 0).sum() >= 10 and len(set(tries.tolist())) >= 3  # a case with varied reruns
    assert ref.sum() > 0
    for batch in (7, 100):
        counts, t, _r, _c, _s = rounds_of(ckpt, images, pick, batch, min_spikes=12)
        np.testing.assert_array_equal(counts, ref)
        np.testing.assert_array_equal(t, tries)
    perm = np.random.default_rng(0).permutation(len(pick))  # other groups, other slots
    counts, t, _r, _c, _s = rounds_of(ckpt, images[perm], pick[perm], 7, min_spikes=12)
    np.testing.assert_array_equal(counts, ref[perm])
    # a subset (other neighbours, other rounds) gives the same counts for its images
    counts, _t, _r, _c, _s = rounds_of(ckpt, images[5:18], pick[5:18], 4, min_spikes=12)
    np.testing.assert_array_equal(counts, ref[5:18])
    # and the public function, with the network's own intensity rule
    a = responses(ckpt, images, batch=1, keys=pick)
    for batch in (7, 100):
        np.testing.assert_array_equal(responses(ckpt, images, batch=batch, keys=pick), a)
    # other keys are other streams
    assert not np.array_equal(responses(ckpt, images, batch=7, keys=pick + 1), a)


def test_loihi_counts_do_not_depend_on_batch_or_order(tmp_path, test_images):
    train(tmp_path / "run", arithmetic="loihi", **TINY)
    ckpt = tmp_path / "run" / "checkpoint.h5"
    pick = np.arange(3, 1000, 41)
    ref, tries, _r, _c, _s = rounds_of(ckpt, test_images[pick], pick, 1, min_spikes=12)
    assert (tries > 0).sum() >= 5 and ref.sum() > 0
    perm = np.random.default_rng(1).permutation(len(pick))
    counts, t, _r, _c, _s = rounds_of(ckpt, test_images[pick[perm]], pick[perm], 6, min_spikes=12)
    np.testing.assert_array_equal(counts, ref[perm])
    np.testing.assert_array_equal(t, tries[perm])


def test_each_try_draws_from_its_own_documented_stream(rundir, test_images):
    ckpt = rundir / "checkpoint.h5"
    keys = np.array([40, 7, 900, 3, 512])
    shown = []
    counts, tries, rounds, cfg, sim = rounds_of(
        ckpt, test_images[keys], keys, 3, min_spikes=12, capture=shown
    )
    assert tries.max() >= 1
    pres = Presenter(sim, cfg)
    for r, (st, bb, ch) in zip(rounds, shown, strict=True):
        for b in range(sim.batch):
            i = r.image[b]
            sel = bb == b
            if i < 0:
                assert not sel.any()  # an idle slot gets no input
                continue
            t = int(r.tries[b])
            rng = np.random.default_rng(
                np.random.SeedSequence(entropy=sim.net.seed, spawn_key=(STREAM_TAG, 1, int(keys[i]), t))
            )
            es, _eb, ec = pres.draw(test_images[keys[i]][None, :], [cfg.intensity + t], rng)
            np.testing.assert_array_equal(st[sel], es)
            np.testing.assert_array_equal(ch[sel], ec)
        # the engine's order: by step, then copy, then pixel
        assert np.all(np.diff((st * sim.batch + bb) * 784 + ch) > 0)
    # the stream of a (split, key, try) is image_rng's
    a = image_rng(sim.net.seed, "test", 40, 2).random(3)
    b = np.random.default_rng(np.random.SeedSequence(sim.net.seed, spawn_key=(STREAM_TAG, 1, 40, 2))).random(
        3
    )
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, image_rng(sim.net.seed, "train", 40, 2).random(3))


def test_intensity_rule_and_continuous_rounds(rundir, test_images):
    ckpt = rundir / "checkpoint.h5"
    pick = np.arange(0, 1000, 23)
    batch = 7
    counts, tries, rounds, cfg, sim = rounds_of(ckpt, test_images[pick], pick, batch, min_spikes=12)
    n = len(pick)
    # Diehl & Cook's rule: the final try is the first with >= min_spikes, or the last allowed
    low_final = counts.sum(axis=1) < cfg.min_spikes
    assert np.all(~low_final | (cfg.intensity + tries + 1 > cfg.max_intensity))
    for r in rounds:  # every earlier try of an image was low and could be raised
        again = (r.image >= 0) & ~r.final
        assert np.all(r.counts[again].sum(axis=1) < cfg.min_spikes)
        assert np.all(cfg.intensity + r.tries[again] + 1 <= cfg.max_intensity)
    # continuous batching: while unseen images remain, every slot shows an image
    started = 0
    for r in rounds:
        fresh = (r.image >= 0) & (r.tries == 0)
        started += int(fresh.sum())
        if started < n:
            assert (r.image >= 0).all()
    shown = sum(int((r.image >= 0).sum()) for r in rounds)
    assert shown == n + tries.sum()  # every presentation is an image's try, no blank copies
    assert len(rounds) <= -(-shown // batch) + tries.max()
    # whole batches shown again until their slowest image is done (the old scheme, same tries)
    old = sum(1 + int(tries[s : s + batch].max()) for s in range(0, n, batch))
    assert len(rounds) < old


def test_evaluate_reports_reruns_and_subsets_match(rundir):
    a = evaluate(rundir, images=40, batch=6, progress=False, write=False)
    b = evaluate(rundir, images=40, batch=40, progress=False, write=False)
    for k in ("accuracy", "confusion", "reruns", "presentations"):
        assert a[k] == b[k], k
    assert a["presentations"] == 40 + a["reruns"] and a["ranks"] == 1
    assert a["rounds"] >= -(-a["presentations"] // 6)
    r = CliRunner().invoke(main, ["-q", "evaluate", str(rundir), "--images", "12", "-o", str(rundir / "e")])
    assert r.exit_code == 0, r.output
    assert "reruns included" in r.output


def test_labelling_uses_the_batch_independent_counts(tmp_path, monkeypatch):
    calls = []
    real = train_mod.responses

    def spy(ckpt, images, **kw):
        calls.append((images.copy(), kw))
        return real(ckpt, images, **kw)

    monkeypatch.setattr(train_mod, "responses", spy)
    train(tmp_path / "run", **TINY)
    ((images, kw),) = calls
    assert kw["split"] == "train" and len(kw["keys"]) == TINY["label_images"]
    labels = load_dataset("embedded", "train").labels[kw["keys"]]
    np.testing.assert_array_equal(
        images, load_dataset("embedded", "train").images[kw["keys"]]
    )  # the keys are the images' indices in the training split
    counts = real(tmp_path / "run" / "checkpoint.h5", images, batch=3, keys=kw["keys"], split="train")
    extra = read_checkpoint_meta(tmp_path / "run" / "checkpoint.h5")["extra"]
    np.testing.assert_array_equal(assign_labels(counts, labels), extra["assignments"])


def test_without_mpi4py_evaluation_runs_in_one_process(rundir, monkeypatch):
    for var in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    res = evaluate(rundir, images=5, batch=2, progress=False, write=False)
    assert res["ranks"] == 1 and res["images"] == 5 and "rank" not in res


# ---------------------------------------------------------------- MPI

COUNTS = """\
import sys
import numpy as np
from neuro.datasets import load_dataset
from neuro.models.frozen_responses import responses
keys = np.arange(0, 1000, 23)[: int(sys.argv[3])]
stats = {}
out = responses(sys.argv[1], load_dataset("embedded", "test").images[keys], batch=5, keys=keys, stats=stats)
if out is not None:
    np.save(sys.argv[2], out)
    print("ranks", stats["ranks"], "presentations", stats["presentations"])
"""


def mpirun(n: int, *args, timeout=300) -> subprocess.CompletedProcess:
    cmd = ["mpiexec", "-n", str(n), sys.executable, *map(str, args)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.mark.mpi
@needs_mpi
def test_ranks_split_the_images_with_the_single_process_counts(rundir, test_images, tmp_path):
    ckpt = rundir / "checkpoint.h5"
    keys = np.arange(0, 1000, 23)
    stats = {}
    one = responses(ckpt, test_images[keys[:13]], batch=5, keys=keys[:13], stats=stats)
    for ranks, n in ((2, 13), (3, 13), (3, 2)):  # 3 ranks, 2 images: a rank with none
        out = tmp_path / f"c{ranks}-{n}.npy"
        proc = mpirun(ranks, "-c", COUNTS, ckpt, out, n)
        assert proc.returncode == 0, proc.stderr
        np.testing.assert_array_equal(np.load(out), one[:n])
        assert proc.stdout.count("ranks") == 1 and f"ranks {ranks}" in proc.stdout  # rank 0 alone
        if n == 13:  # the presentations (reruns included) summed over the ranks
            assert f"presentations {stats['presentations']}" in proc.stdout


@pytest.mark.mpi
@needs_mpi
def test_mpiexec_evaluate_writes_the_single_process_result(rundir, tmp_path):
    one = evaluate(rundir, images=30, batch=4, progress=False, write=False)
    out = tmp_path / "ev"
    cli = "from neuro.cli import main; main()"
    proc = mpirun(2, "-c", cli, "-q", "evaluate", rundir, "--images", "30", "--batch", "4", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.strip().splitlines()) == 1 and "accuracy" in proc.stdout  # rank 0 reports
    assert sorted(p.name for p in out.iterdir()) == ["eval-test.json", "eval-test.png"]  # rank 0 writes
    res = json.loads((out / "eval-test.json").read_text())
    for k in ("accuracy", "confusion", "reruns", "presentations", "images"):
        assert res[k] == one[k], k
    assert res["ranks"] == 2
    # errors: one line, exit status 2, nothing written
    bad = mpirun(2, "-c", cli, "evaluate", tmp_path / "nope", "-o", tmp_path / "o2")
    assert bad.returncode == 2
    lines = {ln for ln in bad.stderr.splitlines() if ln.startswith("error:")}
    assert len(lines) == 1 and "not a training run directory" in lines.pop()
    assert not (tmp_path / "o2").exists()
    refused = mpirun(2, "-c", cli, "train", "--neurons", "2", "-o", tmp_path / "t")
    assert refused.returncode == 2 and "runs in one process" in refused.stderr
    assert not (tmp_path / "t").exists()
