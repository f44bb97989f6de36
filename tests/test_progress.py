"""Progress lines: rates from recent progress, one line per interval in files and pipes, the
first-run compile notice, and RunResult's short repr."""

from __future__ import annotations

import io

from neuro.progress import PIPE_EVERY_S, Progress, compile_notice, kernels_cached
from neuro.run import run_spec
from neuro.spec import load_spec

from .conftest import MODELS


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_rate_and_eta_come_from_recent_progress():
    clock, out = Clock(), io.StringIO()
    bar = Progress(1000, "images", stream=out, clock=clock)
    clock.t = 40.0  # 40 s of compilation before the first image
    bar(1)
    for k in range(2, 202):  # then 10 images/s for 20 s
        clock.t += 0.1
        bar(k)
    # from process start the rate would be 201 / 60 = 3.35 images/s; recent progress says 10
    assert abs(bar.rate() - 10.0) < 1e-6
    assert bar.line(201).endswith("10.0 images/s, ETA 80 s")  # (1000 - 201) / 10 = 79.9


def test_pipe_gets_a_line_every_interval_and_no_carriage_returns():
    clock, out = Clock(), io.StringIO()
    bar = Progress(600, "steps", stream=out, clock=clock)
    for k in range(1, 601):  # 60 s at 10 steps/s
        clock.t = k / 10
        bar(k)
    bar.done()
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    # the first update, one per PIPE_EVERY_S seconds, and the final one
    assert len(lines) == 1 + int(60 / PIPE_EVERY_S)
    assert lines[-1].startswith("600/600 steps (100%)")


def test_terminal_redraws_in_place():
    clock, out = Clock(), Tty()
    bar = Progress(100, "steps", stream=out, clock=clock)
    for k in range(1, 101):
        clock.t = k
        bar(k)
    bar.done()
    text = out.getvalue()
    assert text.count("\r") == 100 and text.endswith("\n") and text.count("\n") == 1


def test_short_runs_show_nothing():
    clock, out = Clock(), io.StringIO()
    bar = Progress(10, "steps", stream=out, clock=clock, after_s=2.0)
    for k in range(1, 11):
        clock.t = k * 0.1
        bar(k)
    assert out.getvalue() == ""


def test_compile_notice_on_a_cold_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert kernels_cached("float") is False
    notice = compile_notice("float")
    assert "compiling the float simulation kernels (first run only" in notice and str(tmp_path) in notice
    (tmp_path / "dynamics_x").mkdir()
    (tmp_path / "dynamics_x" / "step.run_chunk-120.py311.nbi").write_bytes(b"")  # the LIF step loop
    assert kernels_cached("float") and compile_notice("float") is None
    assert compile_notice("truenorth") is not None  # another kernel is still cold


def test_run_result_repr_is_short(tmp_path):
    res = run_spec(
        load_spec(MODELS / "feedforward.toml").with_simulation(steps=50), tmp_path / "o", progress=False
    )
    text = repr(res)
    assert "\n" not in text and len(text) < 200
    assert text.startswith("RunResult(") and "50 steps, complete" in text and "spikes" in text


def test_no_rate_before_two_samples():
    clock, out = Clock(), io.StringIO()
    bar = Progress(100, "steps", stream=out, clock=clock)
    clock.t = 45.0  # one chunk that included the compilation
    bar(100)
    assert out.getvalue() == "100/100 steps (100%)\n"


def test_the_final_line_is_written_once_to_a_pipe():
    """Batches rerun at the end report the total again (Diehl & Cook's intensity reruns)."""
    out = io.StringIO()
    clock = Clock()
    bar = Progress(10, "images", stream=out, clock=clock)
    for k, t in ((5, 1.0), (10, 2.0), (10, 2.5), (10, 3.0), (10, 4.0)):  # within one interval
        clock.t = t
        bar(k)
    lines = out.getvalue().splitlines()
    assert sum(line.startswith("10/10") for line in lines) == 1, lines
