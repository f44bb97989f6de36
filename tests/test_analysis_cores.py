"""Core-mesh heat maps: utilization of a mapped spec, activity of a run, at mesh positions."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

from neuro.analysis.cores import core_map, cores_figure
from neuro.cli import main
from tests.analysis_files import hand_file, write_plain

SPEC = """
name = "two"
[simulation]
dt = 1.0
steps = 50
seed = 1
[[populations]]
name = "big"
size = 2500
[[populations]]
name = "small"
size = 10
bias = 2.0
"""


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "two.toml"
    path.write_text(textwrap.dedent(SPEC))
    return path


def test_spec_utilization_hand_values(spec):
    # loihi: 1024 compartments per core; "big" (2500 single-current neurons) needs 3 cores in
    # near-equal blocks 834, 833, 833; "small" (10) one core. Cores 0..3 sit at x 0..3, y 0
    # of the 8 x 16 mesh of one chip.
    cm = core_map(spec)
    assert cm.mesh == (8, 16) and cm.percent
    val, idx = cm.grid()
    np.testing.assert_allclose(val[0, :4], np.array([834, 833, 833, 10]) / 1024 * 100)
    assert idx[0, :4].tolist() == [0, 1, 2, 3]
    assert np.isnan(val[0, 4:]).all() and np.isnan(val[1:]).all()


def test_spec_unbounded_profile_counts(spec):
    cm = core_map(spec, chip="unbounded")
    assert not cm.percent and cm.mesh == (2, 1)
    assert cm.grid()[0].tolist() == [[2500.0, 10.0]]


def test_run_activity_hand_values(tmp_path):
    # hand_file: core 0 (x 0, y 0) 7 spikes, core 1 (x 1, y 0) 1, core 2 (x 0, y 1) 1
    cm = core_map(hand_file(tmp_path / "s.h5"))
    val, idx = cm.grid()
    assert cm.mesh == (8, 16)
    assert (val[0, 0], val[0, 1], val[1, 0]) == (7, 1, 1)
    assert (idx[0, 0], idx[0, 1], idx[1, 0]) == (0, 1, 2)
    assert np.isnan(val).sum() == 8 * 16 - 3


def test_heat_map_colours_at_mesh_positions(spec):
    import matplotlib

    fig = cores_figure(spec, figsize=(6, 8), dpi=100)
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].astype(int)
    h = img.shape[0]
    ax = next(a for a in fig.axes if a.get_label() == "cores")
    cmap = matplotlib.colormaps["viridis"]
    for x, pct in [(0, 834 / 10.24), (3, 10 / 10.24)]:
        # a point off the centre, clear of the annotation text
        px, py = ax.transData.transform((x - 0.38, -0.38))
        got = img[int(h - py), int(px)]
        want = np.array(cmap(pct / 100)[:3]) * 255
        assert np.abs(got - want).max() <= 3, (x, got, want)
    px, py = ax.transData.transform((5 - 0.38, 7 - 0.38))  # an unused core: #eeeeee
    assert np.abs(img[int(h - py), int(px)] - 0xEE).max() <= 2


def test_cli_plot_cores(spec, tmp_path):
    (tmp_path / "run").mkdir()
    run = hand_file(tmp_path / "run" / "spikes.h5")
    r = CliRunner()
    res = r.invoke(
        main, ["plot-cores", str(spec), "-o", str(tmp_path / "u.png"), "--resource", "input_axons"]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "u.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    res = r.invoke(main, ["plot-cores", str(run), "-o", str(tmp_path / "a.svg")])
    assert res.exit_code == 0, res.output
    assert b"<svg" in (tmp_path / "a.svg").read_bytes()[:500]
    res = r.invoke(main, ["plot-cores", str(tmp_path / "run"), "-o", str(tmp_path / "a"), "--format", "pdf"])
    assert res.exit_code == 0, res.output  # a run directory holding spikes.h5
    assert (tmp_path / "a").read_bytes()[:4] == b"%PDF"


def test_cli_plot_cores_utilization_of_a_run(tmp_path):
    from neuro.run import run_spec
    from neuro.spec import load_spec

    path = tmp_path / "two.toml"
    path.write_text(textwrap.dedent(SPEC))
    run_spec(load_spec(path), tmp_path / "out", progress=False)
    res = CliRunner().invoke(
        main, ["plot-cores", str(tmp_path / "out"), "--metric", "utilization", "-o", str(tmp_path / "u.png")]
    )
    assert res.exit_code == 0, res.output
    cm = core_map(tmp_path / "out", "utilization")
    np.testing.assert_allclose(cm.values, np.array([834, 833, 833, 10]) / 1024 * 100)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--metric", "activity"], "a spec has no spikes"),
        (["--chips", "2"], None),  # fine for a spec
    ],
)
def test_cli_plot_cores_spec_options(spec, tmp_path, args, message):
    res = CliRunner().invoke(main, ["plot-cores", str(spec), "-o", str(tmp_path / "x.png"), *args])
    if message is None:
        assert res.exit_code == 0, res.output
    else:
        assert res.exit_code == 2 and message in res.stderr and res.stderr.count("\n") == 1


def test_cli_plot_cores_foreign_file_refused(tmp_path):
    path = write_plain(tmp_path / "f.h5", {"p": ([0], [1.0])})
    res = CliRunner().invoke(main, ["plot-cores", str(path), "-o", str(tmp_path / "x.png")])
    assert res.exit_code == 2 and "placement" in res.stderr
