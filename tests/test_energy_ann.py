"""The ANN baseline: spec parsing, closed-form MAC counts, effective MACs on given inputs,
memory bounds and their price, and a real (small) scikit-learn training."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuro.energy.ann import AnnSpec, Mlp, ann_cost, ann_energy, forward, parse_ann_spec, train_mlp
from neuro.energy.profile import load_profile
from neuro.errors import NeuroError


def test_parse_ann_spec():
    assert parse_ann_spec(None, 100) == AnnSpec((100,), "int8", 40)
    assert parse_ann_spec("hidden=30-20, precision=fp32,max_iter=5", 100) == AnnSpec((30, 20), "fp32", 5)
    for bad, msg in (
        ("hidden=0", "1.."),
        ("hidden=abc", "sizes"),
        ("precision=int4", "precision"),
        ("depth=3", "unknown key"),
        ("hidden", "key=value"),
        ("max_iter=-1", "max_iter"),
    ):
        with pytest.raises(NeuroError, match=msg):
            parse_ann_spec(bad, 100)
    with pytest.raises(NeuroError, match="hidden"):
        parse_ann_spec("", 0)


def _mlp(sizes, rng, zero_frac=0.3):
    """A hand-made MLP whose weights are multiples of 1/127 of their maximum (so int8 keeps
    exactly the same zero pattern) with some exact zeros."""
    W, b = [], []
    for n_in, n_out in zip(sizes, sizes[1:], strict=False):
        q = rng.integers(-127, 128, size=(n_in, n_out)).astype(np.float64)
        q[rng.random((n_in, n_out)) < zero_frac] = 0.0
        q[0, 0] = 127.0
        W.append(q / 127.0 * 0.05)
        b.append(rng.normal(0, 0.01, n_out))
    return Mlp(W, b, 0, np.arange(sizes[-1]), act_max=[1.0] * (len(sizes) - 2))


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
@pytest.mark.parametrize("sizes", [[784, 100, 10], [784, 30, 20, 10]])
def test_mac_counts_closed_form_and_direct_effective_count(precision, sizes):
    rng = np.random.default_rng(1)
    mlp = _mlp(sizes, rng)
    images = rng.integers(0, 256, size=(7, 784)).astype(np.uint8)
    images[rng.random(images.shape) < 0.7] = 0
    labels = rng.integers(0, sizes[-1], 7)
    cost = ann_cost(mlp, images, labels, precision)
    # Dense = sum over layers of n_in * n_out
    assert cost.dense_macs == sum(a * b for a, b in zip(sizes, sizes[1:], strict=False))
    # Effective MACs: a direct count of (non-zero input, non-zero weight) pairs per image
    _pred, inputs = forward(mlp, images, precision)
    direct = 0
    for x, w in zip(inputs, mlp.W, strict=True):
        for img in range(x.shape[0]):
            for i in np.flatnonzero(x[img]):
                direct += int(np.count_nonzero(w[i]))
    assert math.isclose(cost.effective_macs, direct / images.shape[0])
    # no-reuse (Lemaire FC): n_in input reads, n_in*n_out weight reads, n_out bias reads and writes
    acc = cost.accesses("no_reuse")
    assert acc["weights"] == cost.dense_macs
    assert acc["inputs"] == sum(sizes[:-1]) and acc["biases"] == acc["outputs"] == sum(sizes[1:])
    # max-reuse: weights of the rows with a non-zero input, packed in 64-bit words
    bits = {"fp32": 32, "fp16": 16, "int8": 8}[precision]
    words = 0.0
    for x, w in zip(inputs, mlp.W, strict=True):
        words += np.ceil((x != 0).sum(axis=1) * w.shape[1] * bits / 64).mean()
    assert math.isclose(cost.accesses("max_reuse")["weights"], words)
    assert cost.other_adds == sum(sizes[1:]) + sum(sizes[1:-1])
    assert cost.requant_mults == (sum(sizes[1:-1]) if precision == "int8" else 0)


def test_ann_energy_is_counts_times_cmos45_prices():
    rng = np.random.default_rng(2)
    mlp = _mlp([784, 50, 10], rng)
    images = rng.integers(0, 256, size=(5, 784)).astype(np.uint8)
    cost = ann_cost(mlp, images, np.zeros(5, dtype=np.int64), "int8")
    prof = load_profile("cmos45")
    e = ann_energy(cost, prof)
    assert math.isclose(e["no_reuse"]["macs"], cost.dense_macs * 0.23)
    assert math.isclose(e["max_reuse"]["macs"], cost.effective_macs * 0.23)
    assert math.isclose(e["max_reuse"]["other_ops"], cost.other_adds * 0.1 + cost.requant_mults * 3.1)
    # weights of layer 0: 784*50 int8 = 39,200 bytes; layer 1: 500 bytes (8 KB price)
    w0 = [n for k, layer, n, s in cost.no_reuse if k == "weights" and layer == 0][0]
    expect = w0 * prof.mem_pj(39200) + 500 * prof.mem_pj(500)
    assert math.isclose(e["no_reuse"]["mem_weights"], expect)
    assert e["max_reuse"]["mem_weights"] < e["no_reuse"]["mem_weights"]


def test_train_mlp_is_deterministic_and_learns():
    from neuro.datasets import load_dataset

    ds = load_dataset("embedded", "train")
    pick = np.arange(0, len(ds), 10)
    spec = AnnSpec((16,), "int8", 40)
    a = train_mlp(ds.images[pick], ds.labels[pick], spec, seed=3)
    b = train_mlp(ds.images[pick], ds.labels[pick], spec, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a.W, b.W, strict=True))
    assert a.sizes == [784, 16, 10]
    test = load_dataset("embedded", "test")
    for precision in ("fp32", "int8"):
        cost = ann_cost(a, test.images, test.labels, precision)
        assert cost.accuracy > 0.6  # far above chance (0.1) after 40 epochs on 400 images
    with pytest.raises(NeuroError, match="single class"):
        train_mlp(ds.images[:5], np.zeros(5, dtype=np.int64), spec, 0)
