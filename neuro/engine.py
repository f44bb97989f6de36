"""The step loop: one vectorized state for all cores, advanced chunk by chunk.

Each step (see :mod:`neuro.dynamics.floating` and :mod:`neuro.dynamics.loihi` for the
arithmetic): consume the ring-buffer row of this step → update every neuron → threshold and
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

from neuro.discretize import _split_bias
from neuro.dynamics import floating, loihi
from neuro.errors import NeuroError
from neuro.inputs import SpecInputs
from neuro.learning.floating import FloatTables
from neuro.learning.loihi import LoihiTables
from neuro.learning.tables import build_float_tables, build_loihi_tables
from neuro.network import FLOAT_PARAMS, LOIHI_PARAMS, CompiledNetwork

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
    """Run a :class:`~neuro.network.CompiledNetwork` in its arithmetic.

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
    """

    def __new__(cls, net, *args, **kwargs):
        if cls is Simulator and net.arithmetic == "truenorth":  # neuro/truenorth/engine.py
            from neuro.truenorth.engine import TrueNorthSimulator

            return TrueNorthSimulator(net, *args, **kwargs)
        return super().__new__(cls)

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
        self.batch = int(batch)
        self.step = 0
        n = net.n_neurons
        self.n_rows = net.max_delay + 1
        mod = floating if net.arithmetic == "float" else loihi
        self.n_channels = 2 if net.dual.any() else 1
        self.state = mod.new_state(
            self.batch, n, self.n_rows, self.n_channels, net.v_init, net.i_init, net.params["theta_init"]
        )
        build = build_float_tables if net.arithmetic == "float" else build_loihi_tables
        self.tables = build(net, enabled=learning)
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
        self._allocate_outputs(n)
        if net.arithmetic != "float":
            self.probe_dtype = np.int64

    def reset_state(self, keep: tuple = ("theta",)) -> None:
        """Return every neuron to its initial state (ring buffer cleared), keeping ``keep``."""
        net = self.net
        mod = floating if net.arithmetic == "float" else loihi
        fresh = mod.new_state(
            self.batch,
            net.n_neurons,
            self.n_rows,
            self.n_channels,
            net.v_init,
            net.i_init,
            net.params["theta_init"],
        )
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
        net = self.net
        if net.arithmetic == "float":
            bias = self._bias_base.copy()
            for sl, amp in active:
                bias[sl] += amp
        else:
            bias = self._bias_base.copy()
            for sl, amp in active:
                pidx = net.pop_names.index(next(p for p in net.pop_names if net.pop_slice(p) == sl))
                lp = net.loihi_pops[pidx]
                if lp.scale == 0.0:  # raw registers: amplitude in bias register units
                    bias[sl] += np.rint(amp).astype(np.int64)
                else:
                    bias[sl] = _split_bias(bias[sl] + amp * lp.bias_scale, "inputs.amplitude")
        self.params["bias"] = bias

    # ------------------------------------------------------------------ stepping
    def _kernel(self, k0, n, in_ptr, in_src, pv, pi):
        s, p, net = self.state, self.params, self.net
        state = (s["buf"], s["v"], s["cur"], s["ref"], s["theta"])
        csr = (net.indptr, net.slot, net.weight, net.delay)
        io = (
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
        )
        if net.arithmetic == "float":
            params = tuple(p[k] for k in FLOAT_PARAMS) + (self.adapt,)
            lrn = self.tables.pack(FloatTables)
            out = floating.run_float(k0, n, state, params, csr, io, self.learning, lrn)
        else:
            params = tuple(p[k] for k in LOIHI_PARAMS) + (self.adapt,)
            lrn = self.tables.pack(LoihiTables)
            out = loihi.run_loihi(k0, n, state, params, csr, io, self.learning, lrn, self.overflow)
        self._ran(k0, out[0])
        return out

    def _kernel_counts(self, k0, n, in_ptr, in_src, counts):
        if self.learning or self.probe_idx.size:
            raise ValueError("counting runs need learning off and no probes")
        s, p, net = self.state, self.params, self.net
        state = (s["buf"], s["v"], s["cur"], s["ref"], s["theta"])
        csr = (net.indptr, net.slot, net.weight, net.delay)
        before = counts.sum(axis=0)
        if net.arithmetic == "float":
            floating.run_float_counts(
                k0,
                n,
                state,
                tuple(p[k] for k in FLOAT_PARAMS) + (self.adapt,),
                csr,
                in_ptr,
                in_src,
                counts,
                self.update_counts,
                self._new_sample(k0),
            )
        else:
            ov = np.zeros((self.batch, 3), dtype=np.int64)
            loihi.run_loihi_counts(
                k0,
                n,
                state,
                tuple(p[k] for k in LOIHI_PARAMS) + (self.adapt,),
                csr,
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
        if net.arithmetic == "loihi":
            c.update(
                overflow_q=int(self.overflow[0]),
                overflow_u=int(self.overflow[1]),
                overflow_u2=int(self.overflow[2]),
            )
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
