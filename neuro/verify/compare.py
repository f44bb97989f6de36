"""Run a spec in neuro's engine and in Brian2, and compare the spike trains population by population.

Both runs start from a fresh :func:`~neuro.network.compile_network` with the same seed, so
the connectivity, initial state and input spikes are the same draws.

When do they agree?

* **Identical** spikes (every (step, neuron) pair in both) always pass. This is required of
  every network in ``loihi`` arithmetic (integer registers leave no room for rounding) and of
  every non-recurrent network in ``float`` arithmetic.
* A **chaotic** network may diverge: the two simulators evaluate the same exact-integration
  formula in a different order, so voltages differ in the last bits (~1e-13 mV), and a
  recurrent network can amplify that until one threshold crossing moves. We call a network
  chaotic when it runs in ``float`` arithmetic and some population lies on a cycle of
  projections (a projection onto itself included). It passes when every population's spike
  count differs by at most :data:`RATE_TOLERANCE_PCT` percent; the first step at which the
  trains differ is always reported (up to it they are identical by definition).

Anything else is a disagreement.

A network that learns (plastic projections, adaptive thresholds) runs in float arithmetic
through :mod:`neuro.verify.brian2_plastic`; the same spike rules apply, and in addition the
weights of every plastic projection and the thresholds of every adaptive population, sampled
at a few steps, must agree (:mod:`neuro.verify.learning_compare`).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from neuro.errors import NeuroError
from neuro.network import compile_network, resolve_seed
from neuro.spec import Network
from neuro.targets import get_target
from neuro.verify import layout
from neuro.verify.brian2_net import TARGETS, TRANSLATORS, check_expressible, run_brian2
from neuro.verify.learning_compare import compare_learning, learning_table, learning_verdict, sample_steps

RATE_TOLERANCE_PCT = 1.0


@dataclass
class PopulationComparison:
    """Spike counts of one population in both simulators and where they part."""

    name: str
    size: int
    neuro: int
    brian2: int
    matched: int
    only_neuro: int
    only_brian2: int
    first_divergence: int | None
    rate_diff_pct: float | None  # (brian2 - neuro) / neuro; None if neuro has no spikes but Brian2 has

    @property
    def identical(self) -> bool:
        return self.only_neuro == 0 and self.only_brian2 == 0


@dataclass
class VerifyReport:
    """The result of :func:`verify`; ``agree`` decides the exit status of ``neuro verify``."""

    network: str
    source: str | None
    arithmetic: str
    seed: int
    steps: int
    dt: float
    brian2_target: str
    brian2_version: str
    recurrent: list
    populations: list
    neuro_s: float
    brian2_s: float
    chaotic: bool = field(init=False)
    learning: list = field(default_factory=list)  # LearnedComparison per plastic projection / adaptive pop

    def __post_init__(self):
        self.chaotic = not get_target(self.arithmetic).integer and bool(self.recurrent)

    @property
    def identical(self) -> bool:
        return all(p.identical for p in self.populations)

    @property
    def first_divergence(self) -> int | None:
        steps = [p.first_divergence for p in self.populations if p.first_divergence is not None]
        return min(steps) if steps else None

    @property
    def rates_within_tolerance(self) -> bool:
        return all(
            p.rate_diff_pct is not None and abs(p.rate_diff_pct) <= RATE_TOLERANCE_PCT
            for p in self.populations
        )

    @property
    def spikes_agree(self) -> bool:
        return self.identical or (self.chaotic and self.rates_within_tolerance)

    @property
    def agree(self) -> bool:
        return self.spikes_agree and all(c.agree for c in self.learning)

    @property
    def verdict(self) -> str:
        learned = learning_verdict(self.learning)
        return self._spike_verdict() + (f"; {learned}" if learned else "")

    def _spike_verdict(self) -> str:
        n = sum(p.neuro for p in self.populations)
        if self.identical:
            return f"identical spikes ({n} spikes in {self.steps} steps)"
        k = self.first_divergence
        where = f"first divergence at step {k} ({k * self.dt:g} ms)"
        if not self.chaotic:
            n_diff = sum(p.only_neuro + p.only_brian2 for p in self.populations)
            why = "integer arithmetic" if get_target(self.arithmetic).integer else "not recurrent"
            return f"{n_diff} spikes differ, {where}; {why}, so spikes must be identical"
        within = "within" if self.rates_within_tolerance else "NOT within"
        return f"identical up to the {where} (chaotic network); rates {within} {RATE_TOLERANCE_PCT:g}%"

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k not in ("populations", "learning")}
        d["populations"] = [asdict(p) for p in self.populations]
        d["learning"] = [{**asdict(c), "agree": c.agree} for c in self.learning]
        d.update(
            identical=self.identical,
            first_divergence=self.first_divergence,
            rate_tolerance_pct=RATE_TOLERANCE_PCT,
            agree=self.agree,
            verdict=self.verdict,
        )
        return d

    def table(self) -> str:
        """Plain-text table: one row per population, then the verdict."""
        head = (
            f"{'population':<16} {'neurons':>8} {'neuro':>9} {'Brian2':>9} {'matched':>9} "
            f"{'only-neuro':>10} {'only-Brian2':>11} {'first div.':>10} {'rate diff':>9}"
        )
        lines = [
            f"neuro vs Brian2 {self.brian2_version} ({self.brian2_target} target): {self.network}, "
            f"{self.arithmetic} arithmetic, seed {self.seed}, {self.steps} steps of {self.dt:g} ms"
            + (f"; chaotic (recurrent: {', '.join(self.recurrent)})" if self.chaotic else ""),
            head,
        ]
        for p in self.populations:
            div = "-" if p.first_divergence is None else str(p.first_divergence)
            rate = "n/a" if p.rate_diff_pct is None else f"{p.rate_diff_pct:+.2f}%"
            lines.append(
                f"{p.name[:16]:<16} {p.size:>8} {p.neuro:>9} {p.brian2:>9} {p.matched:>9} "
                f"{p.only_neuro:>10} {p.only_brian2:>11} {div:>10} {rate:>9}"
            )
        lines += learning_table(self.learning)
        lines.append(f"{'AGREE' if self.agree else 'FAIL'}: {self.verdict}")
        lines.append(f"time: neuro {self.neuro_s:.2f} s, Brian2 {self.brian2_s:.2f} s")
        return "\n".join(lines)

    def write(self, path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n")


def compare_population(name: str, size: int, a: tuple, b: tuple) -> PopulationComparison:
    """Compare two spike trains ``(step, neuron)`` of one population."""
    ka = np.unique(a[0].astype(np.int64) * size + a[1])
    kb = np.unique(b[0].astype(np.int64) * size + b[1])
    both = np.intersect1d(ka, kb, assume_unique=True)
    only_a = np.setdiff1d(ka, kb, assume_unique=True)
    only_b = np.setdiff1d(kb, ka, assume_unique=True)
    diff = np.concatenate([only_a, only_b])
    first = int(diff.min() // size) if diff.size else None
    na, nb = int(a[0].size), int(b[0].size)
    if na:
        rate = 100.0 * (nb - na) / na
    else:
        rate = 0.0 if nb == 0 else None
    return PopulationComparison(
        name, size, na, nb, int(both.size), int(only_a.size), int(only_b.size), first, rate
    )


def run_neuro(net: Network, arithmetic: str, seed: int, steps: int) -> tuple[dict, float]:
    """Spikes of every population from neuro's engine: ``{name: (step, neuron)}``, and seconds."""
    t0 = time.perf_counter()
    compiled = compile_network(net, arithmetic, seed)
    sim = compiled.target.simulator(compiled)
    got_step, got_src = [], []

    def on_spikes(step, _batch, src):
        got_step.append(step.copy())
        got_src.append(src.astype(np.int64))

    sim.run(steps, on_spikes=on_spikes)
    step = np.concatenate(got_step) if got_step else np.zeros(0, np.int64)
    src = np.concatenate(got_src) if got_src else np.zeros(0, np.int64)
    out = {}
    for name in compiled.pop_names:
        sl = compiled.pop_slice(name)
        sel = (src >= sl.start) & (src < sl.stop)
        out[name] = (step[sel], src[sel] - sl.start)
    return out, time.perf_counter() - t0


