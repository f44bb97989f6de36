"""The seams of the code: no import cycles, the arithmetic named in one place (neuro/targets),
and a new target added as one module without editing the core."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from neuro import targets
from neuro.errors import NeuroError
from neuro.network import compile_network
from neuro.spec import Network
from neuro.targets.floating import FloatTarget

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"neuro": ROOT / "neuro", "neuro.models": ROOT / "models", "neuro.datasets": ROOT / "datasets"}
ARITHMETIC_NAMES = {"float", "loihi", "truenorth", "loihi2"}


def _modules() -> dict:
    mods = {}
    for pkg, folder in PACKAGES.items():
        for f in folder.rglob("*.py"):
            rel = f.relative_to(folder)
            if any(part.is_symlink() for part in [f, *f.parents] if folder in part.parents or part == f):
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join([pkg, *parts])] = f
    return mods


def _graph() -> tuple[dict, dict]:
    """Imports (module- and function-level) between the project's modules, and per module the
    number of comparisons against an arithmetic name written as a string."""
    mods = _modules()
    graph = {m: set() for m in mods}
    dispatch: dict = {}
    for m, f in mods.items():
        pkg = m if f.name == "__init__.py" else m.rpartition(".")[0]
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            for t in names:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != m and not m.startswith(t + "."):
                    graph[m].add(t)
            if isinstance(node, ast.Compare):
                parts = [node.left, *node.comparators]
                elts = [e for p in parts if isinstance(p, ast.Tuple | ast.List | ast.Set) for e in p.elts]
                if any(isinstance(c, ast.Constant) and c.value in ARITHMETIC_NAMES for c in parts + elts):
                    dispatch[m] = dispatch.get(m, 0) + 1
    return graph, dispatch


def _cycles(graph: dict) -> list:
    """Strongly connected components of more than one module (iterative Tarjan)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_import_cycles():
    graph, _ = _graph()
    assert len(graph) > 50  # the walk found the project
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_arithmetic_named_only_in_the_targets():
    _, dispatch = _graph()
    outside = {m: n for m, n in dispatch.items() if not m.startswith("neuro.targets")}
    assert len(outside) <= 2, outside


def test_core_imports_no_chip_specific_package():
    graph, _ = _graph()
    core = [m for m in graph if m.split(".")[1:2] and m.split(".")[1] in CORE]
    for m in core:
        bad = {t for t in graph[m] if t.startswith(("neuro.truenorth", "neuro.targets."))}
        assert not bad, (m, bad)


CORE = {"spec", "network", "mapping", "engine", "dynamics", "learning", "io", "discretize", "connectivity"}


# --------------------------------------------------------------------------- the registry
def test_every_registered_target_loads():
    for name in targets.names():
        t = targets.get_target(name)
        assert t.name == name
        assert targets.get_target(t) is t


def test_unknown_arithmetic_is_one_line():
    with pytest.raises(NeuroError, match="unknown arithmetic 'nope'"):
        targets.get_target("nope")


def test_choose_chip():
    assert targets.choose_chip("truenorth", None, "float", "loihi") == ("truenorth", "truenorth")
    assert targets.choose_chip("float", None, "truenorth", "truenorth") == ("float", "loihi")
    assert targets.choose_chip("loihi", None, "float", "unbounded") == ("loihi", "unbounded")
    assert targets.choose_chip(None, "truenorth", "float", "loihi") == ("truenorth", "truenorth")
    assert targets.choose_chip(None, "unbounded", "loihi", "loihi") == (None, "unbounded")  # kept


class DoubledFloat(FloatTarget):
    """A target added from outside the core: float arithmetic whose weights are doubled."""

    name = "float-doubled"

    def discretize_weights(self, proj, weight, registers, where):
        return 2.0 * weight, None


def _spec(arithmetic: str) -> Network:
    return Network.from_dict(
        {
            "simulation": {"dt": 1.0, "steps": 200, "seed": 4, "arithmetic": arithmetic},
            "populations": [{"name": "a", "size": 20, "tau_mem": 10.0, "v_threshold": 1.0}],
            "inputs": [{"name": "p", "kind": "poisson", "size": 30, "rate": 200.0}],
            "projections": [{"pre": "p", "post": "a", "weight": 0.2, "connector": {"type": "all_to_all"}}],
        }
    )


def test_a_new_target_is_one_module_and_one_registration(monkeypatch):
    monkeypatch.setitem(
        targets.REGISTRY,
        "float-doubled",
        targets.Entry(f"{__name__}:DoubledFloat", "loihi", ("loihi", "unbounded")),
    )
    doubled = compile_network(_spec("float-doubled"))
    plain = compile_network(_spec("float"))
    assert doubled.arithmetic == "float-doubled"
    np.testing.assert_array_equal(doubled.weight, 2 * plain.weight)
    sim = doubled.target.simulator(doubled)
    spikes = []
    sim.run(200, on_spikes=lambda s, b, n: spikes.append(len(s)))
    ref = plain.target.simulator(plain)
    ref_spikes = []
    ref.run(200, on_spikes=lambda s, b, n: ref_spikes.append(len(s)))
    assert sum(spikes) > sum(ref_spikes) > 0  # same engine, the new target's weights


def test_every_package_is_installed_by_setup_cfg():
    """A non-editable install (CI's, a user's ``pip install .``) ships only the listed packages."""
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    on_disk = {
        ".".join(("neuro", *f.parent.relative_to(ROOT / "neuro").parts)).rstrip(".")
        for f in (ROOT / "neuro").rglob("__init__.py")
        if not any(p.is_symlink() for p in f.relative_to(ROOT).parents if p != Path("."))
        and not f.parent.is_symlink()
    }
    assert on_disk <= listed, sorted(on_disk - listed)
