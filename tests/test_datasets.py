"""MNIST readers (embedded subset, IDX files) and spike encoders."""

import gzip

import numpy as np
import pytest

from neuro.datasets import load_dataset
from neuro.datasets.encoders import latency_spikes, poisson_spikes
from neuro.datasets.mnist import IMAGE_MAGIC, LABEL_MAGIC
from neuro.errors import NeuroError


def write_idx(directory, prefix, images, labels, gz=False, magic_img=IMAGE_MAGIC, truncate=0):
    n = images.shape[0]
    head = IMAGE_MAGIC.to_bytes(4, "big") if magic_img == IMAGE_MAGIC else magic_img.to_bytes(4, "big")
    img = head + n.to_bytes(4, "big") + (28).to_bytes(4, "big") + (28).to_bytes(4, "big") + images.tobytes()
    lab = LABEL_MAGIC.to_bytes(4, "big") + n.to_bytes(4, "big") + labels.astype(np.uint8).tobytes()
    if truncate:
        img = img[:-truncate]
    opener = gzip.open if gz else open
    suffix = ".gz" if gz else ""
    with opener(directory / f"{prefix}-images-idx3-ubyte{suffix}", "wb") as fh:
        fh.write(img)
    with opener(directory / f"{prefix}-labels-idx1-ubyte{suffix}", "wb") as fh:
        fh.write(lab)


def test_embedded_split_is_fixed_and_balanced():
    train, test = load_dataset("embedded", "train"), load_dataset("embedded", "test")
    assert len(train) == 4000 and len(test) == 1000
    assert np.bincount(train.labels).tolist() == [400] * 10
    assert np.bincount(test.labels).tolist() == [100] * 10
    assert train.images.shape == (4000, 784) and train.images.dtype == np.uint8
    # no image is in both splits
    tr = {img.tobytes() for img in train.images}
    assert not any(img.tobytes() in tr for img in test.images[:200])


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, gz):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 784), dtype=np.uint8)
    labels = np.array([0, 1, 2, 3, 4, 5, 9])
    write_idx(tmp_path, "t10k", images, labels, gz=gz)
    ds = load_dataset(f"mnist:{tmp_path}", "test")
    assert np.array_equal(ds.images, images) and np.array_equal(ds.labels, labels)


def test_idx_bad_files(tmp_path):
    images = np.zeros((3, 784), dtype=np.uint8)
    write_idx(tmp_path, "train", images, np.array([0, 1, 2]), truncate=5)
    with pytest.raises(NeuroError, match="truncated or corrupt"):
        load_dataset(f"mnist:{tmp_path}", "train")
    write_idx(tmp_path, "train", images, np.array([0, 1, 2]), magic_img=1234)
    with pytest.raises(NeuroError, match="bad magic number 1234"):
        load_dataset(f"mnist:{tmp_path}", "train")
    write_idx(tmp_path, "train", images, np.array([0, 1, 12]))
    with pytest.raises(NeuroError, match="label 12 out of range"):
        load_dataset(f"mnist:{tmp_path}", "train")
    with pytest.raises(NeuroError, match="missing MNIST file t10k-images"):
        load_dataset(f"mnist:{tmp_path}", "test")
    with pytest.raises(NeuroError, match="not found"):
        load_dataset(f"mnist:{tmp_path}/nope", "test")
    with pytest.raises(NeuroError, match="unknown data set"):
        load_dataset("cifar", "test")


def test_poisson_rate_statistics():
    # one image of 50 channels at pixel 200, rate 200/8*2 = 50 Hz, dt 0.5 ms, 4000 steps = 2 s:
    # each channel spikes Binomial(4000, 0.025): mean 100, sd sqrt(4000*0.025*0.975) = 9.87
    rng = np.random.default_rng(1)
    img = np.full((1, 50), 200)
    steps, b, c = poisson_spikes(img, 0.25, 0.5, 4000, rng)
    counts = np.bincount(c, minlength=50)
    assert abs(counts.mean() - 100) < 4 * 9.87 / np.sqrt(50)
    assert steps.min() >= 0 and steps.max() < 4000
    assert np.all(np.diff(steps) >= 0)  # sorted by step
    # at most one spike per channel and step
    assert len(set(zip(steps.tolist(), c.tolist(), strict=True))) == steps.size
    # zero pixels never spike; gain scales the rate
    z = poisson_spikes(np.zeros((2, 10)), 0.25, 0.5, 100, rng)
    assert z[0].size == 0
    s2 = poisson_spikes(img, 0.25, 0.5, 4000, np.random.default_rng(1), gain=[2.0])
    assert abs(np.bincount(s2[2], minlength=50).mean() - 200) < 4 * np.sqrt(4000 * 0.05 * 0.95) / np.sqrt(50)


def test_poisson_same_seed_same_spikes():
    img = np.random.default_rng(3).integers(0, 256, (3, 784))
    a = poisson_spikes(img, 0.25, 0.5, 700, np.random.default_rng(5))
    b = poisson_spikes(img, 0.25, 0.5, 700, np.random.default_rng(5))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_latency_code():
    img = np.array([[255, 0, 128, 1]])
    steps, b, c = latency_spikes(img, 101)
    # step = floor((1 - x/255) * 100): 255 -> 0, 128 -> 49, 1 -> 99; pixel 0 is silent
    assert dict(zip(c.tolist(), steps.tolist(), strict=True)) == {0: 0, 2: 49, 3: 99}
