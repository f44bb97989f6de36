"""The step loop: one vectorized state for all cores, advanced chunk by chunk.

Each step (:mod:`neuro.dynamics.step`; the arithmetic is the compiled network's target's, see
:mod:`neuro.targets`): consume the ring-buffer row of this step → update every neuron → threshold and
reset → route the step's spikes (neurons, then external inputs) through the CSR into future
rows. Spikes crossing cores are messages from a source core to each destination core: their
numbers per source come from the :class:`~neuro.mapping.Placement`, and the engine counts
spikes per source, so messages and mesh hops are exact (see :meth:`Simulator.counters`).

The state carries a leading batch dimension ``B``: independent copies of the network that
share weights (for batched evaluation). Work per step is ``O(B * N + spikes * fan-out)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neuro.dynamics import step
from neuro.errors import NeuroError
from neuro.inputs import SpecInputs
from neuro.network import CompiledNetwork

CHUNK_STEPS = 1000
MIN_SPIKE_CAPACITY = 1 << 20
PROBE_BUDGET = 1 << 22  # values per probe variable per chunk
INPUT_DRAW_BUDGET = 1 << 23  # Poisson draws per chunk


class ChunkRunner:
    """The chunk loop and spike output buffers shared by every arithmetic's simulator.

    A subclass sets ``step``, ``batch``, ``inputs``, ``probe_idx`` and calls
    :meth:`_allocate_outputs`; it implements ``_kernel(k0, n, in_ptr, in_src, pv, pi) ->
    (steps done, spikes written)`` and may override :meth:`_prepare` (before each chunk),
    :meth:`_kernel_counts`, ``_rng`` and ``probe_dtype``.
    """

    probe_dtype = np.float64
    _in_pay = np.zeros(0, dtype=np.int64)  # payloads of this chunk's input spikes (graded inputs)

    def _allocate_outputs(self, n_neurons: int) -> None:
        cap = max(MIN_SPIKE_CAPACITY, 2 * self.batch * n_neurons)
        self._out_step = np.empty(cap, dtype=np.int64)
        self._out_b = np.empty(cap, dtype=np.int32)
        self._out_src = np.empty(cap, dtype=np.int32)
        per_step = max(1, self.batch * max(1, self.probe_idx.size))
        n_in = max(1, self.batch * int(getattr(self.inputs, "p", np.zeros(0)).size))
        self.chunk_steps = int(max(1, min(CHUNK_STEPS, PROBE_BUDGET // per_step, INPUT_DRAW_BUDGET // n_in)))

    def _prepare(self, k: int) -> None:
        """Called before the chunk starting at step ``k``."""

    def _kernel_counts(self, k0, n, in_ptr, in_src, counts):
        raise NeuroError("counting runs are not available for this simulator")

    def run(
        self,
        steps: int,
        on_spikes: Callable | None = None,
        on_probe: Callable | None = None,
        on_chunk: Callable | None = None,
        counts: np.ndarray | None = None,
    ) -> None:
        """Advance ``steps`` steps.

        Parameters
        ----------
        on_spikes : callable(step, batch, neuron), optional
            Called with int arrays of the spikes of each kernel call, in step order.
        counts : numpy.ndarray (B, n_sources) of int64, optional
            Instead of spike lists, accumulate spike counts per batch element and source.
            This path runs the batch elements in parallel threads; it needs learning off,
            no probes and no ``on_spikes``.
        on_probe : callable(k0, v, i), optional
            Called per chunk with arrays (steps, B, probes) of the probed neurons.
        on_chunk : callable(step), optional
            Called after each chunk with the number of steps completed so far.
        """
        end = self.step + int(steps)
        changes = [c for c in self.inputs.change_points()]
        while self.step < end:
            k = self.step
            nxt = min([c for c in changes if c > k] + [end])
            n = min(self.chunk_steps, nxt - k)
            self._prepare(k)
            if getattr(self.inputs, "graded", False):
                in_ptr, in_src, self._in_pay = self.inputs.chunk_graded(k, n, self.batch, self._rng)
            else:
                in_ptr, in_src = self.inputs.chunk(k, n, self.batch, self._rng)
            pv = np.zeros((n, self.batch, self.probe_idx.size), dtype=self.probe_dtype)
            pi = np.zeros_like(pv)
            done = 0
            if counts is not None:
                self._kernel_counts(k, n, in_ptr, in_src, counts)
                done = n
            while done < n:
                d, n_out = self._kernel(
                    k + done, n - done, in_ptr[done * self.batch :], in_src, pv[done:], pi[done:]
                )
                if on_spikes is not None and n_out:
                    on_spikes(self._out_step[:n_out], self._out_b[:n_out], self._out_src[:n_out])
                done += d
            self.step = k + n
            if on_probe is not None and self.probe_idx.size:
                on_probe(k, pv, pi)
            if on_chunk is not None:
                on_chunk(self.step)


class Simulator(ChunkRunner):
    """Run a LIF :class:`~neuro.network.CompiledNetwork` in the arithmetic of its target.

    The simulator does not know the arithmetic: it asks ``net.target`` (a
    :class:`neuro.targets.lif.LifTarget`) once, at construction, for the state, the kernel's
    parameter namedtuple and the learning tables, and runs the one step loop
    (:mod:`neuro.dynamics.step`), which numba specializes on those types.

    Parameters
    ----------
    net : CompiledNetwork
    batch : int
        Number of independent copies of the network simulated together.
    probe_neurons : array of int, optional
        Global neuron indices whose ``v`` and current are recorded every step.
    inputs : object, optional
        Provider of external spikes with ``chunk(k0, n, B, rng) -> (in_ptr, in_src)``,
        ``change_points()`` and ``bias_delta(k)``; defaults to the spec's inputs.
    learning : bool
        Apply the plastic projections' rules (needs ``batch == 1``). When False, weights
        are frozen.
    adapt : bool, optional
        Let adaptive thresholds move (default: the value of ``learning``; evaluation keeps
        thresholds fixed).

    Attributes
    ----------
    fuse_inputs : bool
        Deliver and learn the input spikes' rows in one pass where the results are the same
        (:mod:`neuro.learning.fused`; default True). False runs the two passes (tests compare).
    """

    fuse_inputs = True

    def __init__(
        self,
        net: CompiledNetwork,
        batch: int = 1,
        probe_neurons=None,
        inputs=None,
        learning: bool = True,
        adapt: bool | None = None,
    ):
        self.net = net
        self.target = net.target
        self.batch = int(batch)
        self.step = 0
        n = net.n_neurons
        self.n_rows = net.max_delay + 1
        self.n_channels = self.target.n_channels(net)
        self.state = self._fresh_state()
        self.tables = self.target.build_tables(net, enabled=learning)
        self.learning = self.tables.n_rules > 0
        if self.learning and self.batch != 1:
            raise NeuroError("learning needs batch 1 (copies in a batch would share and fight over weights)")
        self.adapt = learning if adapt is None else bool(adapt)
        self.host_ops: dict[str, int] = {}
        self.inputs = inputs if inputs is not None else SpecInputs(net)
        self.params = dict(net.params)
        self._bias_base = self.params["bias"].copy()
        self._bias_key = None
        self.probe_idx = np.asarray(probe_neurons if probe_neurons is not None else [], dtype=np.int64)
        self.spike_count = np.zeros(net.n_sources, dtype=np.int64)
        # per copy and neuron: [0] active updates (v or a current changed), [1] membrane updates
        # (NeuroBench's MembraneUpdates: v changed, and every neuron in a sample's first step)
        self.update_counts = np.zeros((self.batch, 2, n), dtype=np.int64)
        self.active = self.update_counts[:, 0]
        self.membrane = self.update_counts[:, 1]
        self._sample_start = 0  # step at which the current sample began (reset_state); -1: passed
        self.overflow = np.zeros(3, dtype=np.int64)
        self.probe_dtype = self.target.probe_dtype
        self._allocate_outputs(n)

    def _fresh_state(self) -> dict:
        net = self.net
        return self.target.new_state(
            self.batch,
            net.n_neurons,
            self.n_rows,
            self.n_channels,
            net.v_init,
            net.i_init,
            net.params["theta_init"],
        )

    def reset_state(self, keep: tuple = ("theta",)) -> None:
        """Return every neuron to its initial state (ring buffer cleared), keeping ``keep``."""
        fresh = self._fresh_state()
        for key, arr in self.state.items():
            if key not in keep:
                arr[...] = fresh[key]
        self._sample_start = self.step

    def _new_sample(self, k0: int) -> int:
        """1 when step ``k0`` is a sample's first step (the kernels then count every neuron
        as a membrane update, as NeuroBench does), else 0."""
        return int(k0 == self._sample_start)

    def _ran(self, k0: int, steps: int) -> None:
        if steps > 0 and k0 == self._sample_start:
            self._sample_start = -1

    # ------------------------------------------------------------------ bias from current inputs
    @property
    def _rng(self):
        return self.net.rng

    def _prepare(self, k: int) -> None:
        active = self.inputs.bias_delta(k)
        key = tuple(id(a) for _sl, a in active)
        if key == self._bias_key:
            return
        self._bias_key = key
        self.params["bias"] = self.target.bias_with_currents(self.net, self._bias_base, active)

    # ------------------------------------------------------------------ stepping
    def _state_tuple(self):
        return step.State(**{k: self.state[k] for k in step.State._fields})

    def _csr(self):
        net = self.net
        return step.Synapses(net.indptr, net.slot, net.weight, net.delay)

    def _kernel(self, k0, n, in_ptr, in_src, pv, pi):
        io = step.ChunkIO(
            in_ptr,
            in_src,
            self._out_step,
            self._out_b,
            self._out_src,
            self.probe_idx,
            pv,
            pi,
            self.spike_count,
            self.update_counts,
            self._new_sample(k0),
            self._in_pay,
        )
        # frozen weights: no tables, so the step loop is compiled without the learning code
        lrn = self.tables.pack(self.target.tables_type) if self.learning else None
        out = step.run_chunk(
            k0,
            n,
            self._state_tuple(),
            self.target.kernel_params(self.params, self.adapt),
            self._csr(),
            io,
            (2 if self.fuse_inputs else 1) if self.learning else 0,
            lrn,
            self.overflow,
        )
        self._ran(k0, out[0])
        return out

    def _kernel_counts(self, k0, n, in_ptr, in_src, counts):
        if self.learning or self.probe_idx.size:
            raise ValueError("counting runs need learning off and no probes")
        if self._in_pay.size:
            raise NeuroError("counting runs do not carry graded-spike payloads; run with spike lists")
        before = counts.sum(axis=0)
        ov = np.zeros((self.batch, 3), dtype=np.int64)
        step.run_counts(
            k0,
            n,
            self._state_tuple(),
            self.target.kernel_params(self.params, self.adapt),
            self._csr(),
            in_ptr,
            in_src,
            counts,
            ov,
            self.update_counts,
            self._new_sample(k0),
        )
        self.overflow += ov.sum(axis=0)
        self.spike_count += counts.sum(axis=0) - before
        self._ran(k0, n)

    def counters(self, placement=None) -> dict:
        """Exact operation counts so far (summed over the batch).

        ``synaptic_events`` is spikes x fan-out; ``active_neuron_updates`` counts the
        updates that changed ``v`` or a current (the rest of ``neuron_updates`` left the
        neuron as it was); ``membrane_updates`` those that changed ``v``, plus every neuron
        in the first step of each sample (NeuroBench's ``MembraneUpdates``); with a
        placement, ``messages`` (spikes x destination cores) and mesh ``hops_x`` /
        ``hops_y`` are included. Per-population and per-core ledgers:
        :func:`neuro.energy.ledger.ledger_from_simulator`.
        """
        net = self.net
        n = net.n_neurons
        c = {
            "steps": self.step,
            "neuron_updates": self.step * self.batch * n,
            "active_neuron_updates": int(self.active.sum()),
            "membrane_updates": int(self.membrane.sum()),
            "spikes": int(self.spike_count[:n].sum()),
            "input_spikes": int(self.spike_count[n:].sum()),
            "synaptic_events": int(self.spike_count @ net.fanout()),
        }
        c.update(self.target.extra_counters(self.overflow))
        graded = getattr(self.inputs, "graded_mask", None)
        if graded is not None and graded.any():  # graded spikes: multiply-accumulates, not adds
            c["graded_input_spikes"] = int(self.spike_count[graded].sum())
            c["graded_synaptic_events"] = int(self.spike_count[graded] @ net.fanout()[graded])
        for key, val in self.host_ops.items():
            c[f"host_{key}"] = val
        if self.learning:
            c["learning_weight_updates"] = int(self.tables.arrays["counts"][0])
            c["learning_trace_updates"] = int(self.tables.arrays["counts"][1])
        if placement is not None:
            c["messages"] = int(self.spike_count @ placement.src_dest_cores)
            c["hops_x"] = int(self.spike_count @ placement.src_hops_x)
            c["hops_y"] = int(self.spike_count @ placement.src_hops_y)
        return c
