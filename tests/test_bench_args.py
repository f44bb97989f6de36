"""Benchmark scripts refuse a nonsensical count or a missing input before any work: exit status 2 and
the reason on the last line (argparse's usage line comes first)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize(
    ("script", "args", "message"),
    [
        ("full_chip.py", ["--repeat", "0"], "--repeat must be at least 1"),
        ("multichip.py", ["--rounds", "0"], "--rounds and --repeat must be at least 1"),
        ("multichip.py", ["--repeat", "-1"], "--rounds and --repeat must be at least 1"),
        ("spike_writer.py", ["--workers", "0"], "--chunks and --workers must be at least 1"),
        ("normalization_drift.py", ["--images", "0"], "--images must be at least 1"),
        ("event_floor.py", ["--repeats", "0"], "--repeats must be at least 1"),
        ("diagnose_run.py", ["nope"], "nope: no checkpoint.h5 (not a training run directory)"),
        (
            "diagnose_run.py",
            ["nope", "--float-dynamics", "--wgt-grid"],
            "not allowed with argument --float-dynamics",
        ),
    ],
)
def test_bench_refuses_a_count_below_one(script, args, message, tmp_path):
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), *args], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].endswith(message)
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written
