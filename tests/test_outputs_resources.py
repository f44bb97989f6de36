"""Output directories that are claimed atomically, results never silently replaced, the resource
and memory check before synapses are built, and bounded IDX reading."""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from neuro.chips import get_profile
from neuro.datasets.mnist import IMAGE_MAGIC, LABEL_MAGIC, MAX_IMAGES, read_idx
from neuro.errors import NeuroError
from neuro.io.outdir import OutputDir, check_output_dir, fresh_name, write_text_atomic
from neuro.resources import (
    BASE_BYTES,
    BYTES_PER_BUILT_SYNAPSE,
    BYTES_PER_SYNAPSE,
    check_resources,
    count_resources,
)
from neuro.spec import Network

from .conftest import assert_one_line_error

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"


# ------------------------------------------------------------------------------ output paths
def test_output_under_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(NeuroError) as e:
        check_output_dir(tmp_path / "f" / "out")
    assert_one_line_error(e.value, "is a file")
    with pytest.raises(NeuroError) as e:
        check_output_dir(tmp_path / "f")
    assert_one_line_error(e.value, "not a directory")


def test_output_in_proc_is_a_one_line_error():
    with pytest.raises(NeuroError) as e:
        OutputDir("/proc/neuro-out", ("spikes.h5",)).claim()
    assert_one_line_error(e.value, "/proc/neuro-out")


