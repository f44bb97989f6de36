"""Translate a spec into a Brian2 ``Network`` and run it on a Brian2 code-generation target.

Everything random comes from neuro's own build stage, so both simulators see the same
network: :func:`~neuro.network.compile_network` draws the connectivity, weights, delays,
initial states and biases; :class:`~neuro.inputs.SpecInputs` then draws the input spikes from
the same generator, and they are fed to Brian2 as ``SpikeGeneratorGroup`` s. The per-population
model comes from :mod:`neuro.verify.brian2_float` or :mod:`neuro.verify.brian2_loihi`; this
module wires the groups together:

* one ``NeuronGroup`` per population, one ``SpikeGeneratorGroup`` per spike input (more if
  one channel repeats within a step, see :func:`~neuro.verify.layout.split_repeats`);
* one ``Synapses`` per projection, connected with the compiled pre/post pairs, weights and
  delays (``delay_steps * dt``);
* one ``SpikeMonitor`` per population;
* current injections: the run is cut where a current starts or stops and the groups' ``bias``
  is set in between.
"""

from __future__ import annotations

import contextlib
import importlib
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from neuro.errors import NeuroError
from neuro.inputs import SpecInputs
from neuro.network import compile_network
from neuro.spec import Network
from neuro.verify import layout

TARGETS = ("numpy", "cython", "cpp_standalone")


@dataclass
class Brian2Run:
    """Spikes of every population from Brian2: ``{name: (step, neuron)}`` (local indices)."""

    spikes: dict
    target: str
    wall_s: float


@contextlib.contextmanager
def _target(name: str):
    """Select a Brian2 target for the duration of the block (restored afterwards)."""
    import brian2

    if name not in TARGETS:
        raise NeuroError(f"unknown Brian2 target {name!r} (known: {', '.join(TARGETS)})")
    if name == "cpp_standalone":
        with tempfile.TemporaryDirectory(prefix="neuro-brian2-") as tmp:
            brian2.set_device("cpp_standalone", directory=tmp, build_on_run=False)
            try:
                yield tmp
            finally:
                brian2.device.reinit()
                brian2.set_device("runtime")
        return
    old = brian2.prefs.codegen.target
    brian2.prefs.codegen.target = name
    try:
        yield None
    finally:
        brian2.prefs.codegen.target = old


def check_expressible(net: Network) -> None:
    """Refuse, with one line, a spec that this translation has no Brian2 equivalent for.

    Everything the Brian2 models here cover is translated; features outside them are refused
    rather than silently left out of the comparison. Networks that learn (adaptive thresholds,
    plasticity) have their own model, :mod:`neuro.verify.brian2_plastic`, which
    :func:`neuro.verify.verify` chooses for them.
    """
    for i, pop in enumerate(net.populations):
        if getattr(pop, "adaptive", False) or getattr(pop, "tau_theta", None) is not None:
            raise NeuroError(
                "adaptive thresholds (theta_plus, theta_init, tau_theta) are not in this Brian2 model "
                "(neuro.verify.brian2_plastic translates them)",
                net.source,
                f"populations[{i}]",
            )
    for i, inp in enumerate(net.inputs):
        if getattr(inp, "graded", False):
            raise NeuroError(
                "graded spikes (payloads) have no Brian2 spike generator in neuro verify",
                net.source,
                f"inputs[{i}].payloads",
            )
    for i, proj in enumerate(net.projections):
        if getattr(proj, "plasticity", None) is not None:
            raise NeuroError(
                "plastic projections are not in this Brian2 model "
                "(neuro.verify.brian2_plastic translates them)",
                net.source,
                f"projections[{i}].plasticity",
            )


# The Brian2 formulation of each target's arithmetic (module per target name).
TRANSLATORS = {
    "float": "neuro.verify.brian2_float",
    "loihi": "neuro.verify.brian2_loihi",
    "loihi2": "neuro.verify.brian2_loihi2",
}


def _model(arithmetic: str):
    return importlib.import_module(TRANSLATORS[arithmetic])


def run_brian2(net: Network, arithmetic: str, seed: int, steps: int, target: str = "numpy") -> Brian2Run:
    """Simulate ``net`` for ``steps`` steps in Brian2 with neuro's seeded draws.

    ``net`` must be valid for ``arithmetic``; ``seed`` is the seed of neuro's generator (use
    the same seed, and a fresh compile, for the engine run that this is compared with).
    """
    from brian2 import Clock, SpikeGeneratorGroup, SpikeMonitor, Synapses, ms
    from brian2 import Network as B2Network

    check_expressible(net)
    t0 = time.perf_counter()
    compiled = compile_network(net, arithmetic, seed)
    inputs = SpecInputs(compiled)
    stim = layout.input_spikes(compiled, inputs, steps)
    segments = layout.bias_segments(inputs, steps)
    model = _model(arithmetic)
    dt = compiled.dt
    with _target(target) as build_dir:
        clock = Clock(dt=dt * ms, name="neuro_clock")
        groups = [model.population_group(compiled, k, clock) for k in range(len(compiled.pop_names))]
        sources = {name: [g] for name, g in zip(compiled.pop_names, groups, strict=True)}
        for k, name in enumerate(compiled.input_names):
            size = int(compiled.input_offsets[k + 1] - compiled.input_offsets[k])
            sources[name] = [
                SpikeGeneratorGroup(size, ch, st * dt * ms, clock=clock, name=f"input{k}_{layer}")
                for layer, (st, ch) in enumerate(layout.split_repeats(*stim[name]))
            ]
        synapses = []
        for ps in layout.projection_synapses(compiled):
            if ps.i.size == 0:
                continue
            post = groups[compiled.pop_names.index(ps.post)]
            for layer, src in enumerate(sources[ps.pre]):
                syn = Synapses(
                    src,
                    post,
                    model=model.SYNAPSE_MODEL,
                    on_pre=f"{model.target(ps.channel)} += w",
                    clock=clock,
                    dtype=model.SYNAPSE_DTYPE or None,
                    name=f"proj{ps.index}_{layer}",
                )
                syn.connect(i=ps.i, j=ps.j)
                syn.w = ps.weight
                if ps.delay.any():
                    syn.delay = ps.delay * dt * ms
                synapses.append(syn)
        monitors = [SpikeMonitor(g, name=f"spikes{k}") for k, g in enumerate(groups)]
        generators = [g for name in compiled.input_names for g in sources[name]]
        b2net = B2Network(*groups, *generators, *synapses, *monitors)
        for k0, k1, active in segments:
            for k, g in enumerate(groups):
                g.bias = model.bias(compiled, k, active)
            b2net.run((k1 - k0) * dt * ms)
        if build_dir is not None and segments:
            from brian2 import device

            device.build(directory=build_dir, compile=True, run=True, with_output=False)
        spikes = {}
        for name, mon in zip(compiled.pop_names, monitors, strict=True):
            if segments:
                i, t = np.asarray(mon.i[:], dtype=np.int64), np.asarray(mon.t_[:])
            else:
                i, t = np.zeros(0, np.int64), np.zeros(0)
            spikes[name] = (np.rint(t / (dt * 1e-3)).astype(np.int64), i)
    return Brian2Run(spikes, target, time.perf_counter() - t0)
