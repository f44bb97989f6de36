"""The ANN baseline: an MLP trained with scikit-learn on the same data, and its cost.

Training: ``MLPClassifier`` (ReLU, Adam, batch 200, learning rate 1e-3, ``max_iter``
epochs, default 40, early stopping off, ``random_state`` from the run's seed) on the
training split's pixels / 255. It takes a few seconds; the accuracy is measured on the same
test images as the SNN.

Precisions: ``fp32`` and ``fp16`` evaluate the trained weights in that float type;
``int8`` quantizes them symmetrically per tensor (:math:`W_q = \\mathrm{round}(W/s_w)`,
:math:`s_w = \\max|W|/127`), uses the pixels themselves as uint8 inputs (scale 1/255),
accumulates in int32 (biases :math:`b_q = \\mathrm{round}(b/(s_x s_w))`) and requantizes
hidden activations to uint8 with a scale from the training set's largest activation.
The reported accuracy is the quantized network's.

Counts per inference for layers :math:`l` with :math:`n^{in}_l \\times n^{out}_l` weights,
input :math:`x_l` (NeuroBench conventions):

* ``Dense`` MACs :math:`= \\sum_l n^{in}_l n^{out}_l` (zeros included; bias not a synop);
* ``Effective_MACs`` :math:`= \\sum_l \\sum_i [x_{l,i} \\ne 0]\\,|\\{j: W_{l,ij} \\ne 0\\}|`,
  counted on the actual test inputs at that precision and averaged;
* other ops: one bias add and (hidden layers) one ReLU compare per output, plus for int8
  one requantization multiply per hidden output.

Memory accesses per inference, two bounds (each tensor in a memory of its own size):

* *no-reuse* (Lemaire et al. 2022, FC as implemented): per layer :math:`n^{in}` input reads,
  :math:`n^{in} n^{out}` weight reads, :math:`n^{out}` bias reads and output writes, one
  access per element (each priced as one 64-bit access), with dense MACs;
* *max-reuse* (Dampfhoffer-style lower bound): every needed element moved once, packed in
  64-bit words: weights only of rows with a non-zero input
  (:math:`\\lceil \\sum_i [x_i \\ne 0] n^{out} b / 64 \\rceil`), inputs, biases and outputs
  once, with effective MACs (zero-skipping).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from neuro.energy.profile import Profile
from neuro.errors import NeuroError

PRECISIONS = {"fp32": (32, 32), "fp16": (16, 16), "int8": (8, 32)}  # operand bits, accumulator bits
ACC_PRECISION = {"fp32": "fp32", "fp16": "fp16", "int8": "int32"}
DEFAULT_MAX_ITER = 40
MAX_HIDDEN = 65536


@dataclass(frozen=True)
class AnnSpec:
    """Hidden layer sizes, the precision compared against, and the training epochs."""

    hidden: tuple
    precision: str = "int8"
    max_iter: int = DEFAULT_MAX_ITER


def parse_ann_spec(text: str | None, default_hidden: int) -> AnnSpec:
    """Parse ``hidden=H[-H2...],precision=int8|fp16|fp32,max_iter=N`` (all optional)."""
    kw: dict = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, val = part.partition("=")
        key, val = key.strip(), val.strip()
        if not sep or not val:
            raise NeuroError(f"expected key=value, got {part!r}", field="ann")
        if key == "hidden":
            try:
                sizes = tuple(int(v) for v in val.split("-"))
            except ValueError:
                raise NeuroError(
                    f"hidden must be sizes like 100 or 100-50, got {val!r}", field="ann"
                ) from None
            if not sizes or any(s < 1 or s > MAX_HIDDEN for s in sizes):
                raise NeuroError(f"hidden sizes must be in 1..{MAX_HIDDEN}, got {val!r}", field="ann")
            kw["hidden"] = sizes
        elif key == "precision":
            if val not in PRECISIONS:
                raise NeuroError(
                    f"precision must be one of {', '.join(PRECISIONS)}, got {val!r}", field="ann"
                )
            kw["precision"] = val
        elif key == "max_iter":
            if not val.isdigit() or int(val) < 1:
                raise NeuroError(f"max_iter must be a positive integer, got {val!r}", field="ann")
            kw["max_iter"] = int(val)
        else:
            raise NeuroError(f"unknown key {key!r} (known: hidden, precision, max_iter)", field="ann")
    if "hidden" not in kw:
        if default_hidden < 1:
            raise NeuroError("give hidden=H (the run has no excitatory layer to size it)", field="ann")
        kw["hidden"] = (int(default_hidden),)
    return AnnSpec(**kw)


@dataclass
class Mlp:
    """A trained MLP: float weights ``W[l]`` (n_in, n_out) and biases ``b[l]``."""

    W: list
    b: list
    n_iter: int
    classes: np.ndarray
    act_max: list = field(default_factory=list)  # largest hidden activation per layer (train set)

    @property
    def sizes(self) -> list:
        return [self.W[0].shape[0]] + [w.shape[1] for w in self.W]


def train_mlp(images: np.ndarray, labels: np.ndarray, spec: AnnSpec, seed: int) -> Mlp:
    """Train the MLP of ``spec`` on ``images`` (n, 784) uint8 (see module docstring)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    if images.ndim != 2 or images.shape[0] != labels.shape[0] or images.shape[0] < 2:
        raise NeuroError(f"cannot train on images of shape {images.shape} with {labels.shape[0]} labels")
    if np.unique(labels).size < 2:
        raise NeuroError("the training split holds a single class: nothing to train an ANN on")
    clf = MLPClassifier(
        hidden_layer_sizes=spec.hidden,
        activation="relu",
        solver="adam",
        batch_size=min(200, images.shape[0]),
        learning_rate_init=1e-3,
        max_iter=spec.max_iter,
        early_stopping=False,
        random_state=int(seed) % (2**32),
    )
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(1):  # small matrices: threads only contend
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(images.astype(np.float64) / 255.0, labels)
    classes = np.asarray(clf.classes_)
    W = [np.asarray(w) for w in clf.coefs_]
    b = [np.asarray(v) for v in clf.intercepts_]
    if classes.size == 2:  # scikit-learn's binary output: one logit; expand to two
        W[-1] = np.concatenate([-W[-1], W[-1]], axis=1) / 2
        b[-1] = np.concatenate([-b[-1], b[-1]]) / 2
    mlp = Mlp(W, b, int(clf.n_iter_), classes)
    h = images.astype(np.float64) / 255.0
    for w, bb in zip(W[:-1], b[:-1], strict=True):
        h = np.maximum(h @ w + bb, 0.0)
        mlp.act_max.append(float(h.max(initial=0.0)) or 1.0)
    return mlp


