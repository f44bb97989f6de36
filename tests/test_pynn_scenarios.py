"""PyNN's own scenario tests (from the PyNN 0.13.0 sdist) against neuro.pynn, via
bench/pynn_scenarios.py. Skipped with the reason when the sdist is absent (``.ci/run`` fetches
it into ``.cache/pynn-sdist``; ``python bench/pynn_scenarios.py --fetch`` does too)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyNN")
ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("pynn_scenarios", ROOT / "bench" / "pynn_scenarios.py")
pynn_scenarios = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pynn_scenarios)

SDIST = pynn_scenarios.find_sdist()

# The scenarios that use only what the chip runs; each must pass (measured: docs/pynn.md).
MUST_PASS = {
    "test__simulation_control::test_reset",
    "test__simulation_control::test_reset_with_clear",
    "test__simulation_control::test_reset_with_spikes",
    "test__simulation_control::test_setup",
    "test_cell_types::test_SpikeSourcePoisson",
    "test_cell_types::test_issue511",
    "test_cell_types::test_update_SpikeSourceArray",
    "test_connection_handling::test_issue672",
    "test_electrodes::test_changing_electrode",
    "test_electrodes::test_issue451",
    "test_electrodes::test_issue483",
    "test_electrodes::test_issue487",
    "test_electrodes::test_issue512",
    "test_electrodes::test_issue759",
    "test_parameter_handling::test_issue241",
    "test_recording::test_issue499",
    "test_recording::test_record_with_filename",
}


@pytest.mark.slow
@pytest.mark.skipif(
    SDIST is None, reason="PyNN 0.13.0 sdist not found (python bench/pynn_scenarios.py --fetch)"
)
def test_pynn_scenarios_pass_or_name_an_unsupported_feature(tmp_path):
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "pynn_scenarios.py"),
            "--sdist",
            str(SDIST),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=900,
    )
    results = json.loads(out.read_text())
    failed = {k: r for k, (o, r) in results.items() if o == "failed"}
    assert not failed, failed
    passed = {k for k, (o, _) in results.items() if o == "passed"}
    assert MUST_PASS <= passed, MUST_PASS - passed
    for key, (outcome, reason) in results.items():
        if outcome == "n/a":  # every refusal names the feature and why
            assert ": " in reason and len(reason) > 10, (key, reason)
    assert proc.returncode == 0, proc.stdout[-2000:]
