"""Terminal rasters: braille dots in the right character cells, sized to the terminal."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from neuro.analysis.terminal import BRAILLE_BASE, SHADE, braille, terminal_raster
from neuro.cli import main
from tests.analysis_files import write_ours

# 8 neurons, [0, 100) ms. With width 46 the raster has 46 - 4 (labels) - 2 (" ┤") = 40
# characters = 80 dot columns of 1.25 ms; 8 neurons need 2 character rows = 8 dot rows, one
# per neuron, neuron 7 on top. Spike (t, i) -> dot column floor(t / 1.25), dot row from the
# top 7 - i -> character (row (7 - i) // 4, column floor(t / 1.25) // 2), braille bit of the
# dot (sub row (7 - i) % 4, sub column floor(t / 1.25) % 2).
SPIKES = [(10.0, 0), (51.0, 7), (99.0, 4), (25.5, 2)]
EXPECTED = {  # (char row, char column) -> bits
    (1, 4): 0x40,  # t 10 -> dot col 8 (char 4, left); neuron 0 -> dot row 7 (char row 1, sub 3)
    (0, 20): 0x01,  # t 51 -> dot col 40 (char 20, left); neuron 7 -> dot row 0 (sub 0)
    (0, 39): 0x80,  # t 99 -> dot col 79 (char 39, right); neuron 4 -> dot row 3 (sub 3)
    (1, 10): 0x02,  # t 25.5 -> dot col 20 (char 10, left); neuron 2 -> dot row 5 (row 1, sub 1)
}


@pytest.fixture
def small_file(tmp_path):
    t = np.array([s[0] for s in SPIKES])
    i = np.array([s[1] for s in SPIKES])
    order = np.argsort(t)
    return write_ours(
        tmp_path / "s.h5", {"p": (8, i[order], np.rint(t[order] / 0.1).astype(int))}, steps=1000
    )


def _raster_rows(text):
    lines = text.splitlines()
    rows = [ln for ln in lines if "┤" in ln and not ln.strip().startswith("Hz")]
    return [r[r.index("┤") + 1 :] for r in rows], lines


def test_braille_cells(small_file):
    text = terminal_raster(small_file, width=46, height=12)
    rows, lines = _raster_rows(text)
    assert len(rows) == 2 and all(len(r) == 40 for r in rows)
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            assert ord(ch) - BRAILLE_BASE == EXPECTED.get((r, c), 0), (r, c)
    assert max(len(ln) for ln in lines) <= 46
    assert lines[2].startswith("   7 ┤") and lines[3].startswith("   0 ┤")
    spark = next(ln for ln in lines if ln.strip().startswith("Hz"))
    spark = spark[spark.index("┤") + 1 :]
    assert [i for i, ch in enumerate(spark) if ch != " "] == [4, 10, 20, 39]
    assert lines[-1].split() == ["0", "50", "100", "ms"]


def test_braille_encoding():
    dots = np.zeros((4, 2), bool)
    dots[0, 0] = dots[3, 1] = True  # dots 1 and 8
    assert braille(dots) == [chr(BRAILLE_BASE + 0x01 + 0x80)]


def test_dense_raster_uses_shades(tmp_path):
    rng = np.random.default_rng(0)
    steps = np.sort(rng.integers(0, 1000, 50000))
    path = write_ours(tmp_path / "d.h5", {"p": (40, rng.integers(0, 40, steps.size), steps)}, steps=1000)
    rows, _ = _raster_rows(terminal_raster(path, width=60, height=20))
    assert set("".join(rows)) <= set(SHADE) and "█" in "".join(rows)
    rows, _ = _raster_rows(terminal_raster(path, width=60, height=20, style="braille"))
    assert all(0x2800 <= ord(ch) <= 0x28FF for ch in "".join(rows))


def test_cli_term_sized_to_terminal(small_file):
    res = CliRunner(env={"COLUMNS": "46", "LINES": "12"}).invoke(main, ["raster", str(small_file), "--term"])
    assert res.exit_code == 0, res.output
    assert res.stdout.rstrip("\n") == terminal_raster(small_file, width=46, height=12)


def test_cli_term_window_and_population(small_file):
    res = CliRunner(env={"COLUMNS": "46", "LINES": "12"}).invoke(
        main, ["raster", str(small_file), "--term", "--population", "p", "--t-start", "50", "--t-stop", "100"]
    )
    assert res.exit_code == 0, res.output
    rows, lines = _raster_rows(res.stdout)
    assert "2 spikes" in lines[1]
    # t 51 -> (51 - 50) / 0.625 = dot col 1 (char 0, right); neuron 7 -> top dot
    assert ord(rows[0][0]) - BRAILLE_BASE == 0x08
