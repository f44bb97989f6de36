"""Every file reader, fed a corpus of corrupted files generated here, answers with data or one line.

Two corpora: byte-level damage drawn by hypothesis (flipped bits, zeroed blocks, random blocks,
truncation) of real files written by neuro, and hand-made structural damage (link loops,
NaN times, huge core ids and shapes, forged committed lengths, NaN weights, out-of-range
training positions, bad JSON, missing keys). A reader passes when it returns normally or raises
:class:`NeuroError` with a one-line message; any other exception fails the test.
"""

from __future__ import annotations

import gzip
import json

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuro.analysis.cores import run_activity_map
from neuro.analysis.source import SpikeSource
from neuro.analysis.summary import inspect_spikes
from neuro.datasets.mnist import LABEL_MAGIC, read_idx
from neuro.energy.ledger import read_ledger
from neuro.energy.profile import load_profile
from neuro.engine import Simulator
from neuro.errors import NeuroError
from neuro.io.checkpoint import USERBLOCK, load_checkpoint, save_checkpoint, seal
from neuro.io.runstate import check_train_state
from neuro.io.sonata import SpikeFile
from neuro.network import compile_network
from neuro.run import run_spec
from neuro.spec import Network, load_spec

from .conftest import MODELS, assert_one_line_error

CORRUPT = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# ------------------------------------------------------------------------------ damage
@st.composite
def damage(draw, size: int):
    """A function bytes -> damaged bytes (one of four kinds of damage)."""
    kind = draw(st.sampled_from(["flip", "zero", "random", "truncate"]))
    at = draw(st.integers(0, size - 1))
    if kind == "flip":
        bits = draw(st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, 7)), min_size=1, max_size=8))

        def f(b):
            b = bytearray(b)
            for k, bit in bits:
                b[k] ^= 1 << bit
            return bytes(b)

        return f
    if kind == "truncate":
        return lambda b: b[:at]
    n = draw(st.integers(1, 4096))
    fill = bytes(n) if kind == "zero" else draw(st.binary(min_size=n, max_size=n))
    return lambda b: b[:at] + fill[: len(b) - at] + b[at + n :]


def answers_or_one_line(fn, *args):
    try:
        fn(*args)
    except NeuroError as exc:
        assert_one_line_error(exc)


# ------------------------------------------------------------------------------- files
@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    net = load_spec(MODELS / "feedforward.toml")
    run_spec(net.with_simulation(steps=200), d / "run", progress=False)
    spikes = (d / "run" / "spikes.h5").read_bytes()
    sim = Simulator(compile_network(load_spec(MODELS / "feedforward.toml")))
    sim.run(5)
    ckpt = save_checkpoint(sim, d / "ckpt.h5").read_bytes()
    return {"dir": d, "spikes": spikes, "checkpoint": ckpt}


def _read_spikes(path):
    with SpikeSource(path) as src:
        inspect_spikes(src, None, None, 100.0, 10.0)
    run_activity_map(path)
    SpikeFile(path)
    read_ledger(path)


@CORRUPT
@given(data=st.data())
def test_damaged_spike_files(corpus, tmp_path, data):
    blob = corpus["spikes"]
    path = tmp_path / "spikes.h5"
    path.write_bytes(data.draw(damage(len(blob)))(blob))
    answers_or_one_line(_read_spikes, path)


@CORRUPT
@given(data=st.data())
def test_damaged_checkpoints(corpus, tmp_path, data):
    blob = corpus["checkpoint"]
    path = tmp_path / "ckpt.h5"
    damaged = data.draw(damage(len(blob)))(blob)
    path.write_bytes(damaged)
    try:
        load_checkpoint(path)
    except NeuroError as exc:
        assert_one_line_error(exc)
    else:  # accepted: only the unused padding of the seal may differ (the sealed bytes are intact)
        assert damaged[USERBLOCK:] == blob[USERBLOCK:]