def forward(mlp: Mlp, images: np.ndarray, precision: str) -> tuple[np.ndarray, list]:
    """Predicted labels and the input of every layer (as used by that precision's arithmetic)."""
    L = len(mlp.W)
    if precision in ("fp32", "fp16"):
        dt = np.float32 if precision == "fp32" else np.float16
        x = (images.astype(np.float64) / 255.0).astype(dt)
        inputs = []
        for i, (w, b) in enumerate(zip(mlp.W, mlp.b, strict=True)):
            inputs.append(x)
            x = x @ w.astype(dt) + b.astype(dt)
            if i < L - 1:
                x = np.maximum(x, dt(0))
        return mlp.classes[np.argmax(x, axis=1)], inputs
    # int8: uint8 activations (pixels as they are), int8 weights, int32 accumulation
    x = images.astype(np.int64)
    s_x = 1.0 / 255.0
    inputs = []
    for i, (w, b) in enumerate(zip(mlp.W, mlp.b, strict=True)):
        s_w = float(np.abs(w).max()) / 127.0 or 1.0
        wq = np.clip(np.rint(w / s_w), -127, 127).astype(np.int64)
        bq = np.rint(b / (s_x * s_w)).astype(np.int64)
        inputs.append(x)
        acc = x @ wq + bq
        if i < L - 1:
            s_h = mlp.act_max[i] / 255.0
            x = np.clip(np.rint(np.maximum(acc, 0) * (s_x * s_w / s_h)), 0, 255).astype(np.int64)
            s_x = s_h
        else:
            x = acc
    return mlp.classes[np.argmax(x, axis=1)], inputs


@dataclass
class AnnCost:
    """Operation and memory counts of one inference (means over the test images)."""

    precision: str
    sizes: list
    accuracy: float
    dense_macs: int
    effective_macs: float
    other_adds: int
    requant_mults: int
    activation_sparsity: float
    connection_sparsity: float
    footprint_bytes: int
    no_reuse: list  # (tensor, layer, accesses, tensor bytes)
    max_reuse: list  # (tensor, layer, 64-bit words, tensor bytes)

    def accesses(self, bound: str) -> dict:
        """Accesses (no_reuse) or 64-bit words (max_reuse) per tensor kind."""
        out: dict = {}
        for kind, _layer, n, _size in getattr(self, bound):
            out[kind] = out.get(kind, 0) + n
        return out


