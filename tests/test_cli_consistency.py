"""Flags mean the same everywhere: -v/-q after the subcommand, --chip with its choices, the
binding resource shown by plot-cores, output paths that cannot be written as one line."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli import main
from neuro.analysis.cores import core_map

from .conftest import MODELS


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_log_flags_after_the_subcommand(tmp_path):
    out = tmp_path / "o"
    r = _run("run", MODELS / "single_neuron.toml", "-o", out, "-q")
    assert r.exit_code == 0, r.output
    r = _run("inspect", out, "-v", "--json")
    assert r.exit_code == 0, r.output
    r = _run("inspect", out, "--quiet", "--", "-v")  # after "--" it is an argument again
    assert r.exit_code == 2


@pytest.mark.parametrize("cmd", ["run", "map", "plot-cores"])
def test_chip_offers_its_choices(cmd, tmp_path):
    args = [cmd, MODELS / "single_neuron.toml", "--chip", "bogus"]
    args += ["-o", tmp_path / "x.png"] if cmd != "map" else []
    r = _run(*args)
    assert r.exit_code == 2
    assert (
        "'loihi', 'loihi2', 'truenorth', 'unbounded'" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    )
    assert "loihi|loihi2|truenorth|unbounded" in _run(cmd, "--help").stdout


def test_plot_cores_shows_the_binding_resource():
    # CUBA on Loihi: every core receives from ~4,000 of its 4,096 input axons (98 %), while its
    # compartments are far from the 1,024 limit; "binding" picks the input axons
    m = core_map(MODELS / "cuba.toml", resource="binding")
    assert m.title.startswith("cuba.toml: input axons (the binding resource)")
    assert m.values.max() > 95
    assert core_map(MODELS / "cuba.toml", resource="compartments").values.max() < m.values.max()


@pytest.mark.parametrize("cmd", ["run", "train"])
def test_output_under_a_file_is_one_line(cmd, tmp_path):
    (tmp_path / "f").write_text("")
    args = ["run", MODELS / "single_neuron.toml"] if cmd == "run" else ["train", "--images", "1"]
    r = _run(*args, "-o", tmp_path / "f" / "out")
    assert r.exit_code == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "is a file" in r.stderr


def test_figure_into_a_missing_directory_is_one_line(tmp_path):
    r = _run("plot-cores", MODELS / "single_neuron.toml", "-o", tmp_path / "nope" / "x.png")
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1
