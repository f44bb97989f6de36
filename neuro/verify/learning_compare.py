"""What a plastic network learned in neuro and in Brian2: weights and adaptive thresholds, compared.

Both runs (:mod:`neuro.verify.brian2_plastic`) sample every plastic projection's weights and
every adaptive population's threshold ``theta`` at the same steps (:func:`sample_steps`). At
each sample the two arrays (one value per synapse, sorted by (pre, post); one per neuron) are
compared elementwise. A value agrees when

.. math:: |a - b| \\le \\epsilon \\, \\max(|a|, |b|, s), \\qquad \\epsilon = 10^{-9},

with ``s`` the scale of the quantity (``w_max - w_min`` for weights, ``max(theta_plus,
|theta_init|)`` for thresholds), so values near 0 are held to ``epsilon`` of their range. Float
learning in the two simulators evaluates the same exponentials in a different order and agrees
to about 1e-13; any change of rule, rate, trace or timing is far above 1e-9.

Each sample also reports how far neuro's values *moved* since the previous sample (the first:
since step 0): the mean absolute change, which shows that there was learning to compare.

A sample is *required* to agree when no spike differs before it: weights after ``k`` steps
depend only on the spikes of steps ``0 .. k-1``, so a sample at step ``k <= d`` (``d`` the first
step at which the spike trains differ) must agree. Later samples of a chaotic network (see
:mod:`neuro.verify.compare`) are reported but not required: once a spike moved, learning
follows different spikes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neuro.spec import Network

LEARNING_RTOL = 1e-9
N_SAMPLES = 4


def sample_steps(steps: int, n: int = N_SAMPLES) -> list[int]:
    """``n`` evenly spaced steps ending at ``steps`` (fewer when ``steps < n``; none for 0)."""
    return sorted({int(round(steps * (q + 1) / n)) for q in range(n)} - {0})


@dataclass
class LearnedSample:
    """One sample of one learned quantity in both simulators."""

    step: int
    max_abs_diff: float
    max_rel_diff: float  # |a - b| / max(|a|, |b|) over values not both 0
    mean_neuro: float
    mean_brian2: float
    within: bool
    required: bool = True
    moved: float = 0.0  # neuro's mean |change| since the previous sample (the first: since step 0)


@dataclass
class LearnedComparison:
    """Weights of one plastic projection (``kind`` 'weights') or thresholds of one adaptive
    population (``kind`` 'theta'), at every sample."""

    kind: str
    name: str
    index: int  # projection or population position in the spec
    count: int  # synapses or neurons compared
    scale: float
    samples: list = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return all(s.within for s in self.samples if s.required)


def _sample(step: int, a: np.ndarray, b: np.ndarray, scale: float) -> LearnedSample:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return LearnedSample(step, np.inf, np.inf, float("nan"), float("nan"), False)
    if a.size == 0:
        return LearnedSample(step, 0.0, 0.0, 0.0, 0.0, True)
    diff = np.abs(a - b)
    big = np.maximum(np.abs(a), np.abs(b))
    rel = np.divide(diff, big, out=np.zeros_like(diff), where=big > 0)
    within = bool(np.all(diff <= LEARNING_RTOL * np.maximum(big, scale)))
    return LearnedSample(step, float(diff.max()), float(rel.max()), float(a.mean()), float(b.mean()), within)


def _moved(values: list) -> list[float]:
    """Mean absolute change from each array to the next (``values[0]``: the initial one)."""
    return [
        float(np.abs(b - a).mean()) if a.size and a.shape == b.shape else 0.0
        for a, b in zip(values, values[1:], strict=False)
    ]


def compare_learning(
    net: Network, ours, theirs, first_divergence: int | None, initial=None
) -> list[LearnedComparison]:
    """Weights of every plastic projection, then thresholds of every adaptive population.

    ``ours``, ``theirs`` are :class:`~neuro.verify.brian2_plastic.PlasticRun` s sampled at the
    same steps; ``first_divergence`` is the first step whose spikes differ (None: none do);
    ``initial`` (a run with sample step 0) gives the ``moved`` column of the first sample.
    """
    steps = sorted(ours.weights)
    out = []
    for p, proj in enumerate(net.projections):
        pl = proj.plasticity
        if pl is None:
            continue
        scale = pl.w_max - pl.w_min
        c = LearnedComparison("weights", f"{proj.pre} -> {proj.post}", p, 0, scale)
        for k in steps:
            a, b = ours.weights[k][p], theirs.weights[k][p]
            c.count = int(a.size)
            c.samples.append(_sample(k, a, b, scale))
        start = [initial.weights[0][p]] if initial is not None else [ours.weights[k][p] for k in steps[:1]]
        for s, moved in zip(c.samples, _moved(start + [ours.weights[k][p] for k in steps]), strict=True):
            s.moved = moved
        out.append(c)
    for i, pop in enumerate(net.populations):
        if not (pop.adaptive or pop.tau_theta is not None):
            continue
        scale = max(pop.theta_plus, abs(pop.theta_init))
        c = LearnedComparison("theta", pop.name, i, pop.size, scale)
        c.samples = [_sample(k, ours.theta[k][pop.name], theirs.theta[k][pop.name], scale) for k in steps]
        start = (
            [initial.theta[0][pop.name]]
            if initial is not None
            else [ours.theta[k][pop.name] for k in steps[:1]]
        )
        for s, moved in zip(c.samples, _moved(start + [ours.theta[k][pop.name] for k in steps]), strict=True):
            s.moved = moved
        out.append(c)
    for c in out:
        for s in c.samples:
            s.required = first_divergence is None or s.step <= first_divergence
    return out


def learning_table(comparisons: list[LearnedComparison]) -> list[str]:
    """Plain-text rows: one per learned quantity and sample."""
    if not any(c.samples for c in comparisons):
        return []
    lines = [
        f"{'learned':<8} {'of':<24} {'count':>7} {'step':>8} {'moved':>9} {'max |diff|':>11} "
        f"{'max rel':>9} {'mean neuro':>11} {'mean Brian2':>11} {'result':>8}"
    ]
    for c in comparisons:
        label = f"[{c.index}] {c.name}"
        for n, s in enumerate(c.samples):
            result = ("ok" if s.within else "DIFFER") + ("" if s.required else "*")
            head = f"{c.kind:<8} {label[:24]:<24} {c.count:>7}" if n == 0 else f"{'':<8} {'':<24} {'':>7}"
            lines.append(
                f"{head} {s.step:>8} {s.moved:>9.3g} {s.max_abs_diff:>11.3g} {s.max_rel_diff:>9.2g} "
                f"{s.mean_neuro:>11.5g} {s.mean_brian2:>11.5g} {result:>8}"
            )
    lines.append("moved: neuro's mean |change| since the previous sample (the first: since step 0)")
    if any(not s.required for c in comparisons for s in c.samples):
        lines.append("* after the first spike divergence: reported, not required")
    return lines


def learning_verdict(comparisons: list[LearnedComparison]) -> str:
    """One clause on what was learned, for :attr:`~neuro.verify.compare.VerifyReport.verdict`."""
    if not any(c.samples for c in comparisons):
        return ""
    n_w = sum(c.kind == "weights" for c in comparisons)
    n_t = len(comparisons) - n_w
    what = " and ".join(
        x
        for x in (
            f"weights of {n_w} plastic projection{'s' * (n_w != 1)} "
            f"({sum(c.count for c in comparisons if c.kind == 'weights')} synapses)"
            if n_w
            else "",
            f"thresholds of {n_t} adaptive population{'s' * (n_t != 1)}" if n_t else "",
        )
        if x
    )
    bad = [c for c in comparisons if not c.agree]
    if not bad:
        n_s = max(len(c.samples) for c in comparisons)
        return f"{what} agree to {LEARNING_RTOL:g} at {n_s} samples"
    worst = max(bad, key=lambda c: max(s.max_rel_diff for s in c.samples if s.required and not s.within))
    s = next(s for s in worst.samples if s.required and not s.within)
    return (
        f"{worst.kind} of [{worst.index}] {worst.name} differ from step {s.step} on "
        f"(max rel {s.max_rel_diff:.2g}, tolerance {LEARNING_RTOL:g})"
    )