def verify(
    net: Network,
    arithmetic: str | None = None,
    steps: int | None = None,
    seed: int | None = None,
    target: str = "numpy",
) -> VerifyReport:
    """Simulate ``net`` in neuro and in Brian2 and compare every population's spikes.

    Parameters
    ----------
    net : Network
    arithmetic, steps, seed : optional
        Override the spec's simulation settings (a missing seed is drawn once and used by both).
    target : {'numpy', 'cython', 'cpp_standalone'}
        Brian2's code-generation target.

    A network that learns (plastic projections, adaptive thresholds) is compared in float
    arithmetic only, with :mod:`neuro.verify.brian2_plastic` on a runtime target (numpy,
    cython); the report's ``learning`` then holds the weight and threshold comparisons.
    """
    import brian2

    from neuro.verify import brian2_plastic  # imports Brian2 (see neuro.verify)

    if target not in TARGETS:
        raise NeuroError(f"unknown Brian2 target {target!r} (known: {', '.join(TARGETS)})")
    arithmetic = arithmetic or net.simulation.arithmetic
    if arithmetic not in TRANSLATORS:
        raise NeuroError(
            f"neuro verify compares {', '.join(TRANSLATORS)} arithmetic; TrueNorth networks are "
            "cross-checked against Brian2 by tests/test_truenorth_brian2.py",
            net.source,
            "simulation.arithmetic",
        )
    try:
        net.check_arithmetic(arithmetic)
        net = net.with_simulation(steps=steps)
    except NeuroError as exc:
        raise exc.at(net.source) from None
    plastic = brian2_plastic.is_plastic(net)
    if plastic:
        brian2_plastic.check_plastic_expressible(net, arithmetic)
        if target not in brian2_plastic.RUNTIME_TARGETS:
            raise NeuroError(
                f"a plastic network is compared on Brian2's runtime targets "
                f"({', '.join(brian2_plastic.RUNTIME_TARGETS)}), not {target}",
                net.source,
            )
    else:
        check_expressible(net)
    steps = net.simulation.steps
    seed = resolve_seed(seed if seed is not None else net.simulation.seed)
    if plastic:
        samples = sample_steps(steps)
        ours_run = brian2_plastic.run_neuro_plastic(net, seed, samples)
        theirs_run = brian2_plastic.run_brian2_plastic(net, seed, samples, target)
        ours, neuro_s = ours_run.spikes, ours_run.wall_s
        theirs = theirs_run
    else:
        ours, neuro_s = run_neuro(net, arithmetic, seed, steps)
        theirs = run_brian2(net, arithmetic, seed, steps, target)
    pops = [compare_population(p.name, p.size, ours[p.name], theirs.spikes[p.name]) for p in net.populations]
    report = VerifyReport(
        network=net.name,
        source=net.source,
        arithmetic=arithmetic,
        seed=seed,
        steps=steps,
        dt=net.simulation.dt,
        brian2_target=target,
        brian2_version=brian2.__version__,
        recurrent=layout.recurrent_populations(net),
        populations=pops,
        neuro_s=neuro_s,
        brian2_s=theirs.wall_s,
    )
    if plastic:
        initial = brian2_plastic.initial_learned(net, seed)
        report.learning = compare_learning(net, ours_run, theirs_run, report.first_divergence, initial)
    return report
