"""Benchmark scripts refuse a nonsensical count or a missing input before any work: exit status 2 and
the reason on the last line (argparse's usage line comes first)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _bench_lines(cwd, script, *args) -> list[str]:
    """Run ``bench/SCRIPT ARGS`` in ``cwd``; its stdout lines (it must succeed)."""
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


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
        ("diagnose_run.py", ["nope", "--smooth", "0", "1.5"], "--smooth: each A must be in [0, 1]"),
        ("accuracy.py", ["--roughness-every", "0"], "--roughness-every must be at least 1"),
        ("accuracy.py", ["--curve-every", "-5"], "--curve-every must be at least 1"),
        ("accuracy.py", ["--epochs", "0"], "--epochs must be a number > 0"),
        ("accuracy.py", ["--epochs", "nan"], "--epochs must be a number > 0"),
        ("reevaluate.py", ["nope"], "nope: not named N-ARITHMETIC-SEED-SPLIT (bench/accuracy.py --keep)"),
        (
            "reevaluate.py",
            ["100-float-0-test"],
            "100-float-0-test: no checkpoint.h5: not a training run directory",
        ),
        (
            "reevaluate.py",
            ["x", "--set", "w_inh_exc_eval=abc"],
            "--set w_inh_exc_eval: 'abc' is not a number (or None)",
        ),
        (
            "reevaluate.py",
            ["x", "--set", "nu_pre=0.1"],
            "only frozen_theta_floor, readout, w_inh_exc_eval (the frozen network's alone)",
        ),
        (
            "reevaluate.py",
            ["x", "--set", "readout=best"],
            "--set readout: 'best' is not one of vote, proportion, soft",
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


def test_diagnose_roughness_and_smoothing_by_hand():
    """bench/diagnose_run.py's weight-image measures: a flat image has roughness 0, one interior
    pixel of weight 1 has |4 - 0| + 4 |0 - 1| = 8 over a weight sum of 1; smoothing keeps each
    column's sum and moves weight to the neighbours."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("diagnose_run", BENCH / "diagnose_run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    flat = np.ones((784, 1))
    spike = np.zeros((784, 1))
    spike[10 * 28 + 12, 0] = 1.0
    assert mod.roughness(flat) == 0.0
    assert mod.roughness(spike) == 8.0
    both = np.hstack([flat, spike])
    assert mod.roughness(both) == 4.0  # the mean over neurons
    out = mod.smoothed(both, 0.6)
    np.testing.assert_allclose(out.sum(axis=0), both.sum(axis=0))
    img = out[:, 1].reshape(28, 28)
    assert img[10, 12] == pytest.approx(0.4 + 0.6 / 9) and img[9, 11] == pytest.approx(0.6 / 9)
    np.testing.assert_allclose(mod.smoothed(both, 0.0), both)


def test_accuracy_prints_the_roughness_during_training(tmp_path):
    """``bench/accuracy.py --roughness-every K``: one roughness per K training images, from the
    weights as they stand; the initial uniform draws are rough (well above a learned prototype's).
    Its kept run re-evaluated by ``bench/reevaluate.py`` gives the same figure and labels, a
    frozen-only ``--set`` is taken, and ``--set readout=soft`` gives ``neuro evaluate``'s figure
    with that readout."""
    out = _bench_lines(
        tmp_path,
        "accuracy.py",
        *["--neurons", "10", "--arithmetic", "float", "--images", "20", "--epochs", "1"],
        *["--roughness-every", "10", "--keep", "kept"],
    )
    line = next(s for s in out if "roughness (images, value)" in s)
    points = [p.split() for p in line.split(":", 1)[1].split(",")]
    assert [int(d) for d, _ in points] == [10, 20]
    assert all(1.0 < float(v) < 4.0 for _, v in points), line
    trained = next(s for s in out if s.split()[:3] == ["10", "float", "0"]).split()[3]

    def reevaluate(*sets):
        return _bench_lines(tmp_path, "reevaluate.py", "kept/10-float-0-test", *sets)

    lines = reevaluate()
    name, acc, _, relabelled = lines[2].split()
    assert (name, acc, relabelled) == ("10-float-0-test", trained, "0")  # the run's own figure and labels
    assert lines[3] == f"10 float test: mean {trained[:-1]} / worst {trained[:-1]} % over 1 runs"
    weaker = reevaluate("--set", "w_inh_exc_eval=0", "--set", "frozen_theta_floor=0")
    assert weaker[0] == 'overrides: {"w_inh_exc_eval": 0.0, "frozen_theta_floor": 0.0}'
    assert weaker[2].split()[0] == "10-float-0-test"
    # another readout: the figure neuro evaluate gives with it on the same run
    from neuro.evaluate import evaluate

    soft = reevaluate("--set", "readout=soft")
    assert soft[0] == 'overrides: {"readout": "soft"}'
    expected = evaluate(tmp_path / "kept" / "10-float-0-test", readout="soft", progress=False, write=False)
    assert soft[2].split()[1] == f"{100 * expected['accuracy']:.1f}%"


def test_reevaluate_tests_a_validation_run_on_the_embedded_test_images(tmp_path):
    """``--embedded-test``: a validation run, labelled on its own training images as trained,
    tested on the embedded test split — ``neuro evaluate``'s figure on that split; without it,
    the run's own validation figure."""
    from neuro.evaluate import evaluate

    out = _bench_lines(
        tmp_path,
        "accuracy.py",
        *["--neurons", "10", "--arithmetic", "float", "--images", "20", "--epochs", "1"],
        *["--only-validation", "--keep", "kept"],
    )
    own = next(s for s in out if s.split()[:3] == ["10", "float", "0"]).split()[3]

    def reevaluate(*flags):
        return _bench_lines(tmp_path, "reevaluate.py", "kept/10-float-0-validation", *flags)

    _, acc, _, relabelled = reevaluate()[2].split()
    assert (acc, relabelled) == (own, "0")  # its validation figure, labels unchanged
    lines = reevaluate("--embedded-test")
    expected = evaluate(tmp_path / "kept" / "10-float-0-validation", progress=False, write=False)
    assert f"{100 * expected['accuracy']:.1f}%" != own  # the two splits tell the flag apart here
    assert lines[2].split()[1] == f"{100 * expected['accuracy']:.1f}%" and lines[2].split()[3] == "0"
    assert lines[3].startswith("10 float validation, tested on the embedded test split: mean ")
