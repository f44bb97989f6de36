"""What a Brian2 translation needs from a compiled network, in per-population terms.

:func:`~neuro.network.compile_network` makes every seeded draw and lays the result out as
flat arrays in one global index space. The Brian2 side wants the spec's own structure back:
the synapses of each projection with local pre/post indices, the input spikes of each spike
input, and the steps at which current injections switch. Nothing here simulates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuro.inputs import SpecInputs
from neuro.network import CompiledNetwork
from neuro.spec import Network

INPUT_CHUNK_STEPS = 1000  # Poisson draws are made this many steps at a time (same stream)


@dataclass
class ProjectionSynapses:
    """The synapses of one projection, as compiled (weights in the arithmetic's units).

    Attributes
    ----------
    index : int
        Position of the projection in the spec.
    pre, post : str
        Source (population or spike input) and target population.
    i, j : numpy.ndarray of int64
        Local pre and post index of every synapse.
    weight : numpy.ndarray
        float64 mV (float arithmetic) or int64 register units (loihi arithmetic).
    delay : numpy.ndarray of int64
        Delay in steps: a spike at step k reaches the post neuron at step ``k + 1 + delay``.
    channel : int
        0: the ``exc`` current; 1: the separate ``inh`` current of a dual-current population.
    """

    index: int
    pre: str
    post: str
    i: np.ndarray
    j: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    channel: int


def projection_synapses(net: CompiledNetwork) -> list[ProjectionSynapses]:
    """Split the compiled CSR back into projections (local indices, spec order)."""
    n = net.n_neurons
    src_of = np.repeat(np.arange(net.n_sources, dtype=np.int64), np.diff(net.indptr))
    out = []
    for index, (proj, pos, rng) in enumerate(
        zip(net.spec.projections, net.projection_positions(), net.proj_ranges, strict=True)
    ):
        src0, _src1, post0, _post1, _n = rng
        slot = net.slot[pos].astype(np.int64)
        out.append(
            ProjectionSynapses(
                index=index,
                pre=proj.pre,
                post=proj.post,
                i=src_of[pos] - src0,
                j=slot % n - post0,
                weight=net.weight[pos].copy(),
                delay=net.delay[pos].astype(np.int64),
                channel=int(slot[0] // n) if slot.size else 0,
            )
        )
    return out


def input_spikes(net: CompiledNetwork, inputs: SpecInputs, steps: int) -> dict[str, tuple]:
    """Spikes of every spike input over ``steps`` steps, drawn from ``net.rng`` as the engine does.

    Returns ``{name: (step, channel)}`` (int64 arrays, sorted by step then channel). Must be
    called once, right after ``SpecInputs(net)``, on a fresh compiled network.
    """
    parts: list[tuple] = []
    for k0 in range(0, steps, INPUT_CHUNK_STEPS):
        n = min(INPUT_CHUNK_STEPS, steps - k0)
        in_ptr, in_src = inputs.chunk(k0, n, 1, net.rng)
        parts.append((k0 + np.repeat(np.arange(n, dtype=np.int64), np.diff(in_ptr)), in_src))
    step = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    src = np.concatenate([p[1] for p in parts]).astype(np.int64) if parts else np.zeros(0, np.int64)
    which = np.searchsorted(net.input_offsets, src, side="right") - 1
    out = {}
    for k, name in enumerate(net.input_names):
        sel = which == k
        out[name] = (step[sel], src[sel] - net.input_offsets[k])
    return out


def split_repeats(step: np.ndarray, channel: np.ndarray) -> list[tuple]:
    """Split spikes into layers with at most one spike per (step, channel) each.

    A spike-times input may list two times of one channel that round to the same step; the
    engine delivers both. A Brian2 ``SpikeGeneratorGroup`` allows one spike per neuron and
    step, so the k-th repeat goes into layer k (its own generator with the same synapses).
    """
    if step.size == 0:
        return [(step, channel)]
    order = np.lexsort((channel, step))
    step, channel = step[order], channel[order]
    same = np.r_[False, (np.diff(step) == 0) & (np.diff(channel) == 0)]
    # rank of each spike among the repeats of its (step, channel)
    run_start = np.maximum.accumulate(np.where(~same, np.arange(step.size), 0))
    rank = np.arange(step.size) - run_start
    return [(step[rank == r], channel[rank == r]) for r in range(int(rank.max()) + 1)]


def bias_segments(inputs: SpecInputs, steps: int) -> list[tuple[int, int, list]]:
    """Runs of steps with the same current injections: ``[(k0, k1, active), ...]``.

    ``active`` is ``inputs.bias_delta(k0)``: (neuron slice, amplitude mV) of every current input
    that flows during steps ``k0 .. k1-1``.
    """
    cuts = sorted({0, steps} | {c for c in inputs.change_points() if 0 < c < steps})
    return [(a, b, inputs.bias_delta(a)) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]


def recurrent_populations(net: Network) -> list[str]:
    """Populations on a cycle of projections (a projection onto itself counts)."""
    names = [p.name for p in net.populations]
    edges: dict[str, set] = {p: set() for p in names}
    for proj in net.projections:
        if proj.pre in edges:
            edges[proj.pre].add(proj.post)

    def reaches(a: str, b: str) -> bool:
        seen, todo = set(), [a]
        while todo:
            x = todo.pop()
            for y in edges[x]:
                if y == b:
                    return True
                if y not in seen:
                    seen.add(y)
                    todo.append(y)
        return False

    return [p for p in names if reaches(p, p)]
