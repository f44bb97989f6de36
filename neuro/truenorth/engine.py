"""Run a :class:`~neuro.truenorth.compile.TrueNorthNetwork` tick by tick.

Same interface as :class:`neuro.engine.Simulator` (the ``truenorth`` target,
:mod:`neuro.targets.truenorth`, makes this simulator), same chunking, input and spike-callback
conventions: each tick, consume the ring-buffer row of the tick → update every neuron
(:mod:`neuro.dynamics.truenorth`) → route the tick's spikes (neurons, splitters, then external
inputs). Only the network's own neurons are reported to ``on_spikes``; splitter spikes are
counted (``splitter_spikes``).

Probes record ``v`` (the membrane potential after the tick) and ``i`` (the synaptic input
integrated in the tick, TrueNorth units).
"""

from __future__ import annotations

import numpy as np

from neuro.dynamics import truenorth as tn
from neuro.engine import ChunkRunner
from neuro.errors import NeuroError
from neuro.inputs import SpecInputs
from neuro.truenorth.convert import PARAM_KEYS


class TrueNorthSimulator(ChunkRunner):
    """Simulate a TrueNorth network (``batch`` independent copies; learning does not exist).

    ``tn`` is the compiled :class:`~neuro.truenorth.compile.TrueNorthNetwork`; ``net`` is its
    :meth:`~neuro.truenorth.compile.TrueNorthNetwork.physical_view` (splitters as neurons),
    the shape operation ledgers read together with ``spike_count`` (one entry per physical
    source: the network's neurons, the splitters, the input channels).
    """

    def __init__(
        self, net, batch: int = 1, probe_neurons=None, inputs=None, learning: bool = True, adapt=None
    ):
        self.tn = net
        self.net = net.physical_view()
        self.batch = int(batch)
        self.step = 0
        self.learning = False
        self.adapt = False
        self.host_ops: dict[str, int] = {}
        self.active = None  # the tick kernel does not flag active updates (all are counted)
        self.n_rows = net.max_delay + 1
        self.state = tn.new_state(self.batch, net.n_neurons, net.n_splitters, self.n_rows, net.v_init)
        self.inputs = inputs if inputs is not None else SpecInputs(net)
        self.params = tn.TrueNorthParams(**{k: net.params[k] for k in PARAM_KEYS})
        self.probe_idx = np.asarray(probe_neurons if probe_neurons is not None else [], dtype=np.int64)
        if self.probe_idx.size and (self.probe_idx.min() < 0 or self.probe_idx.max() >= net.n_neurons):
            raise NeuroError(f"probe neuron index out of range [0, {net.n_neurons - 1}]")
        self.spike_count = np.zeros(net.n_sources, dtype=np.int64)
        self.overflow = np.zeros(1, dtype=np.int64)
        self._allocate_outputs(net.n_neurons)

    def reset_state(self, keep: tuple = ()) -> None:
        """Return every neuron to its initial potential and clear the spikes in flight."""
        net = self.tn
        fresh = tn.new_state(self.batch, net.n_neurons, net.n_splitters, self.n_rows, net.v_init)
        for key, arr in self.state.items():
            if key not in keep:
                arr[...] = fresh[key]

    probe_dtype = np.int64

    @property
    def _rng(self):
        return self.tn.rng

    def _kernel_counts(self, k0, n, in_ptr, in_src, counts):
        raise NeuroError("counting runs are not available in truenorth arithmetic")

    def _kernel(self, k0, n, in_ptr, in_src, pv, pi):
        net, s = self.tn, self.state
        state = (s["buf"], s["v"], s["syn"], s["queue"], s["qlen"])
        csr = (net.indptr, net.slot, net.weight, net.delay, net.feeds_splitters)
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
        )
        return tn.run_truenorth(k0, n, state, self.params, csr, io, np.uint64(net.prng_key), self.overflow)

    def counters(self, placement=None) -> dict:
        """Exact operation counts so far (summed over the batch).

        ``spikes`` counts the spikes of all the chip's neurons, splitter relays included
        (``network_spikes`` + ``splitter_spikes``), as operation ledgers do.
        ``synaptic_events`` counts crossbar events (spikes of every physical source x its
        crossbar fan-out, splitter rows included); ``messages`` are packets (one per neuron
        spike, one per axon group per input spike), ``hops_x`` / ``hops_y`` their mesh hops.
        See :mod:`neuro.truenorth.energy` for what the published energy figure covers.
        """
        net = self.tn
        pl = placement if placement is not None else net.placement
        n, P = net.n_neurons, net.n_physical
        sc = self.spike_count
        return {
            "steps": self.step,
            "neuron_updates": self.step * self.batch * P,
            "spikes": int(sc[:P].sum()),  # every neuron of the chip, splitters included
            "network_spikes": int(sc[:n].sum()),  # the network's neurons (what spikes.h5 holds)
            "splitter_spikes": int(sc[n:P].sum()),
            "input_spikes": int(sc[P:].sum()),
            "synaptic_events": int(sc @ net.fanout()),
            "splitter_neurons": int(net.n_splitters),
            "cores": int(pl.n_cores),
            "messages": int(sc @ pl.src_dest_cores),
            "hops_x": int(sc @ pl.src_hops_x),
            "hops_y": int(sc @ pl.src_hops_y),
            "overflow_v": int(self.overflow[0]),
        }
