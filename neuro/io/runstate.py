"""The training state stored in a RUNDIR's checkpoint (its ``extra`` attribute), checked before use.

A checkpoint's checksum catches damage, but a file can also be consistent and wrong (written by
hand, by another version, or edited): a missing key, a non-integer position, ``step = -100`` or
``position = 10**9``. :func:`check_train_state` refuses such a state with one line before
``train --resume``, ``evaluate``, ``energy`` or ``plot-weights`` use it.
"""

from __future__ import annotations

import math
from dataclasses import fields

from neuro.errors import NeuroError
from neuro.io.guard import integer

#: key -> (type, required) of the ``extra`` of a Diehl & Cook training checkpoint
TRAIN_KEYS = {
    "model": (str, True),
    "config": (dict, True),
    "data": (str, True),
    "epochs": (int, True),  # passes begun, the last possibly partial
    "train_images": (int, False),  # images the run shows (absent: epochs whole passes)
    "images": (int, False),  # None: the whole split
    "label_images": (int, True),
    "order": (list, True),
    "epoch": (int, True),
    "position": (int, True),
    "stats": (dict, True),
}


def _kind_ok(value, kind) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_config(config: dict, path, model: str = "diehl-cook") -> None:
    """Every stored model parameter is a known name with a finite number (or ``None`` where
    allowed, a string for a name such as ``readout``)."""
    from neuro.models.registry import MODELS

    if model not in MODELS:
        raise NeuroError(f"checkpoint holds an unknown model {model!r}", str(path))
    known = {f.name: f for f in fields(MODELS[model].config_cls)}
    for key, val in config.items():
        if key not in known:
            raise NeuroError(f"checkpoint config has unknown parameter {key!r}", str(path))
        if val is None and "None" in str(known[key].type):
            continue
        if str(known[key].type) == "str":  # a name: the config's own check says which
            if not isinstance(val, str):
                raise NeuroError(f"checkpoint config {key} must be a name, got {val!r:.60}", str(path))
            continue
        if isinstance(val, bool) or not isinstance(val, int | float) or not math.isfinite(val):
            raise NeuroError(f"checkpoint config {key} must be a finite number, got {val!r}", str(path))
    n = config.get("n_neurons", 1)
    integer(n, "checkpoint config n_neurons", path, low=1, high=1 << 24)
    try:  # the config's own checks (a readout's name, a range, ...)
        MODELS[model].config_cls(**config)
    except NeuroError as exc:
        raise exc.at(str(path), "config") from None


def check_train_state(extra: dict, path, n_data: int | None = None, finished: bool = False) -> None:
    """Refuse a training state that is incomplete or out of range.

    Parameters
    ----------
    extra : dict
        The checkpoint's ``extra`` attribute.
    path : path-like
        The checkpoint (named in errors).
    n_data : int, optional
        Images in the training split; when given, ``position`` and ``order`` are checked
        against the images per epoch.
    finished : bool
        Also require the neuron labels of a finished run (``assignments``).
    """
    for key, (kind, required) in TRAIN_KEYS.items():
        if key not in extra:
            if required:
                raise NeuroError(f"checkpoint training state lacks {key!r}", str(path))
            continue
        val = extra[key]
        if val is None and not required:
            continue
        if not _kind_ok(val, kind):
            raise NeuroError(f"checkpoint training state {key!r} has a bad value {val!r:.60}", str(path))
    check_config(extra["config"], path, extra["model"])
    epochs = integer(extra["epochs"], "checkpoint epochs", path, low=1, high=1 << 20)
    integer(extra["epoch"], "checkpoint epoch", path, low=0, high=epochs)
    if extra.get("images") is not None:
        integer(extra["images"], "checkpoint images", path, low=1)
    integer(extra["label_images"], "checkpoint label_images", path, low=1)
    order = extra["order"]
    if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in order):
        raise NeuroError("checkpoint order must hold image indices >= 0", str(path))
    if n_data is not None:
        per_epoch = n_data if extra.get("images") is None else min(extra["images"], n_data)
        integer(extra["position"], "checkpoint position", path, low=0, high=per_epoch)
        if extra.get("train_images") is not None:
            integer(
                extra["train_images"],
                "checkpoint train_images",
                path,
                low=(epochs - 1) * per_epoch + 1,
                high=epochs * per_epoch,
            )
        if order and (len(order) != per_epoch or max(order) >= n_data):
            raise NeuroError(
                f"checkpoint order holds {len(order)} indices up to {max(order)}, "
                f"expected {per_epoch} below {n_data}",
                str(path),
            )
    else:
        integer(extra["position"], "checkpoint position", path, low=0)
        if extra.get("train_images") is not None:
            integer(extra["train_images"], "checkpoint train_images", path, low=1)
    for key in ("presentations", "exc_spikes", "train_seconds"):
        val = extra["stats"].get(key)
        if isinstance(val, bool) or not isinstance(val, int | float) or not math.isfinite(val) or val < 0:
            raise NeuroError(f"checkpoint stats {key!r} must be a number >= 0, got {val!r}", str(path))
    if finished:
        labels = extra.get("assignments")
        n = extra["config"].get("n_neurons", 100)
        if (
            not isinstance(labels, list)
            or len(labels) != n
            or not all(isinstance(v, int) and -1 <= v <= 9 for v in labels)
        ):
            raise NeuroError(f"checkpoint neuron labels must be {n} integers in -1..9", str(path))
