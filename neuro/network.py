"""Compile a spec into flat, engine-ready arrays (one index space for all cores).

Neurons of all populations are numbered ``0..N-1`` in spec order; spike sources are the
neurons followed by the channels of every spike input (``N..N+N_in-1``). Synapses of all
projections are merged into one CSR table keyed by source (the order the chip stores them:
each neuron's outgoing synapses together), with a *slot* per synapse,
``slot = channel * N + target`` (channel 0: ``exc`` current, 1: the separate ``inh`` current
of a dual-current population).

The seeded generator is consumed in this order: per population ``v_init`` then ``bias``;
per projection connectivity, weights, delays (see :mod:`neuro.connectivity`); then, while
running, Poisson inputs step by step.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from neuro.connectivity import build_projection
from neuro.errors import NeuroError
from neuro.spec import Network

log = logging.getLogger(__name__)


class IndexSpace:
    """Name -> index helpers of a compiled network: neurons of all populations numbered in spec
    order (``pop_offsets``), then the channels of every spike input (``input_offsets``)."""

    @property
    def n_neurons(self) -> int:
        return int(self.pop_offsets[-1])

    @property
    def n_sources(self) -> int:
        return int(self.input_offsets[-1])

    def source_offset(self, name: str) -> int:
        """First global index of population or spike input ``name``."""
        if name in self.pop_names:
            return int(self.pop_offsets[self.pop_names.index(name)])
        return int(self.input_offsets[self.input_names.index(name)])

    def pop_slice(self, name: str) -> slice:
        """Global neuron indices of population ``name``."""
        i = self.pop_names.index(name)
        return slice(int(self.pop_offsets[i]), int(self.pop_offsets[i + 1]))


@dataclass
class CompiledNetwork(IndexSpace):
    """Flat arrays for the engine, built by :func:`compile_network`.

    Attributes
    ----------
    pop_offsets, input_offsets : numpy.ndarray
        Start of each population in the neuron index space and of each spike input in
        the source index space (the last entry is the end).
    indptr, slot, weight, delay : numpy.ndarray
        CSR by source: synapses of source ``s`` are ``indptr[s]:indptr[s+1]``; ``weight`` is
        in the target's units (float64 mV in float arithmetic, int32 register units
        ``Wgt << (6 + weight_exp)`` in loihi arithmetic); ``delay`` in steps (uint8).
    params : dict of numpy.ndarray
        Per-neuron constants of the chosen arithmetic (see :mod:`neuro.dynamics`).
    proj_ranges : list of (source_start, source_stop, post_start, post_stop, n_synapses)
    proj_counts : list of numpy.ndarray
        Per projection, synapses per pre neuron. Within a source's CSR row, projections
        follow each other in spec order (see :meth:`projection_positions`).
    weight_exps : list of int or None
        Per projection, the weight exponent the target chose (None in float arithmetic).
    pop_registers : list
        Per population, the target's discretized registers (None in float arithmetic).
    """

    spec: Network
    target: object  # the neuro.targets.Target that compiled it (binds the arithmetic)
    arithmetic: str  # the target's name, for reports and files
    seed: int
    dt: float
    pop_names: list
    pop_offsets: np.ndarray
    input_names: list
    input_offsets: np.ndarray
    indptr: np.ndarray
    slot: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    max_delay: int
    params: dict
    v_init: np.ndarray
    i_init: np.ndarray
    pop_registers: list  # per population, the target's registers (None for float)
    proj_ranges: list
    weight_exps: list
    dual: np.ndarray
    proj_counts: list = field(repr=False)
    learning_key: int
    rng: np.random.Generator = field(repr=False)

    @property
    def n_synapses(self) -> int:
        return int(self.indptr[-1])

    def projection_positions(self):
        """Yield, for every projection in spec order, the CSR positions of its synapses
        (sorted by pre, then post)."""
        prefix = np.zeros(self.n_sources, dtype=np.int64)
        for (s0, s1, *_), cnt in zip(self.proj_ranges, self.proj_counts, strict=True):
            seg = self.indptr[s0:s1] + prefix[s0:s1]
            within = np.arange(int(cnt.sum()), dtype=np.int64) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            yield np.repeat(seg, cnt) + within
            prefix[s0:s1] += cnt

    def row_segments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(ptr, proj, count)``: source ``s``'s row holds, one after the other, ``count[e]``
        synapses of projection ``proj[e]`` for ``e`` in ``ptr[s]:ptr[s + 1]`` (spec order;
        projections without synapses from ``s`` left out)."""
        src, proj, cnt = [], [], []
        for p, ((a, _b, *_), counts) in enumerate(zip(self.proj_ranges, self.proj_counts, strict=True)):
            has = np.flatnonzero(counts)
            src.append(a + has)
            proj.append(np.full(has.size, p, dtype=np.int64))
            cnt.append(np.asarray(counts, dtype=np.int64)[has])
        src, proj, cnt = (np.concatenate(x) if x else np.zeros(0, dtype=np.int64) for x in (src, proj, cnt))
        if int(cnt.sum()) != self.n_synapses:
            raise ValueError(f"the projections' counts hold {int(cnt.sum())} of {self.n_synapses} synapses")
        order = np.lexsort((proj, src))  # by source, then projection (a row's order)
        ptr = np.zeros(self.n_sources + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=self.n_sources), out=ptr[1:])
        return ptr, proj[order], cnt[order]

    def dense_entries(self) -> int:
        """Entries of the projections' dense matrices: pre size x post size, summed."""
        return sum(int(s1 - s0) * int(p1 - p0) for s0, s1, p0, p1, _ in self.proj_ranges)

    def fanout(self) -> np.ndarray:
        """Number of synapses of every source."""
        return np.diff(self.indptr)


