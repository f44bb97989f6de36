"""Run PyNN's own scenario tests (``test/system/scenarios`` of the PyNN 0.13.0 sdist) against
``neuro.pynn`` and print a table: passed, failed, not applicable (with the reason per test).

    python bench/pynn_scenarios.py [--sdist PATH] [--fetch] [--markdown] [--json OUT] [-k EXPR]

The scenario files run unchanged. A small shim, applied at run time, (1) makes ``pyNN.neuro``
an alias of :mod:`neuro.pynn` and (2) wraps their ``run_with_simulators(...)`` so that every
scenario also runs with ``"neuro"``; only the ``neuro`` runs are collected. A test is *not
applicable* when it stops on :class:`neuro.pynn.UnsupportedFeature` (a model or option the chip
has no circuit for; the reason is the error's), *failed* on anything else.

The sdist is looked up at ``--sdist``, ``$NEURO_PYNN_SDIST``, ``.cache/pynn-sdist/`` (where
``.ci/run`` puts it) and ``/tmp/pynn-sdist/``; ``--fetch`` downloads it there with
``pip download --no-binary :all: --no-deps pyNN==0.13.0``. Exit status: 0 if nothing failed,
1 if a scenario failed, 3 if the sdist is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # this checkout's neuro, not an installed one
SDIST_NAME = "pynn-0.13.0.tar.gz"
CACHE = ROOT / ".cache" / "pynn-sdist"
SCENARIOS = "test/system/scenarios/"


def find_sdist(explicit: str | None = None) -> Path | None:
    """The PyNN 0.13.0 sdist, or None."""
    candidates = [explicit, os.environ.get("NEURO_PYNN_SDIST"), CACHE, "/tmp/pynn-sdist"]
    for c in candidates:
        if not c:
            continue
        p = Path(c)
        if p.is_dir():
            hits = sorted(x for x in p.iterdir() if x.name.lower() == SDIST_NAME)
            p = hits[0] if hits else None
        if p is not None and p.is_file():
            return p
    return None


def fetch_sdist(dest: Path = CACHE) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-binary",
            ":all:",
            "--no-deps",
            "pyNN==0.13.0",
            "-d",
            str(dest),
        ],
        check=True,
    )
    return find_sdist(str(dest))


def extract_scenarios(sdist: Path, dest: Path) -> Path:
    """Copy ``test/system/scenarios/*.py`` out of the sdist into ``dest/scenarios`` (a package)."""
    out = dest / "scenarios"
    out.mkdir(parents=True)
    with tarfile.open(sdist) as tar:
        for m in tar.getmembers():
            parts = m.name.split("/", 1)
            if len(parts) == 2 and parts[1].startswith(SCENARIOS) and m.name.endswith(".py") and m.isfile():
                (out / Path(parts[1]).name).write_bytes(tar.extractfile(m).read())
    return out


class Shim:
    """pytest plugin: the alias, the wrapped ``run_with_simulators``, and the outcome of each test."""

    def __init__(self, root: Path):
        self.root = root
        self.results = {}

    def pytest_configure(self, config):
        import pyNN

        import neuro.pynn

        sys.modules["pyNN.neuro"] = neuro.pynn
        pyNN.neuro = neuro.pynn
        sys.path.insert(0, str(self.root))
        from scenarios import fixtures

        original = fixtures.run_with_simulators

        def run_with_simulators(*sim_names):
            return original(*sim_names, "neuro")

        fixtures.run_with_simulators = run_with_simulators

    def pytest_collection_modifyitems(self, session, config, items):
        keep = [it for it in items if "[neuro]" in it.nodeid]
        config.hook.pytest_deselected(items=[it for it in items if it not in keep])
        items[:] = keep

    import pytest as _pytest

    @_pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        from neuro.pynn import UnsupportedFeature

        outcome = yield
        rep = outcome.get_result()
        name = item.nodeid.split("::", 1)[1].replace("[neuro]", "")
        module = Path(item.nodeid.split("::")[0]).stem
        key = f"{module}::{name}"
        if rep.when == "setup" and rep.skipped:
            self.results[key] = ("skipped", _skip_reason(rep))
        elif rep.when == "call":
            if rep.passed:
                self.results[key] = ("passed", "")
            elif rep.skipped:
                self.results[key] = ("skipped", _skip_reason(rep))
            elif call.excinfo is not None and call.excinfo.errisinstance(UnsupportedFeature):
                self.results[key] = ("n/a", _na_reason(call.excinfo.value))
            else:
                msg = call.excinfo.exconly().splitlines()[0] if call.excinfo else str(rep.longrepr)
                self.results[key] = ("failed", msg[:200])


def _na_reason(exc) -> str:
    return f"{exc.feature}: {exc.reason}"


def _skip_reason(rep) -> str:
    lr = rep.longrepr
    return lr[2].replace("Skipped: ", "") if isinstance(lr, tuple) else str(lr)


def run(sdist: Path, keyword: str | None = None) -> dict:
    import pytest

    with tempfile.TemporaryDirectory(prefix="pynn-scenarios-") as tmp:
        root = Path(tmp)
        extract_scenarios(sdist, root)
        shim = Shim(root)
        args = [
            str(root / "scenarios"),
            "-qq",
            "--tb=no",
            "--no-summary",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(root),
            "-W",
            "ignore",
            "--no-header",
            "-o",
            "addopts=",
            "-o",
            "python_files=test_*.py",
        ]
        if keyword:
            args += ["-k", keyword]
        cwd = os.getcwd()
        os.chdir(root)  # scenarios write their data files into the working directory
        try:
            pytest.main(args, plugins=[shim])
        finally:
            os.chdir(cwd)
    return dict(sorted(shim.results.items()))


def table(results: dict, markdown: bool) -> str:
    counts = {}
    for outcome, _ in results.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    lines = []
    if markdown:
        lines += ["| scenario | outcome | reason |", "|---|---|---|"]
        lines += [f"| `{k}` | {o} | {r} |" for k, (o, r) in results.items()]
    else:
        w = max((len(k) for k in results), default=10)
        lines += [f"{k:<{w}}  {o:<7}  {r}" for k, (o, r) in results.items()]
    lines.append("")
    lines.append(", ".join(f"{counts.get(o, 0)} {o}" for o in ("passed", "failed", "n/a", "skipped")))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sdist", help="path to pyNN-0.13.0.tar.gz (or a folder holding it)")
    ap.add_argument(
        "--fetch", action="store_true", help="download the sdist into .cache/pynn-sdist if missing"
    )
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("-k", dest="keyword", help="pytest -k expression selecting scenarios")
    args = ap.parse_args()
    sdist = find_sdist(args.sdist)
    if sdist is None and args.fetch:
        sdist = fetch_sdist()
    if sdist is None:
        print("PyNN 0.13.0 sdist not found (give --sdist, or --fetch to download it)", file=sys.stderr)
        return 3
    t0 = time.perf_counter()
    results = run(sdist, args.keyword)
    print(table(results, args.markdown))
    print(f"\n{len(results)} scenarios in {time.perf_counter() - t0:.0f} s (sdist: {sdist.name})")
    if args.json:
        Path(args.json).write_text(json.dumps({k: list(v) for k, v in results.items()}, indent=1))
    return 1 if any(o == "failed" for o, _ in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
