"""Run PyNN's own ``examples/`` (from the PyNN 0.13.0 sdist) unchanged on ``neuro.pynn`` and print
one row per example: ran, n/a (stopped on an unsupported feature, with the reason), skipped
(a package the example itself needs is not installed) or failed.

    python bench/pynn_examples.py [--sdist PATH] [--markdown] [--timeout 300]

Each example that picks its simulator from the command line (``pyNN.utility.get_simulator``)
runs in its own process as ``example.py neuro [CUBA]``, with ``pyNN.neuro`` an alias of
:mod:`neuro.pynn` and ``MPLBACKEND=Agg``; examples that import one simulator directly
(``from pyNN.nest import *``) are listed as such and not run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from pynn_scenarios import find_sdist  # noqa: E402

EXTRA_ARGS = {"VAbenchmarks.py": ["CUBA"]}
RUNNER = (
    "import sys, runpy, pyNN, neuro.pynn\n"
    "sys.modules['pyNN.neuro'] = neuro.pynn; pyNN.neuro = neuro.pynn\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)
MARK = "not available on the emulated chip"


def run_example(path: Path, timeout: float) -> tuple[str, str, float]:
    text = path.read_text()
    if "get_simulator(" not in text:
        return "not run", "imports one simulator directly", 0.0
    env = dict(
        os.environ,
        MPLBACKEND="Agg",
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )
    cmd = [sys.executable, "-c", RUNNER, str(path), "neuro", *EXTRA_ARGS.get(path.name, [])]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=path.parent, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "failed", f"timeout after {timeout:g} s", time.perf_counter() - t0
    wall = time.perf_counter() - t0
    if proc.returncode == 0:
        return "ran", "", wall
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else f"exit status {proc.returncode}"
    hit = [ln for ln in lines if MARK in ln]
    if hit:
        feature, why = hit[-1].split(": ", 1)[-1].split(f": {MARK} ", 1)
        reason = f"{feature}: {why.strip().removeprefix('(').removesuffix(')')}"
        return "n/a", reason, wall
    if last.startswith("ModuleNotFoundError"):  # an optional package of the example's own
        return "skipped", last, wall
    return "failed", last[:200], wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sdist", help="path to pyNN-0.13.0.tar.gz (or a folder holding it)")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per example")
    args = ap.parse_args()
    sdist = find_sdist(args.sdist)
    if sdist is None:
        print("PyNN 0.13.0 sdist not found (see bench/pynn_scenarios.py --fetch)", file=sys.stderr)
        return 3
    rows = []
    with tempfile.TemporaryDirectory(prefix="pynn-examples-") as tmp, tarfile.open(sdist) as tar:
        out = Path(tmp) / "examples"
        out.mkdir()
        for m in tar.getmembers():
            parts = m.name.split("/")
            if len(parts) == 3 and parts[1] == "examples" and m.isfile():
                (out / parts[2]).write_bytes(tar.extractfile(m).read())
        for path in sorted(out.glob("*.py")):
            rows.append((path.name, *run_example(path, args.timeout)))
    if args.markdown:
        print("| example | outcome | reason | wall (s) |\n|---|---|---|---|")
        for name, o, r, w in rows:
            print(f"| `{name}` | {o} | {r} | {w:.1f} |")
    else:
        for name, o, r, w in rows:
            print(f"{name:<40} {o:<8} {w:6.1f} s  {r}")
    counts = {}
    for _, o, _, _ in rows:
        counts[o] = counts.get(o, 0) + 1
    print("\n" + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 1 if counts.get("failed") else 0


if __name__ == "__main__":
    sys.exit(main())
