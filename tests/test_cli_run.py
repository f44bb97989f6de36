"""The command line: ``neuro run``, ``neuro map`` and ``--version`` through click's CliRunner."""

from __future__ import annotations

import json
import re

import h5py
import pytest
from click.testing import CliRunner

import neuro
import neuro.engine as engine
import neuro.run as run_mod
from neuro.cli import main
from neuro.io.sonata import SpikeFile

from .conftest import MODELS


@pytest.fixture
def runner():
    return CliRunner()


def invoke(runner, *args):
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def one_error_line(result) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def test_run_writes_spikes_and_prints_summary(runner, tmp_path):
    # single_neuron.toml: bias 1.5, tau 20, threshold 1, refractory 2 ms -> n = ceil(20 ln 3) = 22
    # integration steps, first spike at step 21, then every 22 + 2 - 1 = 23 steps: 21, 44, ..., 182 (8 spikes
    # in 200 steps).
    out = tmp_path / "out"
    r = invoke(runner, "run", MODELS / "single_neuron.toml", "-o", out)
    assert r.exit_code == 0, r.output
    assert (out / "spikes.h5").is_file()
    assert re.search(r"spikes\.h5: 8 spikes in 200 steps \(float, seed 0, 1 loihi cores", r.stdout)
    sf = SpikeFile(out / "spikes.h5")
    assert sf.spike_steps("neuron").tolist() == list(range(21, 200, 23))
    assert sf.complete


def test_run_overrides(runner, tmp_path):
    out = tmp_path / "out"
    r = invoke(
        runner,
        "run",
        MODELS / "single_neuron.toml",
        "-o",
        out,
        "--steps",
        45,
        "--seed",
        99,
        "--arithmetic",
        "loihi",
        "--chip",
        "unbounded",
    )
    assert r.exit_code == 0, r.output
    assert "in 45 steps (loihi, seed 99, 1 unbounded cores" in r.stdout
    with h5py.File(out / "spikes.h5", "r") as f:
        emu = f["emulator"].attrs
        assert (emu["steps"], emu["seed"], emu["arithmetic"], emu["chip"]) == (45, 99, "loihi", "unbounded")
        assert emu["steps_completed"] == 45
        assert json.loads(emu["spec"])["simulation"]["arithmetic"] == "loihi"


def test_existing_output_dir_is_refused_and_untouched(runner, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    r = invoke(runner, "run", MODELS / "single_neuron.toml", "-o", out)
    assert r.exit_code == 2
    line = one_error_line(r)
    assert str(out) in line and "--overwrite" in line
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "precious"
    # --overwrite replaces what neuro writes there (spikes.h5), nothing else
    for _ in range(2):
        r = invoke(runner, "run", MODELS / "single_neuron.toml", "-o", out, "--overwrite")
        assert r.exit_code == 0, r.output
        assert sorted(p.name for p in out.iterdir()) == ["keep.txt", "spikes.h5"]
        assert (out / "keep.txt").read_text() == "precious"


def test_bad_spec_exits_2_without_creating_output(runner, tmp_path, write_spec):
    spec = write_spec('[[populations]]\nname = "a"\nsize = 2\ntau_mem = -1.0\n')
    out = tmp_path / "out"
    r = invoke(runner, "run", spec, "-o", out)
    assert r.exit_code == 2
    line = one_error_line(r)
    assert str(spec) in line and "populations[0].tau_mem" in line
    assert not out.exists()


def test_bad_vth_mant_in_a_spec_file_exits_2(runner, tmp_path, write_spec):
    for value, where in (("0", "populations[0].vth_mant"), ("4096.5", "populations[0].vth_mant")):
        spec = write_spec(f'[[populations]]\nname = "a"\nsize = 2\nvth_mant = {value}\n')
        out = tmp_path / "out"
        r = invoke(runner, "run", spec, "-o", out, "--arithmetic", "loihi")
        assert r.exit_code == 2
        line = one_error_line(r)
        assert str(spec) in line and where in line
        assert not out.exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--chip", "bogus"), "bogus"),
        (("--arithmetic", "loihi", "--steps", "5"), None),  # control: valid
    ],
)
def test_bad_override_exits_2(runner, tmp_path, args, needle):
    out = tmp_path / "out"
    r = invoke(runner, "run", MODELS / "single_neuron.toml", "-o", out, *args)
    if needle is None:
        assert r.exit_code == 0, r.output
        return
    assert r.exit_code == 2
    assert needle in one_error_line(r)
    assert not out.exists()


def test_mapping_error_exits_2_without_output(runner, tmp_path, write_spec):
    spec = write_spec('[[populations]]\nname = "a"\nsize = 132096\n')  # 129 cores on one 128-core chip
    out = tmp_path / "out"
    r = invoke(runner, "run", spec, "-o", out, "--steps", 1)
    assert r.exit_code == 2
    assert "--chips 2" in one_error_line(r)
    assert not out.exists()
    r = invoke(runner, "run", spec, "-o", out, "--steps", 1, "--chips", 2)
    assert r.exit_code == 0, r.output
    assert "129 loihi cores" in r.stdout


def test_missing_spec_file(runner, tmp_path):
    r = invoke(runner, "run", tmp_path / "nope.toml", "-o", tmp_path / "out")
    assert r.exit_code == 2
    assert "nope.toml" in one_error_line(r)
    assert not (tmp_path / "out").exists()


def test_interrupt_exits_130_with_incomplete_file(runner, tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "CHUNK_STEPS", 50)

    def interrupt(self, step):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_mod.Progress, "__call__", interrupt)
    out = tmp_path / "out"
    r = invoke(runner, "run", MODELS / "single_neuron.toml", "-o", out)
    assert r.exit_code == 130
    assert "interrupted" in r.stderr
    sf = SpikeFile(out / "spikes.h5")
    assert sf.complete is False and sf.meta["steps_completed"] == 50
    assert sf.spike_steps("neuron").tolist() == [21, 44]


def test_map_table(runner):
    r = invoke(runner, "map", MODELS / "cuba.toml")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    # cuba: 3200 exc and 800 inh dual-current neurons = 6400 + 1600 compartments; at least
    # ceil(6400/1024) = 7 and ceil(1600/1024) = 2 cores
    m = re.match(r"chip profile loihi: (\d+) cores used on 1 chip\(s\)", lines[0])
    assert m and int(m.group(1)) >= 9
    assert lines[-1].startswith("peak per core: ")
    assert len(lines) == int(m.group(1)) + 3  # title, header, one row per core, peaks


def test_map_json(runner):
    r = invoke(runner, "map", MODELS / "feedforward.toml", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    # hidden (50) and output (10) neurons: one core each
    assert d["chip"] == "loihi" and d["cores_used"] == 2
    assert [c["population"] for c in d["cores"]] == ["hidden", "output"]
    assert [c["neurons"] for c in d["cores"]] == [50, 10]
    assert [c["compartments"] for c in d["cores"]] == [50, 20]  # output is dual-current
    r = invoke(runner, "map", MODELS / "feedforward.toml", "--json", "--chip", "unbounded")
    assert json.loads(r.stdout)["limits"]["compartments"] is None


def test_version(runner):
    r = invoke(runner, "--version")
    assert r.exit_code == 0
    assert r.stdout.strip() == f"neuro, version {neuro.__version__}"