def test_unwritable_directory_is_a_one_line_error(tmp_path, monkeypatch):
    # tests may run as root, which ignores permission bits: simulate the kernel's answer
    def deny(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("neuro.io.outdir.os.mkdir", deny)
    with pytest.raises(NeuroError) as e:
        OutputDir(tmp_path / "out", ("spikes.h5",)).claim()
    assert_one_line_error(e.value, "permission denied")


def test_claim_refuses_a_directory_that_appeared_meanwhile(tmp_path):
    out = tmp_path / "out"
    check_output_dir(out)  # the early check passes ...
    out.mkdir()  # ... then another run creates it
    (out / "spikes.h5").write_text("the other run's result")
    with pytest.raises(NeuroError) as e:
        OutputDir(out, ("spikes.h5",)).claim()
    assert_one_line_error(e.value, str(out))
    assert (out / "spikes.h5").read_text() == "the other run's result"


def test_overwrite_replaces_only_what_neuro_writes_and_locks(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "spikes.h5").write_text("old")
    (out / "notes.txt").write_text("mine")
    claim = OutputDir(out, ("spikes.h5",), overwrite=True)
    claim.claim()
    try:
        assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
        with pytest.raises(NeuroError) as e:  # a second writer is refused while the first holds it
            OutputDir(out, ("spikes.h5",), overwrite=True).claim()
        assert_one_line_error(e.value, "another neuro process")
    finally:
        claim.release()
    OutputDir(out, ("spikes.h5",), overwrite=True).claim()  # free again


def test_concurrent_runs_into_one_directory_never_both_succeed(tmp_path):
    """Two ``neuro run -o same`` at once: one writes, the other is refused (exit 2)."""
    out = tmp_path / "same"
    cmd = [
        sys.executable,
        str(ROOT / "cli.py"),
        "-q",
        "run",
        str(MODELS / "single_neuron.toml"),
        "-o",
        str(out),
    ]
    results = []

    def go(seed):
        p = subprocess.run([*cmd, "--seed", str(seed)], capture_output=True, text=True, cwd=ROOT)
        results.append((p.returncode, p.stderr))

    threads = [threading.Thread(target=go, args=(s,)) for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r[0] for r in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert len(refused.strip().splitlines()) == 1 and str(out) in refused


def test_fresh_name_and_atomic_text(tmp_path):
    assert fresh_name(tmp_path, "eval-test", (".json", ".png")) == "eval-test"
    write_text_atomic(tmp_path / "eval-test.json", "{}")
    assert fresh_name(tmp_path, "eval-test", (".json", ".png")) == "eval-test-2"
    (tmp_path / "eval-test-2.png").write_text("")
    assert fresh_name(tmp_path, "eval-test", (".json", ".png")) == "eval-test-3"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


# ------------------------------------------------------------------------- resources
def _net(size, connector="all_to_all", chip="loihi", arithmetic="float", **extra):
    return Network.from_dict(
        {
            "simulation": {"steps": 1, "chip": chip, "arithmetic": arithmetic},
            "populations": [{"name": "a", "size": size}, {"name": "b", "size": 10}],
            "projections": [{"pre": "a", "post": "a", "connector": connector, **extra}],
        },
        source="net.toml",
    )


def test_closed_form_counts_by_hand():
    # all-to-all of 50 onto itself without self connections: 50 * 49 synapses, fan-in 49
    res = count_resources(_net(50), get_profile("loihi"))
    assert res.synapses == [50 * 49] and res.min_input_axons == {"a": 49}
    assert res.memory_bytes == BASE_BYTES + (BYTES_PER_SYNAPSE + BYTES_PER_BUILT_SYNAPSE) * 2450
    # one_to_one: n synapses, fan-in 1
    assert count_resources(_net(50, "one_to_one"), get_profile("loihi")).synapses == [50]
    # fixed probability 0.1 of 100 x 100: 1000 expected; fan-in bound 10 - 6 sqrt(9) < 0 -> 0
    res = count_resources(_net(100, {"type": "fixed_probability", "p": 0.1}), get_profile("loihi"))
    assert res.synapses == [1000] and res.min_input_axons == {"a": 0}
    # the compiled network has as many synapses as counted (all-to-all, one-to-one)
    from neuro.network import compile_network

    for conn in ("all_to_all", "one_to_one"):
        net = _net(60, conn)
        assert compile_network(net).n_synapses == count_resources(net, get_profile("loihi")).total_synapses


def test_hopeless_spec_is_refused_before_building(monkeypatch):
    def no_build(*a, **k):  # building any synapse would be a failure of the check
        raise AssertionError("synapses were built")

    monkeypatch.setattr("neuro.connectivity.build_projection", no_build)
    with pytest.raises(NeuroError) as e:
        check_resources(_net(6000), get_profile("loihi"))
    assert_one_line_error(e.value, "net.toml", "5999 sources", "input axons per core limit 4096")
    with pytest.raises(NeuroError) as e:
        check_resources(_net(140_000, "one_to_one"), get_profile("loihi"), available=1 << 40)
    assert_one_line_error(e.value, "at least", "--chips 2")


def test_memory_guard_names_the_estimate_and_the_override(monkeypatch):
    net = _net(3000, chip="unbounded")
    need = BASE_BYTES + (BYTES_PER_SYNAPSE + BYTES_PER_BUILT_SYNAPSE) * 3000 * 2999  # 0.93 GiB
    with pytest.raises(NeuroError) as e:
        check_resources(net, get_profile("unbounded"), available=need - 1)
    assert_one_line_error(
        e.value, "net.toml", "needs about 0.9 GiB", "8,997,000 synapses", "NEURO_NO_MEMORY_CHECK=1"
    )
    check_resources(net, get_profile("unbounded"), available=need)  # enough
    monkeypatch.setenv("NEURO_NO_MEMORY_CHECK", "1")
    check_resources(net, get_profile("unbounded"), available=1)  # overridden


def test_cli_refuses_a_network_larger_than_memory(tmp_path):
    # 40,000 all-to-all = 1.6 G synapses: 200 MiB + 88 B x 1,599,960,000 = 131.3 GiB, more than
    # CI or this machine has
    spec = tmp_path / "big.toml"
    spec.write_text('[[populations]]\nname = "a"\nsize = 40000\n[[projections]]\npre = "a"\npost = "a"\n')
    cmd = [
        sys.executable,
        str(ROOT / "cli.py"),
        "run",
        str(spec),
        "-o",
        str(tmp_path / "o"),
        "--chip",
        "unbounded",
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 2
    assert "needs about 131.3 GiB" in p.stderr and "1,599,960,000 synapses" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------------ IDX
def _idx(path: Path, magic: int, dims, data: bytes, gz=False):
    head = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in dims)
    (gzip.open if gz else open)(path, "wb").write(head + data)
    return path


def test_idx_with_zero_images_is_refused(tmp_path):
    with pytest.raises(NeuroError) as e:
        read_idx(_idx(tmp_path / "i", IMAGE_MAGIC, (0, 28, 28), b""), IMAGE_MAGIC)
    assert_one_line_error(e.value, "0 items")


def test_gzip_bomb_is_refused_without_reading_it(tmp_path):
    import resource

    # 1 label claimed, 300 MB of zeros behind it (a ~300 KB gzip file)
    path = tmp_path / "bomb.gz"
    with gzip.open(path, "wb", compresslevel=9) as fh:
        fh.write(LABEL_MAGIC.to_bytes(4, "big") + (1).to_bytes(4, "big"))
        block = bytes(1 << 20)
        for _ in range(300):
            fh.write(block)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(NeuroError) as e:
        read_idx(path, LABEL_MAGIC)
    assert_one_line_error(e.value, "more than 1 data bytes")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB: < 50 MiB
    with pytest.raises(NeuroError) as e:  # a header claiming more images than allowed
        read_idx(_idx(tmp_path / "many", LABEL_MAGIC, (MAX_IMAGES + 1,), b""), LABEL_MAGIC)
    assert_one_line_error(e.value, f"{MAX_IMAGES + 1} items")


def test_idx_reads_what_it_should(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    got = read_idx(_idx(tmp_path / "l.gz", LABEL_MAGIC, (10,), labels.tobytes(), gz=True), LABEL_MAGIC)
    np.testing.assert_array_equal(got, np.arange(10))