@CORRUPT
@given(data=st.data())
def test_damaged_idx(tmp_path, data):
    raw = LABEL_MAGIC.to_bytes(4, "big") + (50).to_bytes(4, "big") + bytes(range(10)) * 5
    blob = gzip.compress(raw)
    path = tmp_path / "labels.gz"
    path.write_bytes(data.draw(damage(len(blob)))(blob))
    answers_or_one_line(read_idx, path, LABEL_MAGIC)


@CORRUPT
@given(data=st.data())
def test_damaged_specs(tmp_path, data):
    blob = (MODELS / "feedforward.toml").read_bytes()
    path = tmp_path / "spec.toml"
    path.write_bytes(data.draw(damage(len(blob)))(blob))
    answers_or_one_line(load_spec, path)


@CORRUPT
@given(data=st.data())
def test_damaged_energy_profiles(tmp_path, data):
    from importlib import resources

    blob = resources.files("neuro.energy").joinpath("profiles", "loihi.toml").read_bytes()
    path = tmp_path / "profile.toml"
    path.write_bytes(data.draw(damage(len(blob)))(blob))
    answers_or_one_line(load_profile, str(path))


# ------------------------------------------------------------------ structural damage
def _copy(corpus, tmp_path, name="spikes.h5"):
    path = tmp_path / name
    path.write_bytes(corpus["spikes"])
    return path


SPIKE_DAMAGE = {
    "soft link loop": lambda f: (
        f.__delitem__("spikes/hidden"),
        f.__setitem__("spikes/hidden", h5py.SoftLink("/spikes/hidden")),
    ),
    "NaN t_stop": lambda f: f["emulator"].attrs.__setitem__("t_stop_ms", np.nan),
    "huge steps_completed": lambda f: f["emulator"].attrs.__setitem__("steps_completed", 1e300),
    "string dt": lambda f: f["emulator"].attrs.__setitem__("dt_ms", "fast"),
    "core ids of 2**31": lambda f: f["emulator/placement/hidden"].__setitem__(
        (slice(None), 1), np.uint32(2**31)
    ),
    "placement claiming 10**9 rows": lambda f: (
        f["emulator/placement"].__delitem__("hidden"),
        f["emulator/placement"].create_dataset("hidden", shape=(10**9, 3), dtype="u4", chunks=(1024, 3)),
    ),
    "committed beyond the data": lambda f: f["emulator/committed"].attrs.__setitem__(
        "/spikes/hidden/timestamps", np.int64(10**12)
    ),
    "committed as text": lambda f: f["emulator/committed"].attrs.__setitem__(
        "/spikes/hidden/node_ids", "all"
    ),
    "NaN timestamps": lambda f: f["spikes/hidden/timestamps"].__setitem__(slice(0, 3), np.nan),
    "node ids of 2**63": lambda f: f["spikes/hidden/node_ids"].__setitem__(0, np.uint64(2**63 + 5)),
    "bad JSON spec": lambda f: f["emulator"].attrs.__setitem__("spec", "[" * 5000),
    "timestamps as a group": lambda f: (
        f["spikes/hidden"].__delitem__("timestamps"),
        f["spikes/hidden"].create_group("timestamps"),
    ),
    "2-D timestamps": lambda f: (
        f["spikes/hidden"].__delitem__("timestamps"),
        f["spikes/hidden"].create_dataset("timestamps", data=np.zeros((3, 2))),
    ),
}


@pytest.mark.parametrize("what", list(SPIKE_DAMAGE))
def test_structurally_damaged_spike_files(corpus, tmp_path, what):
    path = _copy(corpus, tmp_path)
    with h5py.File(path, "r+") as f:
        assert f["spikes/hidden/timestamps"].shape[0] > 3, "the corpus run must have spikes"
        SPIKE_DAMAGE[what](f)
    answers_or_one_line(_read_spikes, path)


def _reseal(path, change):
    """Apply ``change`` to the checkpoint and recompute its checksum: consistent but wrong."""
    with h5py.File(path, "r+") as f:
        change(f)
    seal(path)