def ann_cost(mlp: Mlp, images: np.ndarray, labels: np.ndarray, precision: str) -> AnnCost:
    """Counts of :class:`AnnCost` for ``precision`` on ``images`` (module docstring formulas)."""
    bits, acc_bits = PRECISIONS[precision]
    pred, inputs = forward(mlp, images, precision)
    n_img = max(1, images.shape[0])
    sizes = mlp.sizes
    dense = sum(a * b for a, b in zip(sizes, sizes[1:], strict=False))
    eff = 0.0
    hidden_total = hidden_nonzero = 0
    no_reuse, max_reuse = [], []
    for i, (w, x) in enumerate(zip(mlp.W, inputs, strict=True)):
        n_in, n_out = w.shape
        nz_w = np.count_nonzero(_quantized(w, precision), axis=1)  # non-zero weights per input row
        active = x != 0
        eff += float((active @ nz_w).sum()) / n_img
        rows_words = float(np.ceil(active.sum(axis=1) * n_out * bits / 64).sum()) / n_img
        if i > 0:
            hidden_total += x.size
            hidden_nonzero += int(np.count_nonzero(x))
        out_bits = bits if i < len(mlp.W) - 1 else acc_bits
        sizes_b = {
            "inputs": n_in * bits // 8,
            "weights": n_in * n_out * bits // 8,
            "biases": n_out * acc_bits // 8,
            "outputs": n_out * out_bits // 8,
        }
        for kind, acc, words in (
            ("inputs", n_in, math.ceil(n_in * bits / 64)),
            ("weights", n_in * n_out, rows_words),
            ("biases", n_out, math.ceil(n_out * acc_bits / 64)),
            ("outputs", n_out, math.ceil(n_out * out_bits / 64)),
        ):
            no_reuse.append((kind, i, acc, sizes_b[kind]))
            max_reuse.append((kind, i, words, sizes_b[kind]))
    n_weights = sum(w.size for w in mlp.W)
    zeros = sum(int(np.count_nonzero(_quantized(w, precision) == 0)) for w in mlp.W)
    n_out_total = sum(sizes[1:])
    hidden_outputs = sum(sizes[1:-1])
    return AnnCost(
        precision=precision,
        sizes=sizes,
        accuracy=float((pred == labels).mean()) if labels.size else float("nan"),
        dense_macs=int(dense),
        effective_macs=eff,
        other_adds=int(n_out_total + hidden_outputs),
        requant_mults=int(hidden_outputs if precision == "int8" else 0),
        activation_sparsity=(1.0 - hidden_nonzero / hidden_total) if hidden_total else 0.0,
        connection_sparsity=round(zeros / n_weights, 4),
        footprint_bytes=int(n_weights * bits // 8 + n_out_total * acc_bits // 8),
        no_reuse=no_reuse,
        max_reuse=max_reuse,
    )


def _quantized(w: np.ndarray, precision: str) -> np.ndarray:
    if precision == "int8":
        s = float(np.abs(w).max()) / 127.0 or 1.0
        return np.rint(w / s)
    return w.astype(np.float32 if precision == "fp32" else np.float16)


def ann_energy(cost: AnnCost, profile: Profile) -> dict:
    """pJ per inference of both bounds, by term (profile needs arithmetic and memory).

    .. math::

        E_{no\\text{-}reuse} = D\\,E_{MAC} + A\\,E_{add} + R\\,E_{mult}
            + \\sum_t N^{acc}_t E_{mem}(s_t), \\qquad
        E_{max\\text{-}reuse} = M_{eff}\\,E_{MAC} + A\\,E_{add} + R\\,E_{mult}
            + \\sum_t N^{words}_t E_{mem}(s_t)

    with ``D`` dense and :math:`M_{eff}` effective MACs, ``A`` bias/ReLU adds and ``R``
    requantization multiplies at the accumulator precision, :math:`s_t` tensor sizes.
    """
    p = cost.precision
    acc = ACC_PRECISION[p]
    mac = profile.mac_pj(p)
    other = cost.other_adds * profile.add_pj(acc) + cost.requant_mults * profile.mult_pj("int32")
    out = {}
    for bound, macs, mem in (
        ("no_reuse", cost.dense_macs, cost.no_reuse),
        ("max_reuse", cost.effective_macs, cost.max_reuse),
    ):
        terms = {"macs": macs * mac, "other_ops": other}
        for kind, _layer, n, size in mem:
            terms[f"mem_{kind}"] = terms.get(f"mem_{kind}", 0.0) + n * profile.mem_pj(size)
        out[bound] = terms
    return out
