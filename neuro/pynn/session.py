"""One engine session: the spec of the network, compiled, and a :class:`~neuro.engine.Simulator`
that advances it run by run, feeding the recorders."""

from __future__ import annotations

import logging

import numpy as np

from neuro.engine import Simulator
from neuro.errors import NeuroError
from neuro.inputs import SpecInputs
from neuro.network import compile_network
from neuro.pynn.recording import SPIKES
from neuro.pynn.translate import translate

log = logging.getLogger(__name__)


class RecordingInputs:
    """The spec's inputs, passed through to the engine, with each chunk's input spikes handed to
    the session (spike sources are recorded from what the engine actually received)."""

    def __init__(self, inner: SpecInputs, on_spikes):
        self.inner, self.on_spikes = inner, on_spikes

    def change_points(self):
        return self.inner.change_points()

    def bias_delta(self, k):
        return self.inner.bias_delta(k)

    def chunk(self, k0, n, n_batch, rng):
        in_ptr, in_src = self.inner.chunk(k0, n, n_batch, rng)
        if in_src.size:
            rows = np.repeat(np.arange(n * n_batch), np.diff(in_ptr))
            self.on_spikes(k0 + rows // n_batch, in_src)
        return in_ptr, in_src


class Session:
    """Compile the current network and run it; ``previous`` (a session of the same network) hands
    over the neurons' state, the spike queue, the step and the random generator."""

    def __init__(self, state, previous=None):
        self.state = state
        self.populations = list(state.populations)  # as built (later ones need a new build)
        self.stale = False
        if previous is not None:
            previous.sync_weights()
        state.session_count += 1
        self.net, self.layout = translate(state, state.workdir_for(state.session_count))
        try:
            self.compiled = c = compile_network(self.net)
        except NeuroError as exc:
            raise self.layout.locate(exc) from None
        self._routing(c)
        inputs = RecordingInputs(SpecInputs(c), self._on_spikes)
        self.sim = Simulator(c, probe_neurons=self.probe_idx, inputs=inputs)
        self._placement = None
        if previous is not None:
            self._carry(previous, inputs)
        else:
            log.info(
                "seed %d, arithmetic %s, %d neurons, %d synapses",
                c.seed,
                c.arithmetic,
                c.n_neurons,
                c.n_synapses,
            )
        for rec, ids, _cols, v0 in self.v_probes:
            rec.begin_v(ids, v0 if previous is None and state.steps == 0 else None)
        self._synced_step = self.sim.step  # the engine's weights are the PyNN ones here

    # ------------------------------------------------------------------ index maps
    def _global(self, k: int, local_ids: np.ndarray) -> np.ndarray:
        """Global engine indices (neurons or input channels) of neurons of PyNN population ``k``."""
        lay, c = self.layout, self.compiled
        part, loc = lay.part[k][local_ids], lay.local[k][local_ids]
        offsets = np.array([c.source_offset(n) for n in lay.names[k]], dtype=np.int64)
        return offsets[part] + loc

    def _routing(self, c) -> None:
        self.owner = np.full(c.n_sources, -1, dtype=np.int64)  # recording population of each source
        self.pynn_local = np.zeros(c.n_sources, dtype=np.int64)
        self.recorders = []
        probe_idx, self.v_probes = [], []
        v_scale, v_off = [], []
        for k, pop in enumerate(self.populations):
            rec = pop.recorder
            self.recorders.append(rec)
            spiking = rec.recorded.get(SPIKES, set())
            if spiking:
                ids = pop.id_to_index(np.array(sorted(spiking), dtype=int))
                g = self._global(k, np.atleast_1d(ids))
                self.owner[g], self.pynn_local[g] = k, np.atleast_1d(ids)
            ids = rec.v_indices()
            if ids.size:
                g = self._global(k, ids)
                cols = np.arange(len(probe_idx), len(probe_idx) + ids.size)
                probe_idx.extend(g.tolist())
                v0 = np.where(np.isnan(pop._v_init[ids]), pop._parameters["v_rest"][ids], pop._v_init[ids])
                self.v_probes.append((rec, ids, cols, v0.astype(float)))
                for gi in g:
                    scale, off = self._v_units(int(gi))
                    v_scale.append(scale)
                    v_off.append(off)
        self.probe_idx = np.asarray(probe_idx, dtype=np.int64)
        self.v_scale, self.v_off = np.asarray(v_scale), np.asarray(v_off)

    def _v_units(self, g: int) -> tuple[float, float]:
        """(register units per mV, mV at register 0) of neuron ``g``'s probed v."""
        c = self.compiled
        i = int(np.searchsorted(c.pop_offsets, g, side="right") - 1)
        return c.target.voltage_units(c, i)

    # ------------------------------------------------------------------ running
    def _on_spikes(self, steps, src) -> None:
        """Hand spikes (time in steps, engine source index) to the recorders."""
        o = self.owner[src]
        m = o >= 0
        if not m.any():
            return
        steps, src, o = steps[m], src[m], o[m]
        for k in np.unique(o):
            mk = o == k
            self.recorders[k].add_spikes(steps[mk], self.pynn_local[src[mk]])

    def _on_probe(self, k0, v, i) -> None:
        rows = v[:, 0, :].astype(np.float64) / self.v_scale + self.v_off
        for rec, _ids, cols, _v0 in self.v_probes:
            rec.add_v(k0 + 1, rows[:, cols])

    def run(self, n_steps: int) -> None:
        # a neuron that crossed the threshold in step k (from k dt to (k+1) dt) fired at (k+1) dt
        self.sim.run(n_steps, on_spikes=lambda s, b, g: self._on_spikes(s + 1, g), on_probe=self._on_probe)

    # ------------------------------------------------------------------ continuing and reading back
    def _neuron_order(self) -> np.ndarray:
        """Engine index of every PyNN neuron, populations in creation order (spike sources left out)."""
        parts = [
            self._global(k, np.arange(pop.size))
            for k, pop in enumerate(self.populations)
            if pop.celltype.injectable
        ]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def _carry(self, previous, inputs) -> None:
        """Take over ``previous``'s state neuron by neuron: a parameter change may regroup the
        neurons into other spec populations, so engine indices are matched through PyNN's."""
        old, new = previous.sim, self.sim
        if previous.populations != self.populations:
            raise NeuroError(
                "the network's structure changed between runs (new populations); call reset() first"
            )
        src, dst = previous._neuron_order(), self._neuron_order()
        n_old, n_new = previous.compiled.n_neurons, self.compiled.n_neurons
        same = src.size == dst.size and old.state["buf"].shape[0] == new.state["buf"].shape[0]
        same &= old.state["buf"].shape[2] // n_old == new.state["buf"].shape[2] // n_new
        if not same:
            raise NeuroError(
                "the network's structure changed between runs (neurons, the longest delay or the "
                "inhibitory time constants); call reset() before running it"
            )
        self._check_scales(previous, src, dst)
        for key, arr in new.state.items():
            if key == "buf":
                for c in range(arr.shape[2] // n_new):
                    arr[:, :, c * n_new + dst] = old.state[key][:, :, c * n_old + src]
            else:
                arr[..., dst] = old.state[key][..., src]
        new.step = old.step
        self.compiled.rng = previous.compiled.rng
        pin, pold = inputs.inner, previous.sim.inputs.inner
        if np.array_equal(pin.p, pold.p) and np.array_equal(pin.p_src, pold.p_src):
            pin.set_state(pold.get_state())  # the same Poisson stream as an unbroken run

    def _check_scales(self, previous, src, dst) -> None:
        """Registers carry over only if every neuron keeps its register scales (the target's
        ``register_scales``: none in float arithmetic)."""

        def scales(session, idx):
            c = session.compiled
            pop = np.searchsorted(c.pop_offsets, idx, side="right") - 1
            return np.array([c.target.register_scales(c, p) for p in pop])

        if not np.array_equal(scales(previous, src), scales(self, dst)):
            raise NeuroError(
                "a change between runs alters the Loihi register scales (v_thresh, v_reset, tau_m, "
                "tau_syn_E/I); call reset() before running it in loihi arithmetic"
            )

    def sync_weights(self) -> None:
        """Copy learned weights of plastic projections back into the PyNN projections (nA), once
        per stretch of simulation: weights set from PyNN after that are not overwritten."""
        if not self.layout.plastic or self.sim.step == self._synced_step:
            return
        self._synced_step = self.sim.step
        c = self.compiled
        positions = list(c.projection_positions())
        for prj, index, order, scale in self.layout.plastic:
            w = c.target.weights_to_physical(c, index, c.weight[positions[index]])
            prj._built()["weight"][order] = w / scale

    def placement(self):
        from neuro.chips import get_profile
        from neuro.mapping import place

        if self._placement is None:
            sim = self.net.simulation
            self._placement = place(self.compiled, get_profile(sim.chip), sim.chips)
        return self._placement
