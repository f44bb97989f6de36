"""``neuro raster`` / ``inspect`` / ``plot-cores``: outputs, and bad input as one-line errors (exit 2)."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from neuro.cli import main
from tests.analysis_files import hand_file, write_plain


@pytest.fixture
def run_file(tmp_path):
    return hand_file(tmp_path / "s.h5")


@pytest.mark.parametrize(
    "name, fmt, magic",
    [
        ("r.png", None, b"\x89PNG"),
        ("r.svg", None, b"<?xml"),
        ("r.pdf", None, b"%PDF"),
        ("r", "svg", b"<?xml"),
    ],
)
def test_raster_formats(run_file, tmp_path, name, fmt, magic):
    out = tmp_path / name
    args = ["raster", str(run_file), "-o", str(out)] + (["--format", fmt] if fmt else [])
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[: len(magic)] == magic
    assert res.stdout.strip() == str(out)


def test_raster_options(run_file, tmp_path):
    out = tmp_path / "r.png"
    res = CliRunner().invoke(
        main,
        ["raster", str(run_file), "-o", str(out), "--population", "a", "--t-start", "100", "--t-stop", "500"]
        + ["--neurons", "0:3", "--mode", "density"],
    )
    assert res.exit_code == 0, res.output and out.exists()


def test_plain_sonata_file_accepted(tmp_path):
    path = write_plain(tmp_path / "f.h5", {"exc": ([0, 1, 0], [1.0, 2.0, 3.0])}, sorting="by_time")
    r = CliRunner()
    assert r.invoke(main, ["raster", str(path), "-o", str(tmp_path / "r.png")]).exit_code == 0
    res = r.invoke(main, ["inspect", str(path)])
    assert res.exit_code == 0 and "another tool" in res.stdout and res.stderr == ""


def test_incomplete_run_warns_not_refused(tmp_path):
    path = hand_file(tmp_path / "s.h5", complete=False)
    res = CliRunner().invoke(main, ["raster", str(path), "-o", str(tmp_path / "r.png")])
    assert res.exit_code == 0
    assert res.stderr.startswith("warning:") and "incomplete" in res.stderr and res.stderr.count("\n") == 1


def _bad_files(tmp_path):
    text = tmp_path / "text.h5"
    text.write_text("not hdf5\n")
    nospikes = tmp_path / "nospikes.h5"
    with h5py.File(nospikes, "w") as f:
        f.create_dataset("x", data=np.arange(3))
    return text, nospikes


@pytest.mark.parametrize(
    "args, message",
    [
        (["raster", "{text}", "-o", "{out}"], "not an HDF5 file"),
        (["raster", "{missing}", "-o", "{out}"], "file not found"),
        (["raster", "{nospikes}", "-o", "{out}"], "no /spikes group"),
        (["raster", "{run}", "-o", "{out}", "--population", "zzz"], "unknown population 'zzz'"),
        (["raster", "{run}", "-o", "{out}", "--t-start", "2000"], "empty time window"),
        (["raster", "{run}", "-o", "{out}", "--t-start", "500", "--t-stop", "100"], "must be smaller"),
        (["raster", "{run}", "-o", "{out}", "--t-start", "5", "--t-stop", "5"], "must be smaller"),
        (["raster", "{run}", "-o", "{out}", "--neurons", "5:2"], "bad neuron range"),
        (["raster", "{run}", "-o", "{out}", "--neurons", "x"], "bad neuron range"),
        (["raster", "{run}", "-o", "{out}", "--neurons", "50:60"], "outside population"),
        (["raster", "{run}"], "--term"),
        (["raster", "{run}", "-o", "{tmp}/r.bmp"], "unknown figure format"),
        (["raster", "{run}", "--term", "--t-start", "3000"], "empty time window"),
        (["inspect", "{text}"], "not an HDF5 file"),
        (["inspect", "{nospikes}", "--json"], "no /spikes group"),
        (["inspect", "{run}", "--t-start", "-50", "--t-stop", "-10"], "empty time window"),
        (["inspect", "{tmp}"], "holds no spikes.h5"),
        (["plot-cores", "{text}", "-o", "{out}"], "not an HDF5 file"),
        (["plot-cores", "{run}", "-o", "{out}", "--chips", "2"], "apply to a spec"),
    ],
)
def test_bad_input_one_line_exit_2(run_file, tmp_path, args, message):
    text, nospikes = _bad_files(tmp_path)
    sub = {
        "text": text,
        "nospikes": nospikes,
        "missing": tmp_path / "missing.h5",
        "run": run_file,
        "out": tmp_path / "out.png",
        "tmp": tmp_path / "empty_dir" if args[1] == "{tmp}" else tmp_path,
    }
    (tmp_path / "empty_dir").mkdir()
    res = CliRunner().invoke(main, [a.format(**sub) for a in args])
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1, res.stderr
    assert message in res.stderr
    assert "Traceback" not in res.output


def test_help_does_not_import_matplotlib():
    code = (
        "import sys\n"
        "from neuro.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "for c in ('raster', 'inspect', 'plot-cores'):\n"
        "    try:\n        main([c, '--help'])\n    except SystemExit:\n        pass\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "raster" in res.stdout and "plot-cores" in res.stdout and "inspect" in res.stdout