CHECKPOINT_DAMAGE = {
    "NaN weights": (lambda f: f["synapses/0/weight"].__setitem__(0, np.nan), "NaN"),
    "negative step": (lambda f: f.attrs.__setitem__("step", -100), "step"),
    "non-integer seed": (lambda f: f.attrs.__setitem__("seed", 1.5), "seed"),
    "bad JSON": (lambda f: f.attrs.__setitem__("extra", "{not json"), "not valid JSON"),
    "missing spec": (lambda f: f.attrs.__delitem__("spec"), "lacks spec"),
    "batch 0": (lambda f: f.attrs.__setitem__("batch", 0), "batch"),
    "unknown arithmetic": (lambda f: f.attrs.__setitem__("arithmetic", "analog"), "arithmetic"),
    "missing state": (lambda f: f["state"].__delitem__(next(iter(f["state"]))), "lacks dataset"),
}


@pytest.mark.parametrize("what", list(CHECKPOINT_DAMAGE))
def test_structurally_damaged_checkpoints(corpus, tmp_path, what):
    path = tmp_path / "ckpt.h5"
    path.write_bytes(corpus["checkpoint"])
    change, needle = CHECKPOINT_DAMAGE[what]
    _reseal(path, change)
    with pytest.raises(NeuroError) as e:
        load_checkpoint(path)
    assert_one_line_error(e.value, "ckpt.h5", needle)


def test_a_flipped_bit_in_the_weights_is_caught(corpus, tmp_path):
    path = tmp_path / "ckpt.h5"
    path.write_bytes(corpus["checkpoint"])
    with h5py.File(path, "r+") as f:  # change one weight without resealing: a bit flip on disk
        w = f["synapses/0/weight"][()]
        w.view(np.uint64)[0] ^= 1
        f["synapses/0/weight"][...] = w
    with pytest.raises(NeuroError) as e:
        load_checkpoint(path)
    assert_one_line_error(e.value, "checksum does not match")


GOOD_STATE = {
    "model": "diehl-cook",
    "config": {"n_neurons": 4, "nu_post": 0.01},
    "data": "embedded",
    "epochs": 1,
    "images": 10,
    "label_images": 10,
    "order": list(range(10)),
    "epoch": 0,
    "position": 3,
    "stats": {"presentations": 3, "exc_spikes": 20, "train_seconds": 1.0},
}
STATE_DAMAGE = {
    "position 10**9": ({"position": 10**9}, "position"),
    "negative position": ({"position": -1}, "position"),
    "epoch past epochs": ({"epoch": 5}, "epoch"),
    "train_images past its passes": ({"train_images": 11}, "train_images"),
    "train_images short of its last pass": ({"epochs": 2, "train_images": 10}, "train_images"),
    "train_images as text": ({"train_images": "all"}, "train_images"),
    "order past the data": ({"order": [10**6] * 10}, "order"),
    "config as text": ({"config": "big"}, "config"),
    "NaN parameter": ({"config": {"nu_post": float("nan")}}, "nu_post"),
    "unknown parameter": ({"config": {"bogus": 1}}, "bogus"),
    "string stats": (
        {"stats": {"presentations": "many", "exc_spikes": 0, "train_seconds": 0}},
        "presentations",
    ),
}


@pytest.mark.parametrize("what", list(STATE_DAMAGE))
def test_out_of_range_training_state_is_refused(what):
    change, needle = STATE_DAMAGE[what]
    check_train_state(GOOD_STATE, "ckpt.h5", n_data=4000)  # the good state passes
    with pytest.raises(NeuroError) as e:
        check_train_state({**GOOD_STATE, **change}, "ckpt.h5", n_data=4000)
    assert_one_line_error(e.value, "ckpt.h5", needle)
    bad = dict(GOOD_STATE)
    del bad["config"]
    with pytest.raises(NeuroError, match="lacks 'config'"):
        check_train_state(bad, "ckpt.h5")


def test_spec_network_roundtrip_still_loads(corpus):
    # the corpus checkpoint's spec is a valid network (sanity of the corpus itself)
    with h5py.File(corpus["dir"] / "ckpt.h5", "r") as f:
        Network.from_dict(json.loads(f.attrs["spec"]))
