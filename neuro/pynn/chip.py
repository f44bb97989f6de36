"""Chip-level questions about the network a PyNN script built, each for the current run (after
``run()``): ``sim.neuro.placement()``, ``sim.neuro.energy()``, ``sim.neuro.counters()``,
``sim.neuro.spec()``, ``sim.neuro.verify()`` (the Brian2 cross-check of ``neuro verify``) and
``sim.neuro.write_sonata(path)``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from neuro import __version__
from neuro.errors import NeuroError
from neuro.pynn import simulator

DEFAULT_ENERGY_PROFILE = "loihi"  # for chips without a shipped energy profile (e.g. unbounded)


def _session():
    s = simulator.state.session
    if s is None:
        raise NeuroError("no run yet: call run() first (the network is compiled when it runs)")
    return s


def spec():
    """The :class:`~neuro.spec.Network` the script's network became (``to_dict()`` for TOML/JSON).
    It runs as it is with ``neuro run``/``neuro verify`` while its list files exist (until ``end()``)."""
    return _session().net


def placement():
    """Where the network sits on the chip's cores (:class:`~neuro.mapping.Placement`); raises the
    mapper's one-line error if it does not fit ``setup(chip=..., chips=...)``."""
    return _session().placement()


def counters() -> dict:
    """Exact operation counts of the run so far (spikes, synaptic events, messages, hops, ...)."""
    s = _session()
    return s.sim.counters(s.placement())


def energy(profile: str | None = None):
    """Energy of the run so far under an energy profile (default: the chip's own, e.g. ``loihi``):
    a :class:`~neuro.energy.price.Priced` with ``total_pj`` and per-event ``energy_pj``."""
    from neuro.energy.ledger import ledger_from_simulator
    from neuro.energy.price import price
    from neuro.energy.profile import load_profile, shipped_profiles

    s = _session()
    chip = s.net.simulation.chip
    name = profile or (chip if chip in shipped_profiles() else DEFAULT_ENERGY_PROFILE)
    return price(ledger_from_simulator(s.sim, s.placement()), load_profile(name))


def verify(steps: int | None = None, target: str = "numpy"):
    """``neuro verify`` on the script's network: run its spec from t = 0 for ``steps`` steps
    (default: the steps run so far) in neuro and in Brian2 and compare every population's spikes
    (:func:`neuro.verify.verify`, a :class:`~neuro.verify.compare.VerifyReport`). The spec holds the
    whole run's currents; a network changed between runs is checked as its last spec."""
    from neuro.verify import verify as verify_spec

    s = _session()
    n = simulator.state.steps if steps is None else int(steps)
    return verify_spec(s.net, steps=n, seed=s.compiled.seed, target=target)


def write_sonata(path) -> Path:
    """Write the recorded spikes of every population (recorded with ``record('spikes')``) to a
    SONATA HDF5 spike file, one SONATA population per spec population, on the engine's step grid
    as ``neuro run`` writes it (a spike in step k at k dt; PyNN's neo data stamps it (k+1) dt),
    with the placement on the chip's cores (so ``neuro inspect``/``plot-cores`` read it; the
    mapper's error if the network does not fit) and the spec; written to a temporary name and
    renamed, so no half-written file is left."""
    from neuro.io.sonata import SpikeWriter

    s = _session()
    c = s.compiled
    placement = s.placement()
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    attrs = {
        "steps": simulator.state.steps,
        "arithmetic": c.arithmetic,
        "seed": c.seed,
        "chip": s.net.simulation.chip,
        "chips": s.net.simulation.chips,
        "version": __version__,
        "network": "pynn",
        "spec": s.net.to_dict(),
    }
    writer = SpikeWriter(tmp, c.pop_names, c.pop_offsets, c.dt, attrs)
    try:
        writer.write_placement(placement)
        steps, gids = [], []
        for k, rec in enumerate(s.recorders):
            st, cells = rec._all_spikes()
            if st.size and s.populations[k].celltype.injectable:  # neurons, not spike sources
                steps.append(st - 1)  # the engine's step (PyNN stamps the step's end)
                gids.append(s._global(k, cells))
        if steps:
            st, g = np.concatenate(steps), np.concatenate(gids)
            order = np.lexsort((g, st))
            writer.write_spikes(st[order], g[order])
        writer.flush(simulator.state.steps)
        writer.close(True, s.sim.counters())
    except BaseException:
        writer.f.close()
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return path
