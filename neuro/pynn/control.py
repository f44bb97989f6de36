"""setup/end/run/reset and the procedural API."""

from __future__ import annotations

import atexit
import logging

from pyNN import common
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.connectors import FixedProbabilityConnector
from pyNN.recording import get_io

from neuro import targets
from neuro.chips import PROFILES
from neuro.errors import NeuroError
from neuro.network import resolve_seed
from neuro.pynn import simulator
from neuro.pynn.errors import UnsupportedFeature
from neuro.pynn.models import StaticSynapse
from neuro.pynn.populations import Population
from neuro.pynn.projections import Projection
from neuro.spec import Simulation

log = logging.getLogger(__name__)
ARITHMETICS = ("float", "loihi")  # the targets with a current-based LIF neuron (IF_curr_exp)


def _new_session(state, previous):
    """A session runs the network in the engine (imported only when a run starts)."""
    from neuro.pynn.session import Session

    return Session(state, previous=previous)


simulator.State.session_factory = staticmethod(_new_session)


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, **extra_params):
    """Start a new network. Besides PyNN's arguments:

    ``arithmetic`` (``"float"``, the float64 reference, or ``"loihi"``, the chip's exact
    integer arithmetic), ``chip`` (a profile of :mod:`neuro.chips`, default ``"loihi"``), ``chips``
    (how many chips the mapper may use, default 1) and ``seed`` (or NEST's ``rng_seed``: the seed
    of the engine's one generator, used for Poisson inputs; drawn and logged if absent).
    Random connectivity and parameters are drawn by PyNN's own RNGs, seeded as the script seeds them.
    """
    max_delay = extra_params.get("max_delay", DEFAULT_MAX_DELAY)
    common.setup(timestep, min_delay, **extra_params)
    if extra_params.get("spike_precision", "on_grid") != "on_grid":
        raise UnsupportedFeature(
            f"spike_precision={extra_params['spike_precision']!r}", "spikes happen on the time-step grid"
        )
    arithmetic = extra_params.get("arithmetic", "float")
    if arithmetic not in ARITHMETICS:
        raise NeuroError(f"arithmetic must be one of {', '.join(ARITHMETICS)}, got {arithmetic!r}")
    runs_on = targets.entry(arithmetic).chips  # the chips this arithmetic can be placed on
    chip = extra_params.get("chip", targets.entry(arithmetic).default_chip)
    if chip not in PROFILES or chip not in runs_on:
        raise NeuroError(f"chip must be one of {', '.join(runs_on)}, got {chip!r}")
    chips = extra_params.get("chips", 1)
    seed = resolve_seed(extra_params.get("seed", extra_params.get("rng_seed")))
    try:
        Simulation.from_dict(
            {"dt": float(timestep), "seed": seed, "arithmetic": arithmetic, "chip": chip, "chips": chips}
        )
    except NeuroError as exc:  # name the setup() argument
        raise NeuroError(exc.message, field=(exc.field or "").replace("simulation.", "setup.")) from None
    end()
    state = simulator.state
    state.clear()
    state.dt = float(timestep)
    state.min_delay = float(timestep) if min_delay == "auto" else min_delay
    state.max_delay = max_delay
    state.arithmetic, state.chip, state.chips, state.seed = arithmetic, chip, int(chips), seed
    state.session_count = 0
    return rank()


def end(compatible_output=True):
    """Write the data asked for with ``record(..., filename)`` and remove the temporary files."""
    state = simulator.state
    for population, variables, filename in state.write_on_end:
        population.write_data(get_io(filename), variables)
    state.write_on_end = []
    state.remove_workdir()
    state.session_count = 0


atexit.register(lambda: simulator.state.remove_workdir())  # a script that never calls end()


run, run_until = common.build_run(simulator)
run_for = run
reset = common.build_reset(simulator)
initialize = common.initialize
get_current_time, get_time_step, get_min_delay, get_max_delay, num_processes, rank = (
    common.build_state_queries(simulator)
)
create = common.build_create(Population)
connect = common.build_connect(Projection, FixedProbabilityConnector, StaticSynapse)
record = common.build_record(simulator)


def record_v(source, filename):
    return record(["v"], source, filename)


def record_gsyn(source, filename):
    raise UnsupportedFeature("gsyn recording", "current-based synapses have no conductance")
