"""Print the Brian2 conformance suite's results as a markdown table (for docs/verification.md).

    python bench/conformance_table.py [--target numpy|cython|cpp_standalone]

Runs every case of :mod:`neuro.verify.suite` in each of its arithmetics with
:func:`neuro.verify.verify` and prints one row per run; exits 1 if any run disagrees.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import brian2
import numpy as np

from neuro.verify import verify
from neuro.verify.suite import CASES


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="numpy", choices=["numpy", "cython", "cpp_standalone"])
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows, ok = [], True
    for case in CASES:
        net = case.network()
        for arithmetic in case.arithmetics:
            r = verify(net, arithmetic, target=args.target)
            ok &= r.agree
            n_neurons = sum(p.size for p in r.populations)
            div = "none" if r.first_divergence is None else f"step {r.first_divergence}"
            result = "identical" if r.identical else ("agree (chaotic)" if r.agree else "**DISAGREE**")
            rows.append(
                f"| `{case.name}` | {case.what} | {arithmetic} | {n_neurons} | {r.steps} | "
                f"{sum(p.neuro for p in r.populations)} | {sum(p.brian2 for p in r.populations)} | "
                f"{sum(p.matched for p in r.populations)} | {div} | {result} |"
            )
    print(
        f"Brian2 {brian2.__version__} ({args.target} target), numpy {np.__version__}, "
        f"Python {platform.python_version()}; {len(rows)} runs in {time.perf_counter() - t0:.0f} s.\n"
    )
    print(
        "| case | what it exercises | arithmetic | neurons | steps | spikes neuro | spikes Brian2 "
        "| matched | first divergence | result |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---|---|")
    print("\n".join(rows))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
