"""Resident memory of a long ``neuro run``: sampled from outside the process, it must stay flat.

Runs ``neuro run SPEC --steps N`` (default: models/cuba.toml, 10^6 steps) as a child process,
samples its resident set size (``VmRSS`` in ``/proc/PID/status``) every ``--every`` seconds and
prints the RSS at every tenth of the run, the RSS after the first fifth (kernels compiled or
loaded, buffers allocated) and at the end, and the growth per 10^5 steps over the last four
fifths (least squares of RSS against wall time, converted with the run's step rate).

    python bench/soak.py [--steps 1000000] [--spec models/cuba.toml] [--every 0.5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--spec", default=str(ROOT / "models" / "cuba.toml"))
    ap.add_argument("--every", type=float, default=0.5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, str(ROOT / "cli.py"), "-q", "run", args.spec, "-o", f"{tmp}/out"]
        cmd += ["--steps", str(args.steps)]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        samples = []
        while proc.poll() is None:
            r = rss_mib(proc.pid)
            if r is not None:
                samples.append((time.perf_counter() - t0, r))
            time.sleep(args.every)
        out = proc.stdout.read().strip()
    if proc.returncode != 0 or len(samples) < 10:
        sys.exit(f"run failed or too short to sample ({proc.returncode}): {out}")
    t = np.array([s[0] for s in samples])
    r = np.array([s[1] for s in samples])
    wall = t[-1]
    tail = t >= 0.2 * wall  # after start-up (compilation or cache load, first buffers)
    slope_per_s = np.polyfit(t[tail], r[tail], 1)[0]
    steps_per_s = args.steps / wall
    print(out)
    for q in np.linspace(0.1, 1.0, 10):
        i = min(int(np.searchsorted(t, q * wall)), len(t) - 1)
        print(f"  {q * 100:3.0f}% of the run ({t[i]:6.1f} s): RSS {r[i]:7.1f} MiB")
    print(
        f"RSS {r[tail][0]:.1f} MiB after 20% -> {r[-1]:.1f} MiB at the end, peak {r.max():.1f} MiB; "
        f"growth {slope_per_s / steps_per_s * 1e5:+.2f} MiB per 10^5 steps over the last 80% "
        f"({args.steps:,} steps, {steps_per_s:,.0f} steps/s)"
    )


if __name__ == "__main__":
    main()
