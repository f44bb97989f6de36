"""External inputs of a spec, produced chunk by chunk as engine-ready spike lists.

Spike inputs come out as a CSR over rows ``j * B + b`` (step ``k0 + j``, batch element ``b``)
of global source indices. Poisson spikes are drawn in blocks of :data:`POISSON_BLOCK` steps
aligned to absolute step numbers (block ``q`` covers steps ``q*BLOCK .. q*BLOCK+BLOCK-1``), with
:func:`bernoulli_spikes` over all (batch element, channel) pairs of all Poisson inputs
together, so the stream is the same whatever the chunk sizes:
batch element by batch element, channels in spec order. Channel ``i`` spikes when its draw is
below ``rate_i * dt / 1000`` and the step lies in ``[start, stop)``.
"""

from __future__ import annotations

import numpy as np

from neuro.errors import NeuroError
from neuro.network import CompiledNetwork


def _cat(xs: list, dtype) -> np.ndarray:
    return np.concatenate(xs).astype(dtype) if xs else np.zeros(0, dtype=dtype)


def _steps(ms: float | None, dt: float, default: int) -> int:
    return default if ms is None else int(np.rint(ms / dt))


class SpecInputs:
    """The spike inputs and current injections declared in a spec."""

    def __init__(self, net: CompiledNetwork):
        self.net = net
        spec, dt = net.spec, net.dt
        never = np.iinfo(np.int64).max
        timed_steps, timed_src, timed_pay = [], [], []
        #: True when some spike input carries payloads (graded spikes): use :meth:`chunk_graded`
        self.graded = any(getattr(inp, "graded", False) for inp in spec.inputs)
        poisson_p, poisson_start, poisson_stop, poisson_src = [], [], [], []
        self.currents = []  # (neuron slice, amplitude mV array, start step, stop step)
        for i, inp in enumerate(spec.inputs):
            if inp.kind == "current":
                sl = net.pop_slice(inp.target)
                amp = inp.amplitude.sample(net.rng, sl.stop - sl.start)
                self.currents.append((sl, amp, _steps(inp.start, dt, 0), _steps(inp.stop, dt, never)))
                continue
            off = net.source_offset(inp.name)
            if inp.kind == "spike_times":
                for ch, times in enumerate(inp.times):
                    if times:
                        timed_steps.append(np.rint(np.asarray(times) / dt).astype(np.int64))
                        timed_src.append(np.full(len(times), off + ch, dtype=np.int64))
                        pay = inp.payloads[ch] if inp.payloads is not None else np.ones(len(times))
                        timed_pay.append(np.asarray(pay, dtype=np.int64))
            elif inp.kind == "poisson":
                p = inp.rate.sample(net.rng, inp.size) * dt / 1000.0
                if p.max(initial=0) > 1:
                    raise NeuroError(
                        f"rate {p.max() * 1000 / dt:g} Hz exceeds one spike per step (1000/dt Hz)",
                        spec.source,
                        f"inputs[{i}].rate",
                    )
                poisson_p.append(p)
                poisson_start.append(np.full(inp.size, _steps(inp.start, dt, 0)))
                poisson_stop.append(np.full(inp.size, _steps(inp.stop, dt, never)))
                poisson_src.append(np.arange(off, off + inp.size))
        #: sources whose spikes carry payloads (graded inputs), for the energy counters
        self.graded_mask = np.zeros(net.n_sources, dtype=bool)
        for inp in spec.inputs:
            if getattr(inp, "graded", False):
                off = net.source_offset(inp.name)
                self.graded_mask[off : off + inp.size] = True
        if timed_steps:
            st, sr = np.concatenate(timed_steps), np.concatenate(timed_src)
            order = np.lexsort((sr, st))
            self.timed_steps, self.timed_src = st[order], sr[order]
            self.timed_pay = np.concatenate(timed_pay)[order]
        else:
            self.timed_steps = self.timed_src = self.timed_pay = np.zeros(0, dtype=np.int64)
        self.p = _cat(poisson_p, np.float64)
        self.p_start = _cat(poisson_start, np.int64)
        self.p_stop = _cat(poisson_stop, np.int64)
        self.p_src = _cat(poisson_src, np.int64)
        self._block = None  # the current block of Poisson spikes (index, steps, batch, channel)

    def change_points(self) -> list[int]:
        """Steps at which a current injection starts or stops."""
        pts = set()
        for _sl, _a, a, b in self.currents:
            pts.update((a, b))
        return sorted(pts)

    def bias_delta(self, k: int) -> list:
        """Active current injections at step ``k`` as (slice, amplitude mV)."""
        return [(sl, amp) for sl, amp, a, b in self.currents if a <= k < b]

    def chunk(self, k0: int, n: int, n_batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Input spikes of steps ``k0 .. k0+n-1`` as (in_ptr, in_src) over rows ``j*B + b``."""
        rows_parts, src_parts = [], []
        lo, hi = np.searchsorted(self.timed_steps, [k0, k0 + n])
        if hi > lo:
            j = self.timed_steps[lo:hi] - k0
            rows = (j[:, None] * n_batch + np.arange(n_batch)[None, :]).ravel()
            rows_parts.append(rows)
            src_parts.append(np.repeat(self.timed_src[lo:hi], n_batch))
        if self.p.size:
            steps, b, c = self._poisson(k0, n, n_batch, rng)
            keep = (steps >= self.p_start[c]) & (steps < self.p_stop[c])
            rows_parts.append((steps[keep] - k0) * n_batch + b[keep])
            src_parts.append(self.p_src[c[keep]])
        return to_csr(rows_parts, src_parts, n * n_batch)

    def chunk_graded(self, k0: int, n: int, n_batch: int, rng) -> tuple:
        """:meth:`chunk` plus the payload of every spike (aligned with ``in_src``; Poisson spikes
        carry 1)."""
        lo, hi = np.searchsorted(self.timed_steps, [k0, k0 + n])
        j = self.timed_steps[lo:hi] - k0
        rows = [(j[:, None] * n_batch + np.arange(n_batch)[None, :]).ravel()]
        src = [np.repeat(self.timed_src[lo:hi], n_batch)]
        pay = [np.repeat(self.timed_pay[lo:hi], n_batch)]
        if self.p.size:
            steps, b, c = self._poisson(k0, n, n_batch, rng)
            keep = (steps >= self.p_start[c]) & (steps < self.p_stop[c])
            rows.append((steps[keep] - k0) * n_batch + b[keep])
            src.append(self.p_src[c[keep]])
            pay.append(np.ones(int(keep.sum()), dtype=np.int64))
        rows, src, pay = (np.concatenate(x).astype(np.int64) for x in (rows, src, pay))
        order = np.lexsort((src, rows))
        ptr = np.zeros(n * n_batch + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n * n_batch), out=ptr[1:])
        return ptr, src[order], pay[order]

    def get_state(self) -> dict:
        """The current Poisson block (saved in checkpoints so a resumed run draws the same)."""
        if self._block is None:
            return {}
        q, st, b, c = self._block
        return {"block": np.array([q]), "steps": st, "batch": b, "channel": c}

    def set_state(self, state: dict) -> None:
        if state:
            self._block = (int(state["block"][0]), state["steps"], state["batch"], state["channel"])

    def _poisson(self, k0: int, n: int, n_batch: int, rng) -> tuple:
        """Poisson spikes (absolute step, batch, channel) in [k0, k0 + n), from aligned blocks."""
        parts = []
        for q in range(k0 // POISSON_BLOCK, (k0 + n - 1) // POISSON_BLOCK + 1):
            if self._block is None or self._block[0] != q:
                if self._block is not None and q != self._block[0] + 1:
                    raise ValueError("Poisson blocks must be generated in order")
                st, b, c = bernoulli_spikes(
                    np.broadcast_to(self.p, (n_batch, self.p.size)), POISSON_BLOCK, rng
                )
                self._block = (q, st + q * POISSON_BLOCK, b, c)
            _, st, b, c = self._block
            sel = (st >= k0) & (st < k0 + n)
            parts.append((st[sel], b[sel], c[sel]))
        return tuple(np.concatenate(x) for x in zip(*parts, strict=True))


POISSON_BLOCK = 1024


def bernoulli_spikes(p: np.ndarray, n_steps: int, rng: np.random.Generator) -> tuple:
    """Steps where each of the (B, C) channels spikes, independently with probability ``p``
    per step, over ``n_steps`` steps; returns sorted (step, batch, channel) int64 arrays.

    Drawn as geometric gaps between spikes (``rng.geometric(p)``), which is exactly the
    Bernoulli process with work proportional to the number of spikes.
    """
    p = np.asarray(p, dtype=np.float64)
    b_idx, c_idx = np.nonzero(p > 0)
    if b_idx.size == 0 or n_steps <= 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    pr = p[b_idx, c_idx]
    k = int(np.ceil(n_steps * pr.max() * 1.5)) + 8
    pos = np.cumsum(rng.geometric(pr[:, None], size=(pr.size, k)), axis=1) - 1
    parts = [pos]
    last = pos[:, -1]
    todo = np.flatnonzero(last < n_steps)
    while todo.size:  # channels still inside the window: draw further gaps
        more = last[todo, None] + np.cumsum(rng.geometric(pr[todo, None], size=(todo.size, k)), axis=1)
        ext = np.full((pr.size, k), n_steps, dtype=np.int64)
        ext[todo] = more
        parts.append(ext)
        last = ext[:, -1]
        todo = np.flatnonzero(last < n_steps)
    pos = np.concatenate(parts, axis=1)
    row, col = np.nonzero(pos < n_steps)  # row-major: ordered by (batch, channel), then time
    steps = pos[row, col]
    bb, cc = b_idx[row], c_idx[row]
    if n_steps < 2**15:  # a stable sort by step alone keeps (batch, channel) order; radix sort on int16
        order = np.argsort(steps.astype(np.int16), kind="stable")
    else:
        order = np.lexsort((cc, bb, steps))
    return steps[order].astype(np.int64), bb[order].astype(np.int64), cc[order].astype(np.int64)


def to_csr(rows_parts: list, src_parts: list, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge (row, source) lists into a CSR (in_ptr, in_src) sorted by row then source."""
    if not rows_parts:
        return np.zeros(n_rows + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rows = np.concatenate(rows_parts).astype(np.int64)
    src = np.concatenate(src_parts).astype(np.int64)
    if rows.size > 1 and (len(rows_parts) > 1 or np.any(rows[1:] < rows[:-1])):
        order = np.lexsort((src, rows))
        rows, src = rows[order], src[order]
    ptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=ptr[1:])
    return ptr, src


class ScheduledInputs:
    """Input spikes supplied by the host as a schedule (e.g. encoded images), per batch element.

    :meth:`set_schedule` replaces the schedule with spikes at absolute steps; :meth:`chunk`
    serves them to the engine. Current injections are not supported here.
    """

    def __init__(self):
        self.steps = np.zeros(0, dtype=np.int64)
        self.rows_b = np.zeros(0, dtype=np.int64)
        self.src = np.zeros(0, dtype=np.int64)

    def set_schedule(
        self, steps: np.ndarray, batch: np.ndarray, src: np.ndarray, presorted: bool = False
    ) -> None:
        """Spikes of global sources ``src`` in batch elements ``batch`` at absolute ``steps``
        (``presorted``: already ordered by step, then batch element, then source)."""
        if not presorted:
            order = np.lexsort((src, batch, steps))
            steps, batch, src = steps[order], batch[order], src[order]
        self.steps, self.rows_b, self.src = steps, batch, src

    def change_points(self) -> list[int]:
        return []

    def bias_delta(self, k: int) -> list:
        return []

    def chunk(self, k0: int, n: int, n_batch: int, rng) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = np.searchsorted(self.steps, [k0, k0 + n])
        rows = (self.steps[lo:hi] - k0) * n_batch + self.rows_b[lo:hi]
        return to_csr([rows], [self.src[lo:hi]], n * n_batch)
