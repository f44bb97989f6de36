"""A PyNN backend: ``import neuro.pynn as sim`` runs a PyNN script on the emulated chip.

PyNN's common classes (``pyNN.common``, ``pyNN.standardmodels``, ``pyNN.recording``) give the
API; this package translates the network into a spec (:mod:`neuro.pynn.translate`) and runs
it in the engine (:mod:`neuro.pynn.session`). Chip-level extras: ``sim.neuro.placement()``,
``sim.neuro.energy()``, ``sim.neuro.counters()``, ``sim.neuro.spec()``, ``sim.neuro.verify()``,
``sim.neuro.write_sonata(path)``. See ``docs/pynn.md``.
"""

from pyNN import errors, random, space  # noqa: F401
from pyNN.connectors import *  # noqa: F403
from pyNN.network import Network  # noqa: F401
from pyNN.random import GSLRNG, NumpyRNG, RandomDistribution  # noqa: F401
from pyNN.recording import *  # noqa: F403
from pyNN.space import Space  # noqa: F401
from pyNN.standardmodels import StandardCellType

from neuro.pynn import chip as neuro  # noqa: F401  (sim.neuro.placement(), ...)
from neuro.pynn.control import (  # noqa: F401
    connect,
    create,
    end,
    get_current_time,
    get_max_delay,
    get_min_delay,
    get_time_step,
    initialize,
    num_processes,
    rank,
    record,
    record_gsyn,
    record_v,
    reset,
    run,
    run_for,
    run_until,
    setup,
)
from neuro.pynn.errors import UnsupportedFeature  # noqa: F401
from neuro.pynn.models import *  # noqa: F403
from neuro.pynn.populations import Assembly, Population, PopulationView  # noqa: F401
from neuro.pynn.projections import Projection  # noqa: F401


class NativeRNG(NumpyRNG):
    """ "The simulator's own generator": neuro draws with numpy, so this is a
    :class:`pyNN.random.NumpyRNG` (seeded with ``seed``, or with ``setup``'s seed if None)."""

    def __init__(self, seed=None, parallel_safe=True):
        from neuro.pynn import simulator

        super().__init__(seed=simulator.state.seed if seed is None else seed, parallel_safe=parallel_safe)


def list_standard_models():
    """The standard cell types this backend runs (the refused ones are not listed)."""
    from neuro.pynn import models

    return [n for n in models.SUPPORTED if issubclass(getattr(models, n), StandardCellType)]
