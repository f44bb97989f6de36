"""Simulator state of the PyNN backend: time, the objects of the network, and the engine session.

The network is translated into a spec (:mod:`neuro.pynn.translate`) and compiled when a run
starts; later runs continue the same :class:`~neuro.engine.Simulator` (the engine carries its
state from one ``run`` to the next). A change made between runs (a parameter, a weight, a
current, what is recorded) rebuilds the spec and the simulator and carries the neurons' state,
the spike queue (ring buffer) and the random generator over, so the run goes on from where it
stood; plastic weights are read back first (:meth:`Session.sync_weights`), learning traces
restart from zero. ``reset()`` drops the session: the next run starts from the initial state.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
from pyNN import common

name = "neuro"


class ID(int, common.IDMixin):
    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)


class State(common.control.BaseState):
    """Time, settings and every object of the current network (one per ``setup()``)."""

    def __init__(self):
        common.control.BaseState.__init__(self)
        self.mpi_rank = 0
        self.num_processes = 1
        self.dt = 0.1
        self.min_delay = "auto"
        self.max_delay = 10.0
        self.arithmetic = "float"
        self.chip = "loihi"
        self.chips = 1
        self.seed = None
        self.workdir = None  # temporary folder of the runs' files, made by the first run
        self.clear()

    # ------------------------------------------------------------------ bookkeeping
    def clear(self):
        self.recorders = set()
        self.populations = []
        self.projections = []
        self.current_sources = []
        self.id_counter = 0
        self.segment_counter = -1
        self.session = None
        self.steps = 0
        self.reset()

    def workdir_for(self, session: int) -> Path:
        """A new folder for the files of run session ``session`` (list connections as ``.npy``),
        inside a temporary folder made on first use and removed by ``end()`` or at exit."""
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="neuro-pynn-"))
        path = self.workdir / f"session{session}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def remove_workdir(self) -> None:
        """Remove the runs' files (``end()``, a new ``setup()``, the interpreter's exit)."""
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def changed(self):
        """Something the spec depends on changed; the next run rebuilds it."""
        if self.session is not None:
            self.session.stale = True

    @property
    def t(self) -> float:
        return self.steps * self.dt

    # ------------------------------------------------------------------ running
    def run(self, simtime):
        self.run_until(self.t + simtime)

    def run_until(self, tstop):
        n = int(np.rint(tstop / self.dt)) - self.steps
        if n <= 0:
            return
        if self.session is None:  # session_factory: set by neuro.pynn.control (imports the engine)
            self.session = self.session_factory(self, None)
        elif self.session.stale:
            self.session = self.session_factory(self, self.session)
        self.running = True
        self.session.run(n)
        self.steps += n

    def reset(self):
        """Time back to 0 and the initial state; the network and its parameters stay."""
        if self.session is not None:
            self.session.sync_weights()
        self.session = None
        self.running = False
        self.steps = 0
        self.t_start = 0
        self.segment_counter += 1
        for src in self.current_sources:
            src._restart()
        for rec in self.recorders:
            rec._restart()


state = State()