class _Staging:
    """Append-only storage of one per-synapse column, in blocks of at least 32 MiB.

    Blocks that large are mapped by the allocator on their own: the per-projection temporaries
    between appends do not fragment the heap around the staged values, pages past the end of
    a block are never touched, and :meth:`take` returns a block to the OS as soon as the last
    values it holds have been read (values are taken in the order they were appended).
    """

    BLOCK_BYTES = 1 << 25

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self.blocks: list = []
        self.fill = 0

    def append(self, values: np.ndarray) -> tuple:
        """Store ``values``; return where they are (for :meth:`take`)."""
        n = values.size
        if not self.blocks or self.fill + n > self.blocks[-1].size:
            self.blocks.append(np.empty(max(self.BLOCK_BYTES // self.dtype.itemsize, n), dtype=self.dtype))
            self.fill = 0
        b, start = len(self.blocks) - 1, self.fill
        self.blocks[b][start : start + n] = values
        self.fill += n
        return b, start

    def take(self, where: tuple, n: int) -> np.ndarray:
        """The ``n`` values stored at ``where``; blocks before it are released."""
        b, start = where
        for k in range(b):
            self.blocks[k] = None
        return self.blocks[b][start : start + n]


def resolve_seed(seed: int | None) -> int:
    """Return ``seed``, or draw one from the OS (and log it) when it is None."""
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
        log.info("no seed given; drew seed %d", seed)
    return int(seed)


def compile_network(net: Network, arithmetic=None, seed: int | None = None):
    """Draw every random quantity of ``net`` and lay it out for the engine of its target.

    Parameters
    ----------
    net : Network
    arithmetic : str or Target, optional
        The target (``neuro.targets``) or its name; defaults to ``net.simulation.arithmetic``.
    seed : int, optional
        Defaults to ``net.simulation.seed``; if both are None a seed is drawn and logged.
    """
    from neuro.targets import get_target

    target = get_target(arithmetic or net.simulation.arithmetic)
    return target.compile(net, seed)


def index_layout(net: Network) -> tuple[np.ndarray, np.ndarray, list]:
    """``(pop_offsets, input_offsets, spike_inputs)``: the neuron and source index spaces."""
    sizes = [p.size for p in net.populations]
    pop_offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n = int(pop_offsets[-1])
    spike_inputs = [s for s in net.inputs if s.is_spike_source]
    input_offsets = np.concatenate([[n], n + np.cumsum([s.size for s in spike_inputs])]).astype(np.int64)
    return pop_offsets, input_offsets, spike_inputs


def draw_populations(net: Network, target, rng: np.random.Generator) -> tuple[list, list, list]:
    """The populations' draws, in spec order (``v_init`` then ``bias`` of each), and the
    target's registers: ``(v_init, biases, registers)`` per population."""
    v_init, biases, regs = [], [], []
    for i, pop in enumerate(net.populations):
        v0 = pop.v_init.sample(rng, pop.size) if pop.v_init is not None else np.full(pop.size, pop.v_rest)
        b = pop.bias.sample(rng, pop.size)
        v_init.append(v0)
        biases.append(b)
        try:
            regs.append(target.discretize_population(pop, net.simulation.dt, b, v0, f"populations[{i}]"))
        except NeuroError as exc:
            raise exc.at(net.source) from None
    return v_init, biases, regs


def discretize_projection(net: Network, target, regs: list, i: int, syn) -> tuple:
    """Projection ``i``'s synapses ``syn`` in the target's units: ``(weights, weight_exp,
    smallest delay, largest delay)``; a delay above 255 steps is refused."""
    proj = net.projections[i]
    post_pop = net.population(proj.post)
    try:
        w, e = target.discretize_weights(
            proj, syn.weight, regs[net.populations.index(post_pop)], f"projections[{i}]"
        )
    except NeuroError as exc:
        raise exc.at(net.source) from None
    d_lo, d_hi = (int(syn.delay.min()), int(syn.delay.max())) if syn.size else (0, 0)
    if d_hi > 255:
        raise NeuroError("delays above 255 steps are not supported", net.source, f"projections[{i}].delay")
    return w, e, d_lo, d_hi


def draw_learning_key(rng: np.random.Generator) -> int:
    """The learning engine's key (its counter-based PRNG's seed), drawn after every synapse."""
    return int(rng.integers(0, 2**63))


def build_network(net: Network, target, seed: int | None = None) -> CompiledNetwork:
    """The LIF targets' compile step: draws in the documented order, the target's
    discretization of every population and weight, one CSR of all synapses.

    ``target`` supplies ``discretize_population(pop, dt, bias, v_init, where)`` (per-population
    registers, or None), ``discretize_weights(proj, weight, registers, where)`` ->
    (weights, weight_exp), ``weight_dtype``, ``params(net, registers, biases)`` and
    ``initial_state(net, registers, v_init)`` -> (v0, i_init), ``synapse_channel(net, i, post)``
    (the ring-buffer channel of projection ``i``).
    """
    from neuro.construction import scatter_rows

    seed = resolve_seed(seed if seed is not None else net.simulation.seed)
    rng = np.random.default_rng(seed)
    pop_offsets, input_offsets, spike_inputs = index_layout(net)
    n, n_src = int(pop_offsets[-1]), int(input_offsets[-1])
    v_init, biases, regs = draw_populations(net, target, rng)
    dual = np.concatenate([np.full(p.size, p.dual_current) for p in net.populations])

    # ---- synapses, projection by projection, staged until the CSR is assembled
    names = [p.name for p in net.populations] + [s.name for s in spike_inputs]
    offsets = dict(zip(names, list(pop_offsets[:-1]) + list(input_offsets[:-1]), strict=True))
    counts = np.zeros(n_src, dtype=np.int64)
    proj_ranges, weight_exps, proj_counts, staged = [], [], [], []
    wdtype = target.weight_dtype
    posts, weights, delays = _Staging(np.int32), _Staging(wdtype), _Staging(np.uint8)

    def stage(i: int, proj, syn) -> None:
        """Discretize projection ``i``'s weights and stage its synapses (in spec order)."""
        post_pop = net.population(proj.post)
        channel = target.synapse_channel(net, i, post_pop)
        w, e, d_lo, d_hi = discretize_projection(net, target, regs, i, syn)
        weight_exps.append(e)
        n_pre = net.source_size(proj.pre)
        src0, post0 = offsets[proj.pre], offsets[proj.post]
        counts[src0 : src0 + n_pre] += syn.counts
        one_delay = d_lo == d_hi
        staged.append(
            (
                src0,
                syn.counts,
                posts.append(syn.post),
                post0 + channel * n,
                weights.append(w),
                np.array([d_lo], dtype=np.uint8) if one_delay else delays.append(syn.delay),
                0 if one_delay else 1,
                syn.size,
            )
        )
        proj_ranges.append((src0, src0 + n_pre, post0, post0 + post_pop.size, syn.size))
        proj_counts.append(syn.counts)

    # The draws of projection i + 1 (this thread; numpy and the kernels release the GIL) overlap
    # the staging of projection i (a worker): one projection staged at a time, in spec order,
    # and an error of an earlier projection is raised first.
    with ThreadPoolExecutor(max_workers=1) as worker:
        pending = None
        for i, proj in enumerate(net.projections):
            try:
                syn = build_projection(net, i, rng)
            except BaseException:
                if pending is not None:
                    pending.result()
                raise
            if pending is not None:
                pending.result()
            pending = worker.submit(stage, i, proj, syn)
            del syn
        if pending is not None:
            pending.result()

    indptr = np.zeros(n_src + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    nnz = int(indptr[-1])
    slot = np.empty(nnz, dtype=np.int32)
    weight = np.empty(nnz, dtype=wdtype)
    delay = np.empty(nnz, dtype=np.uint8)
    fill = indptr[:-1].copy()
    for src0, cnt, post_at, offset, w_at, d_at, d_step, size in staged:
        scatter_rows(
            fill,
            src0,
            cnt,
            posts.take(post_at, size),
            offset,
            weights.take(w_at, size),
            delays.take(d_at, size) if d_step else d_at,
            d_step,
            slot,
            weight,
            delay,
        )
    staged.clear()
    for column in (posts, weights, delays):
        column.blocks.clear()

    learning_key = draw_learning_key(rng)  # seeds the learning engine's counter-based PRNG
    params = target.params(net, regs, biases)
    v0, i_init = target.initial_state(net, regs, v_init)
    return CompiledNetwork(
        spec=net,
        target=target,
        arithmetic=target.name,
        seed=seed,
        dt=net.simulation.dt,
        pop_names=[p.name for p in net.populations],
        pop_offsets=pop_offsets,
        input_names=[s.name for s in spike_inputs],
        input_offsets=input_offsets,
        indptr=indptr,
        slot=slot,
        weight=weight,
        delay=delay,
        max_delay=int(delay.max()) if nnz else 0,
        params=params,
        v_init=v0,
        i_init=i_init,
        pop_registers=regs,
        proj_ranges=proj_ranges,
        weight_exps=weight_exps,
        dual=dual,
        proj_counts=proj_counts,
        learning_key=learning_key,
        rng=rng,
    )
