"""Recording: spikes and membrane potentials from the engine, kept per population for neo.

The session (:mod:`neuro.pynn.session`) pushes each chunk's spikes (time in steps, local
indices) and, for ``v``, the rows of the probed neurons (sample ``s`` = the state at
``s * dt``; sample 0 is the initial value). PyNN's :class:`pyNN.recording.Recorder` turns
them into neo ``Segment``s. A neuron whose ``v`` crossed the threshold in the step from
``k dt`` to ``(k+1) dt`` fired at ``(k+1) dt`` (NEST's convention; ``v`` sample ``k + 1`` is
``v_reset``); a spike source fires at its own (grid) time.
"""

from __future__ import annotations

import numpy as np
from pyNN import recording
from pyNN.recording import Variable

from neuro.errors import NeuroError
from neuro.pynn import simulator

SPIKES = Variable("spikes", location=None, label=None)
V = Variable("v", location=None, label=None)


class Recorder(recording.Recorder):
    _simulator = simulator

    def __init__(self, population, file=None):
        super().__init__(population, file)
        self._restart()

    # ------------------------------------------------------------------ PyNN hooks
    def _record(self, variable, new_ids, sampling_interval=None):
        self.sampling_interval = sampling_interval or self._simulator.state.dt
        self._simulator.state.changed()

    def _reset(self):
        self._simulator.state.changed()

    def _restart(self):
        """Forget the data (a new segment starts at t = 0)."""
        self._spike_steps, self._spike_cells = [], []
        self._v_rows, self._v_ids = [], None

    def _clear_simulator(self):
        self._spike_steps, self._spike_cells = [], []
        if self._v_rows:  # the sample at the current time starts the next segment
            self._v_rows = [np.concatenate(self._v_rows)[-1:]]

    # ------------------------------------------------------------------ fed by the session
    def v_indices(self) -> np.ndarray:
        """Local indices whose ``v`` is recorded, sorted."""
        ids = self.recorded.get(V, set())
        return (
            np.sort(self.population.id_to_index(np.array(sorted(ids), dtype=int)))
            if ids
            else np.zeros(0, int)
        )

    def v_every(self) -> int:
        return max(1, int(np.rint(self.sampling_interval / self._simulator.state.dt)))

    def begin_v(self, ids: np.ndarray, v0: np.ndarray | None) -> None:
        if self._v_ids is not None and self._v_rows and not np.array_equal(self._v_ids, ids):
            raise NeuroError(
                "the neurons recording 'v' changed in the middle of a segment; call reset() first"
            )
        self._v_ids = ids
        if v0 is not None and not self._v_rows:
            self._v_rows.append(v0[None, :])

    def add_v(self, first_sample: int, rows: np.ndarray) -> None:
        every = self.v_every()
        s = first_sample + np.arange(rows.shape[0])
        keep = s % every == 0
        if keep.any():
            self._v_rows.append(rows[keep])

    def add_spikes(self, steps: np.ndarray, cells: np.ndarray) -> None:
        if steps.size:
            self._spike_steps.append(steps.astype(np.int64))
            self._spike_cells.append(cells.astype(np.int64))

    # ------------------------------------------------------------------ read by PyNN
    def _all_spikes(self):
        if not self._spike_steps:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(self._spike_steps), np.concatenate(self._spike_cells)

    def _get_spiketimes(self, ids, clear=False):
        steps, cells = self._all_spikes()
        gids = cells + int(self.population.first_id)
        mask = np.isin(gids, np.asarray(ids, dtype=np.int64))
        return gids[mask], steps[mask] * self._simulator.state.dt

    def _get_all_signals(self, variable, ids, clear=False):
        if variable.name != "v":
            raise NeuroError(f"cannot record {variable.name!r} (recordable: spikes, v)")
        rows = np.concatenate(self._v_rows) if self._v_rows else np.zeros((0, 0))
        want = self.population.id_to_index(np.asarray(ids, dtype=int))
        cols = np.searchsorted(self._v_ids, want) if self._v_ids is not None else np.zeros(0, int)
        return (rows[:, cols] if rows.size else np.zeros((0, len(ids)))), None

    def _local_count(self, variable, filter_ids=None):
        ids = self.filter_recorded(variable, filter_ids)
        steps, cells = self._all_spikes()
        counts = np.bincount(cells, minlength=self.population.size)
        return {int(i): int(counts[self.population.id_to_index(i)]) for i in ids}
